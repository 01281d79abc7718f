"""The one merge: every source's levels folded in precedence order, per key and per identifier.

The loader lists the levels once, lowest first (``_loader.PRECEDENCE``); this module only folds them. A level
applies to an identifier when it is unscoped, when it is the platform table of the identifier's system, or when
it is an override whose ``select`` matches the identifier. Keys of the build matrix (``build``, ``skip``,
``test-skip``, ``platforms``, ``free-threaded``, cibuildwheel's ``archs`` and ``enable``) are read per system, as
cibuildwheel reads them for the whole run: overrides do not apply to them.

A value replaces the one below, unless its ``inherit`` says ``append`` or ``prepend`` (cibuildwheel's rule:
commands joined with ``&&``, lists concatenated, tables merged with the later entries winning). A shipwheel table
of environment variables or config settings over a cibuildwheel one merges with it entry by entry, so that a
``[tool.shipwheel.linux] config-settings`` keeps an override's ``wheel.py-api=cp312`` for the identifiers it
selects.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ..matrix import expand_braces
from ._values import Kind, Level, Setting, Value

__all__ = ["MATRIX_KEYS", "Resolved", "applies", "os_of", "resolve"]

#: Keys read once per system (cibuildwheel's global options), never per identifier.
MATRIX_KEYS = frozenset(
    {"build", "skip", "test-skip", "platforms", "free-threaded", "cibuildwheel.archs", "cibuildwheel.enable"}
)
_OS_PREFIX = {"manylinux": "linux", "musllinux": "linux", "macosx": "macos", "win": "windows"}


@dataclass(frozen=True, slots=True)
class Resolved:
    """A key's value for one identifier (or system), where it came from, and what it replaced."""

    value: Value
    origin: str
    tool: str
    #: the places whose value for this key lost to ``origin`` (lowest first)
    replaced: tuple[str, ...] = ()
    #: the text an inherit joins to when ``value`` is empty (cibuildwheel's default repair command)
    implicit: str | None = None


def os_of(identifier: str) -> str:
    """``linux``, ``macos`` or ``windows`` for an identifier (``cp312-win_amd64``) or a platform part."""
    platform = identifier.split("-", 1)[-1]
    return next((os for prefix, os in _OS_PREFIX.items() if platform.startswith(prefix)), "")


def applies(level: Level, *, os: str | None, identifier: str | None) -> bool:
    """Whether ``level`` sets values for that system or identifier (``None``: the unscoped values only)."""
    if level.os is not None and level.os != os:
        return False
    if level.select is None:
        return True
    if identifier is None:
        return False
    patterns = [p for item in level.select.split() for p in expand_braces(item)]
    return any(fnmatch.fnmatchcase(identifier, p) for p in patterns)


def resolve(
    levels: Sequence[Level], key: str, kind: Kind, *, identifier: str | None = None, os: str | None = None
) -> Resolved | None:
    """The value of ``key`` for ``identifier`` (or, without one, for system ``os`` or unscoped)."""
    if identifier is not None:
        os = os_of(identifier)
        if key in MATRIX_KEYS:
            identifier = None
    current: Resolved | None = None
    for level in levels:
        setting = level.values.get(key)
        if setting is None or not applies(level, os=os, identifier=identifier):
            continue
        current = _apply(current, setting, level.tool, kind)
    return current


def _apply(below: Resolved | None, setting: Setting, tool: str, kind: Kind) -> Resolved:
    if below is None:
        return Resolved(setting.value, setting.origin, tool, (), setting.implicit)
    mode = setting.inherit
    if mode == "none" and kind in {"table", "pairs"} and tool == "shipwheel" and below.tool == "cibuildwheel":
        mode = "append"  # a shipwheel table over cibuildwheel's: merged, shipwheel's entries winning
    if mode == "none":
        replaced = (*below.replaced, below.origin)
        return Resolved(setting.value, setting.origin, tool, replaced, setting.implicit)
    first, second = (below, setting) if mode == "append" else (setting, below)
    value = join(_text_of(first), _text_of(second), kind)
    origins = f"{first.origin} + {second.origin}"
    return Resolved(value, origins, tool, below.replaced, None)


def _text_of(item: Resolved | Setting) -> Value:
    if item.value == "" and item.implicit:
        return item.implicit
    return item.value


def join(before: Value, after: Value, kind: Kind) -> Value:
    """cibuildwheel's ``inherit`` join of two values of one key."""
    if isinstance(before, str) and isinstance(after, str):
        return " && ".join(v for v in (before, after) if v)
    if isinstance(before, tuple) and isinstance(after, tuple):
        return merge_pairs(before, after) if kind == "pairs" else (*before, *after)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        # environment assignments run in order: a name set again moves to its new place
        merged = {k: v for k, v in before.items() if k not in after}
        return MappingProxyType({**merged, **after})
    return after


def merge_pairs(before: Iterable[str], after: Iterable[str]) -> tuple[str, ...]:
    """Two lists of ``KEY=VALUE`` config settings merged as cibuildwheel merges its tables: every value of a
    key set in ``after`` replaces that key's values in ``before``; a key may repeat (meson-python's
    ``setup-args``)."""
    table: dict[str, list[str]] = {}
    for items, fresh in ((before, False), (after, True)):
        seen: set[str] = set()
        for item in items:
            name = item.partition("=")[0]
            if fresh and name not in seen:
                table[name] = []
            seen.add(name)
            table.setdefault(name, []).append(item)
    return tuple(item for values in table.values() for item in values)


def split_pairs(text: str) -> list[str]:
    """cibuildwheel's string form of config settings: shell words, each ``KEY=VALUE``."""
    return shlex.split(text)
