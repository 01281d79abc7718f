"""How the scheduler shares the cores: compiles that start together split them, the last one alone gets every
core the finished ones left, and no more than ``slots`` heavy phases run at once."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from shipwheel.builder import CoreBudget
from shipwheel.builder._env import EnvCache
from shipwheel.builder._jobserver import Jobserver
from shipwheel.interpreters import discover


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _hold_together(budget: CoreBudget, count: int) -> list[int]:
    """``count`` compiles asking at once, each holding its slot until all have one."""
    jobs: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count, timeout=30)

    def compile_one() -> None:
        with budget.hold(compile=True) as n:
            with lock:
                jobs.append(n)
            barrier.wait()

    threads = [threading.Thread(target=compile_one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(jobs)


def test_three_compiles_on_two_cores_run_together_and_the_last_gets_both_cores() -> None:
    budget = CoreBudget(cores=2, slots=3, compiles=4)
    assert _hold_together(budget, 3) == [1, 1, 1]  # the third is not left to run alone at the end
    with budget.hold(compile=True) as jobs:  # the last identifier: the cores the others left
        assert jobs == 2


def test_a_test_holds_one_core_and_the_compile_beside_it_gets_the_rest() -> None:
    budget = CoreBudget(cores=4, slots=5, compiles=1)
    with budget.hold(compile=False) as tests, budget.hold(compile=True) as jobs:
        assert (tests, jobs) == (1, 3)


def test_no_more_than_slots_hold_at_once() -> None:
    budget = CoreBudget(cores=2, slots=2, compiles=6)
    running, peak = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with budget.hold(compile=True):
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak == 2


NINJA_RENDEZVOUS = """\
rule meet
  command = touch $out.started; i=0; while [ $$(ls *.started | wc -l) -lt 2 ]; do i=$$((i+1)); [ $$i -gt 300 ] && exit 1; sleep 0.1; done; touch $out
build a: meet
build b: meet
"""


@pytest.mark.integration
def test_a_running_ninja_build_takes_the_cores_the_finished_compiles_leave(
    tmp_path: Path, cache_dir: Path
) -> None:
    """Three compiles on two cores: the ninja build that started third, with one job, runs two jobs at once as
    soon as the other two have finished (its two jobs wait for each other: one at a time, it fails)."""
    interp = next(i for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded)
    with (tmp_path / "env.log").open("w") as log:
        env, _ = EnvCache(cache_dir).get(interp, ["ninja>=1.13"], log=log)
    ninja = Path(env.python_executable).parent / "ninja"
    (tmp_path / "build.ninja").write_text(NINJA_RENDEZVOUS)
    jobserver = Jobserver(tmp_path / "jobserver")
    budget = CoreBudget(cores=2, slots=3, compiles=3, jobserver=jobserver)
    held, finish = threading.Barrier(3, timeout=30), threading.Event()

    def other_compile() -> None:
        with budget.hold(compile=True):
            held.wait()
            finish.wait(30)

    others = [threading.Thread(target=other_compile) for _ in range(2)]
    for t in others:
        t.start()
    held.wait()
    try:
        with budget.hold(compile=True, client=True) as jobs:
            assert jobs == 1
            proc = subprocess.Popen(
                [str(ninja)],
                cwd=tmp_path,
                env={**os.environ, "MAKEFLAGS": jobserver.makeflags},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            finish.set()
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out
    finally:
        finish.set()
        for t in others:
            t.join(30)
        jobserver.close()
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()
