"""Load the configuration: packaged defaults < pyproject.toml < ``SHIPWHEEL_*`` environment < command line."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import ConfigError, ProjectError
from ._cibuildwheel import OS_SELECT, Override, read_cibuildwheel
from ._downstream import read_downstream
from ._files import load_defaults, read_pyproject, read_sdist_pyproject, read_toml
from ._model import SECTIONS, BuildOptions, Config, ProjectInfo, toml_key

__all__ = ["ENV_PREFIX", "env_name", "load_config"]

ENV_PREFIX = "SHIPWHEEL_"
# Warnings about the configuration go through the package's logger: every command that loads it shows them.
log = logging.getLogger("shipwheel")

_DEFAULT = "default"
_PYPROJECT = "pyproject.toml"
_CLI = "command line"
#: sources that are cibuildwheel's configuration
_CIBW_ORIGINS = ("[tool.cibuildwheel", "env CIBW_", "cibuildwheel")


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides ``key`` of ``section`` (``""`` for the top level)."""
    parts = [section, key] if section else [key]
    return ENV_PREFIX + "_".join(p.replace("-", "_").upper() for p in parts)


def _where(section: str) -> str:
    return f"[tool.shipwheel.{section}]" if section else "[tool.shipwheel]"


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known keys: " + ", ".join(sorted(known))


def _coerce(value: Any, hint_type: Any, *, what: str, from_env: bool) -> Any:
    """Turn a TOML or environment value into the field's type, or raise a ConfigError naming ``what``."""
    origin = typing.get_origin(hint_type)
    if hint_type is bool:
        if from_env:
            low = str(value).strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
        elif isinstance(value, bool):
            return value
        raise ConfigError(f"{what} must be true or false, got {value!r}", hint="set it to true or false")
    if hint_type is int or hint_type is float:
        noun, fix = ("an integer", "a whole number") if hint_type is int else ("a number", "a number")
        if isinstance(value, bool):
            pass
        elif isinstance(value, int) or (hint_type is float and isinstance(value, float)):
            return hint_type(value)
        elif from_env and isinstance(value, str):
            try:
                return hint_type(value)
            except ValueError:
                pass
        raise ConfigError(f"{what} must be {noun}, got {value!r}", hint=f"set it to {fix}")
    if hint_type is str or hint_type is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{what} must be a string, got {value!r}", hint="quote the value")
        return value
    if origin is tuple:
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(
            f"{what} must be a list of strings, got {value!r}",
            hint='write it as ["a", "b"] or as one space-separated string',
        )
    if origin is Mapping or origin is dict:
        if from_env and isinstance(value, str):
            pairs = {}
            for item in value.split():
                name, sep, val = item.partition("=")
                if not sep or not name:
                    raise ConfigError(
                        f"{what} must be KEY=VALUE pairs, got {item!r}", hint="write NAME=value NAME2=value2"
                    )
                pairs[name] = val
            return MappingProxyType(pairs)
        if isinstance(value, dict) and all(isinstance(v, str | int | float | bool) for v in value.values()):
            return MappingProxyType({str(k): _env_str(v) for k, v in value.items()})
        raise ConfigError(
            f"{what} must be a table of strings, got {value!r}", hint='write it as {NAME = "value"}'
        )
    raise TypeError(f"unsupported config field type {hint_type!r}")  # a bug in _model, not a user error


def _env_str(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _subtable(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """``parent[key]`` when it is a table, ``{}`` when absent; anything else is a ConfigError naming ``where``."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} in pyproject.toml must be a table, got {type(value).__name__} {_short(value)}",
            hint=f"write it as a {where} section",
        )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _project_info(pyproject: Mapping[str, Any] | None) -> ProjectInfo:
    table = _subtable(pyproject or {}, "project", "[project]")
    for key in ("name", "version", "requires-python"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(
                f"[project] {key} must be a string, got {_short(table[key])}", hint="quote the value"
            )
    dynamic = table.get("dynamic", [])
    if not isinstance(dynamic, list) or not all(isinstance(d, str) for d in dynamic):
        raise ConfigError(
            f"[project] dynamic must be a list of field names, got {_short(dynamic)}",
            hint='write it like dynamic = ["version"]',
        )
    requires = table.get("requires-python")
    spec: SpecifierSet | None = None
    if requires is not None:
        try:
            spec = SpecifierSet(requires)
        except InvalidSpecifier as exc:
            raise ConfigError(
                f"[project] requires-python {requires!r} is not a valid version specifier",
                hint="write it like '>=3.10'",
            ) from exc
    groups = _subtable(pyproject or {}, "dependency-groups", "[dependency-groups]")
    return ProjectInfo(
        name=table.get("name"),
        version=table.get("version"),
        requires_python=spec,
        dynamic=tuple(dynamic),
        dependency_groups=MappingProxyType(dict(groups)),
    )


def load_config(
    project_dir: Path | str = ".",
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    require_pyproject: bool = False,
    paths_relative_to: Path | str | None = None,
    config_dir: Path | str | None = None,
    label: str | None = None,
) -> Config:
    """Resolve the configuration of the project in ``project_dir`` (a folder, or an sdist file).

    :param overrides: values from the command line, keyed by dotted TOML key (``jobs``, ``verify.strict``);
        ``None`` values are ignored so that unset options fall through.
    :param environ: the environment to read ``SHIPWHEEL_*`` and ``CIBW_*`` variables from (default:
        ``os.environ``).
    :param require_pyproject: raise :class:`ProjectError` when the folder has no pyproject.toml.
    :param paths_relative_to: the folder relative paths from pyproject.toml and the defaults are resolved against
        (default: ``project_dir``, or the working folder for an sdist); ``shipwheel build`` reads the
        configuration of an exported commit but writes next to the user's own project folder.
    :param config_dir: take ``[tool.shipwheel]`` and ``[tool.cibuildwheel]`` from this folder's pyproject.toml
        (a checkout, for an sdist made elsewhere); ``[project]`` still comes from ``project_dir``.
    :param label: how the project's pyproject.toml is named in messages and sources (default
        ``pyproject.toml``, or ``NAME.tar.gz:pyproject.toml`` for an sdist) — never a temporary path.
    :raises ConfigError: unknown keys (with a suggestion) or values of the wrong type.
    """
    given = Path(project_dir).expanduser()
    environ = os.environ if environ is None else environ
    if given.is_file():
        project_dir = given.resolve()
        label = label or f"{given.name}:pyproject.toml"
        pyproject: dict[str, Any] | None = read_sdist_pyproject(project_dir, label)
        path_base = Path(paths_relative_to or Path.cwd()).resolve()
    else:
        project_dir = given.resolve()
        pyproject = read_pyproject(project_dir, label)
        path_base = Path(paths_relative_to).resolve() if paths_relative_to is not None else project_dir
    if pyproject is None and require_pyproject:
        raise ProjectError(
            f"no pyproject.toml in {project_dir}",
            hint="run shipwheel in the project's folder or pass the folder (or an sdist) as PROJECT",
        )
    project_info = _project_info(pyproject)
    tool_source, tool_label = pyproject, label or _PYPROJECT
    if config_dir is not None:
        config_path = Path(config_dir).expanduser().resolve() / "pyproject.toml"
        tool_label = str(config_path)
        if not config_path.is_file():
            raise ProjectError(
                f"no pyproject.toml in {config_path.parent}",
                hint="pass the folder of a checkout as --config-dir",
            )
        tool_source = read_toml(config_path)
        path_base = config_path.parent if paths_relative_to is None else path_base
        other_name = _subtable(tool_source or {}, "project", "[project]").get("name")
        if (
            isinstance(other_name, str)
            and project_info.name
            and canonicalize_name(other_name) != canonicalize_name(project_info.name)
        ):
            raise ConfigError(
                f"--config-dir {config_path.parent} is the configuration of {other_name}, "
                f"not of {project_info.name}",
                hint="pass the checkout of the project the sdist belongs to",
            )
    defaults = load_defaults()
    user = _subtable(_subtable(tool_source or {}, "tool", "[tool]"), "shipwheel", "[tool.shipwheel]")
    cibw = read_cibuildwheel(tool_source, environ, tuple(defaults["platforms"]))
    cli = {k: v for k, v in (overrides or {}).items() if v is not None}

    sources: dict[str, str] = {}
    built: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        fields = dataclasses.fields(cls)
        hints = typing.get_type_hints(cls)
        known = [toml_key(f) for f in fields]
        default_table = defaults if not section else defaults[section]
        user_table = user if not section else user.get(section, {})
        if not isinstance(user_table, dict):
            raise ConfigError(
                f"{_where(section)} must be a table", hint=f"write it as a {_where(section)} section"
            )
        allowed = known + (
            [s for s in SECTIONS if s] + [*_PER_IDENTIFIER, "downstream"] if not section else []
        )
        for key in user_table:
            if key not in allowed:
                raise ConfigError(f"unknown key '{key}' in {_where(section)}", hint=_suggest(key, allowed))
        values: dict[str, Any] = {}
        for f in fields:
            key = toml_key(f)
            dotted = f"{section}.{key}" if section else key
            var = env_name(section, key)
            in_file = False
            if dotted in cli:
                raw, origin, from_env = cli[dotted], _CLI, isinstance(cli[dotted], str)
            elif var in environ:
                raw, origin, from_env = environ[var], f"env {var}", True
            elif key in user_table:
                raw, origin, from_env, in_file = user_table[key], tool_label, False, True
            elif not section and key in cibw.values:
                raw, origin = cibw.values[key]
                from_env, in_file = origin.startswith("env"), not origin.startswith("env")
            else:
                raw, origin, from_env, in_file = default_table[key], _DEFAULT, False, True
            what = (
                var
                if origin == f"env {var}"
                else f"the option for {dotted}"
                if origin == _CLI
                else f"'{key}' in {_where(section)}"
                if origin == tool_label
                else f"'{key}' from {origin}"
            )
            values[f.name] = _value(f, hints[f.name], raw, what, from_env, in_file, path_base)
            sources[dotted] = origin
        built[section or "build"] = cls(**values)
    _check_selectors(built["build"], sources)
    for note in cibw.notes:
        log.warning("%s", note)
    unknown_cli = set(cli) - set(sources)
    if unknown_cli:  # a bug in a command's option wiring, not a user error
        raise KeyError(f"unknown override keys {sorted(unknown_cli)}")
    return Config(
        project_dir=project_dir,
        pyproject=project_dir / "pyproject.toml" if pyproject is not None and not given.is_file() else None,
        project=project_info,
        sources=MappingProxyType(sources),
        overrides=_overrides([*cibw.overrides, *_own_overrides(user, tool_label)], sources, path_base),
        warnings=tuple(cibw.notes),
        ci_only=tuple(cibw.ci_only),
        pyproject_label=tool_label if pyproject is not None or config_dir is not None else "",
        downstream=read_downstream(user, tool_label),
        **built,
    )


def _check_selectors(options: BuildOptions, sources: Mapping[str, str]) -> None:
    """``build``, ``skip``, ``test-skip`` and ``platforms`` that no identifier can match are a configuration error
    (exit 3) when they come from a file or a variable; from the command line they stay usage errors (exit 2)."""
    from ..errors import SelectorError
    from ..matrix import ALL_PLATFORMS, Selector  # matrix imports config: import when used

    for key in ("build", "skip", "test-skip"):
        try:
            Selector.parse(getattr(options, key.replace("-", "_")), what=f"{key} selector")
        except SelectorError as exc:
            if sources[key] == _CLI:
                raise
            raise ConfigError(f"{exc.message} (from {sources[key]})", hint=exc.hint) from None
    for platform in options.platforms:
        if platform not in ALL_PLATFORMS:
            raise ConfigError(
                f"unknown platform {platform!r} in 'platforms' (from {sources['platforms']})",
                hint="use platform parts like manylinux_x86_64, musllinux_aarch64, macosx_arm64, win_amd64",
            )


def _value(
    f: dataclasses.Field[Any], hint_type: Any, raw: Any, what: str, from_env: bool, in_file: bool, base: Path
) -> Any:
    """One field's value: coerced to its type, paths resolved, numbers checked against their bounds."""
    if f.metadata.get("pairs") and isinstance(raw, dict):
        # a table of config settings: KEY = "value" or KEY = ["v1", "v2"] (the key repeated)
        raw = [f"{k}={v}" for k, vs in raw.items() for v in (vs if isinstance(vs, list) else [vs])]
    if f.metadata.get("path"):
        value = _coerce(raw, str, what=what, from_env=from_env)
        return _resolve_path(value, toml_key(f), base, relative_to_project=in_file)
    value = _coerce(raw, hint_type, what=what, from_env=from_env and isinstance(raw, str))
    bounds = f.metadata.get("bounds")
    if bounds is not None and not bounds.check(value):
        raise ConfigError(
            f"{what} must be {bounds.describe(hint_type)}, got {_short(raw)}",
            hint="set it to a value in that range",
        )
    return value


#: per-identifier tables of [tool.shipwheel], with cibuildwheel's meaning
_PER_IDENTIFIER = {**OS_SELECT, "overrides": ""}


def _own_overrides(user: Mapping[str, Any], label: str) -> list[Override]:
    """``[tool.shipwheel.linux]`` (``macos``, ``windows``) and ``[[tool.shipwheel.overrides]]`` with ``select``:
    the same per-identifier tables as cibuildwheel's, so that its configuration can be moved as it is."""
    known = [toml_key(f) for f in dataclasses.fields(BuildOptions)]
    found: list[Override] = []
    entries: list[tuple[str, str, Any]] = [
        (f"[tool.shipwheel.{n}]", OS_SELECT[n], user.get(n)) for n in OS_SELECT
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
        where = f"[[tool.shipwheel.overrides]] #{index + 1}"
        if not isinstance(select, str) or not select:
            raise ConfigError(
                f"{where} has no 'select'", hint='add select = "cp312-*" (the identifiers it applies to)'
            )
        entries.append((where, select, entry))
    for where, select, table in entries:
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table", hint=f"write it as a {where} section")
        inherit = table.get("inherit", {})
        if not isinstance(inherit, dict) or not set(map(str, inherit.values())) <= {
            "none",
            "append",
            "prepend",
        }:
            raise ConfigError(
                f"'inherit' in {where} must be a table of none/append/prepend",
                hint='write inherit.test-command = "append"',
            )
        values = {}
        for key, value in table.items():
            if key in {"select", "inherit"}:
                continue
            if key not in known:
                raise ConfigError(f"unknown key '{key}' in {where}", hint=_suggest(key, known))
            values[key] = value
        shown = where if label == _PYPROJECT else f"{where} of {label}"
        found.append(Override(select, values, shown, dict(inherit)))
    return found


def _overrides(found: list[Override], sources: Mapping[str, str], base: Path) -> tuple[Override, ...]:
    """Per-identifier values, coerced now (a bad value fails at load, not mid-build). cibuildwheel's keep only
    keys no shipwheel source (command line, SHIPWHEEL_*, [tool.shipwheel]) has set; shipwheel's own
    (``[tool.shipwheel.linux]``, ``[[tool.shipwheel.overrides]]``) yield only to the command line and
    SHIPWHEEL_*."""
    fields = {toml_key(f): f for f in dataclasses.fields(BuildOptions)}
    hints = typing.get_type_hints(BuildOptions)
    out = []
    for o in found:
        values = {}
        own = o.origin.startswith(("[tool.shipwheel", "[[tool.shipwheel"))
        for key, raw in o.values.items():
            origin = sources[key]
            if origin == _CLI or origin.startswith("env SHIPWHEEL_"):
                continue
            if not own and origin != _DEFAULT and not origin.startswith(_CIBW_ORIGINS):
                continue
            f = fields[key]
            what = f"'{key}' in {o.origin}"
            values[f.name] = _value(f, hints[f.name], raw, what, o.origin.startswith("env"), True, base)
        if values:
            out.append(
                Override(o.select, MappingProxyType(values), o.origin, MappingProxyType(dict(o.inherit)))
            )
    return tuple(out)


def _resolve_path(value: str, key: str, project_dir: Path, *, relative_to_project: bool) -> Path:
    if not value:
        if key == "cache-dir":
            import platformdirs

            return Path(platformdirs.user_cache_dir("shipwheel"))
        return project_dir if relative_to_project else Path.cwd()
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (project_dir if relative_to_project else Path.cwd()) / path
    return path
