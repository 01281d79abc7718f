"""The Cython cache of meson-python builds: a warm build takes Cython's output from the cache (and says so in
``build --json``), a changed ``.pxd`` is translated again, the wheels are the same bytes, the cache stays bounded."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from builder.test_build import HAVE, build, options, run_cli
from shipwheel.builder._cython import trim

PYX = """\
cimport helper

def twice(double x):
    return helper.scale(x)
"""


def _pxd(factor: int) -> str:
    return f"cdef inline double scale(double x):\n    return {factor} * x\n"


MESON = """\
project('cydemo', 'c', 'cython')
py = import('python').find_installation(pure: false)
py.extension_module('fast', 'src/fast.pyx', include_directories: include_directories('src'), install: true)
"""


def write_sdist(path: Path, factor: int) -> Path:
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["meson-python>=0.15", "cython>=3.1"]\n'
        'build-backend = "mesonpy"\n\n[project]\nname = "cydemo"\nversion = "1.0"\nrequires-python = ">=3.10"\n',
        "meson.build": MESON,
        "src/fast.pyx": PYX,
        "src/helper.pxd": _pxd(factor),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(f"cydemo-1.0/{name}")
            info.size = len(text.encode())
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(text.encode()))
    return path


@pytest.mark.integration
@pytest.mark.slow
def test_warm_meson_build_takes_cythons_output_from_the_cache_and_gives_the_same_wheel(
    tmp_path: Path,
) -> None:
    only = f"{HAVE[-1]}-manylinux_x86_64"
    cache = tmp_path / "cache"
    sdist = write_sdist(tmp_path / "cydemo-1.0.tar.gz", 2)
    cold = build(sdist, only=only, overrides=options(tmp_path / "cold", cache))
    assert cold.ok, [(r.error, r.errors) for r in cold.failed]
    # the .pyx and meson's sanity check of the Cython it was given
    assert (cold.cython.hits, cold.cython.misses) == (0, 2)

    out = tmp_path / "warm"
    proc = run_cli(
        "build", str(sdist), "--only", only, "--no-test", "--json", "--cache-dir", str(cache),
        "-o", str(out / "wh"), "--log-dir", str(out / "logs"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["cython_cache"] == {"hits": 2, "misses": 0}
    assert data["results"][0]["cython_cache"] == {"hits": 2, "misses": 0}
    (cold_wheel,) = (tmp_path / "cold" / "wh").glob("*.whl")
    (warm_wheel,) = (out / "wh").glob("*.whl")
    assert cold_wheel.name == warm_wheel.name and cold_wheel.read_bytes() == warm_wheel.read_bytes()

    # the same sdist path with another .pxd: Cython's key holds every file the .pyx cimports
    write_sdist(sdist, 3)
    changed = build(sdist, only=only, overrides=options(tmp_path / "changed", cache))
    assert changed.ok and (changed.cython.hits, changed.cython.misses) == (1, 1)
    (changed_wheel,) = (tmp_path / "changed" / "wh").glob("*.whl")
    assert changed_wheel.read_bytes() != cold_wheel.read_bytes()


def test_cython_caches_are_trimmed_to_their_limit_least_recently_used_first(tmp_path: Path) -> None:
    entries = []
    for n, ident in enumerate(["cp312-manylinux_x86_64", "cp313-manylinux_x86_64", "cp312-manylinux_x86_64"]):
        folder = tmp_path / "cython" / ident / "compiler"
        folder.mkdir(parents=True, exist_ok=True)
        entry = folder / f"mod{n}.c-{n:064x}.gz"
        entry.write_bytes(b"x" * 1000)
        os.utime(entry, ns=(10**18 + n, 10**18 + n))
        entries.append(entry)
    trim(tmp_path, limit=2000)
    assert [e.exists() for e in entries] == [False, True, True]
    trim(tmp_path, limit=2000)
    assert [e.exists() for e in entries] == [False, True, True]
