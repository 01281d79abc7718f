"""``shipwheel downstream VERSION``: every configured downstream project's tests, on every local interpreter,
against the candidate's wheels, in parallel, within one deadline (see :func:`run_downstream`)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .._subprocess import find_uv
from ..config import Config, DownstreamProject
from ..errors import ConfigError, EnvironmentNotReadyError, ProjectError, ShipwheelError, UsageError
from ..interpreters import Interpreter, discover
from ..matrix import Selector
from ._cell import CellJob, Runner, run_cell
from ._model import Cell, DownstreamEvent, DownstreamReport
from ._sources import (
    Release,
    admits,
    candidate_wheels,
    pick_wheel,
    previous_release,
    resolve_release,
    unpack_sdist,
)

__all__ = [
    "DEADLINE_VARIABLE",
    "DEFAULT_DEADLINE",
    "DEFAULT_INDEX",
    "default_deadline",
    "default_index",
    "run_downstream",
]

#: The whole run's deadline when none is given, in seconds.
DEFAULT_DEADLINE = 3600.0
#: The index the downstream projects, their test requirements and the previous release come from by default.
DEFAULT_INDEX = "https://pypi.org/simple/"
#: Variables naming another index, as uv and pip read them, in that order.
_INDEX_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")
#: The variable that sets the deadline of the ``downstream`` release step (and the command's default).
DEADLINE_VARIABLE = "SHIPWHEEL_DOWNSTREAM_DEADLINE"


def default_index(environ: Mapping[str, str]) -> str:
    """The index uv and pip would use: ``UV_DEFAULT_INDEX``, ``UV_INDEX_URL``, ``PIP_INDEX_URL``, else PyPI."""
    return next((environ[v] for v in _INDEX_VARIABLES if environ.get(v)), DEFAULT_INDEX)


def default_deadline(environ: Mapping[str, str]) -> float:
    """``SHIPWHEEL_DOWNSTREAM_DEADLINE`` seconds, else :data:`DEFAULT_DEADLINE`.

    :raises ConfigError: the variable is not a number of seconds above 0.
    """
    raw = environ.get(DEADLINE_VARIABLE, "")
    if not raw.strip():
        return DEFAULT_DEADLINE
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 7 * 86400:
        raise ConfigError(
            f"{DEADLINE_VARIABLE} must be a number of seconds above 0 and at most a week, got {raw!r}",
            hint="set it like 3600, or unset it",
        )
    return value


def _find_uv() -> str:
    found = find_uv()
    if not found:
        raise EnvironmentNotReadyError(
            "uv is not installed",
            hint="install shipwheel with its dependencies (uv makes the test environments)",
        )
    return found


def _uv_environ(environ: Mapping[str, str], cache: Path) -> dict[str, str]:
    out = {k: v for k, v in environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    out.setdefault("UV_CACHE_DIR", str(cache / "uv"))  # shared with the builder's environments
    out["UV_PYTHON_DOWNLOADS"] = "never"  # the interpreters of this machine only
    out["UV_NO_PROGRESS"] = "1"
    return out


def _selected(
    config: Config, projects: Sequence[DownstreamProject] | None, only: Sequence[str]
) -> list[DownstreamProject]:
    if not config.downstream:
        raise ConfigError(
            "no downstream project is configured",
            hint='add a [[tool.shipwheel.downstream]] table with requirement = "NAME" to pyproject.toml',
        )
    chosen = list(config.downstream if projects is None else projects)
    if only:
        names = {p.name for p in config.downstream}
        unknown = [n for n in only if canonicalize_name(n) not in names]
        if unknown:
            raise UsageError(
                f"--only {unknown[0]} names no configured downstream project",
                hint="choose among " + ", ".join(sorted(names)),
            )
        wanted = {canonicalize_name(n) for n in only}
        chosen = [p for p in chosen if p.name in wanted]
    return chosen


def _interpreters(config: Config) -> list[Interpreter]:
    """One interpreter per identifier (the newest patch release), oldest first."""
    found: dict[str, Interpreter] = {}
    for interp in discover(config.build.interpreters):  # newest first
        found.setdefault(interp.identifier_python, interp)
    return sorted(found.values(), key=lambda i: (i.version, i.free_threaded))


def run_downstream(
    config: Config,
    version: str,
    *,
    source: str | None = None,
    only: Sequence[str] = (),
    select: str | None = None,
    index_url: str | None = None,
    baseline: str | None = None,
    deadline: float | None = None,
    jobs: int | None = None,
    projects: Sequence[DownstreamProject] | None = None,
    environ: Mapping[str, str] | None = None,
    on_event: Callable[[DownstreamEvent], None] | None = None,
) -> DownstreamReport:
    """Test the configured downstream projects against the candidate ``version`` of this project.

    For each downstream project (``[[tool.shipwheel.downstream]]``, narrowed to ``only`` names or to
    ``projects``) and each interpreter of this machine (narrowed by ``select`` and the entry's own ``select``)
    that the candidate's wheels and the downstream's release both support, a fresh environment holds the
    downstream's released wheel, its test requirements and the candidate's wheel; its tests run there. When some
    fail, the same runs with the previous release of this project from the index (``baseline``, default: the
    newest final release before ``version``): a test that fails with the candidate and passes with the previous
    release is a regression, one that fails in both is a known failure.

    :param source: a staging container or index to take the candidate's wheels from (default: the wheelhouse,
        ``output-dir``).
    :param index_url: the simple index of the downstream projects, their test requirements and the previous
        release (default: :func:`default_index`).
    :param deadline: seconds for the whole run (default: :func:`default_deadline`); cells still running then
        are stopped and reported ``unfinished``.
    :param jobs: test suites run at once (default: ``jobs``, 0 meaning one per core); environments are made
        with at least two at once.
    :param on_event: progress (called from worker threads, one call at a time).
    :raises ConfigError: no downstream project configured; :class:`UsageError`: an unknown ``only`` name or a bad
        version; :class:`ProjectError`: no wheel of the candidate; :class:`~shipwheel.errors.RemoteError`: the
        index cannot be read. A downstream project that cannot be resolved or installed is reported in its
        cells; the others still run.
    """
    started = time.monotonic()
    environ = os.environ if environ is None else environ
    name, wanted = _candidate(config, version)
    chosen = _selected(config, projects, only)
    narrow = Selector.parse(select, what="--select selector") if select else None
    index = index_url or default_index(environ)
    limit = default_deadline(environ) if deadline is None else deadline
    workers = jobs or config.build.jobs or os.cpu_count() or 1
    emit = _one_at_a_time(on_event)
    root = config.build.cache_dir / "downstream"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    try:
        wheels = candidate_wheels(
            name, wanted, wheelhouse=config.build.output_dir, source=source, dest=work / "candidates"
        )
        previous = baseline or previous_release(index, name, wanted)
        runner = _runner(config, environ, index, started + limit, workers)
        interpreters = _chosen_interpreters(config, narrow, select)
        plan = _Plan(name, wanted, previous, index, wheels, work, root, config.build.log_dir)
        cells, jobs_ = plan.cells(chosen, interpreters, emit)
        cells += _run_all(runner, jobs_, emit)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DownstreamReport(
        project=name,
        version=wanted,
        baseline=previous,
        index_url=index,
        candidates=source or str(config.build.output_dir),
        deadline=limit,
        cells=_in_order(cells, chosen),
        seconds=time.monotonic() - started,
        deadline_reached=runner.cancel.is_set(),
    )


def _runner(config: Config, environ: Mapping[str, str], index: str, deadline: float, workers: int) -> Runner:
    """The runner of the cells: uv, its environment, the index, the deadline and the slots."""
    return Runner(
        uv=_find_uv(),
        environ=_uv_environ(environ, config.build.cache_dir),
        index_url=index,
        deadline=deadline,
        env_slots=threading.Semaphore(max(2, workers)),
        test_slots=threading.Semaphore(workers),
    )


def _one_at_a_time(on_event: Callable[[DownstreamEvent], None] | None) -> Callable[[DownstreamEvent], None]:
    """``on_event`` called from the worker threads one call at a time (nothing when ``None``)."""
    lock = threading.Lock()

    def emit(event: DownstreamEvent) -> None:
        if on_event is not None:
            with lock:
                on_event(event)

    return emit


def _candidate(config: Config, version: str) -> tuple[str, str]:
    """The project's name and the candidate's version, normalized."""
    name = config.project.name
    if not name:
        raise ProjectError("the project has no [project] name", hint="set name in pyproject.toml's [project]")
    try:
        return name, str(Version(version))
    except InvalidVersion:
        raise UsageError(
            f"{version!r} is not a valid version", hint="give the candidate's version, like 2.1.0rc1"
        ) from None


def _in_order(cells: list[Cell], chosen: Sequence[DownstreamProject]) -> tuple[Cell, ...]:
    """The cells by project (in the configured order), then by Python version."""
    order = {p.name: i for i, p in enumerate(chosen)}
    return tuple(
        sorted(
            cells,
            key=lambda c: (order.get(c.project, len(order)), tuple(int(x) for x in c.python.split("."))),
        )
    )


def _chosen_interpreters(config: Config, narrow: Selector | None, select: str | None) -> list[Interpreter]:
    interpreters = [
        i for i in _interpreters(config) if narrow is None or (i.identifier and narrow.matches(i.identifier))
    ]
    if not interpreters:
        raise EnvironmentNotReadyError(
            "no CPython interpreter found" + (f" that --select {select} admits" if narrow else ""),
            hint="install one (pyenv install 3.12) or add its path to 'interpreters'",
        )
    return interpreters


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What every cell of one run shares: the candidate, its wheels and where the run works."""

    name: str
    version: str
    baseline: str | None
    index: str
    wheels: list[Path]
    work: Path
    root: Path
    log_dir: Path

    def cells(
        self,
        chosen: Sequence[DownstreamProject],
        interpreters: Sequence[Interpreter],
        emit: Callable[[DownstreamEvent], None],
    ) -> tuple[list[Cell], list[CellJob]]:
        """The cells decided without running anything (not installable, skipped) and the jobs to run."""
        cells: list[Cell] = []
        jobs: list[CellJob] = []
        for project in chosen:
            picked = Selector.parse(project.select, what="select")
            # the entry's own select leaves interpreters out (not reported)
            here = [i for i in interpreters if i.identifier is not None and picked.matches(i.identifier)]
            try:
                release = resolve_release(self.index, project, self.root / "sdists")
            except ShipwheelError as exc:
                emit(DownstreamEvent("resolved", project.name, detail=exc.one_line()))
                cells += [_cell(project.name, "", i, "not-installable", exc.one_line()) for i in here]
                continue
            emit(DownstreamEvent("resolved", project.name, detail=release.version))
            sources = (
                unpack_sdist(release.sdist, self.work / "sources" / project.name) if release.sdist else None
            )
            for interp in here:
                why = _why_not(release, interp, self.wheels)
                if isinstance(why, str):
                    cells.append(_cell(release.name, release.version, interp, "skipped", why))
                    continue
                jobs.append(self._job(project, release, sources, interp, why))
        return cells, jobs

    def _job(
        self,
        project: DownstreamProject,
        release: Release,
        sources: Path | None,
        interp: Interpreter,
        wheel: Path,
    ) -> CellJob:
        cell = f"{project.name}-{interp.identifier_python}"
        return CellJob(
            project=project,
            release=release,
            sources=sources,
            interpreter=interp,
            wheel=wheel,
            name=self.name,
            baseline=self.baseline,
            work=self.work / "cells" / cell,
            log=self.log_dir / "downstream" / self.version / f"{cell}.log",
        )


def _why_not(release: Release, interp: Interpreter, wheels: list[Path]) -> str | Path:
    """The candidate's wheel for ``interp``, or why the cell is skipped."""
    if not admits(release.requires_python, interp):
        return f"{release.name} {release.version} requires Python {release.requires_python}"
    wheel = pick_wheel(wheels, interp)
    if wheel is None:
        return f"no candidate wheel for {interp.identifier_python}"
    return wheel


def _cell(project: str, version: str, interp: Interpreter, status: str, detail: str) -> Cell:
    return Cell(
        project=project,
        version=version,
        interpreter=interp.identifier_python,
        python=".".join(map(str, interp.version)),
        status=status,  # type: ignore[arg-type]
        detail=detail,
    )


def _run_all(runner: Runner, jobs: list[CellJob], emit: Callable[[DownstreamEvent], None]) -> list[Cell]:
    """Run the cells in parallel until they end or the deadline comes (then the running ones are stopped)."""
    if not jobs:
        return []

    def one(job: CellJob) -> Cell:
        project, interp = job.release.name, job.interpreter.identifier_python
        emit(DownstreamEvent("start", project, interp))
        cell = run_cell(runner, job, lambda what: emit(DownstreamEvent("phase", project, interp, what)))
        emit(DownstreamEvent("done", project, interp, cell.status, cell))
        return cell

    out: list[Cell] = []
    pool = ThreadPoolExecutor(max_workers=min(len(jobs), 32), thread_name_prefix="downstream")
    try:
        pending: set[Future[Cell]] = {pool.submit(one, job) for job in jobs}
        while pending:
            left = runner.left()
            if left <= 0:
                runner.cancel.set()  # every running command is killed; the cells not started end at once
            done, pending = wait(pending, timeout=min(max(left, 0.05), 0.5), return_when=FIRST_COMPLETED)
            out += [f.result() for f in done]
    except BaseException:
        runner.cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return out
