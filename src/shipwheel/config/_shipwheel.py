"""shipwheel's own sources: the packaged defaults, ``[tool.shipwheel]`` (with its per-platform tables and
``[[tool.shipwheel.overrides]]``), the ``SHIPWHEEL_*`` variables and the command line; one reader each."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ..errors import ConfigError
from ._model import SECTIONS, SPECS, Spec
from ._values import Level, Raw, Setting, Value, coerce, short

__all__ = [
    "ENV_PREFIX",
    "OS_SELECT",
    "Where",
    "cli_level",
    "default_level",
    "env_level",
    "env_name",
    "shipwheel_levels",
    "subtable",
    "suggest",
]

ENV_PREFIX = "SHIPWHEEL_"
#: The identifiers of each operating system, as a selector (cibuildwheel's platform tables).
OS_SELECT: Mapping[str, str] = MappingProxyType(
    {"linux": "*-manylinux_* *-musllinux_*", "macos": "*-macosx_*", "windows": "*-win32 *-win_*"}
)
_BUILD_KEYS = [s.key for s in SPECS.values() if not s.section]


@dataclass(frozen=True, slots=True)
class Where:
    """How values of one source are resolved: paths against ``base``, and named in messages by ``label``."""

    base: Path
    label: str = "pyproject.toml"


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides ``key`` of ``section`` (``""`` for the top level)."""
    parts = [section, key] if section else [key]
    return ENV_PREFIX + "_".join(p.replace("-", "_").upper() for p in parts)


def suggest(key: str, known: list[str]) -> str:
    """``did you mean 'x'?`` for the closest known name, else the list of known names."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known keys: " + ", ".join(sorted(known))


def subtable(parent: Mapping[str, Raw], key: str, where: str) -> dict[str, Raw]:
    """``parent[key]`` when it is a table, ``{}`` when absent; anything else is a ConfigError naming ``where``."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} in pyproject.toml must be a table, got {type(value).__name__} {short(value)}",
            hint=f"write it as a {where} section",
        )
    return value


def resolve_path(value: str, key: str, base: Path) -> Path:
    """A path option: relative to ``base``; empty means ``base`` (the cache folder: the user cache)."""
    if not value:
        if key == "cache-dir":
            import platformdirs

            return Path(platformdirs.user_cache_dir("shipwheel"))
        return base
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def setting(spec: Spec, raw: Raw, what: str, origin: str, base: Path, *, from_env: bool = False) -> Setting:
    """One value of a source, checked against its key's type and bounds, paths resolved against ``base``."""
    value: Value = coerce(spec, raw, what, from_env=from_env)
    if spec.kind == "path" and isinstance(value, str):
        value = resolve_path(value, spec.key, base)
    return Setting(value, origin)


def _where(section: str) -> str:
    return f"[tool.shipwheel.{section}]" if section else "[tool.shipwheel]"


def default_level(defaults: Mapping[str, Raw], base: Path) -> Level:
    """The packaged defaults (``defaults.toml``), paths relative to the project."""
    values = {}
    for spec in SPECS.values():
        if spec.section == "cibuildwheel":
            continue
        table = subtable(defaults, spec.section, spec.section) if spec.section else defaults
        raw = table[spec.key.rsplit(".", 1)[-1]]
        values[spec.key] = setting(spec, raw, f"default {spec.key}", "default", base)
    return Level("default", "default", MappingProxyType(values))


def _section_settings(table: Mapping[str, Raw], section: str, where: Where) -> dict[str, Setting]:
    known = {s.key.rsplit(".", 1)[-1]: s for s in SPECS.values() if s.section == section}
    values = {}
    for key, raw in table.items():
        spec = known[key]
        values[spec.key] = setting(spec, raw, f"'{key}' in {_where(section)}", where.label, where.base)
    return values


def _check_keys(table: Mapping[str, Raw], section: str, extra: list[str]) -> None:
    known = [s.key.rsplit(".", 1)[-1] for s in SPECS.values() if s.section == section] + extra
    for key in table:
        if key not in known:
            raise ConfigError(f"unknown key '{key}' in {_where(section)}", hint=suggest(key, known))


def shipwheel_levels(user: Mapping[str, Raw], where: Where) -> list[Level]:
    """``[tool.shipwheel]`` and its sections (one level), then its platform tables and overrides."""
    sections = [s for s in SECTIONS if s]
    _check_keys(user, "", [*sections, *OS_SELECT, "overrides", "downstream"])
    values = _section_settings({k: v for k, v in user.items() if k in _BUILD_KEYS}, "", where)
    for section in sections:
        table = user.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(
                f"{_where(section)} must be a table", hint=f"write it as a {_where(section)} section"
            )
        _check_keys(table, section, [])
        values |= _section_settings(table, section, where)
    levels = [Level(where.label, "shipwheel", MappingProxyType(values))]
    return levels + _per_identifier(user, where)


def _per_identifier(user: Mapping[str, Raw], where: Where) -> list[Level]:
    """``[tool.shipwheel.linux]`` (``macos``, ``windows``) and ``[[tool.shipwheel.overrides]]``: the same
    per-identifier tables as cibuildwheel's, so that its configuration can be moved as it is."""
    tables: list[tuple[str, str | None, str | None, Raw]] = [
        (f"[tool.shipwheel.{name}]", name, None, user.get(name)) for name in OS_SELECT
    ]
    overrides = user.get("overrides", [])
    if not isinstance(overrides, list):
        raise ConfigError(
            "'overrides' in [tool.shipwheel] must be an array of tables",
            hint="write [[tool.shipwheel.overrides]]",
        )
    for index, entry in enumerate(overrides):
        select = entry.get("select") if isinstance(entry, dict) else None
        select = " ".join(map(str, select)) if isinstance(select, list) else select
        shown = f"[[tool.shipwheel.overrides]] #{index + 1}"
        if not isinstance(select, str) or not select:
            raise ConfigError(
                f"{shown} has no 'select'", hint='add select = "cp312-*" (the identifiers it applies to)'
            )
        tables.append((shown, None, select, entry))
    levels = []
    for shown, os_name, select, table in tables:
        if table is None:
            continue
        origin = shown if where.label == "pyproject.toml" else f"{shown} of {where.label}"
        levels.append(_table_level(shown, origin, os_name, select, table, where.base))
    return levels


def _table_level(
    shown: str, origin: str, os_name: str | None, select: str | None, table: Raw, base: Path
) -> Level:
    if not isinstance(table, dict):
        raise ConfigError(f"{shown} must be a table", hint=f"write it as a {shown} section")
    inherit = table.get("inherit", {})
    if not isinstance(inherit, dict) or not {str(v) for v in inherit.values()} <= {
        "none",
        "append",
        "prepend",
    }:
        raise ConfigError(
            f"'inherit' in {shown} must be a table of none/append/prepend",
            hint='write inherit.test-command = "append"',
        )
    values = {}
    for key, raw in table.items():
        if key in {"select", "inherit"}:
            continue
        if key not in _BUILD_KEYS:
            raise ConfigError(f"unknown key '{key}' in {shown}", hint=suggest(key, _BUILD_KEYS))
        found = setting(SPECS[key], raw, f"'{key}' in {shown}", origin, base)
        values[key] = Setting(found.value, origin, str(inherit.get(key, "none")))
    return Level(origin, "shipwheel", MappingProxyType(values), os=os_name, select=select)


def env_level(environ: Mapping[str, str], base: Path) -> Level:
    """The ``SHIPWHEEL_*`` variables: the same types, bounds and allowed values as the file's; paths relative
    to the working folder."""
    values = {}
    for spec in SPECS.values():
        if spec.section == "cibuildwheel":
            continue
        name = spec.key.rsplit(".", 1)[-1]
        var = env_name(spec.section, name)
        if var in environ:
            values[spec.key] = setting(spec, environ[var], var, f"env {var}", base, from_env=True)
    return Level("SHIPWHEEL_* environment", "shipwheel", MappingProxyType(values))


def cli_level(overrides: Mapping[str, Raw], base: Path) -> Level:
    """Values from the command line, keyed by dotted key; ``None`` is an option left unset."""
    values = {}
    for key, raw in overrides.items():
        if raw is None:
            continue
        if key not in SPECS:  # a bug in a command's option wiring, not a user error
            raise KeyError(f"unknown override keys {[key]}")
        what = f"the option for {key}"
        values[key] = setting(SPECS[key], raw, what, "command line", base, from_env=isinstance(raw, str))
    return Level("command line", "shipwheel", MappingProxyType(values))
