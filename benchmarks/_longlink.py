"""A TCP proxy that makes a local link behave like a long, shared one: delay, per-connection and total rate.

Each connection's bytes are held for half the round-trip time in each direction, so one request/response costs
one RTT, and opening a connection costs one more RTT (the TCP handshake). Each direction of each connection is
throttled by its own token bucket (``conn_bps``) and all connections together by one shared bucket
(``total_bps``). Buckets use the generic cell rate algorithm (a virtual "theoretical arrival time"), so their
arithmetic is exact and testable without a clock: see :class:`TokenBucket`.

Command line::

    python benchmarks/_longlink.py --listen 127.0.0.1:8001 --upstream 127.0.0.1:8000 \
        --rtt-ms 50 --conn-mbit 100 --total-mbit 1000

Python::

    with LongLink(upstream=("127.0.0.1", 8000), rtt=0.05, conn_bps=100e6 / 8, total_bps=1e9 / 8) as link:
        url = f"http://127.0.0.1:{link.port}/"

Rates are in bytes per second. The proxy is one asyncio loop in one thread; reads are up to 256 KiB, so its
own overhead stays small next to the shaping (measure its ceiling with ``--rtt-ms 0`` and huge rates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["LongLink", "TokenBucket"]

_CHUNK = 256 * 1024
_QUEUE_CHUNKS = 64


@dataclass
class TokenBucket:
    """A token bucket of ``rate`` bytes per second holding at most ``burst`` bytes.

    :meth:`reserve` books ``n`` bytes at time ``now`` and returns how long the sender must wait before they may
    go. ``tat`` is the theoretical arrival time: when the bucket would be full again if nothing more were sent.
    """

    rate: float
    burst: float = 64 * 1024
    tat: float = field(default=0.0)

    def reserve(self, n: int, now: float) -> float:
        """Book ``n`` bytes at ``now``; the delay (seconds, >= 0) before they conform to the rate."""
        if self.rate <= 0 or self.rate == float("inf"):
            return 0.0
        self.tat = max(self.tat, now) + n / self.rate
        return max(0.0, self.tat - self.burst / self.rate - now)


@dataclass
class _Stats:
    connections: int = 0
    bytes_down: int = 0
    bytes_up: int = 0


class _Shaper:
    def __init__(self, upstream: tuple[str, int], rtt: float, conn_bps: float, total_bps: float) -> None:
        self.upstream = upstream
        self.rtt = rtt
        self.conn_bps = conn_bps
        self.total = TokenBucket(total_bps, burst=max(64 * 1024, total_bps * 0.002))
        self.stats = _Stats()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        bucket: TokenBucket,
        down: bool,
        failed: asyncio.Event,
    ) -> None:
        """Copy ``reader`` to ``writer``: each chunk waits for both buckets, then travels for half the RTT."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(_QUEUE_CHUNKS)
        half = self.rtt / 2

        async def deliver() -> None:
            try:
                while (item := await queue.get()) is not None:
                    due, data = item
                    wait = due - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
            except (ConnectionError, OSError):
                failed.set()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(_CHUNK):
                now = loop.time()
                wait = max(bucket.reserve(len(data), now), self.total.reserve(len(data), now))
                if down:
                    self.stats.bytes_down += len(data)
                else:
                    self.stats.bytes_up += len(data)
                await queue.put((now + wait + half, data))
                if wait > 0:
                    await asyncio.sleep(wait)
            await queue.put(None)
            await sender
        except (ConnectionError, OSError):
            failed.set()
        finally:
            sender.cancel()

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        """One client connection: wait one RTT (the handshake), connect upstream, pump both ways."""
        self.stats.connections += 1
        sock = client_w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream_w: asyncio.StreamWriter | None = None
        tasks: list[asyncio.Future[object]] = []
        try:
            # The handshake: SYN out, SYN-ACK back, before the first byte of the client can travel.
            await asyncio.sleep(self.rtt)
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream, limit=4 * _CHUNK)
            for w in (client_w, upstream_w):
                w.transport.set_write_buffer_limits(high=4 * _CHUNK)
            upstream_sock = upstream_w.get_extra_info("socket")
            if upstream_sock is not None:
                upstream_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            failed = asyncio.Event()
            both = asyncio.gather(
                self._pump(client_r, upstream_w, TokenBucket(self.conn_bps), False, failed),
                self._pump(upstream_r, client_w, TokenBucket(self.conn_bps), True, failed),
            )
            broken = asyncio.ensure_future(failed.wait())
            tasks = [both, broken]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (ConnectionError, OSError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            for w in (client_w, upstream_w):
                if w is not None:
                    w.close()
                    with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                        await w.wait_closed()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)


class LongLink:
    """The shaping proxy in a background thread; a context manager that exposes ``.port`` once entered.

    :param upstream: ``(host, port)`` of the server behind the link.
    :param rtt: round-trip time in seconds.
    :param conn_bps: bytes per second per connection and direction (``100e6 / 8`` for 100 Mbit/s).
    :param total_bps: bytes per second of all connections together (``1e9 / 8`` for 1 Gbit/s).
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        rtt: float = 0.05,
        conn_bps: float = 100e6 / 8,
        total_bps: float = 1e9 / 8,
        listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self._shaper = _Shaper(upstream, rtt, conn_bps, total_bps)
        self._listen = listen
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.port = 0

    @property
    def stats(self) -> _Stats:
        """Connections accepted and bytes forwarded so far."""
        return self._shaper.stats

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(
            self._shaper.handle, *self._listen, limit=4 * _CHUNK, backlog=256, reuse_address=True
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the thread that waits for the port
            self._error = exc
            self._ready.set()
        finally:
            # Connections still open when the server stops: cancelled and let run their cleanup (closing both
            # writers) before the loop closes, so no task or stream is left to be collected later, elsewhere.
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def start(self) -> LongLink:
        """Start the proxy thread and wait until it listens."""
        self._thread = threading.Thread(target=self._run, name="longlink", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"long-link proxy failed to start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Stop listening, drop open connections and join the thread."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> LongLink:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen", type=_hostport, default=("127.0.0.1", 0), help="HOST:PORT (port 0: any)")
    parser.add_argument("--upstream", type=_hostport, required=True, help="HOST:PORT of the server")
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--conn-mbit", type=float, default=100.0, help="per connection and direction")
    parser.add_argument("--total-mbit", type=float, default=1000.0, help="all connections together")
    args = parser.parse_args()
    link = LongLink(
        args.upstream,
        rtt=args.rtt_ms / 1000,
        conn_bps=args.conn_mbit * 1e6 / 8,
        total_bps=args.total_mbit * 1e6 / 8,
        listen=args.listen,
    )
    with link:
        print(f"listening on 127.0.0.1:{link.port} -> {args.upstream[0]}:{args.upstream[1]}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
