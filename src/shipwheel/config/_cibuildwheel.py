"""cibuildwheel's configuration as a source below ``[tool.shipwheel]``: ``[tool.cibuildwheel]`` and ``CIBW_*``.

A project that releases with cibuildwheel gets the same matrix and the same build steps from shipwheel with no new
configuration. Each option is read with the meaning the project's cibuildwheel line gives it (``_lines``) and
turned into the shipwheel key that means the same, in cibuildwheel's order of levels: its defaults, the table,
the platform table, the ``[[overrides]]``, ``CIBW_X``, ``CIBW_X_<PLATFORM>`` (the last two from the
environment and from the project's own workflows). Lists are joined as cibuildwheel joins them (``&&`` for
commands); ``archs`` and ``enable`` stay cibuildwheel's own keys, read per system into the matrix.

This is hand-written rather than calling cibuildwheel because cibuildwheel has no public Python API for its
options (``options.py`` changes between releases) and needs Python 3.11; the configuration format is the stable,
documented interface, and the tests compare the result with the real cibuildwheel of each line.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..errors import ConfigError
from ._lines import CibuildwheelLine
from ._model import CIBW_ARCHS, CIBW_ENABLE, SPECS
from ._shipwheel import OS_SELECT, setting
from ._values import Level, Raw, Setting, short

__all__ = [
    "OS_SELECT",
    "CibwReading",
    "expand_environment",
    "line_defaults",
    "parse_environment",
    "read_table",
]

_OSES = tuple(OS_SELECT)
_OTHER_PLATFORMS = ("pyodide", "ios", "android")
#: cibuildwheel option -> shipwheel key; ``archs`` and ``enable`` keep cibuildwheel's meaning.
MAPPED: Mapping[str, str] = MappingProxyType(
    {
        **{k: k for k in (
            "build", "skip", "test-skip", "before-all", "before-build", "before-test", "test-command",
            "repair-wheel-command", "test-requires", "test-groups", "test-sources", "test-extras", "environment",
            "environment-pass", "build-frontend", "config-settings",
        )},
        "archs": CIBW_ARCHS,
        "enable": CIBW_ENABLE,
    }
)  # fmt: skip
#: Commands: a TOML list is joined with ``&&``.
_COMMANDS = frozenset({"before-all", "before-build", "before-test", "test-command", "repair-wheel-command"})
#: Understood, used only inside cibuildwheel's own runs (containers, its tool pins, its verbosity).
CI_ONLY = frozenset(
    {"container-engine", "build-verbosity", "xbuild-tools", "xbuild-files", "pyodide-version", "test-runtime",
     "audit-requires", "audit-command", "test-environment"}
)  # fmt: skip
#: keys whose value may also be a table (cibuildwheel's schema)
_TABLES = frozenset({"environment", "config-settings", "build-frontend", "dependency-versions", "xbuild-files",
                     "test-runtime", "container-engine", "test-environment"})  # fmt: skip


@dataclass(slots=True)
class CibwReading:
    """What cibuildwheel's configuration says: the levels in cibuildwheel's order, the keys used only in its CI
    runs, notes (keys not used), and what the line rejects (its own error would stop cibuildwheel)."""

    levels: list[Level] = field(default_factory=list)
    ci_only: list[str] = field(default_factory=list)
    #: worth a warning on every command: keys or variables that are not understood
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unknown_groups: list[str] = field(default_factory=list)
    #: told by ``shipwheel config`` only: settings that are normal for a project and have no effect here
    info: list[str] = field(default_factory=list)

    def check_groups(self, line: CibuildwheelLine) -> None:
        """``enable`` groups the line does not know (cibuildwheel stops on them), and the groups of other
        interpreters (their identifiers are no wheel shipwheel builds)."""
        for level in self.levels:
            found = level.values.get(CIBW_ENABLE)
            if found is None or not isinstance(found.value, tuple):
                continue
            groups, unknown = line.enabled_groups(found.value)
            self.unknown_groups += [f"{level.origin}: unknown enable group '{g}'" for g in unknown]
            for group in sorted(groups - {"cpython-freethreading", "cpython-prerelease"}):
                self.info.append(f"enable '{group}' ({level.origin}): shipwheel builds CPython wheels only")

    def notes_for_warning(self) -> list[str]:
        """What every command warns about."""
        return list(dict.fromkeys([*self.notes, *self.unknown_groups]))

    def remarks(self) -> list[str]:
        """What ``shipwheel config`` tells."""
        return list(dict.fromkeys(self.info))


def line_defaults(line: CibuildwheelLine) -> list[Level]:
    """The line's own defaults: free-threaded builds on, and each platform's repair command (empty: shipwheel
    repairs as that command does; an ``inherit`` joins to the command itself)."""
    origin = f"{line} default"
    levels = [Level(origin, "default", MappingProxyType({"free-threaded": Setting(True, origin)}))]
    for os_name, command in line.repair_defaults.items():
        values = {"repair-wheel-command": Setting("", origin, implicit=command or None)}
        levels.append(Level(origin, "default", MappingProxyType(values), os=os_name))
    return levels


def check_type(key: str, value: Raw, where: str) -> None:
    """cibuildwheel's schema: a string, a list of strings, or (for some keys) a table; anything else is refused
    naming the key, never a traceback."""
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return
    if (
        isinstance(value, dict)
        and key in _TABLES
        and all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in value.values()
        )
    ):
        return
    table = " or a table of strings" if key in _TABLES else ""
    name = where if where.endswith(key) else f"'{key}' in {where}"
    raise ConfigError(
        f"{name} must be a string or a list of strings{table}, got {short(value)}",
        hint="see cibuildwheel's documentation of the option",
    )


def translate(key: str, value: Raw, where: str, line: CibuildwheelLine, out: CibwReading) -> Raw:
    """A cibuildwheel value as the raw value of its shipwheel key."""
    check_type(key, value, where)
    if isinstance(value, list):
        words = [str(v) for v in value]
        value = " && ".join(words) if key in _COMMANDS else " ".join(words) if key == "archs" else value
    if key == "environment":
        return environment_table(value, where, out.notes)
    if key in {"build", "skip", "test-skip"}:
        return _selectors(value, where, out.info)
    if key == "config-settings" and isinstance(value, str):
        try:
            return list[Raw](shlex.split(value))
        except ValueError as exc:
            raise ConfigError(f"{where} {value!r} does not parse: {exc}", hint="check the quotes") from None
    if key == "test-extras" and isinstance(value, str):
        return list[Raw](v for v in value.replace(",", " ").split() if v)
    if key in {"test-requires", "test-sources"} and line.name.startswith("4"):
        return list[Raw](_shlex_words(value, where)) if isinstance(value, str) else value
    if key == "test-requires":  # 3.x joins a list with spaces and splits the text again
        return list[Raw](" ".join(map(str, value)).split() if isinstance(value, list) else str(value).split())
    if key == "build-frontend" and isinstance(value, dict):
        args = value.get("args", [])
        name = str(value.get("name", "default"))
        return f"{name}; args: {shlex.join(map(str, args))}" if isinstance(args, list) and args else name
    return value


def _selectors(value: Raw, where: str, notes: list[str]) -> list[Raw]:
    """cibuildwheel's selectors: any fnmatch pattern is valid to cibuildwheel, so one that matches no
    identifier of any line (an old ``cp36-*``) is left out with a note instead of refused."""
    from ..errors import SelectorError
    from ..matrix import Selector

    items = value if isinstance(value, list) else [value]
    words = [w for item in items for w in str(item).split()]
    kept: list[Raw] = []
    for word in words:
        try:
            Selector.parse(word)
        except SelectorError:
            notes.append(f"{where}: selector {word!r} matches no identifier cibuildwheel builds today")
            continue
        kept.append(word)
    return kept


def _shlex_words(value: str, where: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise ConfigError(f"{where} {value!r} does not parse: {exc}", hint="check the quotes") from None


def environment_table(value: Raw, where: str, notes: list[str]) -> dict[str, Raw]:
    """``environment`` as a table of assignments (``$VAR`` kept: expanded when the build runs)."""
    if "$(" in str(value) or "`" in str(value):
        notes.append(
            f"{where}: command substitution ($(...)) is not run by shipwheel; the value is used as written"
        )
    if isinstance(value, dict):
        return dict(value)
    return dict(parse_environment(str(value), where))


def parse_environment(text: str, where: str) -> dict[str, str]:
    """cibuildwheel's string form of ``environment``: ``A=1 B="two words" C=$A/x``; ``$VAR`` references stay in
    the values and are expanded when the build runs (:func:`expand_environment`)."""
    out: dict[str, str] = {}
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: environment {text!r} does not parse: {exc}", hint="check the quotes"
        ) from None
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name.isidentifier():
            raise ConfigError(
                f"{where}: environment item {word!r} is not NAME=value", hint="write A=1 B=$A/x"
            )
        out[name] = value
    return out


def known(key: str, line: CibuildwheelLine) -> bool:
    """Whether ``key`` is an option of ``line``."""
    return key in line.options


def _keys(
    table: Mapping[str, Raw], where: str, line: CibuildwheelLine, out: CibwReading, extra: set[str]
) -> None:
    """Options the line does not know are what cibuildwheel stops on ("Option 'x' not supported")."""
    for key in table:
        if key in extra:
            continue
        if not known(key, line):
            out.rejected.append(f"{where}: unknown option '{key}'")
            out.notes.append(f"{where}: '{key}' is not understood by shipwheel and is ignored")
        elif key in CI_ONLY or key.endswith("-image"):
            out.ci_only.append(f"{where} {key}")


def inherit_rules(text: str) -> dict[str, str]:
    """cibuildwheel 4's string form of ``inherit`` (and ``CIBW_INHERIT``): ``before-build; before-test: append;
    test-command: prepend`` (a name without a rule appends)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";")
    lexer.commenters = ""
    lexer.whitespace_split = True
    rules: dict[str, str] = {}
    for is_sep, group in itertools.groupby(lexer, lambda x: x == ";"):
        words = list(group)
        if is_sep or not words:
            continue
        name, sep, rule = words[0].partition(":")
        if sep:
            rules[name] = rule or (words[1] if len(words) > 1 else "")
        else:
            rules.update(dict.fromkeys(words, "append"))
    return rules


def _inherit(table: Mapping[str, Raw], where: str) -> dict[str, str]:
    raw = table.get("inherit", {})
    if isinstance(raw, str):
        raw = dict[str, Raw](inherit_rules(raw))
    if not isinstance(raw, dict) or not {str(v) for v in raw.values()} <= {"none", "append", "prepend"}:
        raise ConfigError(
            f"'inherit' in {where} must be a table of none/append/prepend",
            hint='write inherit.test-command = "append"',
        )
    return {str(k): str(v) for k, v in raw.items()}


def table_level(
    table: Mapping[str, Raw],
    where: str,
    line: CibuildwheelLine,
    out: CibwReading,
    base: Path,
    **scope: str | None,
) -> Level:
    """One table of cibuildwheel's (the top table, a platform table or an override) as a level."""
    inherit = _inherit(table, where) if "inherit" in table else {}
    values: dict[str, Setting] = {}
    for key, raw in table.items():
        if key not in MAPPED:
            continue
        target = MAPPED[key]
        translated = translate(key, raw, where if key in {"archs", "enable"} else f"{where} {key}", line, out)
        if target == CIBW_ARCHS and not translated:
            continue  # cibuildwheel ignores an empty archs
        found = setting(SPECS[target], translated, f"'{key}' from {where}", where, base)
        values[target] = Setting(found.value, where, inherit.get(key, "none"))
    return Level(where, "cibuildwheel", MappingProxyType(values), **scope)


def read_table(tool_table: Raw, line: CibuildwheelLine, base: Path) -> CibwReading:
    """``[tool.cibuildwheel]``: the table, its platform tables and its overrides, in cibuildwheel's order."""
    out = CibwReading()
    if tool_table is None:
        return out
    if not isinstance(tool_table, dict):
        raise ConfigError(
            "[tool.cibuildwheel] must be a table", hint="write it as a [tool.cibuildwheel] section"
        )
    top = "[tool.cibuildwheel]"
    inherit = {"inherit"} if line.table_inherit else set()
    _keys(tool_table, top, line, out, {*_OSES, *_OTHER_PLATFORMS, "overrides", *inherit})
    out.ci_only += [f"[tool.cibuildwheel.{n}]" for n in _OTHER_PLATFORMS if n in tool_table]
    out.levels.append(table_level(tool_table, top, line, out, base))
    for os_name in _OSES:
        sub = tool_table.get(os_name)
        if sub is None:
            continue
        where = f"[tool.cibuildwheel.{os_name}]"
        if not isinstance(sub, dict):
            raise ConfigError(f"{where} must be a table", hint=f"write it as a {where} section")
        _keys(sub, where, line, out, inherit)
        out.levels.append(table_level(sub, where, line, out, base, os=os_name))
    out.levels += _overrides(tool_table.get("overrides", []), line, out, base)
    return out


def _overrides(overrides: Raw, line: CibuildwheelLine, out: CibwReading, base: Path) -> list[Level]:
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise ConfigError(
            "[[tool.cibuildwheel.overrides]] must be an array of tables", hint="see cibuildwheel's docs"
        )
    levels = []
    for index, entry in enumerate(overrides):
        assert isinstance(entry, dict)
        where = f"[[tool.cibuildwheel.overrides]] #{index + 1}"
        select = entry.get("select")
        if isinstance(select, list):
            select = " ".join(map(str, select))
        if not isinstance(select, str) or not select:
            raise ConfigError(
                f"{where} has no 'select'", hint='add select = "cp312-*" (the identifiers it applies to)'
            )
        _keys(entry, where, line, out, {"select", "inherit"})
        levels.append(table_level(entry, where, line, out, base, select=select))
    return levels


def dependency_versions(
    value: Raw, where: str, out: CibwReading, base: Path, *, from_env: bool = False
) -> list[Level]:
    """``pinned``/``latest`` pin cibuildwheel's own tools (CI only); a constraints file constrains the build
    environments (``PIP_CONSTRAINT``, ``UV_CONSTRAINT``), which is where it applies in shipwheel."""
    if not value:
        return []
    check_type("dependency-versions", value, where)
    if isinstance(value, dict):
        value = value.get("file", "")
    text = str(value).removeprefix("file:")
    if text in {"pinned", "latest"} or text.startswith("packages:"):
        out.ci_only.append(f"dependency-versions = {text!r}")
        return []
    # relative to where cibuildwheel runs: the working folder for the variable, the project for the table
    path = (
        str(Path(text).absolute()) if from_env else text if Path(text).is_absolute() else "{project}/" + text
    )
    origin = f"{where} dependency-versions" if not from_env else where
    values = {
        "environment": Setting(
            MappingProxyType({"PIP_CONSTRAINT": path, "UV_CONSTRAINT": path}), origin, "append"
        )
    }
    return [Level(origin, "cibuildwheel", MappingProxyType(values))]


def expand_environment(assignments: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """Evaluate ``environment`` as cibuildwheel does: in order, each ``$VAR`` / ``${VAR}`` replaced by the value
    set just before, else the one in ``base`` (the build's environment), else the empty string. Returns only
    the assigned variables. ``$(...)`` command substitution is left as written."""
    import re

    pattern = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
    out: dict[str, str] = {}

    def lookup(m: re.Match[str]) -> str:
        name = m["braced"] or m["plain"]
        return out.get(name, base.get(name, ""))

    for name, value in assignments.items():
        out[name] = pattern.sub(lookup, value)
    return out
