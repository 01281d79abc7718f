"""The release commands: ``check``, ``version``, ``bump``, ``tag`` (and, in their own modules, the ones that follow).

:data:`RELEASE_COMMANDS` lists their modules, in pipeline order, for the command table in ``cli/__init__``.
"""

from __future__ import annotations

from types import ModuleType

from . import _check, _tag, _version

__all__ = ["RELEASE_COMMANDS"]

#: Command modules of the release, each with ``register(subparsers, common)``.
RELEASE_COMMANDS: tuple[ModuleType, ...] = (_check, _version, _tag)
