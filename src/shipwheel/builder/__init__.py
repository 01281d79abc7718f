"""Build an sdist and one repaired, tested wheel per identifier, in parallel, reproducibly.

``build(source, config)`` is the step: typed inputs (a :func:`checkout` or a path, and the project's
:class:`~shipwheel.config.Config`), a typed :class:`BuildResult` out, progress through ``on_event``. What the
release step needs of an earlier build (the selection and each file's sha256) is :func:`build_record`.
"""

from __future__ import annotations

from ._results import BuildEvent, BuildResult, CacheStats, IdentifierResult, PhaseTimes
from ._resume import BuildRecord
from ._runner import build, build_record, checkout
from ._schedule import CoreBudget
from ._source import Source

__all__ = [
    "BuildEvent",
    "BuildRecord",
    "BuildResult",
    "CacheStats",
    "CoreBudget",
    "IdentifierResult",
    "PhaseTimes",
    "Source",
    "build",
    "build_record",
    "build_release",
    "checkout",
]

#: The step's name in :mod:`shipwheel`, where ``build`` is this package.
build_release = build
