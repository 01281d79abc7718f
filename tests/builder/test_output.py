"""What ``shipwheel build`` prints, run as the console script on examples/kahan with one interpreter: ``-q`` the
verdict line and the failures only, ``-v`` every line of every build log as it is written (prefixed by its
identifier), failures grouped by cause, and output that is not a terminal never wrapped nor cut."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.interpreters import discover

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HAVE = sorted(
    {f"cp3{i.version[1]}" for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded},
    key=lambda p: int(p[3:]),
)
ONE = f"{HAVE[-1]}-manylinux_x86_64" if HAVE else ""
TWO = " ".join(f"{p}-manylinux_x86_64" for p in HAVE[-2:])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE:
        pytest.skip("needs a CPython >= 3.10 interpreter")
    return tmp_path_factory.mktemp("cache")


def _build(repo: Path, out: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``shipwheel build`` with stdout and stderr captured (not terminals), in a narrow COLUMNS."""
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", "build", str(repo), "--cache-dir", str(cache_dir),
         "-o", str(out / "wheelhouse"), "--log-dir", str(out / "logs"), *args],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "COLUMNS": "40", "NO_COLOR": "1"},
    )  # fmt: skip


def _broken(repo: Path) -> Path:
    with (repo / "src" / "kahan" / "_core.c").open("a") as fh:
        fh.write("\nthis is not C;\n")
    git(repo, "commit", "-q", "-am", "break the extension")
    return repo


def test_quiet_build_prints_the_verdict_line_only(tmp_path: Path, cache_dir: Path) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    proc = _build(repo, tmp_path, cache_dir, "-q", "--only", ONE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    wheelhouse, logs = tmp_path / "wheelhouse", tmp_path / "logs"
    assert proc.stdout == f"1 wheel(s) in {wheelhouse}, logs in {logs}\n"  # one line, however narrow COLUMNS


def test_verbose_build_streams_every_log_line_prefixed_by_its_identifier(
    tmp_path: Path, cache_dir: Path
) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    proc = _build(repo, tmp_path, cache_dir, "-v", "--only", ONE)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    for target in ("sdist", "before-all", ONE):
        streamed = [line.removeprefix(f"{target} | ") for line in lines if line.startswith(f"{target} | ")]
        # every line of the log, whole (long compiler command lines are not wrapped at COLUMNS=40)
        assert streamed == (tmp_path / "logs" / f"{target}.log").read_text().splitlines(), target
    # as they are written: the identifier's log lines come among its progress lines, not all after them
    first = next(i for i, line in enumerate(lines) if line.startswith(f"{ONE} | "))
    assert first < lines.index(f"{ONE}: test done"), proc.stderr
    assert any(line.startswith(f"{ONE} | gcc ") and " -c src/kahan/_core.c " in line for line in lines)
    assert f"{ONE}: test done" in lines and proc.stdout.rstrip("\n").endswith(str(tmp_path / "logs"))


def test_the_same_failure_of_two_identifiers_is_shown_once(tmp_path: Path, cache_dir: Path) -> None:
    if len(HAVE) < 2:
        pytest.skip(f"needs two CPython >= 3.10 interpreters, found {HAVE}")
    repo = _broken(make_kahan_repo(tmp_path / "kahan"))
    proc = _build(repo, tmp_path / "a", cache_dir, "--only", TWO, "--no-test")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert len(re.findall(r"_core\.c:\d+:\d+: error: unknown type name .this.", out)) == 1, out
    assert f"problem 1: 2 identifier(s) failed: {TWO}" in out, out
    assert "problem 2" not in out
    for ident in TWO.split():
        (row,) = [line for line in out.splitlines() if line.startswith(f"│ {ident} ")]
        assert "FAILED" in row and "problem 1 below" in row and f"{ident}.log" in row, row
    assert proc.stderr.splitlines()[-1].startswith("error: 2 identifier(s) failed; 0 wheel(s) in ")

    quiet = _build(repo, tmp_path / "b", cache_dir, "-q", "--only", TWO, "--no-test")
    assert quiet.returncode == 1
    assert quiet.stdout.startswith(f"problem 1: 2 identifier(s) failed: {TWO}\n"), quiet.stdout
    assert "┃" not in quiet.stdout and "compiler cache" not in quiet.stdout
    assert quiet.stderr.splitlines() == [
        f"error: 2 identifier(s) failed; 0 wheel(s) in {tmp_path / 'b' / 'wheelhouse'}, logs in "
        f"{tmp_path / 'b' / 'logs'}"
    ], quiet.stderr
