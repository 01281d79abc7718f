"""Where a project keeps its version, reading and writing it there, and PEP 440 bumps.

A :class:`VersionLocation` is one file and one regex. The regex has a named group ``version`` (the whole
string), or the groups ``major`` ``minor`` ``micro`` ``isreleased`` of NumPy's old ``setup.py``; every match in
the file is read and rewritten, so one regex can cover several assignments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .._fs import read_text, write_file
from ..errors import ConfigError, ProjectError, UsageError

__all__ = [
    "BUILTIN_PATTERNS",
    "VersionLocation",
    "bump_version",
    "find_locations",
    "parse_version",
    "read_locations",
    "write_version",
]

#: Patterns by kind. ``pyproject`` is applied to the ``[project]`` table only (see :func:`_span`).
BUILTIN_PATTERNS: Mapping[str, str] = {
    "pyproject": r"""(?m)^version\s*=\s*["'](?P<version>[^"'\n]+)["']""",
    "python": r"""(?m)^__version__\s*(?::\s*str\s*)?=\s*["'](?P<version>[^"'\n]+)["']""",
    "meson": r"""(?s)\bproject\s*\((?:[^()]|\([^()]*\))*?\bversion\s*:\s*['"](?P<version>[^'"\n]+)['"]""",
    "numpy": r"""(?m)^(?:MAJOR\s*=\s*(?P<major>\d+)|MINOR\s*=\s*(?P<minor>\d+)|MICRO\s*=\s*(?P<micro>\d+)"""
    r"""|ISRELEASED\s*=\s*(?P<isreleased>True|False|true|false))\b""",
}
_PARTS = ("major", "minor", "micro")


def parse_version(text: str) -> Version:
    """``text`` as a PEP 440 version, or a :class:`UsageError` saying so."""
    try:
        return Version(text)
    except InvalidVersion:
        raise UsageError(
            f"{text!r} is not a PEP 440 version", hint="write it like 1.2.0, 1.2.0rc1 or 1.3.0.dev0"
        ) from None


@dataclass(frozen=True, slots=True)
class VersionLocation:
    """One file holding the version, and the regex that finds it there."""

    path: Path
    kind: str
    pattern: str

    def read(self, text: str | None = None) -> str:
        """The version written here (``X.Y.Z`` plus `` (unreleased)`` for a NumPy-style location); from
        ``text`` instead of the file when given (the file's content at another commit)."""
        values = _values(self, self._text() if text is None else text)
        if "version" in values:
            return values["version"]
        released = values.get("isreleased", "true").lower() == "true"
        core = ".".join(values.get(p, "0") for p in _PARTS)
        return core if released else f"{core} (unreleased)"

    def agrees(self, version: Version, text: str | None = None) -> bool:
        """Whether this location holds ``version`` (NumPy style: same X.Y.Z, ISRELEASED only for a final)."""
        try:
            found = self.read(text)
        except ProjectError:
            return False
        if " " not in found and "." in found:
            try:
                return Version(found) == version
            except InvalidVersion:
                return False
        return found == _numpy_form(version)

    def write(self, version: Version) -> bool:
        """Write ``version`` here; ``False`` when the file already held it."""
        text = self._text()
        new_text = self.rewritten(version, text)
        if new_text == text:
            return False
        _atomic_write(self.path, new_text)
        return True

    def rewritten(self, version: Version, text: str) -> str:
        """``text`` (this file's content, here or at another commit) with ``version`` written in."""
        start, end = _span(self, text)
        regex = _compile(self)
        replacements: dict[str, str] = {"version": str(version)}
        release = (*version.release, 0, 0)[:3]
        replacements.update({p: str(n) for p, n in zip(_PARTS, release, strict=True)})
        final = not (version.is_prerelease or version.is_devrelease or version.is_postrelease)
        edits: list[tuple[int, int, str]] = []
        for match in regex.finditer(text, start, end):
            for group, value in match.groupdict().items():
                if value is None or (group not in replacements and group != "isreleased"):
                    continue
                if group == "isreleased":
                    new = "True" if final else "False"
                    new = new.lower() if value.islower() else new
                else:
                    new = replacements[group]
                edits.append((match.start(group), match.end(group), new))
        new_text = text
        for s, e, value in sorted(edits, reverse=True):
            new_text = new_text[:s] + value + new_text[e:]
        return new_text

    def _text(self) -> str:
        try:
            return read_text(self.path)  # a FIFO or a device is refused before it is opened
        except UnicodeDecodeError:
            raise ProjectError(
                f"cannot read version file {self.path}: it is not UTF-8 text",
                hint="fix release.version-files in [tool.shipwheel.release]",
            ) from None
        except OSError as exc:
            raise ProjectError(
                f"cannot read version file {self.path}: {exc.strerror}",
                hint="fix release.version-files in [tool.shipwheel.release]",
            ) from None


def _compile(loc: VersionLocation) -> re.Pattern[str]:
    try:
        regex = re.compile(loc.pattern)
    except re.error as exc:
        raise ConfigError(
            f"version pattern for {loc.path.name} is not a valid regex: {exc}",
            hint="fix release.version-patterns",
        ) from None
    if not {"version", *_PARTS} & set(regex.groupindex):
        raise ConfigError(
            f"version pattern for {loc.path.name} has no named group 'version' (or major/minor/micro)",
            hint="write (?P<version>...) around the version in the pattern",
        )
    return regex


def _span(loc: VersionLocation, text: str) -> tuple[int, int]:
    """The part of ``text`` the pattern applies to: the ``[project]`` table of a pyproject.toml, else all."""
    if loc.kind != "pyproject":
        return 0, len(text)
    head = re.search(r"(?m)^\[project\]\s*$", text)
    if head is None:
        return 0, 0
    nxt = re.compile(r"(?m)^\[").search(text, head.end())
    return head.end(), nxt.start() if nxt else len(text)


def _values(loc: VersionLocation, text: str) -> dict[str, str]:
    start, end = _span(loc, text)
    values: dict[str, str] = {}
    for match in _compile(loc).finditer(text, start, end):
        for group, value in match.groupdict().items():
            if value is not None:
                values.setdefault(group, value)
    if not values:
        raise ProjectError(
            f"no version found in {loc.path} (pattern {loc.kind})",
            hint="write the version there, or fix release.version-files / version-patterns",
        )
    return values


def _numpy_form(version: Version) -> str:
    core = ".".join(str(n) for n in (*version.release, 0, 0)[:3])
    final = not (version.is_prerelease or version.is_devrelease or version.is_postrelease)
    return core if final else f"{core} (unreleased)"


def _atomic_write(path: Path, text: str) -> None:
    # A crash mid-write must not leave a half-written pyproject.toml behind.
    # A version file that is a link is replaced by the rewritten file, never written through.
    write_file(path, text)


def _kind_of(path: str) -> str | None:
    name = Path(path).name
    if name == "pyproject.toml":
        return "pyproject"
    if name == "meson.build":
        return "meson"
    if name.endswith(".py"):
        return "python"
    return None


def find_locations(
    project_dir: Path, files: Sequence[str], patterns: Mapping[str, str], project_name: str | None
) -> list[VersionLocation]:
    """The configured version locations, or the ones found when ``files`` and ``patterns`` are empty.

    :raises ConfigError: a configured file of no known kind and without a pattern.
    :raises ProjectError: no location found at all.
    """
    locations: list[VersionLocation] = []
    for rel in dict.fromkeys([*files, *patterns]):
        given = patterns.get(rel)
        kind = given if given in BUILTIN_PATTERNS else ("custom" if given else _kind_of(rel))
        if kind is None:
            raise ConfigError(
                f"cannot tell how {rel} holds the version",
                hint=f'add a regex for it: [tool.shipwheel.release] version-patterns = {{"{rel}" = "..."}}',
            )
        pattern = given if kind == "custom" and given else BUILTIN_PATTERNS[kind]
        locations.append(VersionLocation(project_dir / rel, kind, pattern))
    if not locations:
        locations = _discover(project_dir, project_name)
    if not locations:
        raise ProjectError(
            f"no version found in {project_dir}",
            hint="set [project] version, or list the files in [tool.shipwheel.release] version-files",
        )
    return locations


def _discover(project_dir: Path, project_name: str | None) -> list[VersionLocation]:
    candidates = [project_dir / "pyproject.toml", project_dir / "meson.build"]
    if project_name:
        pkg = re.sub(r"[-.]+", "_", project_name).lower()
        candidates += [project_dir / "src" / pkg / "__init__.py", project_dir / pkg / "__init__.py"]
    found = []
    for path in candidates:
        kind = _kind_of(path.name)
        if kind is None or not path.is_file():
            continue
        loc = VersionLocation(path, kind, BUILTIN_PATTERNS[kind])
        try:
            loc.read()
        except ProjectError:
            continue
        found.append(loc)
    return found


def read_locations(locations: Sequence[VersionLocation]) -> dict[Path, str]:
    """What each location holds (an error text instead of a version where it holds none)."""
    out: dict[Path, str] = {}
    for loc in locations:
        try:
            out[loc.path] = loc.read()
        except ProjectError as exc:
            out[loc.path] = f"<{exc.message}>"
    return out


def write_version(locations: Sequence[VersionLocation], version: Version) -> list[Path]:
    """Write ``version`` into every location; the files that changed."""
    return [loc.path for loc in locations if loc.write(version)]


def bump_version(
    current: Version,
    *,
    pre: str | None = None,
    final: bool = False,
    dev: bool = False,
    segment: str = "micro",
) -> Version:
    """The next version after ``current`` (PEP 440), for the schedule dev -> a/b -> rc -> final -> next dev.

    Without options: a final goes to the next ``segment``'s ``.dev0``, a pre-release ``rcN`` to ``rcN+1``, a
    development release ``.devN`` to ``.devN+1``. ``pre`` moves to (or on within) that pre-release phase,
    ``final`` drops pre and dev parts, ``dev`` starts (or continues) a development release.
    :raises UsageError: a step backwards (``--pre a`` after ``rc1``, ``--final`` on a final).
    """
    if sum((pre is not None, final, dev)) > 1:
        raise UsageError("--pre, --final and --dev exclude each other", hint="pass one of them")
    order = {"a": 0, "b": 1, "rc": 2}
    if pre is not None and pre not in order:
        raise UsageError(f"unknown pre-release kind {pre!r}", hint="pass --pre a, b or rc")
    base = ".".join(str(n) for n in current.release)
    epoch = f"{current.epoch}!" if current.epoch else ""
    is_final = not (current.is_prerelease or current.is_devrelease or current.is_postrelease)
    if final:
        if is_final:
            raise UsageError(f"{current} is already a final release", hint="bump without --final")
        return Version(epoch + base)
    if is_final or current.is_postrelease:
        nxt = _next_release(current, segment)
        return Version(f"{epoch}{nxt}{pre}1" if pre else f"{epoch}{nxt}.dev0")
    if pre is not None:
        if current.pre is None:
            return Version(f"{epoch}{base}{pre}1")
        kind, num = current.pre
        if order[pre] < order[kind]:
            raise UsageError(
                f"{current} is past the {pre} phase",
                hint=f"bump with --pre {kind} or a later phase, or --final",
            )
        if order[pre] > order[kind]:
            return Version(f"{epoch}{base}{pre}1")
        # rc1.dev0 -> rc1: the development release of a pre-release comes before it.
        return Version(f"{epoch}{base}{kind}{num if current.dev is not None else num + 1}")
    pre_part = f"{current.pre[0]}{current.pre[1]}" if current.pre else ""
    if current.dev is not None:
        return Version(f"{epoch}{base}{pre_part}.dev{current.dev + 1}")
    assert current.pre is not None  # neither final nor dev, so a pre-release
    kind, num = current.pre
    return Version(f"{epoch}{base}{kind}{num + 1}.dev0" if dev else f"{epoch}{base}{kind}{num + 1}")


def _next_release(current: Version, segment: str) -> str:
    parts = [*current.release, 0, 0][:3]
    index = {"major": 0, "minor": 1, "micro": 2}.get(segment)
    if index is None:
        raise UsageError(f"unknown version segment {segment!r}", hint="pass major, minor or micro")
    parts[index] += 1
    parts[index + 1 :] = [0] * (2 - index)
    return ".".join(str(n) for n in parts)
