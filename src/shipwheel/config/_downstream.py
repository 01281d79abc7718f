"""``[[tool.shipwheel.downstream]]``: the projects that depend on this one, whose test suites test its candidates.

A section of its own (an array of tables, one per downstream project), read apart from the other sections:
it has no packaged default, no ``SHIPWHEEL_*`` variable and no command-line key, so the loader's generic
machinery for scalar keys does not apply to it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import ConfigError, SelectorError
from ..matrix import Selector

__all__ = ["IN_RELEASE", "DownstreamProject", "read_downstream"]

#: When the ``downstream`` step of ``shipwheel release`` tests a downstream project.
IN_RELEASE = ("pre-releases", "always", "never")
#: The most seconds one test run of one downstream project may take (a day), as ``timeout`` elsewhere.
_MAX_TIMEOUT = 86400.0
_KEYS = ("requirement", "test-requires", "test-command", "timeout", "select", "in-release")


@dataclass(frozen=True, kw_only=True, slots=True)
class DownstreamProject:
    """One ``[[tool.shipwheel.downstream]]`` entry: a project that depends on this one, and how to test it.

    ``requirement`` is a PEP 508 requirement (the newest matching release when it is not pinned);
    ``test_command`` is run in the test environment (``{sources}``: the downstream's sdist, unpacked; empty: its
    sdist's ``tests/`` or ``test/`` folder with pytest, else ``pytest --pyargs NAME``); ``timeout`` bounds each
    run of it, in seconds; ``select`` narrows the interpreters by identifier (``cp312-*``); ``in_release`` says
    for which releases the ``downstream`` release step tests it (``pre-releases``, ``always``, ``never``).
    """

    requirement: str
    test_requires: tuple[str, ...] = ("pytest",)
    test_command: str = ""
    timeout: float = 1800.0
    select: str = "*"
    in_release: str = "pre-releases"

    @property
    def name(self) -> str:
        """The downstream project's normalized name (``Jinja2`` -> ``jinja2``)."""
        return canonicalize_name(Requirement(self.requirement).name)


def read_downstream(tool: Mapping[str, object], label: str) -> tuple[DownstreamProject, ...]:
    """The ``downstream`` entries of a ``[tool.shipwheel]`` table, checked; every problem is a ConfigError."""
    raw = tool.get("downstream", [])
    where = "[[tool.shipwheel.downstream]]"
    if not isinstance(raw, list):
        raise ConfigError(
            f"'downstream' in [tool.shipwheel] of {label} must be an array of tables",
            hint=f'write each downstream project as a {where} table with requirement = "NAME"',
        )
    found: list[DownstreamProject] = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        here = f"{where} #{index + 1} of {label}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{here} must be a table", hint=f"write it as a {where} section")
        for key in entry:
            if key not in _KEYS:
                close = difflib.get_close_matches(key, _KEYS, n=1, cutoff=0.6)
                raise ConfigError(
                    f"unknown key '{key}' in {here}",
                    hint=f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(_KEYS),
                )
        project = _entry(entry, here)
        if project.name in names:
            raise ConfigError(
                f"{here} names {project.name} a second time", hint="keep one entry per downstream project"
            )
        names.add(project.name)
        found.append(project)
    return tuple(found)


def _entry(entry: Mapping[str, object], here: str) -> DownstreamProject:
    if "requirement" not in entry:
        raise ConfigError(
            f"{here} has no 'requirement'", hint='add requirement = "NAME" (or "NAME==VERSION")'
        )
    requirement = _requirement(entry["requirement"], f"'requirement' in {here}", released=True)
    requires = entry.get("test-requires", ["pytest"])
    if isinstance(requires, str):
        requires = requires.split()
    if not _strings(requires):
        raise ConfigError(
            f"'test-requires' in {here} must be a list of requirements", hint='write it as ["pytest", "trio"]'
        )
    for r in requires:
        _requirement(r, f"'test-requires' in {here}")
    command = entry.get("test-command", "")
    if not isinstance(command, str):
        raise ConfigError(f"'test-command' in {here} must be a string", hint="quote the command")
    timeout = entry.get("timeout", 1800.0)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= _MAX_TIMEOUT
    ):
        raise ConfigError(
            f"'timeout' in {here} must be a number of seconds above 0 and at most {_MAX_TIMEOUT:g}, "
            f"got {timeout!r}",
            hint="set it to a value in that range",
        )
    select = entry.get("select", "*")
    if _strings(select):
        select = " ".join(select)
    if not isinstance(select, str):
        raise ConfigError(f"'select' in {here} must be a string", hint='write it like "cp312-* cp313-*"')
    try:
        Selector.parse(select, what=f"'select' in {here}")
    except SelectorError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    when = entry.get("in-release", "pre-releases")
    if not isinstance(when, str) or when not in IN_RELEASE:
        raise ConfigError(
            f"'in-release' in {here} must be one of {', '.join(IN_RELEASE)}, got {when!r}",
            hint='"pre-releases" (the default), "always" or "never" (tested by hand only)',
        )
    return DownstreamProject(
        requirement=requirement,
        test_requires=tuple(requires),
        test_command=command,
        timeout=float(timeout),
        select=select,
        in_release=when,
    )


def _strings(value: object) -> TypeGuard[list[str]]:
    """Whether a TOML value is an array of strings."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _requirement(value: object, what: str, *, released: bool = False) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be a string, got {value!r}", hint='write it like "jinja2==3.1.6"')
    try:
        parsed = Requirement(value)
    except InvalidRequirement as exc:
        raise ConfigError(
            f"{what}: {value!r} is not a PEP 508 requirement ({exc})", hint='write it like "jinja2>=3.1"'
        ) from None
    if released and parsed.url:
        raise ConfigError(
            f"{what}: {value!r} is a direct URL; a downstream project is installed from the index",
            hint='name a released version, like "jinja2==3.1.6"',
        )
    return value
