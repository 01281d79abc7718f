"""The ``downstream`` step of ``shipwheel release``: the downstream projects' tests against the verified
candidate, before anything is signed, staged or published; a regression stops the release.

It runs for pre-releases, and for final releases only the ``[[tool.shipwheel.downstream]]`` entries with
``in-release = "always"`` (``"never"``: tested by hand only). The report is kept in the record, where ``status
--html`` and the pre-release's request for testing (``announce``) read it.
"""

from __future__ import annotations

from ..config import DownstreamProject
from ._context import Context, hashes

__all__ = ["downstream_observe", "downstream_projects", "downstream_run", "downstream_skip"]


def downstream_projects(ctx: Context) -> list[DownstreamProject]:
    """The downstream projects this release tests."""
    wanted = {"always"} | ({"pre-releases"} if ctx.version.is_prerelease else set())
    return [p for p in ctx.config.downstream if p.in_release in wanted]


def downstream_skip(ctx: Context) -> str | None:
    if not ctx.config.downstream:
        return "no [[tool.shipwheel.downstream]] configured"
    if downstream_projects(ctx):
        return None
    if ctx.version.is_prerelease:
        return 'every downstream project has in-release = "never"'
    return 'a final release: downstream projects are tested for pre-releases (in-release = "always" for every release)'


def downstream_observe(ctx: Context) -> str | None:
    rec = ctx.state.steps["downstream"]
    if rec.status == "done" and rec.data.get("files") == hashes(ctx.release_files()):
        return "the same files passed in an earlier run"
    return None


def downstream_run(ctx: Context) -> str:
    from ..downstream import DownstreamEvent, run_downstream

    def progress(event: DownstreamEvent) -> None:
        if event.kind == "done" and event.cell is not None:
            ctx.progress(f"{event.project} {event.interpreter}: {event.cell.status}")
        elif event.kind == "phase":
            ctx.progress(f"{event.project} {event.interpreter}: {event.detail}")

    files = ctx.release_files()
    report = run_downstream(
        ctx.config,
        str(ctx.version),
        projects=downstream_projects(ctx),
        environ=ctx.environ,
        on_event=progress,
    )
    data = ctx.state.steps["downstream"].data
    data.clear()
    data["report"] = report.as_json()
    ctx.state.save()
    report.check()  # a regression (or a run the deadline stopped) stops the release here
    data["files"] = hashes(files)
    s = report.summary()
    projects = ", ".join(sorted({f"{c.project} {c.version}" for c in report.cells if c.status == "passed"}))
    known = f", {s['known_failures']} known failure(s)" if s["known_failures"] else ""
    broken = f", {s['not_installable']} not installable" if s["not_installable"] else ""
    return (
        f"no regression against {report.baseline or 'no previous release'}: {projects or 'nothing'} "
        f"in {s['tested']} run(s), {s['tests_passed']} tests passed{known}{broken}"
    )
