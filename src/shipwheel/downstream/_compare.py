"""The baseline rule: a test failing with the candidate is a regression unless it fails with the previous
release too (then it is a known failure, reported apart and not held against the candidate)."""

from __future__ import annotations

from collections.abc import Mapping

from ._junit import TestResult
from ._model import TestFailure

__all__ = ["classify"]


def classify(
    candidate: Mapping[str, TestResult], baseline: Mapping[str, TestResult] | None, *, no_baseline: str = ""
) -> tuple[tuple[TestFailure, ...], tuple[TestFailure, ...]]:
    """``(regressions, known failures)`` among the candidate's failed tests.

    :param baseline: the same tests' results with the previous release; ``None`` when there are none, and then
        every failure is a regression whose baseline is ``no_baseline`` (why there is no answer). A test the
        baseline run did not report, or skipped, is a regression too: nothing shows it failed before.
    """
    regressions: list[TestFailure] = []
    known: list[TestFailure] = []
    for test_id, result in sorted(candidate.items()):
        if result.outcome != "failed":
            continue
        before = baseline.get(test_id) if baseline is not None else None
        if before is not None and before.outcome == "failed":
            known.append(TestFailure(test_id, result.lines, "failed"))
        else:
            said = (
                before.outcome if before is not None else ("absent" if baseline is not None else no_baseline)
            )
            regressions.append(TestFailure(test_id, result.lines, said))
    return tuple(regressions), tuple(known)
