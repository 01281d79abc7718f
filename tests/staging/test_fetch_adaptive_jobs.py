"""Adaptive concurrency for fetch: grow while the link rewards more connections, shrink when the
server pushes back, never above -j; --fixed-jobs keeps -j throughout."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from fixtures.hostile import HostileServer
from fixtures.http_servers import ListingServer
from shipwheel._adaptive import AdaptiveLimit
from shipwheel._retry import RetryPolicy
from shipwheel.staging import Selection, fetch_release, open_container


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run_windows(
    limit: AdaptiveLimit, clock: FakeClock, total: dict[int, float] | None, windows: int
) -> None:
    """Keep every slot busy and feed each half-second window what the link carries at the current limit:
    ``total[limit]`` bytes per second in all, or 10 MB/s per connection without end when ``total`` is None."""
    for _ in range(windows):
        with contextlib.ExitStack() as busy:
            for _slot in range(limit.limit):
                busy.enter_context(limit.slot())
            rate = 1e7 * limit.limit if total is None else total.get(limit.limit, max(total.values()))
            limit.moved(int(rate * 0.5))
            clock.now += 0.5
            limit.tick()


def test_grows_while_each_connection_adds_throughput_up_to_the_cap() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, start=2, clock=clock)
    _run_windows(limit, clock, None, 10)  # 10 MB/s per connection, no end to the link
    assert limit.history[:4] == [2, 4, 8, 16]
    assert limit.limit == 16 and limit.peak == 16


def test_stops_growing_when_the_link_is_full_and_halves_on_overload() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, start=2, clock=clock)
    # The link's total: 20 MB/s at 2, 40 at 4, then no more whatever the count.
    _run_windows(limit, clock, {2: 20e6, 4: 40e6, 8: 40e6, 16: 40e6}, 10)
    # slow start stops at 8; one probe of 9 brings nothing and steps back
    assert limit.history == [2, 4, 8, 9, 8] and limit.limit == 8
    limit.overloaded()
    assert limit.limit == 4
    limit.overloaded()
    limit.overloaded()
    limit.overloaded()
    assert limit.limit == 1


def test_fixed_jobs_never_change() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(8, adaptive=False, clock=clock)
    _run_windows(limit, clock, None, 5)
    limit.overloaded()
    assert limit.history == [8]


@pytest.mark.timeout(120)
def test_fetch_adds_connections_on_a_link_that_limits_each_one(tmp_path: Path) -> None:
    names = [f"demo-1.0.0-{i}-py3-none-any.whl" for i in range(1, 25)]
    body = os.urandom(384 << 10)
    files = [{"filename": n, "url": n, "hashes": {}, "size": len(body)} for n in names]
    with HostileServer() as server:
        server.route(
            "/simple/demo/",
            body=json.dumps({"files": files}).encode(),
            ctype="application/vnd.pypi.simple.v1+json",
        )
        for name in names:
            # 16 KiB every 20 ms: about 800 KB/s per connection.
            server.route(
                f"/simple/demo/{name}",
                behaviour="throttle",
                body=body,
                interval=0.02,
                ctype="application/octet-stream",
            )
        container = open_container(server.url + "simple/", max_connections=32)
        try:
            report = fetch_release(
                container, Selection(project="demo", version="1.0.0"), tmp_path / "wh", jobs=8
            )
        finally:
            container.close()
    assert report.ok and len(report.files) == 24
    assert report.connections[0] == 4 and max(report.connections) > 4, report.connections
    assert max(report.connections) <= 8


def test_fetch_backs_off_on_503_and_fixed_jobs_does_not(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    names = [f"demo-1.0.0-{i}-py3-none-any.whl" for i in range(1, 7)]
    for name in names:
        (root / name).write_bytes(name.encode() * 100)
    policy = RetryPolicy(retries=3, sleep=lambda _s: None)
    for adaptive in (True, False):
        with ListingServer(root) as server:
            for name in names:
                server.fault(name, "503")
            container = open_container(server.url)
            try:
                report = fetch_release(container, Selection(project="demo", version="1.0.0"), tmp_path / f"wh-{adaptive}",
                               jobs=8, policy=policy, adaptive=adaptive)  # fmt: skip
            finally:
                container.close()
        assert report.ok
        if adaptive:
            assert report.connections[0] == 4 and min(report.connections) == 1, report.connections
        else:
            assert report.connections == [8]


def test_a_window_without_counted_bytes_is_not_judged() -> None:
    """Transfers counted when they end (publish) leave windows empty: an empty window neither grows nor ends
    slow start, and the next window with bytes in it is judged as usual."""
    clock = FakeClock()
    limit = AdaptiveLimit(16, start=4, window=0.5, clock=clock)
    with contextlib.ExitStack() as busy:
        for _slot in range(4):
            busy.enter_context(limit.slot())
        for _ in range(10):  # 5 s of nothing finished
            clock.now += 0.5
            limit.tick()
        assert limit.history == [4]
        limit.moved(10_000_000)
        clock.now += 0.5
        limit.tick()
    assert limit.history == [4, 8]


def test_past_slow_start_it_probes_one_more_and_steps_back() -> None:
    """Past slow start one more connection is worth about 1/n more, not 1.2x: the controller probes n + 1, keeps it
    while the total grows by half of that share, and steps back to the last good number when it does not."""
    clock = FakeClock()
    limit = AdaptiveLimit(16, start=4, clock=clock)
    # doubling 4 -> 8 gains only 15% (slow start ends); then each further connection adds 4 MB/s up to 11
    link = {4: 40e6, 8: 46e6, 9: 50e6, 10: 54e6, 11: 58e6, 12: 58e6}
    _run_windows(limit, clock, link, 12)
    assert limit.history == [4, 8, 9, 10, 11, 12, 11], limit.history
