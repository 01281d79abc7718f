"""Build an sdist and one repaired, tested wheel per identifier, in parallel, reproducibly."""

from __future__ import annotations

from ._runner import BuildEvent, BuildResult, IdentifierResult, build

__all__ = ["BuildEvent", "BuildResult", "IdentifierResult", "build", "build_release"]

#: The step's name in :mod:`shipwheel`, where ``build`` is this package.
build_release = build
