"""The rules of each cibuildwheel line shipwheel reads ``[tool.cibuildwheel]`` and ``CIBW_*`` with.

cibuildwheel changes the meaning of its configuration between releases: 4.x dropped CPython 3.8 and the
``cpython-freethreading`` enable group (free-threaded builds are on by default) and builds 3.15; 3.4 left
``cpython-freethreading`` out of ``all`` and dropped ``cpython-experimental-riscv64``. Each line below is written
from that release's own ``selector.py``, ``options.py``, ``resources/defaults.toml`` and
``resources/build-platforms.toml``; ``tests/config/test_cibuildwheel_lines.py`` compares the identifiers each
line selects with the real cibuildwheel of that line.

Which line applies to a project (:func:`choose_line`): ``ci.cibuildwheel-version`` when configured, else the
version the project's own workflows pin, else the newest line whose rules accept the project's configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ..errors import ConfigError

__all__ = ["LINES", "CibuildwheelLine", "choose_line", "line_for_version"]

Version2 = tuple[int, int]

#: cibuildwheel options every supported line knows (``resources/defaults.toml``), beside the platform tables.
_OPTIONS = frozenset(
    {
        "archs", "before-all", "before-build", "before-test", "build", "build-frontend", "build-verbosity",
        "config-settings", "container-engine", "dependency-versions", "enable", "environment",
        "environment-pass", "pyodide-version", "repair-wheel-command", "skip", "test-command",
        "test-environment", "test-extras", "test-groups", "test-requires", "test-runtime", "test-skip",
        "test-sources", "xbuild-tools",
        *(f"{lib}-{arch}-image" for lib in ("manylinux", "musllinux")
          for arch in ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")),
        *(f"manylinux-pypy_{arch}-image" for arch in ("x86_64", "i686", "aarch64")),
    }
)  # fmt: skip
_REPAIR_LINUX = "auditwheel repair -w {dest_dir} {wheel}"
_REPAIR_MACOS = "delocate-wheel --require-archs {delocate_archs} -w {dest_dir} -v {wheel}"
_REPAIR_WINDOWS = "delvewheel repair -w {dest_dir} -v {wheel}"
_GROUPS_3 = frozenset(
    {"cpython-freethreading", "cpython-prerelease", "graalpy", "pypy", "pypy-eol", "pyodide-prerelease"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CibuildwheelLine:
    """What one cibuildwheel line means by its configuration."""

    #: ``3.3``, ``3.4``, ``4.3``
    name: str
    #: the newest release of the line, which the tests compare with
    newest: str
    #: CPython feature versions it builds (its ``build-platforms.toml``)
    cpython: tuple[Version2, ...]
    #: free-threaded versions built by default
    free_threaded: tuple[Version2, ...]
    #: free-threaded versions built only with the ``cpython-freethreading`` enable group
    free_threaded_enabled: tuple[Version2, ...] = ()
    #: the enable group names it accepts, and what ``all`` stands for
    groups: frozenset[str]
    all_groups: frozenset[str]
    #: the options ``[tool.cibuildwheel]`` may hold
    options: frozenset[str]
    #: the platform tables' defaults of ``repair-wheel-command`` (what ``inherit = "append"`` appends to)
    repair_defaults: Mapping[str, str]
    #: ``inherit`` in ``[tool.cibuildwheel]`` and its platform tables, and ``CIBW_INHERIT`` (4.x)
    table_inherit: bool = False
    #: identifiers of its versions that do not exist (python.org has no Windows ARM64 build of 3.8)
    missing: frozenset[str] = field(default_factory=frozenset)

    def enabled_groups(self, words: Sequence[str]) -> tuple[frozenset[str], list[str]]:
        """The groups ``words`` enable, and the words this line rejects (cibuildwheel: "Unknown enable
        group")."""
        groups: set[str] = set()
        unknown: list[str] = []
        for word in words:
            if word == "all":
                groups |= self.all_groups
            elif word in self.groups:
                groups.add(word)
            else:
                unknown.append(word)
        return frozenset(groups), unknown

    def free_threaded_versions(self, groups: frozenset[str]) -> tuple[Version2, ...]:
        """The free-threaded versions built with the enable ``groups``."""
        extra = self.free_threaded_enabled if "cpython-freethreading" in groups else ()
        return tuple(sorted({*self.free_threaded, *extra}))

    def __str__(self) -> str:
        return f"cibuildwheel {self.name}"

    def __repr__(self) -> str:
        return f"CibuildwheelLine({self.name!r})"


def _versions(first: int, last: int) -> tuple[Version2, ...]:
    return tuple((3, minor) for minor in range(first, last + 1))


#: The supported lines, newest first.
LINES: tuple[CibuildwheelLine, ...] = (
    CibuildwheelLine(
        name="4.3",
        newest="4.3.5",
        cpython=_versions(9, 15),
        free_threaded=((3, 14), (3, 15)),
        groups=frozenset(
            {"cpython-prerelease", "graalpy", "pypy", "pypy-eol", "pyodide-eol", "pyodide-prerelease"}
        ),
        all_groups=frozenset(
            {"cpython-prerelease", "graalpy", "pypy", "pypy-eol", "pyodide-eol", "pyodide-prerelease"}
        ),
        options=_OPTIONS | {"audit-command", "audit-requires", "xbuild-files"},
        repair_defaults=MappingProxyType(
            {"linux": _REPAIR_LINUX, "macos": _REPAIR_MACOS, "windows": _REPAIR_WINDOWS}
        ),
        table_inherit=True,
    ),
    CibuildwheelLine(
        name="3.4",
        newest="3.4.1",
        cpython=_versions(8, 14),
        free_threaded=((3, 14),),
        free_threaded_enabled=((3, 13),),
        groups=_GROUPS_3,
        all_groups=_GROUPS_3 - {"cpython-freethreading"},
        options=_OPTIONS,
        repair_defaults=MappingProxyType({"linux": _REPAIR_LINUX, "macos": _REPAIR_MACOS, "windows": ""}),
        missing=frozenset({"cp38-win_arm64"}),
    ),
    CibuildwheelLine(
        name="3.3",
        newest="3.3.1",
        cpython=_versions(8, 14),
        free_threaded=((3, 14),),
        free_threaded_enabled=((3, 13),),
        groups=_GROUPS_3 | {"cpython-experimental-riscv64"},
        all_groups=_GROUPS_3,
        options=_OPTIONS,
        repair_defaults=MappingProxyType({"linux": _REPAIR_LINUX, "macos": _REPAIR_MACOS, "windows": ""}),
        missing=frozenset({"cp38-win_arm64"}),
    ),
)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[.-]?\w+)?$")


def line_for_version(version: str, *, what: str) -> CibuildwheelLine:
    """The line whose rules a cibuildwheel release follows: the same major version, the newest line not newer
    than the release (an older 4.x reads like 4.3; 3.0 to 3.3 like 3.3)."""
    m = _VERSION.match(version.strip())
    if not m:
        raise ConfigError(
            f"{what}: {version!r} is not a cibuildwheel version", hint="write it like 4.3.5 or 3.3"
        )
    wanted = (int(m[1]), int(m[2]))
    same = [line for line in LINES if int(line.name.split(".")[0]) == wanted[0]]
    if not same:
        known = ", ".join(line.name for line in LINES)
        raise ConfigError(
            f"{what}: shipwheel reads the configuration of cibuildwheel {known}, not {version}",
            hint=f"pin cibuildwheel {LINES[0].newest} (or a 3.x release) in the workflow or in ci.cibuildwheel-version",
        )
    older = [line for line in same if _key(line) <= wanted]
    return older[0] if older else same[-1]


def _line_of_pin(version: str, where: str) -> tuple[CibuildwheelLine, bool]:
    """The line a workflow's pin is read with, and whether the pin is older than every line: a project's own pin
    of an older major release (2.x, whose keys 3.x kept) is read with the oldest line rather than refused, as the
    project's files are not the user's to change for a release; a pin newer than every line is refused."""
    m = _VERSION.match(version.strip())
    if m and (int(m[1]), int(m[2])) < _key(LINES[-1]) and int(m[1]) < _key(LINES[-1])[0]:
        return LINES[-1], True
    return line_for_version(version, what=where), False


def _key(line: CibuildwheelLine) -> Version2:
    major, minor = line.name.split(".")
    return int(major), int(minor)


@dataclass(frozen=True, slots=True)
class LineChoice:
    """The line that applies and why (``ci.cibuildwheel-version``, a workflow's pin, or the newest that accepts
    the configuration), with what that line rejects of the configuration (empty when it accepts it)."""

    line: CibuildwheelLine
    reason: str
    pinned: str = ""
    rejected: tuple[str, ...] = ()


def choose_line(
    configured: tuple[str, str] | None,
    pins: Sequence[tuple[str, str]],
    rejects: Callable[[CibuildwheelLine], list[str]],
) -> LineChoice:
    """The line for a project: ``configured`` (version, where) wins, then the first of the workflows' ``pins``
    (version, where), else the newest line ``rejects`` nothing of."""
    if configured is not None:
        line = line_for_version(configured[0], what=configured[1])
        return LineChoice(line, f"{configured[1]} = {configured[0]}", configured[0], tuple(rejects(line)))
    if pins:
        version, where = pins[0]
        line, older = _line_of_pin(version, where)
        reason = f"pinned by {where}"
        if older:  # a maintenance branch still on cibuildwheel 2.x (NumPy 2.2.x pins 2.21.3)
            reason += f"; cibuildwheel {version} is older than every line shipwheel reads, read with {line.name}'s rules"
        return LineChoice(line, reason, version, tuple(rejects(line)))
    first: LineChoice | None = None
    for line in LINES:
        problems = rejects(line)
        choice = LineChoice(line, "the newest cibuildwheel line that accepts the configuration", "", ())
        if not problems:
            return choice
        first = first or LineChoice(line, "the newest cibuildwheel line", "", tuple(problems))
    assert first is not None
    return first
