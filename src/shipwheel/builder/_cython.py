"""The Cython output cache: Cython's own (``cython --cache``), turned on for meson-python builds.

ccache skips the C compile of a ``.pyx`` file seen before, but not its translation by Cython, which is most of a
warm build of a Cython project. Cython (3.1 and later) caches its own output: ``cython --cache`` keys each
translation on Cython's version, the ``.pyx`` (its path and content), the path and content of every ``.pxd`` /
``.pxi`` it depends on and every option that changes the C it writes (``Options.get_fingerprint``), and on a hit
copies the stored C/C++ out of ``CYTHON_CACHE_DIR/compiler`` instead of translating. Its entries are written by
atomic rename, and after each run it evicts the least recently used ones above 100 MB. That is the cache this
module turns on, rather than a shim of shipwheel's own.

meson reads the Cython it runs from the ``CYTHON`` variable (as it reads ``CC``), so ``CYTHON="<env>/bin/cython
--cache"`` turns it on without touching the project's ``meson.build``; only when the build environment's Cython
has ``--cache`` (an older one would fail on the option) and the user has not set ``CYTHON``. A hit writes no
depfile: ninja reads a missing depfile as "no extra dependencies", which is harmless in shipwheel's fresh build
folders.

Cython's key holds the absolute path of the ``.pyx``, and an identifier's sources are unpacked below its own work
folder, so two identifiers never share an entry: each identifier gets its own ``CYTHON_CACHE_DIR``
(``<cache>/cython/<identifier>``), which also lets the hits be counted per identifier (a hit touches its entry, a
miss adds one). :func:`trim` bounds the folders together.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ._env import CachedEnv
from ._results import CacheStats

__all__ = ["LIMIT", "CythonCache", "cython_cache", "trim"]

#: the most the Cython caches of every identifier may hold together, in bytes (each one also stays under
#: Cython's own 100 MB)
LIMIT = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CythonCache:
    """The Cython cache of one identifier's build: ``program`` is the build environment's ``cython``."""

    program: Path
    folder: Path

    @property
    def environ(self) -> dict[str, str]:
        """What makes meson run Cython with its cache, in :attr:`folder`."""
        return {"CYTHON": f"{self.program} --cache", "CYTHON_CACHE_DIR": str(self.folder)}

    @property
    def entries(self) -> Path:
        return self.folder / "compiler"

    def snapshot(self) -> dict[str, int]:
        """The modification time of each entry (a hit touches its entry)."""
        out: dict[str, int] = {}
        with contextlib.suppress(OSError), os.scandir(self.entries) as it:
            for entry in it:
                if not entry.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        out[entry.name] = entry.stat(follow_symlinks=False).st_mtime_ns
        return out

    def stats(self, before: Mapping[str, int]) -> CacheStats:
        """The hits (entries touched since ``before``) and misses (entries added) of the translations since."""
        hits = misses = 0
        for name, mtime in self.snapshot().items():
            old = before.get(name)
            if old is None:
                misses += 1
            elif old != mtime:
                hits += 1
        return CacheStats(hits, misses)


def _has_cache_option(build_env: CachedEnv) -> bool:
    # the option came with Cython 3.1; reading the option table costs nothing, starting Cython costs 0.3 s
    for cmdline in build_env.path.glob("lib/python*/site-packages/Cython/Compiler/CmdLine.py"):
        with contextlib.suppress(OSError):
            text = cmdline.read_text(encoding="utf-8", errors="replace")
            if '"--cache"' in text or "'--cache'" in text:
                return True
    return False


def cython_cache(
    build_env: CachedEnv, cache_dir: Path, identifier: str, env: Mapping[str, str]
) -> CythonCache | None:
    """The Cython cache for a meson build of ``identifier`` in ``build_env``; ``None`` when the environment has
    no Cython with ``--cache`` or the user's ``CYTHON`` says which Cython to run."""
    if "CYTHON" in env or "CYTHON" in os.environ:
        return None
    program = Path(build_env.python_executable).parent / "cython"
    if not program.is_file() or not _has_cache_option(build_env):
        return None
    return CythonCache(program, cache_dir / "cython" / identifier)


def trim(cache_dir: Path, limit: int = LIMIT) -> None:
    """Remove the least recently used entries of every identifier's Cython cache until they hold ``limit``
    bytes or less together."""
    files: list[tuple[int, int, Path]] = []
    for path in (cache_dir / "cython").glob("*/compiler/*"):
        with contextlib.suppress(OSError):
            st = path.lstat()
            if not path.name.endswith(".tmp"):
                files.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        total -= size
