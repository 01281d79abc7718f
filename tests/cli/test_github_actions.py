"""Inside GitHub Actions (``GITHUB_ACTIONS=true``): step summary, ``::error file=`` annotations, build log groups."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.defective import SdistSpec, WheelSpec
from fixtures.index_servers import IndexServer, make_release, unique_project
from shipwheel.cli import main_inner
from shipwheel.interpreters import discover


@pytest.fixture
def actions_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def test_verify_writes_annotations_and_the_grid(
    actions_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    bad = WheelSpec(version="1.0+local").build(dist)
    assert main_inner(["verify", str(dist), "-j", "1", "--strict"]) == 1
    err = capsys.readouterr().err
    assert f"::error file={bad},title=version-local::" in err
    summary = actions_env.read_text(encoding="utf-8")
    assert summary.startswith("### shipwheel verify: demo 1.0+local\n")
    assert "**NOT ready to publish**" in summary
    assert "| error | `version-local` | demo-1.0+local-py3-none-any.whl |" in summary


def test_verify_summary_has_the_matrix_grid(actions_env: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    WheelSpec().build(dist)
    SdistSpec().build(dist)
    assert main_inner(["verify", str(dist), "-j", "1"]) == 0
    summary = actions_env.read_text(encoding="utf-8")
    assert "2 files, 0 errors, 0 warnings: ready to publish" in summary


def test_nothing_is_written_outside_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    WheelSpec(version="1.0+local").build(tmp_path / "dist")
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1"]) == 1
    assert not summary.exists()


@pytest.mark.integration
def test_publish_results_in_the_summary(
    actions_env: Path, pypiserver: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "SHIPWHEEL_NO_KEYRING": "1",
        **pypiserver.env(),
    }.items():
        monkeypatch.setenv(key, value)
    project = unique_project()
    files = make_release(tmp_path / "dist", project, wheels=1)
    assert main_inner(["publish", str(tmp_path / "dist"), "--json"]) == 0
    summary = actions_env.read_text(encoding="utf-8")
    assert f"### shipwheel publish: {project} 1.0.0 to " in summary
    for f in files:
        assert f"| {f.name} | uploaded |" in summary


@pytest.mark.slow
@pytest.mark.integration
def test_build_logs_are_grouped(tmp_path: Path) -> None:
    have = sorted(
        f"cp3{i.version[1]}" for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded
    )
    if not have:
        pytest.skip("needs a CPython >= 3.10")
    repo = tmp_path / "kahan"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "examples" / "kahan",
        repo,
        ignore=shutil.ignore_patterns("wheelhouse", "shipwheel-logs", "build"),
    )
    summary = tmp_path / "summary.md"
    ident = f"{have[-1]}-manylinux_x86_64"
    outputs = [
        "-o",
        str(tmp_path / "wh"),
        "--log-dir",
        str(tmp_path / "logs"),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipwheel",
            "build",
            str(repo),
            "--only",
            ident,
            "--no-test",
            "--json",
            *outputs,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("{"), "stdout stays one JSON document"
    assert f"::group::build log of {ident} (ok)\n::stop-commands::" in proc.stderr
    assert "::endgroup::" in proc.stderr
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### shipwheel build of ")
    assert f"| {ident} | ✅ ok |" in text
