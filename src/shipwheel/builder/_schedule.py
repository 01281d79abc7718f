"""Which identifiers to build and in which order: resume an interrupted run, find out whether the project is pure
with the first wheel, then the rest in parallel; catch the wheels that lost their extension."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Protocol

from ..config import Config
from ..interpreters import Interpreter
from ..matrix import Identifier
from ._results import BuildEvent, IdentifierResult
from ._resume import Journal
from ._steps import is_platform_wheel, wheel_tag

__all__ = ["BuildRun", "build_wheels"]


class BuildRun(Protocol):
    """What the scheduler needs of one build: where things go, how to report, and how to run identifiers."""

    config: Config
    work: Path
    env: dict[str, str]
    output: Path
    logs: Path
    journal: Journal | None
    platform_reason: str | None
    interrupted: threading.Event
    emit: Callable[[BuildEvent], None]

    def expect_platform_wheels(self, sdist: Path) -> None:
        """Set ``platform_reason`` when the configuration or the sdist already says the wheels are platform's."""
        ...

    def before_all(self) -> None:
        """Run the project's ``before-all`` once, before the first wheel."""
        ...

    def run_all(self, todo: list[tuple[Identifier, Interpreter]], sdist: Path) -> list[IdentifierResult]:
        """Build ``todo`` in parallel and return one result per identifier."""
        ...


def _journal_options(config: Config) -> dict[str, Any]:
    # what decides a wheel's bytes and checks; not where files go or how many builds run at once
    skip = {"jobs", "output_dir", "cache_dir", "log_dir", "sdist_zip"}
    return {f.name: getattr(config.build, f.name) for f in fields(config.build) if f.name not in skip}


def _lost_extensions(results: list[IdentifierResult]) -> list[IdentifierResult]:
    """Pure wheels of a run that also made platform wheels: their extension was lost (parallel builds that
    started before the first platform wheel came out)."""
    platform = next((r for r in results if r.status == "ok" and r.wheel and is_platform_wheel(r.wheel)), None)
    if platform is None:
        return results
    out = []
    for r in results:
        if r.status == "ok" and r.wheel is not None and not is_platform_wheel(r.wheel):
            with contextlib.suppress(FileNotFoundError):
                r.wheel.unlink()
            r = replace(
                r,
                status="failed",
                wheel=None,
                error=f"the wheel came out pure ({r.wheel.name}) although {platform.identifier} built a platform "
                f"wheel: its compiled extension was not built; see {r.log}",
            )
        out.append(r)
    return out


def build_wheels(
    state: BuildRun, buildable: Mapping[Identifier, Interpreter], sdist: Path
) -> tuple[list[IdentifierResult], bool]:
    """The wheels of every buildable identifier (those an interrupted run finished are taken over), and whether
    the project turned out pure (then one result stands for all)."""
    journal = Journal(state.work, sdist, _journal_options(state.config), state.env)
    state.journal = journal
    finished = journal.load(state.output)
    resumed: list[IdentifierResult] = []
    todo: list[tuple[Identifier, Interpreter]] = []
    for ident, interp in buildable.items():
        entry = finished.get(str(ident))
        if entry is not None and entry.interpreter == interp.describe():
            wheel = state.output / entry.wheel
            resumed.append(
                IdentifierResult(
                    str(ident),
                    "ok",
                    wheel=wheel,
                    log=state.logs / f"{ident}.log",
                    interpreter=str(interp.path),
                    tag=wheel_tag(wheel),
                    repaired=entry.repaired,
                    tested=entry.tested,
                    resumed=True,
                )
            )
            state.emit(
                BuildEvent(str(ident), "done", "done", f"{entry.wheel} (kept from the interrupted run)")
            )
        else:
            todo.append((ident, interp))
            state.emit(BuildEvent(str(ident), "wait", "queued"))
    state.expect_platform_wheels(sdist)
    platform = next((r for r in resumed if r.wheel and is_platform_wheel(r.wheel)), None)
    if state.platform_reason is None and platform is not None:
        state.platform_reason = f"{platform.identifier} built a platform wheel"
    if todo:
        state.before_all()
    # Extract the (normalized) sdist once per identifier: backends write into their source tree.
    if state.platform_reason is None and (todo or resumed):
        # Nothing says whether the project is pure: build one identifier first and let its wheel tell.
        first = state.run_all(todo[:1], sdist) if todo else []
        head = (resumed + first)[0]
        if head.status == "ok" and head.wheel is not None and not is_platform_wheel(head.wheel):
            for ident, _ in todo[1:]:
                state.emit(
                    BuildEvent(str(ident), "done", "done", f"covered by the pure wheel {head.wheel.name}")
                )
            journal.clear()
            return [replace(head, identifier=head.tag or head.identifier)], True
        if head.status == "ok" and head.wheel is not None:
            state.platform_reason = f"{head.identifier} built a platform wheel ({head.wheel.name})"
        results = resumed + first + state.run_all(todo[1:], sdist)
    else:
        results = resumed + state.run_all(todo, sdist)
    if not state.interrupted.is_set():
        journal.clear()
    return _lost_extensions(results), False
