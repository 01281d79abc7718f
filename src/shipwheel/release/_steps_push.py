"""The ``push`` step of ``shipwheel release`` (off by default): the branch and the tag to the branch's remote."""

from __future__ import annotations

from .._redact import redact
from ..errors import RemoteError
from ._context import Context

__all__ = ["push_observe", "push_run"]


def push_observe(ctx: Context) -> str | None:
    from ._push import push_plan, pushed

    if not ctx.tagged():
        return None
    plan = push_plan(ctx.git, ctx.tag)
    try:
        if not pushed(ctx.git, plan):
            return None
    except RemoteError:
        return None  # unreachable now: the run says why, in git's words
    return f"{redact(plan.remote)} has {ctx.tag}" + (f" and {plan.branch}" if plan.branch else "")


def push_run(ctx: Context) -> str:
    from ._push import push_plan, push_release

    plan = push_plan(ctx.git, ctx.tag)
    push_release(ctx.git, plan)
    what = f"{plan.branch_refspec} and {ctx.tag}" if plan.branch_refspec else ctx.tag
    return f"pushed {what} to {redact(plan.remote)}"
