"""cibuildwheel's ``build-frontend`` and ``config-settings`` as shipwheel builds them.

cibuildwheel's frontends, and what each means here:

- ``build``, ``build[uv]``, ``uv`` and shipwheel's ``default``: pypa/build's PEP 517 hooks in an isolated
  environment holding the project's build requirements. shipwheel's cached environments (made with uv) are such
  environments, so all four build the same way; which installer fills the environment is not part of what the
  backend sees.
- ``pip``: ``python -m pip wheel --no-deps`` with the target interpreter, in a cached environment holding pip;
  pip makes its own isolated build environment, reads its ``PIP_*`` settings and passes ``--config-settings``.

The frontend's ``args`` (``build; args: ...`` or the table form) go to ``pip wheel`` as written; for the other
frontends only config settings (``-Ckey=value``, ``--config-setting=key=value``) have a meaning here, and anything
else is a configuration error rather than an argument silently dropped.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["Frontend", "config_settings", "parse_frontend", "pip_config_args"]

_PEP517 = frozenset({"default", "build", "build[uv]", "uv"})
_KNOWN = ", ".join(sorted(_PEP517 | {"pip"}))


@dataclass(frozen=True, slots=True)
class Frontend:
    """A parsed ``build-frontend``: ``pip`` or ``pep517`` (shipwheel's own), and the arguments for it."""

    kind: str
    name: str
    args: tuple[str, ...] = ()


def parse_frontend(value: str) -> Frontend:
    """``build``, ``pip; args: --verbose`` … as a :class:`Frontend`.

    :raises ConfigError: a frontend shipwheel does not build with, or arguments it cannot honour.
    """
    name, _, rest = value.partition(";")
    name = name.strip() or "default"
    args: list[str] = []
    rest = rest.strip()
    if rest:
        if not rest.startswith("args:"):
            raise ConfigError(
                f"build-frontend {value!r}: expected 'NAME; args: ...'",
                hint="write build-frontend = 'pip; args: -v'",
            )
        try:
            args = shlex.split(rest[len("args:") :])
        except ValueError as exc:
            raise ConfigError(
                f"build-frontend {value!r} does not parse: {exc}", hint="check the quotes"
            ) from None
    if name == "pip":
        return Frontend("pip", name, tuple(args))
    if name not in _PEP517:
        raise ConfigError(
            f"build-frontend {name!r} is not one shipwheel builds with",
            hint=f"use one of {_KNOWN} (cibuildwheel's names)",
        )
    for arg in args:
        if not _config_setting_arg(arg):
            raise ConfigError(
                f"build-frontend {value!r}: the argument {arg!r} has no meaning in shipwheel's builds",
                hint="pass backend options as config-settings, or use build-frontend = 'pip; args: ...'",
            )
    return Frontend("pep517", name, tuple(args))


def _config_setting_arg(arg: str) -> str | None:
    """The ``KEY=VALUE`` of pypa/build's ``-CKEY=VALUE`` / ``--config-setting=KEY=VALUE``, else None."""
    for prefix in ("-C", "--config-setting=", "--config-settings="):
        if arg.startswith(prefix) and "=" in arg[len(prefix) :]:
            return arg[len(prefix) :]
    return None


def config_settings(items: Sequence[str], frontend: Frontend | None = None) -> dict[str, str | list[str]]:
    """``KEY=VALUE`` items (and the frontend's ``-C`` arguments) as PEP 517 config settings: a repeated key
    becomes a list in order, as pypa/build and pip pass it (meson-python's ``setup-args``)."""
    out: dict[str, str | list[str]] = {}
    extra = [
        s
        for a in (frontend.args if frontend and frontend.kind == "pep517" else ())
        if (s := _config_setting_arg(a))
    ]
    for item in (*items, *extra):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"config-settings item {item!r} is not KEY=VALUE", hint="write setup-args=-Dfoo=bar"
            )
        old = out.get(key)
        if old is None:
            out[key] = value
        elif isinstance(old, list):
            old.append(value)
        else:
            out[key] = [old, value]
    return out


def pip_config_args(settings: dict[str, str | list[str]]) -> list[str]:
    """The settings as pip's ``--config-settings KEY=VALUE`` options, repeated keys repeated."""
    out = []
    for key, value in settings.items():
        for v in value if isinstance(value, list) else [value]:
            out += ["--config-settings", f"{key}={v}"]
    return out
