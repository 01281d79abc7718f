"""``shipwheel release VERSION``: the configured steps, in order, resumable, each done at most once.

Before each step the pipeline asks the real state (:mod:`._steps`): a step that already took effect is recorded
as done and not run again, so a run that stopped anywhere (a server down, a kill -9) is finished by running the
same command again. ``dry_run`` asks the same questions and changes nothing, not even the record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .._fs import write_inside
from ..config import Config
from ..distfiles import digests_once
from ..errors import ShipwheelError, UsageError
from ._preflight import git_lock_problem
from ._state import STEPS, ReleaseState, state_path
from ._steps import STEP_IMPLS, Context
from ._tag import repository_of
from ._version import parse_version

__all__ = ["ReleaseEvent", "ReleaseOutcome", "StepOutcome", "load_state", "release"]

Outcome = Literal["ran", "done", "skipped", "not-selected", "would-run", "failed"]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What happened to one step in this run: ``ran`` (it took effect now), ``done`` (it had before),
    ``skipped`` (it does not apply), ``not-selected`` (``--from`` / ``--only``), ``would-run`` (dry run),
    ``failed``."""

    step: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True, slots=True)
class ReleaseEvent:
    """Progress for the caller: a step starting (``detail`` empty), or a line of its progress."""

    step: str
    detail: str = ""


@dataclass(slots=True)
class ReleaseOutcome:
    """The steps of one run, and where the record lives."""

    version: str
    repository: str
    state_file: Path
    dry_run: bool
    steps: list[StepOutcome] = field(default_factory=list)
    #: Where the files went: the wheelhouse, the staging container (``""`` without ``stage.to``), and the simple
    #: index URL pip installs from (``""`` unless the target is a ``file:`` folder, whose URL is known offline).
    wheelhouse: Path | None = None
    staging: str = ""
    index_url: str = ""


def load_state(config: Config, version: str) -> ReleaseState:
    """The record of ``version`` (empty when the release never ran)."""
    return ReleaseState.load(
        state_path(config.project_dir, str(parse_version(version))), str(parse_version(version))
    )


def _selected(configured: Sequence[str], start: str | None, only: Sequence[str]) -> list[str]:
    for name in [*(only or ()), *([start] if start else [])]:
        if name not in STEPS:
            raise UsageError(f"unknown step {name!r}", hint="steps: " + ", ".join(STEPS))
    names = [s for s in configured if s in STEPS]
    if start is not None:
        if start not in names:
            raise UsageError(f"step {start!r} is not in release.steps", hint="steps: " + ", ".join(names))
        names = names[names.index(start) :]
    if only:
        absent = [s for s in only if s not in names]
        if absent:  # asked for by name: doing nothing instead would look like success
            raise UsageError(f"step {absent[0]!r} is not in release.steps", hint="steps: " + ", ".join(names))
        names = [s for s in names if s in only]
    return names


#: Steps that commit or tag in the project's git repository.
GIT_WRITING_STEPS = ("notes", "version", "tag", "bump")


def _check_git_scope(config: Config, root: Path, names: Sequence[str]) -> None:
    """Refuse to commit or tag when the project is a folder inside a larger repository (an example, one
    package of a monorepo): the commit and the tag would be the whole repository's, not the project's."""
    writing = [n for n in names if n in GIT_WRITING_STEPS]
    if not writing or config.project_dir.resolve() == root.resolve():
        return
    keep = [s for s in config.release.steps if s not in GIT_WRITING_STEPS]
    raise UsageError(
        f"{config.project_dir} is a folder inside the git repository {root}, not its top: the step(s) "
        f"{', '.join(writing)} would commit or tag that whole repository",
        hint=f"leave them out (release.steps = {list(keep)} in [tool.shipwheel.release]), or release the project "
        "from a repository of its own",
    )


def _index_url(target: str) -> str:
    if not target.startswith("file:"):
        return ""
    raw = target[len("file:") :]
    path = Path(urlsplit(target).path if raw.startswith("//") else raw)
    return (path / "simple").as_uri() + "/"


def _ignore_state_dir(path: Path) -> None:
    # The record must not make the work tree dirty, which the preflight and the version step refuse.
    folder = path.parent.parent
    ignore = folder / ".gitignore"
    if not ignore.exists():
        write_inside(folder.parent, Path(folder.name, ".gitignore"), "*\n")


def release(
    config: Config,
    version: str,
    *,
    repository: str | None = None,
    start: str | None = None,
    only: Sequence[str] = (),
    select: str | None = None,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
    on_event: Callable[[ReleaseEvent], None] | None = None,
) -> ReleaseOutcome:
    """Release ``version`` of the configured project: run ``release.steps`` that have not taken effect yet.

    :param repository: the index (default ``publish.repository``).
    :param start: begin at this step (``--from``); earlier steps are neither looked at nor run.
    :param only: run just these steps.
    :param select: build selectors narrowing the matrix (``cp312-*``); verify then leaves out the completeness
        check of the matrix.
    :raises ShipwheelError: the first step that fails; the record says which, and the next run resumes there.
    """
    wanted = parse_version(version)
    emit = on_event or (lambda _e: None)
    names = _selected(config.release.steps, start, only)
    state = load_state(config, str(wanted))
    from ._preflight import configured_repository

    target = repository or state.repository or configured_repository(config)
    select = select or state.select or None  # a resumed run keeps the first run's narrowing
    git = repository_of(config)
    _check_git_scope(config, git.root, names)
    ctx = Context(
        config=config,
        version=wanted,
        git=git,
        repository=target,
        select=select,
        state=state,
        environ=os.environ if environ is None else environ,
        progress=lambda line: None,
    )
    from ._steps_files import staging_target

    outcome = ReleaseOutcome(
        str(wanted),
        target,
        state.path,
        dry_run,
        wheelhouse=config.build.output_dir,
        staging=staging_target(ctx) if "stage" in config.release.steps else "",
        index_url=_index_url(target) if "publish" in config.release.steps else "",
    )
    if not dry_run:
        _ignore_state_dir(state.path)
        state.repository = target
        state.select = select or ""
        state.save()
    # The steps meet the same files again and again (build, verify, stage, publish, and each one's observe): each
    # file is hashed once in this run, and its sha256 reused while the file is unchanged.
    with digests_once():
        for name in STEPS:
            if name not in names:
                if name in config.release.steps:
                    outcome.steps.append(StepOutcome(name, "not-selected", "left out by --from/--only"))
                continue
            emit(ReleaseEvent(name))
            ctx.progress = lambda line, _n=name: emit(ReleaseEvent(_n, line))  # type: ignore[misc]
            _run_step(ctx, name, dry_run, outcome.steps)
    return outcome


def _run_step(ctx: Context, name: str, dry_run: bool, steps: list[StepOutcome]) -> None:
    """Skip ``name``, find it done, say it would run (``dry_run``) or run it; add what happened to ``steps`` and,
    unless ``dry_run``, to the record. A step's error is recorded, then raised."""
    impl = STEP_IMPLS[name]
    state = ctx.state
    why = impl.skip(ctx)
    if why is not None:
        steps.append(StepOutcome(name, "skipped", why))
        if not dry_run:
            state.set(name, "skipped", why)
        return
    try:
        if name in GIT_WRITING_STEPS:
            # a lock left by a killed git makes every commit fail: say so, and how to clear it, first
            problem = git_lock_problem(ctx.git)
            if problem is not None:
                raise problem
        found = impl.observe(ctx)
    except ShipwheelError as exc:
        if not dry_run:
            state.set(name, "failed", exc.one_line())
        steps.append(StepOutcome(name, "failed", exc.one_line()))
        raise
    if found is not None:
        steps.append(StepOutcome(name, "done", found))
        if not dry_run and state.steps[name].status != "done":
            state.set(name, "done", found)
        return
    if dry_run:
        steps.append(StepOutcome(name, "would-run", ""))
        return
    state.set(name, "running")
    try:
        detail = impl.run(ctx)
    except ShipwheelError as exc:
        state.set(name, "failed", exc.one_line())
        steps.append(StepOutcome(name, "failed", exc.one_line()))
        raise
    state.set(name, "done", detail)
    steps.append(StepOutcome(name, "ran", detail))
