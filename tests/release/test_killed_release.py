"""A real ``shipwheel release`` killed with ``kill -9`` while it builds, after its first wheel is in the
wheelhouse, then run again: the second run builds only the missing identifier, and the index ends with every
selected file exactly once, the sdist last."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.index_servers import IndexServer, unique_project
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.interpreters import discover

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HAVE = sorted({f"cp3{i.version[1]}" for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded})


def _journal_lists(cache: Path, identifier: str) -> bool:
    for path in cache.glob("work/*/finished.json"):
        try:
            if identifier in json.loads(path.read_text()).get("finished", {}):
                return True
        except (OSError, ValueError):
            continue
    return False


def _stored(server: IndexServer) -> list[str]:
    """The files the index stored, in the order it stored them (pypiserver's request log)."""
    log = server.root.parent / "requests.log"
    return re.findall(r"stored '([^']+)'", log.read_text(errors="replace")) if log.is_file() else []


def test_killed_release_builds_only_what_is_missing_and_publishes_every_selected_file_once(
    pypiserver: IndexServer, tmp_path: Path
) -> None:
    if len(HAVE) < 2:
        pytest.skip(f"needs two CPython >= 3.10 interpreters, found {HAVE}")
    fast, slow = (f"{p}-manylinux_x86_64" for p in HAVE[-2:])
    project = unique_project("kahan")
    repo = make_kahan_repo(tmp_path / "kahan")
    marker = tmp_path / "hold"
    marker.touch()
    # the slow identifier's tests wait while the marker exists; the command line is the same on both runs
    wait = (
        f"python -c \"import os, sys, time; v = 'cp3%d' % sys.version_info[1]; "
        f"[time.sleep(0.2) for _ in range(900) if v == '{HAVE[-1]}' and os.path.exists('{marker}')]\""
    )
    pyproject = repo / "pyproject.toml"
    lines = [line for line in pyproject.read_text().splitlines() if not line.startswith("test-command")]
    text = "\n".join(
        [*lines, f"test-command = {json.dumps(wait)}", f"cache-dir = {json.dumps(str(tmp_path / 'c'))}"]
    )
    text = text.replace('name = "kahan"', f'name = "{project}"')
    text += '\n\n[tool.shipwheel.release]\nsteps = ["build", "verify", "publish"]\n'
    text += f'\n[tool.shipwheel.publish]\nrepository = "{pypiserver.upload_url}"\n'
    pyproject.write_text(text)
    git(repo, "commit", "-qam", "slow tests for one identifier; the test index")
    env = {**os.environ, **pypiserver.env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("SHIPWHEEL_REPOSITORY_URL")
    args = [sys.executable, "-m", "shipwheel", "release", "1.0.0", "--select", f"{fast} {slow}", "--json"]
    wheelhouse = repo / "wheelhouse"
    with subprocess.Popen(
        args, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    ) as proc:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            wheels = list(wheelhouse.glob("*.whl")) if wheelhouse.is_dir() else []
            if wheels and _journal_lists(tmp_path / "c", fast):
                break
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.fail("the release ended before it could be killed")
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the release, its build, compilers, test runs
        proc.wait(timeout=60)
    dist = project.replace("-", "_")  # the files' name for the project
    assert [p.name for p in wheelhouse.glob("*.whl")] and (wheelhouse / f"{dist}-1.0.0.tar.gz").is_file()
    status = subprocess.run(
        [sys.executable, "-m", "shipwheel", "status", "1.0.0", "--json"],
        cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    record = json.loads(status.stdout)
    assert record["steps"]["build"]["status"] == "running"  # killed in it
    assert record["selection"]["identifiers"] == {fast: "present", slow: "missing"}
    assert pypiserver.files(project) == {}  # nothing published from a half-built wheelhouse
    kept = {p.name: p.stat().st_mtime_ns for p in wheelhouse.glob("*.whl")}

    marker.unlink()
    again = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=1800)
    assert again.returncode == 0, again.stderr
    steps = {s["step"]: s for s in json.loads(again.stdout)["steps"]}
    assert [steps[s]["outcome"] for s in ("build", "verify", "publish")] == ["ran", "ran", "ran"]
    assert "(1 kept from an earlier run)" in steps["build"]["detail"]
    assert {p.name: p.stat().st_mtime_ns for p in wheelhouse.glob("*.whl") if p.name in kept} == kept
    release = sorted(p.name for p in wheelhouse.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    assert len(release) == 3  # the two selected wheels and the sdist
    assert sorted(pypiserver.files(project)) == release
    stored = [name for name in _stored(pypiserver) if name in release]
    assert sorted(stored) == release  # each exactly once
    assert stored[-1] == f"{dist}-1.0.0.tar.gz"  # the sdist after every wheel
