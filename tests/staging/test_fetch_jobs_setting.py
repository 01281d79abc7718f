"""``jobs = N`` in the configuration keeps fetch's concurrency fixed, as ``-j N --fixed-jobs`` does;
``-j N`` alone is the cap of the adaptive controller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.http_servers import ListingServer
from shipwheel.cli import main_inner

NAMES = [f"demo-1.0.0-{i}-py3-none-any.whl" for i in range(1, 7)]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    for name in NAMES:
        (root / name).write_bytes(name.encode() * 100)
    return root


def _fetch(
    served: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *extra: str
) -> list[int]:
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    with ListingServer(served) as server:
        for name in NAMES:
            server.fault(name, "503")  # each file answers 503 once: the adaptive controller halves
        code = main_inner(
            ["fetch", "demo", "1.0.0", "--from", server.url, "-w", str(cwd / "wh"), "--json", *extra]
        )
    assert code == 0
    connections: list[int] = json.loads(capsys.readouterr().out)["connections"]
    return connections


@pytest.mark.timeout(120)
def test_config_jobs_keeps_fetch_fixed(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0.0"\n\n[tool.shipwheel.fetch]\njobs = 3\nretries = 3\n'
    )
    assert _fetch(served, project, monkeypatch, capsys) == [3]
    monkeypatch.setenv("SHIPWHEEL_FETCH_JOBS", "5")
    assert _fetch(served, tmp_path / "p2", monkeypatch, capsys) == [5]


@pytest.mark.timeout(120)
def test_cli_jobs_alone_is_a_cap_and_fixed_jobs_fixes_it(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    adaptive = _fetch(served, tmp_path / "p", monkeypatch, capsys, "-j", "6")
    assert adaptive[0] == 4 and min(adaptive) < 4 and max(adaptive) <= 6, adaptive
    assert _fetch(served, tmp_path / "q", monkeypatch, capsys, "-j", "6", "--fixed-jobs") == [6]
