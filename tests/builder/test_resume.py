"""A build killed with ``kill -9`` at any moment builds only what is missing when it runs again, and its journal
holds the selection and each finished file's sha256 (what the release step reads)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builder.test_build import HAVE, git, make_repo
from shipwheel.builder import build_record
from shipwheel.config import load_config
from shipwheel.distfiles import file_digests

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _journal_lists(cache: Path, identifier: str) -> bool:
    for path in cache.glob("work/*/finished.json"):
        try:
            if identifier in json.loads(path.read_text()).get("finished", {}):
                return True
        except (OSError, ValueError):
            continue
    return False


def test_killed_build_rebuilds_only_missing_identifiers(tmp_path: Path) -> None:
    if len(HAVE) < 3:
        pytest.skip(f"needs three CPython >= 3.10 interpreters, found {HAVE}")
    repo = make_repo(tmp_path / "kahan")
    fast, slow = [f"{p}-manylinux_x86_64" for p in HAVE[-3:-1]], f"{HAVE[-1]}-manylinux_x86_64"
    marker = tmp_path / "hold"
    marker.touch()
    # the slow identifier's tests wait while the marker exists; the command line is the same on both runs
    wait = (
        f"python -c \"import os, sys, time; v = 'cp3%d' % sys.version_info[1]; "
        f"[time.sleep(0.2) for _ in range(900) if v == '{HAVE[-1]}' and os.path.exists('{marker}')]\""
    )
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            f"output-dir = {json.dumps(str(tmp_path / 'wh'))}\ncache-dir = {json.dumps(str(tmp_path / 'c'))}\n"
        )
    pyproject = repo / "pyproject.toml"
    lines = [line for line in pyproject.read_text().splitlines() if not line.startswith("test-command")]
    pyproject.write_text("\n".join([*lines, f"test-command = {json.dumps(wait)}", ""]))
    git(repo, "commit", "-qam", "slow tests, outputs outside")
    args = [
        sys.executable,
        "-m",
        "shipwheel",
        "build",
        str(repo),
        "--json",
        "--only",
        " ".join([*fast, slow]),
    ]
    with subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    ) as proc:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if all(_journal_lists(tmp_path / "c", f) for f in fast):
                break
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.fail("the build ended before it could be killed")
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the build, its compilers and test runs
        proc.wait(timeout=60)
    config = load_config(repo)
    record = build_record(config, repo)
    assert record is not None and set(record.selection) == {*fast, slow}
    assert record.missing(tmp_path / "wh") == [slow]
    kept = {f: (tmp_path / "wh" / record.wheels[f].wheel).stat().st_mtime_ns for f in fast}
    marker.unlink()
    again = subprocess.run(args, capture_output=True, text=True, check=False, timeout=900)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    by_id = {r["identifier"]: r for r in data["results"]}
    assert [by_id[f]["resumed"] for f in fast] == [True, True]  # not rebuilt
    assert by_id[slow]["resumed"] is False and by_id[slow]["tested"] is True
    # where the rebuilt identifier's time went, and what the compiler cache did for it
    times = by_id[slow]["times"]
    assert set(times) == {"environment", "compile", "repair", "test"} and times["compile"] > 0 < times["test"]
    # killed in its tests, its compile had gone into the cache: the rebuild hits
    assert by_id[slow]["compile_jobs"] >= 1 and by_id[slow]["compiler_cache"]["hits"] >= 1
    assert data["compiler_cache"]["name"].startswith("ccache ") and data["cores"] >= 1
    assert {f: (tmp_path / "wh" / record.wheels[f].wheel).stat().st_mtime_ns for f in fast} == kept
    done = build_record(config, repo)
    assert done is not None and done.missing(tmp_path / "wh") == []
    for name, sha256 in done.files.items():  # the recorded hashes are the files' own
        assert file_digests(tmp_path / "wh" / name)["sha256"] == sha256
    assert {r["sha256"] for r in data["results"]} == {done.wheels[i].sha256 for i in (*fast, slow)}
