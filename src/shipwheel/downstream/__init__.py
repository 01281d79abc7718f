"""Downstream testing: the test suites of the projects that depend on this one, run against its candidate.

:func:`run_downstream` (``shipwheel downstream VERSION``) makes, for each ``[[tool.shipwheel.downstream]]``
project and each local interpreter, a fresh environment with the downstream's released wheel, its test
requirements and the candidate's wheel, runs its tests (results from pytest's JUnit report) and, where tests
fail, the same against the previous release from the index: a test failing with the candidate only is a
regression, one failing in both a known failure. The :class:`DownstreamReport` has one :class:`Cell` per
project and interpreter, and its JSON form (:meth:`DownstreamReport.as_json`, schema
:func:`report_schema`).

This is the package's one public face. Behind it: ``_sources`` (candidate wheels, the previous release, the
downstream's release and sdist), ``_cell`` (one project on one interpreter), ``_junit`` (the report),
``_compare`` (the baseline rule), ``_run`` (the parallel run and its deadline), ``_model`` (the results).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ._compare import classify
from ._junit import COMMAND_ID, INSTALL_ID, TestResult, read_junit
from ._model import (
    SCHEMA_VERSION,
    Cell,
    CellStatus,
    DownstreamEvent,
    DownstreamReport,
    RegressionError,
    TestFailure,
)
from ._run import (
    DEADLINE_VARIABLE,
    DEFAULT_DEADLINE,
    DEFAULT_INDEX,
    default_deadline,
    default_index,
    run_downstream,
)
from ._sources import previous_release

__all__ = [
    "COMMAND_ID",
    "DEADLINE_VARIABLE",
    "DEFAULT_DEADLINE",
    "DEFAULT_INDEX",
    "INSTALL_ID",
    "SCHEMA_VERSION",
    "Cell",
    "CellStatus",
    "DownstreamEvent",
    "DownstreamReport",
    "RegressionError",
    "TestFailure",
    "TestResult",
    "classify",
    "default_deadline",
    "default_index",
    "previous_release",
    "read_junit",
    "report_schema",
    "run_downstream",
]


def report_schema() -> dict[str, Any]:
    """The JSON schema of :meth:`DownstreamReport.as_json` (``shipwheel downstream --json``)."""
    text = resources.files("shipwheel.downstream").joinpath("report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
