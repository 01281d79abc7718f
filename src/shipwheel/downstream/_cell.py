"""One downstream project on one interpreter: a fresh environment with the candidate, its test suite, and, when
tests fail, the same with the previous release to tell regressions from known failures.

Environments are made with uv (its cache under the shipwheel cache folder makes them fast) and hold the
downstream's released wheel, its test requirements and this project: the candidate's wheel file, never a
release of it from the index; or, for the baseline, the previous release from the index. Every command runs in
a process group of its own, stopped at the run's deadline or the test command's timeout.
"""

from __future__ import annotations

import os
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .._subprocess import Finished, run_stoppable
from ..config import DownstreamProject
from ..errors import ShipwheelError
from ..interpreters import Interpreter
from ._compare import classify
from ._junit import COMMAND_ID, INSTALL_ID, MAX_LINES, TestResult, counts, failure_lines, read_junit
from ._model import Cell, CellStatus, TestFailure
from ._sources import Release, copy_tests

__all__ = ["CellJob", "Runner", "Suite", "run_cell"]

#: Seconds one environment may take to make, at most (a resolver that hangs on a dead index).
ENV_TIMEOUT = 900.0
#: The most failed tests run again by node id with the previous release; more run the whole suite again.
_MAX_RERUN = 500


class _Stopped(Exception):
    """The run's deadline came: the cell ends unfinished."""


@dataclass(slots=True)
class Runner:
    """What every cell shares: uv and its environment, the index, the deadline, and the slots that bound how many
    environments are made and how many test suites run at once."""

    uv: str
    environ: Mapping[str, str]
    index_url: str
    deadline: float
    env_slots: threading.Semaphore
    test_slots: threading.Semaphore
    cancel: threading.Event = field(default_factory=threading.Event)

    def left(self) -> float:
        """Seconds until the deadline."""
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise :class:`_Stopped` when the deadline has come."""
        if self.cancel.is_set() or self.left() <= 0:
            self.cancel.set()
            raise _Stopped

    def run(
        self, cmd: Sequence[str] | str, log: IO[str], *, timeout: float, env: Mapping[str, str], cwd: Path
    ) -> Finished:
        """``cmd`` (a shell line when a string), stopped at ``timeout`` or the deadline, whichever comes first."""
        self.check()
        finished = run_stoppable(
            cmd,
            logfile=log,
            cwd=cwd,
            env=env,
            shell=isinstance(cmd, str),
            timeout=min(timeout, self.left()),
            cancel=self.cancel,
        )
        if finished.cancelled or (finished.timed_out and self.left() <= 0):
            self.cancel.set()
            raise _Stopped
        return finished


@dataclass(frozen=True, slots=True)
class Suite:
    """How a downstream project's tests run: a command (an argument list, or a shell line) in a folder;
    ``node_ids``: whether node ids may be added to it to run some tests only (the default pytest command)."""

    command: tuple[str, ...] | str
    cwd: Path
    node_ids: bool = False


def make_suite(project: DownstreamProject, release: Release, sources: Path | None, folder: Path) -> Suite:
    """The test command of ``project``: ``test-command`` with ``{sources}``, else pytest on a copy of the
    sdist's tests, else ``pytest --pyargs NAME``. ``folder`` is the cell's own (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    if project.test_command:
        line = project.test_command
        if "{sources}" in line:
            if sources is None:
                raise ValueError(
                    f"{release.name} {release.version} has no sdist on the index for {{sources}}"
                )
            line = line.replace("{sources}", shlex.quote(str(sources)))
        return Suite(line, folder)
    tests = copy_tests(sources, folder) if sources is not None else None
    if tests is not None:
        return Suite(("python", "-m", "pytest", tests), folder, node_ids=True)
    return Suite(("python", "-m", "pytest", "--pyargs", release.name.replace("-", "_")), folder)


@dataclass(frozen=True, slots=True)
class CellJob:
    """What one cell needs: the downstream project and its release, the interpreter, the candidate's wheel, the
    previous release (``None``: none on the index), the requirements of the tests, and its folders."""

    project: DownstreamProject
    release: Release
    sources: Path | None
    interpreter: Interpreter
    wheel: Path
    name: str
    baseline: str | None
    work: Path
    log: Path


def _tail(log: IO[str], start: int, lines: int = MAX_LINES) -> tuple[str, ...]:
    """The last ``lines`` non-empty lines the log got since ``start``."""
    log.flush()
    with open(log.name, encoding="utf-8", errors="replace") as fh:
        fh.seek(start)
        text = fh.read()
    kept = [line.rstrip() for line in text.splitlines() if line.strip() and not line.startswith("$ ")]
    return tuple(failure_lines("", "\n".join(kept[-lines:])))


def _make_env(runner: Runner, job: CellJob, path: Path, project_req: str, log: IO[str]) -> tuple[str, ...]:
    """Make the environment at ``path``; ``()`` when it worked, else the last lines uv printed."""
    downstream = Requirement(job.project.requirement)
    extras = f"[{','.join(sorted(downstream.extras))}]" if downstream.extras else ""
    requirements = [
        f"{job.release.name}{extras}=={job.release.version}",
        *job.project.test_requires,
        project_req,
    ]
    if not job.project.test_command and "pytest" not in {
        canonicalize_name(Requirement(r).name) for r in job.project.test_requires
    }:
        requirements.append("pytest")
    with runner.env_slots:
        start = log.tell()
        for cmd in (
            [runner.uv, "venv", "--quiet", "--python", str(job.interpreter.path), str(path)],
            [runner.uv, "pip", "install", "--python", str(path / "bin" / "python"), "--index-url",
             runner.index_url, *requirements],
        ):  # fmt: skip
            done = runner.run(cmd, log, timeout=ENV_TIMEOUT, env=runner.environ, cwd=job.work)
            if done.returncode != 0:
                why = (
                    f"did not finish within {ENV_TIMEOUT:g} s"
                    if done.timed_out
                    else f"exit code {done.returncode}"
                )
                return (*_tail(log, start, MAX_LINES - 1), f"uv {cmd[1]}: {why}")
    return ()


def _error_line(lines: Sequence[str]) -> str:
    """uv's error as one line: from its last ``error:`` line on, joined (uv wraps its messages)."""
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith(("error:", "\u00d7"))]
    text = " ".join(" ".join(line.split()) for line in lines[starts[-1] if starts else -1 :])
    return text if len(text) <= 400 else text[:397] + "..."


def _test_environ(runner: Runner, env: Path, junit: Path) -> dict[str, str]:
    environ = {k: v for k, v in runner.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    environ["VIRTUAL_ENV"] = str(env)
    environ["PATH"] = os.pathsep.join([str(env / "bin"), environ.get("PATH", "")])
    # a module that no longer imports is one failure among the others' results, not the end of the run
    options = shlex.join(
        ["--junitxml", str(junit), "-o", "junit_family=xunit1", "--continue-on-collection-errors"]
    )
    environ["PYTEST_ADDOPTS"] = f"{environ.get('PYTEST_ADDOPTS', '')} {options}".strip()
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return environ


def _run_suite(
    runner: Runner, job: CellJob, suite: Suite, env: Path, log: IO[str], *, only: Sequence[str] = ()
) -> dict[str, TestResult]:
    """Run the suite in ``env`` (only the tests ``only`` names, when given); the results by test id, with
    :data:`COMMAND_ID` failed when the command ended without saying which test failed (a crash, the timeout, a
    failing exit code and no failed test), passed otherwise."""
    junit = env.with_name(env.name + ".xml")
    junit.unlink(missing_ok=True)
    command: Sequence[str] | str = suite.command
    if not isinstance(command, str):
        # this environment's python; with ``only``, the node ids in place of the folder
        command = [str(env / "bin" / "python"), *command[1:3], *(only or command[3:])]
    with runner.test_slots:
        start = log.tell()
        done = runner.run(
            command, log, timeout=job.project.timeout, env=_test_environ(runner, env, junit), cwd=suite.cwd
        )
    results = None if done.timed_out else read_junit(junit)
    out = dict(results or {})
    if done.timed_out:
        why = f"did not finish within {job.project.timeout:g} s (the project's timeout)"
    elif done.returncode == 0 or any(r.outcome == "failed" for r in out.values()):
        out[COMMAND_ID] = TestResult(COMMAND_ID, "passed")
        return out
    elif results is None:
        why = f"exit code {done.returncode} and no JUnit report (a crash, or a command that is not pytest)"
    else:
        why = f"exit code {done.returncode}, and no test failed"
    out[COMMAND_ID] = TestResult(COMMAND_ID, "failed", (why, *_tail(log, start, MAX_LINES - 1)))
    return out


def run_cell(runner: Runner, job: CellJob, progress: Callable[[str], None]) -> Cell:
    """Test ``job``'s downstream project with the candidate, and with the previous release when tests fail."""
    started = time.monotonic()
    job.work.mkdir(parents=True, exist_ok=True)
    job.log.parent.mkdir(parents=True, exist_ok=True)
    with job.log.open("w", encoding="utf-8") as log:

        def cell(status: CellStatus, **values: object) -> Cell:
            return Cell(
                project=job.release.name,
                version=job.release.version,
                interpreter=job.interpreter.identifier_python,
                python=".".join(map(str, job.interpreter.version)),
                status=status,
                seconds=time.monotonic() - started,
                log=str(job.log),
                **values,  # type: ignore[arg-type]
            )

        try:
            return _cell(runner, job, log, progress, cell)
        except _Stopped:
            return cell("unfinished", detail="the run's deadline came first")
        except (ShipwheelError, OSError) as exc:  # this cell only: the others still run
            what = exc.one_line() if isinstance(exc, ShipwheelError) else str(exc)
            log.write(f"# stopped: {what}\n")
            return cell("not-installable", detail=f"could not be tested: {what}")
        finally:
            shutil.rmtree(job.work, ignore_errors=True)


def _cell(
    runner: Runner, job: CellJob, log: IO[str], progress: Callable[[str], None], cell: Callable[..., Cell]
) -> Cell:
    base_req = f"{job.name}=={job.baseline}" if job.baseline else ""
    progress("installing the candidate")
    log.write(f"# {job.release.name} {job.release.version} with {job.wheel.name}\n")
    candidate_env = job.work / "candidate"
    broken = _make_env(runner, job, candidate_env, str(job.wheel), log)
    if broken:
        if not base_req:
            return cell("not-installable", detail=_error_line(broken))
        progress("installing the previous release")
        log.write(f"# the same with {base_req}\n")
        if _make_env(runner, job, job.work / "baseline", base_req, log):
            return cell("not-installable", detail=f"{_error_line(broken)} (with {job.baseline} too)")
        failure = TestFailure(INSTALL_ID, broken, f"{job.baseline} installs")
        return cell("regressed", regressions=(failure,), failed=1, detail="the candidate does not install")
    try:
        suite = make_suite(job.project, job.release, job.sources, job.work / "run")
    except ValueError as exc:
        return cell("not-installable", detail=str(exc))
    progress("testing the candidate")
    results = _run_suite(runner, job, suite, candidate_env, log)
    passed, _, skipped = counts({k: v for k, v in results.items() if k != COMMAND_ID})
    failing = sorted(k for k, v in results.items() if v.outcome == "failed")
    totals = {"passed": passed, "failed": len(failing), "skipped": skipped}
    if not failing:
        return cell("passed", **totals)
    if not base_req:
        regressions, _ = classify(results, None, no_baseline="no previous release on the index")
        return cell("regressed", regressions=regressions, **totals)
    progress("installing the previous release")
    log.write(f"# {len(failing)} failure(s): the same with {base_req}\n")
    baseline_env = job.work / "baseline"
    if _make_env(runner, job, baseline_env, base_req, log):
        regressions, _ = classify(results, None, no_baseline=f"{job.baseline} does not install")
        return cell("regressed", regressions=regressions, **totals)
    # Only the failed tests again, when the command takes node ids (the default one) and the whole run ended
    # with a report; else the whole suite.
    rerun = suite.node_ids and COMMAND_ID not in failing and len(failing) <= _MAX_RERUN
    progress(f"testing the previous release ({len(failing) if rerun else 'all'} test(s))")
    before = _run_suite(runner, job, suite, baseline_env, log, only=failing if rerun else ())
    if rerun and not any(test_id in before for test_id in failing):
        before = _run_suite(runner, job, suite, baseline_env, log)  # the ids selected nothing: all of them
    regressions, known = classify(results, before)
    return cell(
        "regressed" if regressions else "passed", regressions=regressions, known_failures=known, **totals
    )
