"""The environment of the build steps: the native prefix and the path mapping of the compilers (the compiler
cache is ``_ccache``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["native_env", "with_libc_needed", "with_prefix_map"]


def native_env(prefix: Path) -> dict[str, str]:
    """The variables that make libraries installed into ``prefix`` (by before-all) findable by later steps."""

    def prepend(name: str, value: Path) -> str:
        old = os.environ.get(name)
        return f"{value}{os.pathsep}{old}" if old else str(value)

    return {
        "CPATH": prepend("CPATH", prefix / "include"),
        "LIBRARY_PATH": prepend("LIBRARY_PATH", prefix / "lib"),
        "LD_LIBRARY_PATH": prepend("LD_LIBRARY_PATH", prefix / "lib"),
        "PKG_CONFIG_PATH": prepend("PKG_CONFIG_PATH", prefix / "lib" / "pkgconfig"),
        "CMAKE_PREFIX_PATH": prepend("CMAKE_PREFIX_PATH", prefix),
    }


def with_prefix_map(cppflags: str, work: Path) -> str:
    """``CPPFLAGS`` plus the mapping of the build folder to ``/shipwheel`` (reproducible debug info and
    ``__FILE__``).

    The mapping goes into CPPFLAGS, never CFLAGS or CXXFLAGS: current setuptools *replaces* the interpreter's
    sysconfig CFLAGS (``-DNDEBUG -g -O3 -Wall`` …) with an environment CFLAGS, so setting CFLAGS would build
    without optimisation and with asserts on. Every setuptools and distutils version *appends* CPPFLAGS to the
    C and C++ compile lines, and meson (meson-python) adds it to its C and C++ arguments, so the compile lines
    are exactly those of a plain ``pip wheel`` plus the mapping. A user's CFLAGS / CXXFLAGS pass through
    untouched, with the meaning the backend gives them. (CMake reads no CPPFLAGS: scikit-build-core builds are
    left unmapped rather than risk their flags.)
    """
    return (cppflags + f" -ffile-prefix-map={work}=/shipwheel").strip()


#: Linker arguments that record libc as a dependency of every shared object, whether or not it calls libc.
LIBC_NEEDED = "-Wl,--push-state,--no-as-needed,-lc,--pop-state"


def with_libc_needed(ldflags: str) -> str:
    """``LDFLAGS`` plus :data:`LIBC_NEEDED` on Linux (unchanged elsewhere).

    Debian's and Ubuntu's GCC link with ``--as-needed``, so an extension that calls nothing in libc directly (at
    -O3, a small extension of CPython < 3.11: the example's ``_core`` on 3.10) is linked without ``libc.so.6``,
    and auditwheel then stops with "couldn't detect libc" (it finds the libc from that entry, or from the
    extension's name on CPython >= 3.11). The manylinux images' compilers always record libc; this does the same,
    inside ``--push-state``/``--pop-state`` so the other libraries keep the linker's own ``--as-needed``. Every
    backend appends LDFLAGS to its link lines (setuptools to LDSHARED, meson and CMake to their link arguments),
    so the interpreter's own link flags stay as they are.
    """
    if not sys.platform.startswith("linux"):
        return ldflags
    return (ldflags + " " + LIBC_NEEDED).strip()
