"""The long-link shaping proxy of the fetch benchmark (benchmarks/_longlink.py): bucket arithmetic and a real relay."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "_longlink.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_longlink", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_longlink"] = module
    spec.loader.exec_module(module)
    return module


longlink = _load()


def test_bucket_lets_a_burst_through_then_paces_at_the_rate() -> None:
    bucket = longlink.TokenBucket(rate=1000.0, burst=500.0)
    assert bucket.reserve(500, now=0.0) == 0.0  # the burst
    assert bucket.reserve(100, now=0.0) == pytest.approx(0.1)  # 100 bytes at 1000 B/s
    assert bucket.reserve(100, now=0.0) == pytest.approx(0.2)
    # After a long idle time the bucket is full again, never fuller.
    assert bucket.reserve(500, now=100.0) == 0.0
    assert bucket.reserve(1000, now=100.0) == pytest.approx(1.0)


def test_bucket_average_rate_is_exact_over_many_chunks() -> None:
    bucket = longlink.TokenBucket(rate=12.5e6, burst=64 * 1024)
    now = 0.0
    for _ in range(1000):
        now += bucket.reserve(256 * 1024, now)
    # 1000 chunks of 256 KiB at 12.5 MB/s, less the initial burst.
    assert now == pytest.approx((1000 * 256 * 1024 - 64 * 1024) / 12.5e6, rel=1e-9)


def test_unlimited_bucket_never_waits() -> None:
    bucket = longlink.TokenBucket(rate=float("inf"))
    assert bucket.reserve(1 << 30, now=0.0) == 0.0


def _echo_server() -> tuple[socket.socket, threading.Thread]:
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return srv, thread


def test_proxy_relays_bytes_both_ways_and_counts_them() -> None:
    srv, thread = _echo_server()
    payload = bytes(range(256)) * 4096  # 1 MiB
    with srv, longlink.LongLink(srv.getsockname(), rtt=0.002, conn_bps=1e9, total_bps=1e9) as link:
        with socket.create_connection(("127.0.0.1", link.port), timeout=30) as conn:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
            got = bytearray()
            while data := conn.recv(65536):
                got += data
        assert bytes(got) == payload
        assert link.stats.connections == 1
        assert link.stats.bytes_up == len(payload)
        assert link.stats.bytes_down == len(payload)
    thread.join(10)
