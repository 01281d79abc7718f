"""The GitHub Release step, as the workflow holds it, run by bash in a real release repository with the real
``shipwheel announce``: the files attached, their SHA256 listed under the announcement's Markdown. GitHub
itself cannot be reached from the tests: ``gh`` is a stand-in that records its arguments and the notes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.index_servers import make_sdist, make_wheel
from fixtures.release_repo import make_kahan_repo
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.config import load_config

# The stand-in: `gh release view` answers as $GH_RELEASE_EXISTS says; every call is recorded, with a copy of
# the notes file it was given.
GH = """#!/bin/sh
printf '%s\\n' "$*" >> "$GH_LOG"
if [ "$1 $2" = "release view" ]; then exec test "$GH_RELEASE_EXISTS" = 1; fi
prev=""
for arg in "$@"; do
  if [ "$prev" = "--notes-file" ]; then cp "$arg" "$GH_LOG.notes"; fi
  prev="$arg"
done
"""


def _script(repo: Path) -> str:
    doc: dict[str, Any] = yaml.safe_load(github_workflows(load_config(repo))[WORKFLOW_FILE])
    steps = doc["jobs"]["github-release"]["steps"]
    return str(
        next(s for s in steps if s.get("name") == "create the release, with the files and their SHA256")[
            "run"
        ]
    )


def _run(
    repo: Path, tmp_path: Path, *, exists: bool
) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
    script = _script(repo)
    stand_in = tmp_path / "bin"
    stand_in.mkdir(parents=True)
    (stand_in / "gh").write_text(GH, encoding="utf-8")
    (stand_in / "gh").chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    dist = runner_temp / "dist"
    make_wheel(dist, "kahan", "1.0.0", "cp312-cp312-manylinux_2_17_x86_64")
    make_sdist(dist, "kahan", "1.0.0")
    log = tmp_path / "gh.log"
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env={
            "PATH": os.pathsep.join([str(stand_in), str(Path(sys.executable).parent), os.environ["PATH"]]),
            "HOME": str(tmp_path),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "RUNNER_TEMP": str(runner_temp),
            "TAG": "v1.0.0",
            "VERSION": "1.0.0",
            "GH_TOKEN": "not-a-token",
            "GH_LOG": str(log),
            "GH_RELEASE_EXISTS": "1" if exists else "0",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, log.read_text().splitlines() if log.exists() else [], dist


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    folder = make_kahan_repo(tmp_path / "kahan")
    subprocess.run(
        ["git", "-C", str(folder), "tag", "-a", "-m", "kahan 1.0.0", "v1.0.0"], check=True, timeout=60
    )
    return folder


def test_the_release_has_every_file_and_their_sha256_under_the_announcement(
    repo: Path, tmp_path: Path
) -> None:
    proc, calls, dist = _run(repo, tmp_path / "job", exists=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(dist.iterdir())
    assert calls[0] == "release view v1.0.0"
    assert calls[1].startswith("release create v1.0.0 --verify-tag --title v1.0.0 --notes-file ")
    assert calls[1].endswith(" ".join(str(f) for f in files))
    notes = (tmp_path / "job" / "gh.log.notes").read_text()
    assert notes.startswith("# kahan 1.0.0\n")
    for path in files:
        assert f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n" in notes
    assert "::warning::" not in proc.stdout


def test_a_rerun_attaches_the_files_again_to_the_existing_release(repo: Path, tmp_path: Path) -> None:
    proc, calls, dist = _run(repo, tmp_path / "job", exists=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = " ".join(str(f) for f in sorted(dist.iterdir()))
    assert calls[1] == f"release upload v1.0.0 --clobber {files}"
    assert calls[2].startswith("release edit v1.0.0 --notes-file ")
    assert not any(c.startswith("release create") for c in calls)


def test_without_an_announcement_the_notes_list_the_files(repo: Path, tmp_path: Path) -> None:
    # announce has no history to write from (a checkout without .git): it fails, and the release goes on
    shutil.rmtree(repo / ".git")
    proc, _, _ = _run(repo, tmp_path / "job", exists=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::warning::no announcement for 1.0.0" in proc.stdout
    notes = (tmp_path / "job" / "gh.log.notes").read_text()
    assert notes.startswith("\n## SHA256\n")
    assert len([line for line in notes.splitlines() if line.endswith((".whl", ".tar.gz"))]) == 2
