"""Load the configuration: packaged defaults < pyproject.toml < ``SHIPWHEEL_*`` environment < command line."""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..errors import ConfigError, ProjectError
from ._model import SECTIONS, Config, ProjectInfo, toml_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["ENV_PREFIX", "env_name", "load_config", "load_defaults", "read_pyproject"]

ENV_PREFIX = "SHIPWHEEL_"

_DEFAULT = "default"
_PYPROJECT = "pyproject.toml"
_CLI = "command line"


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


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", hint="fix the syntax error at that position"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
            hint="save the file as UTF-8, as TOML requires",
        ) from None
    except RecursionError:
        raise ConfigError(f"{path} nests tables or arrays too deeply", hint="flatten the TOML") from None
    except OSError as exc:
        raise ProjectError(
            f"cannot read {path}: {exc.strerror}", hint="check the path and its permissions"
        ) from exc


def load_defaults() -> dict[str, Any]:
    """The packaged defaults, as the ``[tool.shipwheel]`` table they hold."""
    text = resources.files("shipwheel.config").joinpath("defaults.toml").read_text(encoding="utf-8")
    table: dict[str, Any] = tomllib.loads(text)["tool"]["shipwheel"]
    return table


def read_pyproject(project_dir: Path) -> dict[str, Any] | None:
    """The parsed pyproject.toml of ``project_dir``, or ``None`` when there is none."""
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return None
    return _read_toml(path)


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
    return ProjectInfo(
        name=table.get("name"), version=table.get("version"), requires_python=spec, dynamic=tuple(dynamic)
    )


def load_config(
    project_dir: Path | str = ".",
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    require_pyproject: bool = False,
    paths_relative_to: Path | str | None = None,
) -> Config:
    """Resolve the configuration of the project in ``project_dir``.

    :param overrides: values from the command line, keyed by dotted TOML key (``jobs``, ``verify.strict``);
        ``None`` values are ignored so that unset options fall through.
    :param environ: the environment to read ``SHIPWHEEL_*`` variables from (default: ``os.environ``).
    :param require_pyproject: raise :class:`ProjectError` when the folder has no pyproject.toml.
    :param paths_relative_to: the folder relative paths from pyproject.toml and the defaults are resolved against
        (default: ``project_dir``); ``shipwheel build`` reads the configuration of an exported commit but writes
        next to the user's own project folder.
    :raises ConfigError: unknown keys (with a suggestion) or values of the wrong type.
    """
    project_dir = Path(project_dir).resolve()
    path_base = Path(paths_relative_to).resolve() if paths_relative_to is not None else project_dir
    environ = os.environ if environ is None else environ
    pyproject = read_pyproject(project_dir)
    if pyproject is None and require_pyproject:
        raise ProjectError(
            f"no pyproject.toml in {project_dir}",
            hint="run shipwheel in the project's folder or pass the folder (or an sdist) as PROJECT",
        )
    defaults = load_defaults()
    project_info = _project_info(pyproject)
    user = _subtable(_subtable(pyproject or {}, "tool", "[tool]"), "shipwheel", "[tool.shipwheel]")
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
        allowed = known + ([s for s in SECTIONS if s] if not section else [])
        for key in user_table:
            if key not in allowed:
                raise ConfigError(f"unknown key '{key}' in {_where(section)}", hint=_suggest(key, allowed))
        values: dict[str, Any] = {}
        for f in fields:
            key = toml_key(f)
            dotted = f"{section}.{key}" if section else key
            var = env_name(section, key)
            if dotted in cli:
                raw, origin, from_env = cli[dotted], _CLI, isinstance(cli[dotted], str)
            elif var in environ:
                raw, origin, from_env = environ[var], f"env {var}", True
            elif key in user_table:
                raw, origin, from_env = user_table[key], _PYPROJECT, False
            else:
                raw, origin, from_env = default_table[key], _DEFAULT, False
            what = (
                var
                if origin.startswith("env")
                else f"the option for {dotted}"
                if origin == _CLI
                else f"'{key}' in {_where(section)}"
            )
            hint_type = hints[f.name]
            if f.metadata.get("path"):
                value = _coerce(raw, str, what=what, from_env=from_env)
                value = _resolve_path(
                    value, key, path_base, relative_to_project=origin in {_PYPROJECT, _DEFAULT}
                )
            elif origin == _CLI and not isinstance(raw, str):
                value = _coerce(raw, hint_type, what=what, from_env=False)
            else:
                value = _coerce(raw, hint_type, what=what, from_env=from_env)
            bounds = f.metadata.get("bounds")
            if bounds is not None and not bounds.check(value):
                raise ConfigError(
                    f"{what} must be {bounds.describe(hint_type)}, got {_short(raw)}",
                    hint="set it to a value in that range",
                )
            values[f.name] = value
            sources[dotted] = origin
        built[section or "build"] = cls(**values)
    unknown_cli = set(cli) - set(sources)
    if unknown_cli:  # a bug in a command's option wiring, not a user error
        raise KeyError(f"unknown override keys {sorted(unknown_cli)}")
    return Config(
        project_dir=project_dir,
        pyproject=project_dir / "pyproject.toml" if pyproject is not None else None,
        project=project_info,
        sources=MappingProxyType(sources),
        **built,
    )


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
