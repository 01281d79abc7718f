"""Build identifiers and selectors, compatible with cibuildwheel's.

An identifier names one wheel of a release: ``cp312-manylinux_x86_64``, ``cp313t-macosx_arm64``. Selectors are
space-separated fnmatch patterns with ``{a,b}`` alternatives (``cp31{2,3}-*``). The expected matrix of a project
is every CPython version its ``requires-python`` admits, times the configured platforms (plus the free-threaded
builds when enabled), kept by ``build`` and not dropped by ``skip``.
"""

from __future__ import annotations

import fnmatch
import re
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from .errors import SelectorError

__all__ = [
    "ALL_PLATFORMS",
    "CPYTHON_VERSIONS",
    "FREE_THREADED_VERSIONS",
    "OTHER_IDENTIFIERS",
    "Identifier",
    "Selector",
    "compiled_sources",
    "expand_braces",
    "expected_identifiers",
    "identifier_platform",
    "wheel_covers",
    "wheel_identifiers",
]

#: CPython feature versions shipwheel knows, oldest first: the union of what the supported cibuildwheel lines
#: build (3.x: 3.8 to 3.14, 4.x: 3.9 to 3.15). A project's matrix uses its line's own list.
CPYTHON_VERSIONS: tuple[tuple[int, int], ...] = (
    (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15),
)  # fmt: skip
#: (version, platform) pairs no CPython release exists for: python.org's Windows ARM64 builds start at 3.9
#: (cibuildwheel lists no cp38-win_arm64 either).
NO_RELEASE: frozenset[tuple[tuple[int, int], str]] = frozenset({((3, 8), "win_arm64")})
#: Versions that have a free-threaded build (the ``t`` ABI suffix).
FREE_THREADED_VERSIONS: tuple[tuple[int, int], ...] = ((3, 13), (3, 14), (3, 15))
#: Every platform part of an identifier that shipwheel knows.
ALL_PLATFORMS: tuple[str, ...] = (
    "manylinux_x86_64", "manylinux_i686", "manylinux_aarch64", "manylinux_ppc64le", "manylinux_s390x",
    "manylinux_armv7l", "manylinux_riscv64",
    "musllinux_x86_64", "musllinux_i686", "musllinux_aarch64", "musllinux_ppc64le", "musllinux_s390x",
    "musllinux_armv7l", "musllinux_riscv64",
    "macosx_x86_64", "macosx_arm64", "macosx_universal2",
    "win32", "win_amd64", "win_arm64",
)  # fmt: skip

_IDENT = re.compile(r"^cp3(?P<minor>\d{1,2})(?P<t>t?)-(?P<platform>[a-z0-9_]+)$")
_SELECTOR_CHARS = re.compile(r"^[A-Za-z0-9_*?\[\]{},.!-]+$")


@dataclass(frozen=True, order=True, slots=True)
class Identifier:
    """One wheel of the matrix: a CPython version (free-threaded or not) on one platform."""

    minor: int
    free_threaded: bool
    platform: str
    major: int = 3

    @classmethod
    def parse(cls, text: str) -> Identifier:
        """Parse ``cp312-manylinux_x86_64``; raise :class:`SelectorError` when it is not an identifier."""
        m = _IDENT.match(text)
        if not m or m["platform"] not in ALL_PLATFORMS:
            raise SelectorError(
                f"{text!r} is not a build identifier",
                hint="identifiers look like cp312-manylinux_x86_64 or cp313t-macosx_arm64 (see shipwheel matrix)",
            )
        return cls(minor=int(m["minor"]), free_threaded=bool(m["t"]), platform=m["platform"])

    @property
    def python(self) -> str:
        """The interpreter part: ``cp312`` or ``cp313t``."""
        return f"cp{self.major}{self.minor}{'t' if self.free_threaded else ''}"

    @property
    def version(self) -> str:
        """``3.12``."""
        return f"{self.major}.{self.minor}"

    @property
    def os(self) -> str:
        """``linux``, ``macos`` or ``windows``."""
        if self.platform.startswith(("manylinux", "musllinux")):
            return "linux"
        if self.platform.startswith("macosx"):
            return "macos"
        return "windows"

    @property
    def arch(self) -> str:
        """The machine architecture (``x86_64``, ``arm64``, ``AMD64``, ``x86`` …)."""
        if self.platform == "win32":
            return "x86"
        if self.platform.startswith("win_"):
            return self.platform[4:].upper()
        return self.platform.split("_", 1)[1]

    def __str__(self) -> str:
        return f"{self.python}-{self.platform}"


#: The most patterns one selector may expand to: ``{a,b}`` groups multiply, and 22 of them would be four million.
MAX_EXPANSION = 1024


def expand_braces(pattern: str) -> list[str]:
    """Expand the ``{a,b}`` alternatives of one selector pattern into plain fnmatch patterns.

    ``cp31{2,3}-*`` -> ``["cp312-*", "cp313-*"]`` (fnmatch has no braces; nested braces are expanded too). Used
    by :class:`Selector` and by the configuration's ``[[overrides]]`` ``select``, so both read braces alike.

    One group at a time, innermost first, with duplicates dropped at every step (``{1,1}`` repeated is one
    pattern); more than :data:`MAX_EXPANSION` distinct patterns is a :class:`SelectorError`.
    """
    pending: dict[str, None] = {pattern: None}
    done: dict[str, None] = {}
    while pending:
        expanded: dict[str, None] = {}
        for text in pending:
            m = re.search(r"\{([^{}]*)\}", text)
            if not m:
                done[text] = None
                continue
            for alt in m.group(1).split(","):
                expanded[text[: m.start()] + alt + text[m.end() :]] = None
        if len(expanded) + len(done) > MAX_EXPANSION:
            raise SelectorError(
                f"selector {pattern[:60]!r}{'…' if len(pattern) > 60 else ''} expands to more than "
                f"{MAX_EXPANSION} patterns",
                hint="write fewer {a,b} groups, or several shorter selectors",
            )
        pending = expanded
    return list(done)


def _universe() -> list[Identifier]:
    ids = [
        Identifier(minor=v[1], free_threaded=False, platform=p)
        for v in CPYTHON_VERSIONS
        for p in ALL_PLATFORMS
    ]
    ids += [
        Identifier(minor=v[1], free_threaded=True, platform=p)
        for v in FREE_THREADED_VERSIONS
        for p in ALL_PLATFORMS
    ]
    return ids


#: Identifiers cibuildwheel builds that are no CPython wheel shipwheel builds (PyPy, GraalPy, Pyodide, Android,
#: iOS; from the build-platforms.toml of cibuildwheel 3.3 and 4.3). A selector naming them (cibuildwheel's
#: common ``skip = "pp*"``) is valid and matches no identifier of a shipwheel matrix.
OTHER_IDENTIFIERS: tuple[str, ...] = tuple(
    [
        f"{python}-{platform}"
        for python in ("pp38", "pp39", "pp310", "pp311", "pp312", "gp311_242", "gp312_250", "gp313_253")
        for platform in ("manylinux_x86_64", "manylinux_i686", "manylinux_aarch64", "macosx_x86_64",
                         "macosx_arm64", "win_amd64")
    ]
    + [f"cp31{m}-pyodide_wasm32" for m in range(2, 6)]
    + [
        f"cp31{m}-{platform}"
        for m in range(3, 6)
        for platform in ("android_arm64_v8a", "android_x86_64", "ios_arm64_iphoneos",
                         "ios_arm64_iphonesimulator", "ios_x86_64_iphonesimulator")
    ]
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Selector:
    """Space-separated fnmatch patterns over identifiers, with ``{a,b}`` alternatives (cibuildwheel's syntax)."""

    patterns: tuple[str, ...]
    expanded: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | Sequence[str], *, what: str = "selector") -> Selector:
        """Parse a selector string or list; raise :class:`SelectorError` on syntax errors and on patterns that
        can match no identifier at all (a typo such as ``cp3.12-*``)."""
        items = text.split() if isinstance(text, str) else [p for item in text for p in item.split()]
        universe = [str(i) for i in _universe()] + list(OTHER_IDENTIFIERS)
        for item in items:
            if not _SELECTOR_CHARS.match(item) or item.count("{") != item.count("}"):
                raise SelectorError(
                    f"bad {what} {item!r}",
                    hint="write fnmatch patterns over identifiers, like cp312-* or cp31{2,3}-manylinux_x86_64",
                )
            if not any(fnmatch.fnmatchcase(u, p) for p in expand_braces(item) for u in universe):
                raise SelectorError(
                    f"{what} {item!r} matches no build identifier",
                    hint="identifiers look like cp312-manylinux_x86_64; run shipwheel matrix to list them",
                )
        return cls(tuple(items), tuple(p for item in items for p in expand_braces(item)))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, identifier: Identifier | str) -> bool:
        """Whether any pattern matches ``identifier``."""
        text = str(identifier)
        return any(fnmatch.fnmatchcase(text, p) for p in self.expanded)


def python_versions(
    requires_python: SpecifierSet | None, versions: Sequence[tuple[int, int]] = CPYTHON_VERSIONS
) -> list[tuple[int, int]]:
    """The CPython feature versions of ``versions`` that ``requires-python`` admits (``3.x.99`` must be
    allowed, as cibuildwheel checks)."""
    if requires_python is None:
        return list(versions)
    return [v for v in versions if requires_python.contains(Version(f"{v[0]}.{v[1]}.99"), prereleases=True)]


def expected_identifiers(
    *,
    platforms: Sequence[str],
    build: Sequence[str] = ("*",),
    skip: Sequence[str] = (),
    free_threaded: bool = False,
    requires_python: SpecifierSet | None = None,
    versions: Sequence[tuple[int, int]] = CPYTHON_VERSIONS,
    free_threaded_versions: Sequence[tuple[int, int]] = FREE_THREADED_VERSIONS,
) -> list[Identifier]:
    """The identifiers a release of the project ships, sorted.

    ``versions`` (the CPython versions the cibuildwheel line builds) that ``requires_python`` admits;
    ``platforms`` in their order; the free-threaded builds of ``free_threaded_versions`` when ``free_threaded``;
    then kept by the ``build`` selector and dropped by ``skip``. The caller passes the values (the configuration
    does), so this module knows nothing of where they came from.
    """
    build_selector = Selector.parse(build, what="build selector")
    skip_selector = Selector.parse(skip, what="skip selector")
    for platform in platforms:
        if platform not in ALL_PLATFORMS:
            raise SelectorError(
                f"unknown platform {platform!r} in 'platforms'",
                hint="use platform parts like manylinux_x86_64, musllinux_aarch64, macosx_arm64, win_amd64",
            )
    out: list[Identifier] = []
    for major, minor in python_versions(requires_python, versions):
        variants = [False] + ([True] if free_threaded and (major, minor) in free_threaded_versions else [])
        for ft in variants:
            for platform in platforms:
                if ((major, minor), platform) in NO_RELEASE:
                    continue
                ident = Identifier(minor=minor, free_threaded=ft, platform=platform, major=major)
                if build_selector.matches(ident) and not skip_selector.matches(ident):
                    out.append(ident)
    return sorted(out, key=lambda i: (i.minor, i.free_threaded, list(platforms).index(i.platform)))


def identifier_platform(platform_tag: str) -> str | None:
    """The identifier platform of a wheel platform tag: ``manylinux_2_28_x86_64`` -> ``manylinux_x86_64``.

    Returns ``None`` for tags no identifier has (``any``, plain ``linux_x86_64``).
    """
    m = re.match(r"^(manylinux|musllinux)_\d+_\d+_(.+)$", platform_tag)
    if m:
        return f"{m[1]}_{m[2]}"
    m = re.match(r"^manylinux(?:1|2010|2014)_(.+)$", platform_tag)
    if m:
        return f"manylinux_{m[1]}"
    m = re.match(r"^macosx_\d+_\d+_(.+)$", platform_tag)
    if m:
        arch = m[1]
        return f"macosx_{arch}" if f"macosx_{arch}" in ALL_PLATFORMS else None
    return platform_tag if platform_tag in ALL_PLATFORMS else None


def wheel_covers(tags: Iterable[Tag], identifier: Identifier) -> bool:
    """Whether a wheel with ``tags`` installs on ``identifier``'s interpreter and platform.

    ``cp312-cp312`` covers ``cp312`` only; ``cp310-abi3`` covers every non-free-threaded CPython from 3.10 on;
    ``py3-none`` with a platform tag covers every version on that platform.
    """
    for tag in tags:
        if identifier_platform(tag.platform) != identifier.platform and tag.platform != "any":
            continue
        interp, abi = tag.interpreter, tag.abi
        m = re.match(r"^cp(\d)(\d+)$", interp)
        if abi == "abi3" and m:
            if not identifier.free_threaded and (int(m[1]), int(m[2])) <= (
                identifier.major,
                identifier.minor,
            ):
                return True
        elif (abi == identifier.python and interp == f"cp{identifier.major}{identifier.minor}") or (
            abi == "none" and interp in {"py3", f"py{identifier.major}{identifier.minor}"}
        ):
            return True
    return False


def wheel_identifiers(filename: str) -> list[Identifier]:
    """The identifiers a wheel file is built for, from its name's own tags (abi3 wheels: their minimum version).

    A tag that no identifier describes (``linux_x86_64``, ``any``) gives none; an invalid name gives none.
    """
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return []
    out: set[Identifier] = set()
    for tag in tags:
        platform = identifier_platform(tag.platform)
        m = re.match(r"^cp(\d)(\d+)$", tag.interpreter)
        if platform is None or not m:
            continue
        free_threaded = tag.abi.endswith("t") and tag.abi.startswith("cp")
        out.add(Identifier(major=int(m[1]), minor=int(m[2]), free_threaded=free_threaded, platform=platform))
    return sorted(out)


#: Suffixes of sources a backend compiles into a platform wheel (C, C++, Objective-C, Cython, Fortran, Rust, CUDA).
COMPILED_SUFFIXES = frozenset(
    {".c", ".cc", ".cpp", ".cxx", ".c++", ".m", ".mm", ".pyx", ".f", ".f90", ".f95", ".rs", ".cu"}
)
# Folders whose sources are not the project's extension (a pure project may ship C test fixtures or examples).
_NOT_EXTENSION_DIRS = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks"}
)


def compiled_sources(sdist: Path) -> list[str]:
    """The members of ``sdist`` (``.tar.gz`` or ``.zip``) that a backend compiles, outside tests, docs and
    examples: a project whose sdist has any builds platform wheels, so a pure wheel of it lost its extension.

    An unreadable sdist gives an empty list (the build or verify step reports it on its own).
    """
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
        else:
            with tarfile.open(sdist, "r:*") as tar:
                names = [m.name for m in tar.getmembers() if m.isfile()]
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError):
        return []
    out = []
    for name in names:
        path = PurePosixPath(name)
        dirs = {part.lower() for part in path.parts[1:-1]}  # below the sdist's top folder
        if path.suffix.lower() in COMPILED_SUFFIXES and not dirs & _NOT_EXTENSION_DIRS:
            out.append(name.split("/", 1)[-1])
    return sorted(out)


_MAX_PYPROJECT = 1 << 20
