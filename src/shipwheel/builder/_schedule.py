"""Which identifiers to build, in which order, and how many cores each compile gets.

Resume what an earlier run finished (the journal), run the per-platform before-all once, find out whether the
project is pure with the first wheel, then the rest at once: environments are made and wheels repaired while
other identifiers compile, and :class:`CoreBudget` shares the cores between the compiles and tests running at
the same time, so that the last compile gets every core the finished ones left. Identifiers that took longest in
the previous run start first (their times are kept in the cache folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO, Any

from .._fs import write_atomic
from .._records import RecordShapeError, load_record
from ..config import Config
from ..errors import BuildError
from ..interpreters import Interpreter
from ..matrix import Identifier
from ._ccache import read_stats
from ._context import BuildContext, IdentifierContext, identifier_context, message
from ._cython import trim as trim_cython_cache
from ._jobserver import Jobserver, open_jobserver
from ._logscan import first_errors
from ._phases import before_all, compile_wheel, environment, jobserver_client, repair, test
from ._repro import normalize_wheel
from ._results import BuildEvent, CacheStats, IdentifierResult, PhaseTimes
from ._resume import Journal, JournalEntry
from ._steps import is_platform_wheel, wheel_tag

__all__ = ["CoreBudget", "build_wheels"]


class CoreBudget:
    """The cores of the machine shared between the heavy phases (compiles, tests) that run at once.

    At most ``slots`` run together. A compile is given a job count (ninja's ``-j``, setuptools' parallel
    build_ext, ``CMAKE_BUILD_PARALLEL_LEVEL``): the free cores shared among the compiles that can still start
    in this wave, at least one; so three identifiers on two cores compile side by side with one job each, and
    the last one, alone, gets both cores. A compile by a jobserver ``client`` (ninja 1.13) holds one core and
    takes the others from ``jobserver`` as long as no other phase holds them, also those freed while it runs.
    """

    def __init__(self, cores: int, slots: int, compiles: int, jobserver: Jobserver | None = None) -> None:
        self.cores = max(1, cores)
        self.slots = max(1, slots)
        self.jobserver = jobserver
        self._left = compiles
        self._running: dict[object, tuple[int, bool]] = {}
        self._cond = threading.Condition()

    def _share(self) -> int:
        busy = sum(jobs for jobs, _ in self._running.values())
        compiling = sum(is_compile for _, is_compile in self._running.values())
        wave = max(1, min(self._left, self.slots) - compiling)
        return max(1, (self.cores - busy) // wave)

    def _free(self) -> None:
        if self.jobserver is not None:
            self.jobserver.set_tokens(max(0, self.cores - sum(jobs for jobs, _ in self._running.values())))

    @contextlib.contextmanager
    def hold(self, *, compile: bool, client: bool = False) -> Iterator[int]:
        """Wait for a slot (and for the cores a jobserver client gives back); yield the job count (one for a
        test; for a jobserver ``client``, the cores free when it starts)."""
        token = object()
        with self._cond:
            self._cond.wait_for(lambda: len(self._running) < self.slots)
            jobs = self._share() if compile else 1
            self._running[token] = (1 if client and self.jobserver else jobs, compile)
            self._free()
        if self.jobserver is not None:
            self.jobserver.reclaim(timeout=120)
        try:
            yield jobs
        finally:
            with self._cond:
                del self._running[token]
                self._left -= compile
                self._free()
                self._cond.notify_all()


@dataclass(slots=True)
class _Clock:
    """The seconds of each phase of one identifier (mutable while it runs; frozen into PhaseTimes at the end)."""

    environment: float = 0.0
    compile: float = 0.0
    repair: float = 0.0
    test: float = 0.0
    jobs: int = 0
    reused: bool = False
    cython: CacheStats = field(default_factory=CacheStats)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            setattr(self, name, getattr(self, name) + time.monotonic() - start)

    def times(self) -> PhaseTimes:
        return PhaseTimes(self.environment, self.compile, self.repair, self.test)


@dataclass(frozen=True, slots=True)
class _Run:
    """What every identifier of one scheduling round shares."""

    ctx: BuildContext
    sdist: Path
    overlay: tuple[str, ...]
    journal: Journal
    budget: CoreBudget
    platform_reason: str | None


def _phases(run: _Run, ic: IdentifierContext, log: IO[str], clock: _Clock) -> tuple[Path, bool, bool]:
    """Environment, wheel, repair, test of one identifier; the wheel, whether it was repaired and tested."""
    with clock.phase("environment"):
        prepared = environment(ic, run.sdist, run.overlay, log)
    clock.reused = prepared.reused
    client = run.budget.jobserver is not None and jobserver_client(prepared)
    with run.budget.hold(compile=True, client=client) as jobs, clock.phase("compile"):
        clock.jobs = jobs
        makeflags = run.budget.jobserver.makeflags if client and run.budget.jobserver else None
        wheel, clock.cython = compile_wheel(ic, prepared, jobs, log, makeflags=makeflags)
    if run.platform_reason is not None and not is_platform_wheel(wheel):
        run.ctx.emit(BuildEvent(ic.name, "wheel", "failed", "pure wheel"))
        raise BuildError(
            f"the wheel came out pure ({wheel.name}) although {run.platform_reason}: its compiled extension was "
            f"not built (the backend fell back to pure Python?); see {ic.logpath}",
            hint="read the compiler's output in the log and fix the extension's build",
        )
    with clock.phase("repair"):
        wheel, repaired = repair(ic, wheel, log, prepared.tools)
        normalize_wheel(wheel, run.ctx.source.epoch)
    with run.budget.hold(compile=False), clock.phase("test"):
        tested = test(ic, wheel, log)
    return wheel, repaired, tested


def _failure(
    ic: IdentifierContext, exc: Exception, log: IO[str], clock: _Clock, start: float
) -> IdentifierResult:
    stopped = ic.build.interrupted.is_set() or _killed_by_sigint(exc)
    log.write(f"\n{'INTERRUPTED' if stopped else 'FAILED'}: {message(exc)}\n")
    log.flush()
    return IdentifierResult(
        ic.name,
        "interrupted" if stopped else "failed",
        log=ic.logpath,
        seconds=time.monotonic() - start,
        error="interrupted" if stopped else message(exc),
        interpreter=str(ic.interpreter.path),
        env_reused=clock.reused,
        errors=() if stopped else tuple(first_errors(ic.logpath)),
        times=clock.times(),
        cache=read_stats(ic.root / "ccache-stats.log"),
        cython=clock.cython,
        compile_jobs=clock.jobs,
    )


def _run_one(run: _Run, ident: Identifier, interpreter: Interpreter) -> IdentifierResult:
    """Build, repair, test and keep the wheel of one identifier; a failure is returned, not raised."""
    ctx, start, clock = run.ctx, time.monotonic(), _Clock()
    if ctx.interrupted.is_set():
        return IdentifierResult(str(ident), "interrupted", error="not started: interrupted")
    ic = identifier_context(ctx, ident, interpreter)
    shutil.rmtree(ic.root, ignore_errors=True)
    ic.root.mkdir(parents=True)
    with ctx.log(ic.name) as log:
        log.write(f"{ic.name}: {interpreter.describe()}\nsource: {ctx.source.description}\n")
        try:
            wheel, repaired, tested = _phases(run, ic, log, clock)
        except Exception as exc:  # one identifier failing must not stop the others
            return _failure(ic, exc, log, clock, start)
    final = ctx.output / wheel.name
    os.replace(wheel, final)
    sha256 = run.journal.add(ic.name, final, interpreter.describe(), repaired=repaired, tested=tested)
    ctx.emit(BuildEvent(ic.name, "done", "done", final.name))
    stats = read_stats(ic.root / "ccache-stats.log")
    shutil.rmtree(ic.root, ignore_errors=True)
    return IdentifierResult(
        ic.name,
        "ok",
        wheel=final,
        log=ic.logpath,
        seconds=time.monotonic() - start,
        interpreter=str(interpreter.path),
        env_reused=clock.reused,
        tag=wheel_tag(final),
        repaired=repaired,
        tested=tested,
        sha256=sha256,
        times=clock.times(),
        cache=stats,
        cython=clock.cython,
        compile_jobs=clock.jobs,
    )


def _run_all(run: _Run, todo: Sequence[tuple[Identifier, Interpreter]]) -> list[IdentifierResult]:
    """Build ``todo`` at once; Ctrl-C stops it, keeping what finished, and marks the rest interrupted."""
    if not todo:
        return []
    workers = min(len(todo), 2 * run.budget.slots)  # environments and repairs beside the compiles
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[Future[IdentifierResult]] = [pool.submit(_run_one, run, i, p) for i, p in todo]
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            run.ctx.interrupted.set()
            pool.shutdown(wait=True, cancel_futures=True)
    return [
        f.result()
        if f.done() and not f.cancelled()
        else IdentifierResult(str(ident), "interrupted", error="not started: interrupted")
        for f, (ident, _) in zip(futures, todo, strict=True)
    ]


def _killed_by_sigint(exc: BaseException) -> bool:
    # Ctrl-C in a terminal reaches the compilers too: one may die of it before the main thread hears of it.
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        code = getattr(seen, "returncode", None)
        if code in (-2, 130) or " exit code -2" in str(seen) or "exit code 130" in str(seen):
            return True  # the subprocess helper keeps the exit code in its message only
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "exception", None)
    return False


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


def _times_path(ctx: BuildContext) -> Path:
    return ctx.options.cache_dir / "times" / f"{ctx.work.name}.json"


def _longest_first(
    ctx: BuildContext, todo: list[tuple[Identifier, Interpreter]]
) -> list[tuple[Identifier, Interpreter]]:
    """``todo`` with the identifiers that took longest in the previous run first (unknown ones before them)."""
    times = load_record(_times_path(ctx), _times_table, limit=1 << 20, what="build times")
    if times is None:
        return todo

    def key(item: tuple[Identifier, Interpreter]) -> float:
        value = times.get(str(item[0]))
        return -value if isinstance(value, int | float) else float("-inf")

    return sorted(todo, key=key)


def _times_table(data: object) -> dict[str, object]:
    if not isinstance(data, dict):
        raise RecordShapeError("not a table of identifiers and seconds")
    return data


def _save_times(ctx: BuildContext, results: Sequence[IdentifierResult]) -> None:
    times = {r.identifier: round(r.times.total, 2) for r in results if r.status == "ok" and not r.resumed}
    if times:
        path = _times_path(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path.parent, [path.name], [json.dumps(times, indent=1).encode("utf-8")])


def _resumed(
    ctx: BuildContext, ident: Identifier, interp: Interpreter, entry: JournalEntry
) -> IdentifierResult:
    wheel = ctx.output / entry.wheel
    ctx.emit(BuildEvent(str(ident), "done", "done", f"{entry.wheel} (kept from an earlier run)"))
    return IdentifierResult(
        str(ident),
        "ok",
        wheel=wheel,
        log=ctx.logs / f"{ident}.log",
        interpreter=str(interp.path),
        tag=wheel_tag(wheel),
        repaired=entry.repaired,
        tested=entry.tested,
        resumed=True,
        sha256=entry.sha256,
    )


def _platform_reason(ctx: BuildContext, sdist: Path, resumed: Sequence[IdentifierResult]) -> str | None:
    """Why the project's wheels must be platform wheels, when the configuration, the sdist or a wheel of an
    earlier run already says so."""
    from ..matrix import compiled_sources

    sources = compiled_sources(sdist)
    if sources:
        more = f" and {len(sources) - 1} more" if len(sources) > 1 else ""
        return f"the sdist has compiled sources ({sources[0]}{more})"
    if ctx.config.sources.get("platforms", "default") != "default":
        return "the project is configured for platform wheels (platforms in [tool.shipwheel])"
    platform = next((r for r in resumed if r.wheel and is_platform_wheel(r.wheel)), None)
    return f"{platform.identifier} built a platform wheel" if platform is not None else None


def build_wheels(
    ctx: BuildContext, buildable: Mapping[Identifier, Interpreter], sdist: Path
) -> tuple[list[IdentifierResult], bool]:
    """The wheels of every buildable identifier (those an earlier run finished are taken over), and whether
    the project turned out pure (then one result stands for all)."""
    journal = Journal(ctx.work, sdist, _journal_options(ctx.config), ctx.env)
    finished = journal.load(ctx.output, [str(i) for i in buildable])
    resumed, todo = [], []
    for ident, interp in buildable.items():
        entry = finished.get(str(ident))
        if entry is not None and entry.interpreter == interp.describe():
            resumed.append(_resumed(ctx, ident, interp, entry))
        else:
            todo.append((ident, interp))
            ctx.emit(BuildEvent(str(ident), "wait", "queued"))
    reason = _platform_reason(ctx, sdist, resumed)
    overlay = before_all(ctx, [identifier_context(ctx, i, p) for i, p in todo]) if todo else ()
    todo = _longest_first(ctx, todo)
    slots = ctx.options.jobs or ctx.cores + 1

    def round_of(items: Sequence[tuple[Identifier, Interpreter]], why: str | None) -> list[IdentifierResult]:
        jobserver = open_jobserver(ctx.work / "jobserver")
        try:
            budget = CoreBudget(ctx.cores, slots, len(items), jobserver)
            return _run_all(_Run(ctx, sdist, overlay, journal, budget, why), items)
        finally:
            if jobserver is not None:
                jobserver.close()

    if reason is None and todo:
        # Nothing says whether the project is pure: build one identifier first and let its wheel tell.
        first = round_of(todo[:1], None)
        head = first[0]
        if head.status == "ok" and head.wheel is not None and not is_platform_wheel(head.wheel):
            for ident, _ in todo[1:]:
                ctx.emit(
                    BuildEvent(str(ident), "done", "done", f"covered by the pure wheel {head.wheel.name}")
                )
            return [replace(head, identifier=head.tag or head.identifier)], True
        if head.status == "ok" and head.wheel is not None:
            reason = f"{head.identifier} built a platform wheel ({head.wheel.name})"
        results = resumed + first + round_of(todo[1:], reason)
    else:
        results = resumed + round_of(todo, reason)
    _save_times(ctx, results)
    trim_cython_cache(ctx.options.cache_dir)
    return _lost_extensions(results), False
