"""The Quickstart's command for real: the example, a folder of a larger repository, released on its embedded
defaults (a real build, the local staging folder, the ``file:`` index), then installed from that index by pip;
a second run is a no-op, and the repository stays clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_outer_repo
from shipwheel.cli import main_inner

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_quickstart_release_of_the_example_then_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    top = tmp_path / "tool"
    project = make_outer_repo(top)
    head = git(top, "rev-parse", "HEAD")
    monkeypatch.chdir(top)
    monkeypatch.setenv("SHIPWHEEL_CACHE_DIR", str(tmp_path / "cache"))
    # One interpreter keeps the test short; the Quickstart builds for every CPython it finds.
    argv = ["release", "1.0.0", "--select", f"cp{sys.version_info[0]}{sys.version_info[1]}-*", "--json",
            "--config-dir", "examples/kahan"]  # fmt: skip
    assert main_inner(argv) == 0
    first = json.loads(capsys.readouterr().out)
    outcomes = {s["step"]: s["outcome"] for s in first["steps"]}
    assert outcomes == {
        "check": "ran", "build": "ran", "verify": "ran", "sign": "skipped", "stage": "ran", "publish": "ran",
    }  # fmt: skip
    assert first["index_url"] == (project / "index" / "simple").as_uri() + "/"
    assert main_inner(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert {s["step"]: s["outcome"] for s in again["steps"]} == {**outcomes, **dict.fromkeys(
        ("check", "build", "verify", "stage", "publish"), "done")}  # fmt: skip
    # Nothing committed or tagged in the enclosing repository, every output git-ignored.
    assert git(top, "rev-parse", "HEAD") == head and git(top, "tag", "-l") == ""
    assert git(top, "status", "--porcelain") == ""
    # The printed pip line works: the wheel installs from the file: index.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-cache-dir",
         "--index-url", first["index_url"], "kahan==1.0.0"],
        check=True, timeout=300,
    )  # fmt: skip
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import kahan; print(kahan.__name__)"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.strip() == "kahan"
