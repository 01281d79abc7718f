"""Typed configuration values: what a TOML value, a variable or an option becomes, and where it was set.

The readers of each source (``_sources``) turn what they read into :class:`Setting` objects grouped in
:class:`Level` objects (a table, a platform table, an override, a set of variables); ``_cascade`` folds the
levels in precedence order. Raw TOML and JSON values (:data:`Raw`) exist only here, at the parsing boundary:
:func:`coerce` checks each against the field's type and bounds and returns a :data:`Value`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType

from ..errors import ConfigError

__all__ = ["Bounds", "Kind", "Level", "Raw", "Setting", "Spec", "Value", "coerce", "short", "specs_of"]

#: A value as TOML or JSON gives it (the parsing boundary; nothing below this module sees one).
Raw = str | int | float | bool | date | time | datetime | list["Raw"] | dict[str, "Raw"] | None
#: A resolved configuration value.
Value = str | int | float | bool | Path | tuple[str, ...] | Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Bounds:
    """The range a numeric option must lie in; the config loader and the command line both check it.

    Upper ends exist because a huge count or timeout is never meant and breaks the layer below (thread pools,
    ``socket.settimeout``, back-off arithmetic) with an error that names none of the user's input.
    """

    low: float
    high: float
    #: the value must be greater than ``low``, not equal to it (a timeout of 0 is not a timeout)
    above: bool = False

    def check(self, value: float) -> bool:
        """Whether ``value`` lies in the range (never for NaN or infinity)."""
        if not math.isfinite(value) or value > self.high:
            return False
        return value > self.low if self.above else value >= self.low

    def describe(self, kind: type) -> str:
        """``a whole number from 1 to 1024`` / ``a number of seconds above 0 and at most 86400``."""
        noun = "a whole number" if kind is int else "a number"
        high = f"{self.high:g}" if self.high < 1e15 else f"{int(self.high)}"
        if self.above:
            return f"{noun} above {self.low:g} and at most {high}"
        return f"{noun} from {self.low:g} to {high}"


#: The kinds of field: how a TOML value or a variable's text becomes the field's value.
Kind = str  # "str" "int" "float" "bool" "path" "list" "table" "pairs"


@dataclass(frozen=True, slots=True)
class Spec:
    """One configuration key: its section, field name, kind, bounds and allowed values."""

    section: str
    name: str
    kind: Kind
    bounds: Bounds | None = None
    #: the values a list or string may hold (release steps ...), checked with a suggestion
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The dotted TOML key: ``test-command``, ``verify.max-file-size``."""
        toml = self.name.removesuffix("_").replace("_", "-")
        return f"{self.section}.{toml}" if self.section else toml


@dataclass(frozen=True, slots=True)
class Setting:
    """A value set somewhere: ``origin`` names the place as the user knows it."""

    value: Value
    origin: str
    #: cibuildwheel's ``inherit``: "none" replaces the value below, "append"/"prepend" join with it
    inherit: str = "none"
    #: the text an ``inherit`` joins to when the value shown is empty (cibuildwheel's default repair command)
    implicit: str | None = None


@dataclass(frozen=True, slots=True)
class Level:
    """One place values are set: a table, a platform table, an override, a set of variables.

    ``tool`` is ``default``, ``cibuildwheel`` or ``shipwheel`` (whose values win per key and identifier);
    ``os`` scopes a platform table to one system; ``select`` scopes an override to the identifiers it matches.
    """

    origin: str
    tool: str
    values: Mapping[str, Setting] = field(default_factory=lambda: MappingProxyType({}))
    os: str | None = None
    select: str | None = None


def short(value: object) -> str:
    """A value for a message, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bool(raw: Raw, what: str, from_env: bool) -> bool:
    if from_env and isinstance(raw, str):
        low = raw.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off", ""}:
            return False
    elif isinstance(raw, bool):
        return raw
    raise ConfigError(f"{what} must be true or false, got {short(raw)}", hint="set it to true or false")


def _number(raw: Raw, spec: Spec, what: str, from_env: bool) -> int | float:
    integer = spec.kind == "int"
    value: int | float | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int) or (not integer and isinstance(raw, float)):
        value = int(raw) if integer else float(raw)
    elif from_env and isinstance(raw, str):
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            value = None
    if value is None:
        noun, fix = ("an integer", "a whole number") if integer else ("a number", "a number")
        raise ConfigError(f"{what} must be {noun}, got {short(raw)}", hint=f"set it to {fix}")
    if spec.bounds is not None and not spec.bounds.check(value):
        raise ConfigError(
            f"{what} must be {spec.bounds.describe(int if integer else float)}, got {short(raw)}",
            hint="set it to a value in that range",
        )
    return value


def _strings(raw: Raw, what: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(raw.split())
    if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return tuple(str(v) for v in raw)
    raise ConfigError(
        f"{what} must be a list of strings, got {short(raw)}",
        hint='write it as ["a", "b"] or as one space-separated string',
    )


def _table(raw: Raw, what: str, from_env: bool) -> Mapping[str, str]:
    if from_env and isinstance(raw, str):
        pairs: dict[str, str] = {}
        for item in raw.split():
            name, sep, val = item.partition("=")
            if not sep or not name:
                raise ConfigError(
                    f"{what} must be KEY=VALUE pairs, got {item!r}", hint="write NAME=value NAME2=value2"
                )
            pairs[name] = val
        return MappingProxyType(pairs)
    if isinstance(raw, dict) and all(isinstance(v, str | int | float | bool) for v in raw.values()):
        return MappingProxyType({str(k): _text(v) for k, v in raw.items()})
    raise ConfigError(
        f"{what} must be a table of strings, got {short(raw)}", hint='write it as {NAME = "value"}'
    )


def _text(value: Raw) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _pairs(raw: Raw, what: str) -> tuple[str, ...]:
    """PEP 517 config settings: a table (a list value repeats the key), a list of KEY=VALUE, or one string."""
    if isinstance(raw, dict):
        items: list[str] = []
        for key, values in raw.items():
            for v in values if isinstance(values, list) else [values]:
                if not isinstance(v, str | int | float | bool):
                    raise ConfigError(
                        f"{what} must be a table of strings, got {short(raw)}", hint="quote the values"
                    )
                items.append(f"{key}={_text(v)}")
        return tuple(items)
    return _strings(raw, what)


def coerce(spec: Spec, raw: Raw, what: str, *, from_env: bool = False) -> Value:
    """``raw`` as the value of ``spec`` (paths stay text: the loader resolves them), or one ConfigError naming
    ``what`` (the variable, or the key and its table). Variables' text gets the same types, bounds and allowed
    values as the file's values."""
    value: Value
    if spec.kind == "bool":
        value = _bool(raw, what, from_env)
    elif spec.kind in {"int", "float"}:
        value = _number(raw, spec, what, from_env)
    elif spec.kind in {"str", "path"}:
        if not isinstance(raw, str):
            raise ConfigError(f"{what} must be a string, got {short(raw)}", hint="quote the value")
        value = raw
    elif spec.kind == "list":
        value = _strings(_json_list(raw) if from_env else raw, what)
    elif spec.kind == "pairs":
        value = _pairs(raw, what)
    else:
        value = _table(raw, what, from_env)
    if spec.choices:
        _check_choices(spec, value, what)
    return value


def _json_list(raw: Raw) -> Raw:
    """A variable may hold a JSON list (``SHIPWHEEL_RELEASE_STEPS='["check", "build"]'``) as well as words."""
    if isinstance(raw, str) and raw.strip().startswith("["):
        import json

        try:
            loaded: Raw = json.loads(raw)
        except ValueError:
            return raw
        return loaded
    return raw


def _check_choices(spec: Spec, value: Value, what: str) -> None:
    import difflib

    items = value if isinstance(value, tuple) else (str(value),)
    for item in items:
        if item not in spec.choices:
            close = difflib.get_close_matches(item, spec.choices, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "known: " + ", ".join(spec.choices)
            raise ConfigError(f"{what}: unknown value {item!r}", hint=hint)


def specs_of(section: str, cls: type, choices: Mapping[str, tuple[str, ...]] | None = None) -> list[Spec]:
    """The :class:`Spec` of every field of a section's dataclass: the kind from its type (``tuple[str, ...]``
    is a list, ``Mapping[str, str]`` a table, ``Path`` a path; metadata ``pairs`` marks KEY=VALUE items), the
    bounds from its metadata."""
    import typing

    hints = typing.get_type_hints(cls)
    kinds: dict[object, Kind] = {str: "str", int: "int", float: "float", bool: "bool", Path: "path"}
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        origin = typing.get_origin(hint)
        if f.metadata.get("pairs"):
            kind = "pairs"
        elif origin is tuple:
            kind = "list"
        elif origin in {Mapping, dict}:
            kind = "table"
        elif hint in kinds:
            kind = kinds[hint]
        else:
            raise TypeError(f"unsupported config field type {hint!r}")  # a bug in _model, not a user error
        bounds = f.metadata.get("bounds")
        out.append(
            Spec(
                section,
                f.name,
                kind,
                bounds if isinstance(bounds, Bounds) else None,
                (choices or {}).get(f.name, ()),
            )
        )
    return out
