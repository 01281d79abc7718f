"""What ``shipwheel downstream`` finds: one :class:`Cell` per downstream project and interpreter, in a
:class:`DownstreamReport`, and the report's JSON form (``report.schema.json`` beside this module)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

from ..errors import ShipwheelError

__all__ = [
    "SCHEMA_VERSION",
    "Cell",
    "CellJSON",
    "CellStatus",
    "DownstreamEvent",
    "DownstreamReport",
    "RegressionError",
    "ReportJSON",
    "TestFailure",
]

#: The ``schema_version`` of the JSON report; raised when a key changes meaning or goes away.
SCHEMA_VERSION = 1

#: ``passed``: the tests ran, none regressed (known failures may remain); ``regressed``: a test fails with the
#: candidate that passes with the previous release (or the candidate does not install where it does);
#: ``not-installable``: the downstream project cannot be installed, with the candidate nor with the previous
#: release; ``unfinished``: the run's deadline came first; ``skipped``: the interpreter is not tested (no
#: candidate wheel for it, the downstream's Requires-Python, ``select``).
CellStatus = Literal["passed", "regressed", "not-installable", "unfinished", "skipped"]


class FailureJSON(TypedDict):
    """A :class:`TestFailure` in the JSON report."""

    id: str
    lines: list[str]
    baseline: str


class CellJSON(TypedDict):
    """A :class:`Cell` in the JSON report."""

    project: str
    version: str
    interpreter: str
    python: str
    status: CellStatus
    passed: int
    failed: int
    skipped: int
    regressions: list[FailureJSON]
    known_failures: list[FailureJSON]
    seconds: float
    detail: str
    log: str


class ReportJSON(TypedDict):
    """A :class:`DownstreamReport` as ``shipwheel downstream --json`` prints it (``report.schema.json``)."""

    schema_version: int
    project: str
    version: str
    baseline: str | None
    index_url: str
    candidates: str
    ok: bool
    deadline: float
    deadline_reached: bool
    seconds: float
    summary: dict[str, int]
    cells: list[CellJSON]


@dataclass(frozen=True, slots=True)
class TestFailure:
    """A test that fails with the candidate: its id, the first lines of its failure, and what the same test did
    with the previous release (``passed``, ``failed``, ``skipped``, ``absent``, or why there is no answer)."""

    __test__ = False  # a result, not a test class for pytest to collect

    test_id: str
    lines: tuple[str, ...]
    baseline: str


@dataclass(frozen=True, slots=True)
class Cell:
    """One downstream project on one interpreter."""

    project: str
    version: str
    interpreter: str
    python: str
    status: CellStatus
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    regressions: tuple[TestFailure, ...] = ()
    known_failures: tuple[TestFailure, ...] = ()
    seconds: float = 0.0
    #: one line: why the cell was skipped, not installable or unfinished
    detail: str = ""
    #: the log of the cell's installs and test runs
    log: str = ""

    def as_json(self) -> CellJSON:
        """The cell as the JSON report has it."""
        return {
            "project": self.project,
            "version": self.version,
            "interpreter": self.interpreter,
            "python": self.python,
            "status": self.status,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "regressions": [_failure(f) for f in self.regressions],
            "known_failures": [_failure(f) for f in self.known_failures],
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "log": self.log,
        }


def _failure(f: TestFailure) -> FailureJSON:
    return {"id": f.test_id, "lines": list(f.lines), "baseline": f.baseline}


@dataclass(frozen=True, slots=True)
class DownstreamReport:
    """The downstream projects' tests of one candidate: every cell, and against which previous release."""

    project: str
    version: str
    #: the previous release the failures were compared with; ``None`` when the index has none
    baseline: str | None
    index_url: str
    #: where the candidate's wheels came from (the wheelhouse, a staging container)
    candidates: str
    deadline: float
    cells: tuple[Cell, ...] = ()
    seconds: float = 0.0
    deadline_reached: bool = False

    @property
    def regressions(self) -> list[tuple[Cell, TestFailure]]:
        """Every regressed test, with its cell."""
        return [(c, f) for c in self.cells for f in c.regressions]

    @property
    def unfinished(self) -> list[Cell]:
        """The cells the deadline stopped."""
        return [c for c in self.cells if c.status == "unfinished"]

    @property
    def ok(self) -> bool:
        """No regression, and every cell that was to run finished."""
        return not self.regressions and not self.unfinished

    def summary(self) -> dict[str, int]:
        """How many cells and tests ended how."""
        tested = [c for c in self.cells if c.status in {"passed", "regressed"}]
        return {
            "cells": len(self.cells),
            "tested": len(tested),
            "regressed": sum(c.status == "regressed" for c in self.cells),
            "not_installable": sum(c.status == "not-installable" for c in self.cells),
            "unfinished": len(self.unfinished),
            "skipped": sum(c.status == "skipped" for c in self.cells),
            "tests_passed": sum(c.passed for c in tested),
            "regressions": len(self.regressions),
            "known_failures": sum(len(c.known_failures) for c in tested),
        }

    def as_json(self) -> ReportJSON:
        """The report as ``shipwheel downstream --json`` prints it (``report.schema.json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "project": self.project,
            "version": self.version,
            "baseline": self.baseline,
            "index_url": self.index_url,
            "candidates": self.candidates,
            "ok": self.ok,
            "deadline": self.deadline,
            "deadline_reached": self.deadline_reached,
            "seconds": round(self.seconds, 3),
            "summary": self.summary(),
            "cells": [c.as_json() for c in self.cells],
        }

    def check(self) -> None:
        """Raise :class:`RegressionError` when a test regressed or a cell did not finish."""
        found = self.regressions
        if found:
            cell, first = found[0]
            raise RegressionError(
                f"{len(found)} downstream test(s) fail with {self.project} {self.version} and pass with "
                f"{self.baseline or 'no previous release'}, e.g. {cell.project} {cell.version} on "
                f"{cell.interpreter}: {first.test_id}",
                hint=f"run 'shipwheel downstream {self.version}' to see them all (logs: {cell.log}); fix the "
                "candidate, build it again and run the release again",
            )
        if self.unfinished:
            late = self.unfinished[0]
            raise RegressionError(
                f"{len(self.unfinished)} downstream run(s) did not finish within the deadline of "
                f"{self.deadline:g} s, e.g. {late.project} on {late.interpreter}",
                hint="raise the deadline (SHIPWHEEL_DOWNSTREAM_DEADLINE) or narrow the runs with 'select'",
            )


class RegressionError(ShipwheelError):
    """Downstream tests fail with the candidate that pass with the previous release, or did not finish (exit 1)."""


@dataclass(frozen=True, slots=True)
class DownstreamEvent:
    """Progress for the caller: ``kind`` is ``resolved`` (a downstream project's release was found: ``detail``
    is its version, or why not), ``start`` (a cell begins), ``phase`` (what the cell does now, in ``detail``)
    or ``done`` (the cell's result in ``cell``)."""

    kind: Literal["resolved", "start", "phase", "done"]
    project: str
    interpreter: str = ""
    detail: str = ""
    cell: Cell | None = field(default=None, compare=False)
