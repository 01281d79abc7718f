"""The table of the steps of ``shipwheel release``, in the order they run (see :mod:`._context`)."""

from __future__ import annotations

from . import _steps_check as c
from . import _steps_downstream as d
from . import _steps_files as f
from . import _steps_git as g
from . import _steps_push as p
from ._context import Context, Step, never

__all__ = ["STEP_IMPLS", "Context", "Step"]

STEP_IMPLS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("check", never, c.check_observe, c.check_run),
        Step("notes", g.notes_skip, g.notes_observe, g.notes_run),
        Step("version", never, g.version_observe, g.version_run),
        Step("tag", never, g.tag_observe, g.tag_run),
        Step("build", never, f.build_observe, f.build_run),
        Step("verify", never, f.verify_observe, f.verify_run),
        Step("downstream", d.downstream_skip, d.downstream_observe, d.downstream_run),
        Step("sign", f.sign_skip, f.sign_observe, f.sign_run),
        Step("stage", f.stage_skip, f.stage_observe, f.stage_run),
        Step("publish", never, f.publish_observe, f.publish_run),
        Step("docs", f.docs_skip, f.docs_observe, f.docs_run),
        Step("announce", never, f.announce_observe, f.announce_run),
        Step("bump", never, g.bump_observe, g.bump_run),
        Step("push", never, p.push_observe, p.push_run),
    )
}
