"""The ``check`` step of ``shipwheel release``: the preflight, as the steps after it will find the project.

A check that a later configured step makes true is left to that step (the notes, the version files), so the
steps agree; without a ``version`` step the version files must already hold the version released.
"""

from __future__ import annotations

from ..errors import VerificationError
from ._context import Context
from ._state import STEPS

__all__ = ["check_observe", "check_run"]

#: Preflight checks the pipeline leaves out: the ``verify`` step checks the version and the completeness of the
#: sdist that was really built (the preflight would build one more sdist for them).
_PIPELINE_SKIPS = ("version-backend", "sdist-complete")


def later_steps(ctx: Context) -> list[str]:
    """The configured steps that run after ``check``, in order."""
    after = STEPS[STEPS.index("check") + 1 :]
    return [s for s in after if s in ctx.config.release.steps]


def check_observe(ctx: Context) -> str | None:
    if ctx.tagged():
        return f"{ctx.tag} exists; the preflight was for before it"
    if ctx.state.steps["check"].status == "done":
        return "passed in an earlier run"
    return None


def check_run(ctx: Context) -> str:
    from ._preflight import run_checks

    report = run_checks(
        ctx.config,
        str(ctx.version),
        repository=ctx.repository,
        skip=_PIPELINE_SKIPS,
        later_steps=later_steps(ctx),
    )
    bad = [r for r in report.results if r.status == "fail"]
    if bad:
        first = bad[0]
        raise VerificationError(
            f"the preflight failed: {', '.join(r.code for r in bad)} ({first.code}: {first.message})",
            hint=f"run 'shipwheel check {ctx.version}' for every finding and its fix, then run release again",
        )
    passed = sum(r.status == "pass" for r in report.results)
    return f"{passed} checks passed"
