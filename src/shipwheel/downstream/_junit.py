"""Test results from pytest's JUnit XML report (``--junitxml``, ``junit_family=xunit1``), never from its text.

Each test case becomes one :class:`TestResult` under a stable id, the pytest node id when the report says the
file (``tests/test_api.py::TestX::test_y[a]``), so that the candidate's run and the previous release's run
name the same test the same way. A file under ``site-packages`` (``pytest --pyargs``) is named from the
package on, since the two runs use two environments.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._fs import read_limited

__all__ = ["COMMAND_ID", "INSTALL_ID", "MAX_LINES", "TestResult", "read_junit"]

#: The id of a whole test run that ended without a report (a crash, a timeout, an exit code without a failure).
COMMAND_ID = "(test command)"
#: The id of an environment that cannot be made with the candidate.
INSTALL_ID = "(install)"
#: Lines of a failure kept for the report, and characters of each.
MAX_LINES = 15
MAX_WIDTH = 300
#: Bytes of a report read at most (a suite of 100,000 tests with long failures stays far below).
_MAX_REPORT = 256 << 20
_SITE = re.compile(r"^.*?site-packages/")

Outcome = Literal["passed", "failed", "skipped"]
#: A test reported twice keeps the worse outcome.
_RANK = {"skipped": 0, "passed": 1, "failed": 2}


@dataclass(frozen=True, slots=True)
class TestResult:
    """One test's outcome and, for a failure, the first lines of what went wrong."""

    __test__ = False  # a result, not a test class for pytest to collect

    test_id: str
    outcome: Outcome
    lines: tuple[str, ...] = ()


def failure_lines(message: str, text: str) -> tuple[str, ...]:
    """The first lines of a failure: its message, then its traceback, at most :data:`MAX_LINES` of at most
    :data:`MAX_WIDTH` characters."""
    lines = [line.rstrip() for line in message.strip().splitlines()[:3]]
    lines += [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return tuple(_cut(line) for line in lines[:MAX_LINES])


def _cut(line: str) -> str:
    return line if len(line) <= MAX_WIDTH else line[: MAX_WIDTH - 3] + "..."


def _test_id(case: ElementTree.Element) -> str:
    name = case.get("name", "")
    classname = case.get("classname", "")
    file = (case.get("file") or "").replace("\\", "/")
    if file and not classname:
        return _SITE.sub("", file)  # a module that did not import: pytest's ``name`` is its dotted path
    if file:
        file = _SITE.sub("", file)
        module = file.removesuffix(".py").replace("/", ".")
        plain = _SITE.sub("", classname.replace(".", "/")).replace("/", ".")
        rest = plain[len(module) + 1 :] if plain.startswith(module + ".") or plain == module else ""
        classes = rest.split(".") if rest else []
        return "::".join(part for part in (file, *classes, name) if part)
    if classname:
        return f"{classname}::{name}"
    return name  # a collection error: pytest names the module in ``name``


def read_junit(path: Path) -> dict[str, TestResult] | None:
    """The results in the JUnit report at ``path`` by test id; ``None`` when there is no readable report.

    A test reported twice (a failing call and a failing teardown) is failed; a failure or an error is
    ``failed``, a skip or an expected failure ``skipped``.
    """
    try:
        root = ElementTree.fromstring(read_limited(path, _MAX_REPORT))
    except (OSError, ValueError, ElementTree.ParseError):
        return None
    results: dict[str, TestResult] = {}
    for case in root.iter("testcase"):
        test_id = _test_id(case)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            result = TestResult(
                test_id, "failed", failure_lines(problem.get("message", ""), problem.text or "")
            )
        elif case.find("skipped") is not None:
            result = TestResult(test_id, "skipped")
        else:
            result = TestResult(test_id, "passed")
        old = results.get(test_id)
        if old is None or _RANK[result.outcome] > _RANK[old.outcome]:
            results[test_id] = result
    return results


def counts(results: Mapping[str, TestResult]) -> tuple[int, int, int]:
    """``(passed, failed, skipped)``."""
    outcomes = [r.outcome for r in results.values()]
    return outcomes.count("passed"), outcomes.count("failed"), outcomes.count("skipped")


__all__ += ["counts", "failure_lines"]
