"""How the scheduler shares the cores: compiles that start together split them, the last one alone gets every
core the finished ones left, and no more than ``slots`` heavy phases run at once."""

from __future__ import annotations

import threading
import time

from shipwheel.builder import CoreBudget


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
