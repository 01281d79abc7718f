"""The one HTTP client factory: pooled connections, timeouts, an overall deadline per request, a User-Agent,
credentials never in URLs and only ever sent to their own origin.

A per-read timeout alone does not bound a request: a server that sends one byte a second never lets a read time
out. So every request made through :func:`make_client` also has a *deadline*: ``deadline`` seconds (default four
times the read timeout) plus the time the bytes already moved justify at :data:`MIN_RATE`, from the moment the
request is sent until the last byte of its response body is read. A slow but honest transfer of a large file
earns its time; a dripping server runs out of it. The deadline is enforced at the socket (every read and write
gets at most the time left), so it holds for the status line and headers as well as the body, for every
caller: fetch, stage, and publish's index queries and uploads.
"""

from __future__ import annotations

import contextlib
import math
import netrc
import os
import platform
import ssl
import threading
import time
import typing
import urllib.request
from collections.abc import Generator, Iterator
from urllib.parse import urlsplit

import httpcore
import httpx

from ._redact import (
    redact,
    redact_data,
    redact_text,
    register_secret,
)
from ._version import __version__
from .errors import ConfigError, TransferError, UsageError

__all__ = [
    "MIN_RATE",
    "USER_AGENT",
    "OriginAuth",
    "check_timeout",
    "make_client",
    "netrc_credentials",
    "origin",
    "read_body",
    "redact",
    "redact_data",
    "redact_text",
    "register_secret",
]

USER_AGENT = f"shipwheel/{__version__} ({platform.python_implementation()} {platform.python_version()}; {platform.system()})"

#: Bytes per second a transfer must average to keep its deadline growing (128 kbit/s: slow links still finish,
#: and a transfer cut by its deadline is resumed by fetch's retries).
MIN_RATE = 16 << 10


def check_timeout(timeout: float, what: str = "--timeout") -> float:
    """``timeout`` if it is a positive, finite number of seconds; else a :class:`UsageError` saying so."""
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise UsageError(
            f"{what} {timeout!r} is not a positive number of seconds",
            hint=f"give {what} a number of seconds greater than 0, e.g. 60",
        )
    return float(timeout)


def make_client(
    *,
    timeout: float = 60.0,
    max_connections: int = 16,
    auth: httpx.Auth | tuple[str, str] | None = None,
    follow_redirects: bool = False,
    max_redirects: int = 5,
    headers: dict[str, str] | None = None,
    deadline: float | None = None,
    verify: ssl.SSLContext
    | bool = True,  # publish's --cert / --client-cert: another CA, a client certificate
) -> httpx.Client:
    """A pooled HTTP client. Redirects are off unless asked for, and then bounded; each request has an overall
    deadline (see the module docstring; ``deadline`` defaults to ``4 * timeout``)."""
    check_timeout(timeout)
    budget = deadline if deadline is not None else 4 * timeout
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        limits=limits,
        auth=auth,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        trust_env=True,
        # A custom transport ignores the client's own ``verify``: the transports carry it.
        transport=_DeadlineTransport(limits, budget, verify=verify),
        # Proxies from the environment get the deadline too (httpx would mount plain transports for them).
        mounts={
            key: None if url is None else _DeadlineTransport(limits, budget, proxy=url, verify=verify)
            for key, url in _env_proxies().items()
        },
    )


def read_body(response: httpx.Response, limit: int, what: str, *, hint: str = "") -> bytes:
    """The decoded body of a response opened with ``client.stream(...)``, refusing more than ``limit`` bytes as a
    :class:`TransferError` (exit 6). The size is counted after decompression, so a small gzip bomb stops as soon as
    it expands past the limit (httpx inflates one network chunk at a time, at most about a thousand times its
    size); the request's deadline bounds the time. A body that does not decompress is a :class:`TransferError`
    too, never an httpx exception."""
    body = bytearray()
    try:
        for block in response.iter_bytes():
            body += block
            if len(body) > limit:
                raise TransferError(
                    f"{what} is larger than {limit >> 20} MiB",
                    hint=hint or "check the URL; the server misbehaves",
                )
    except httpx.DecodingError as exc:
        raise TransferError(f"{what} is corrupt (it does not decompress)", hint="retry later") from exc
    return bytes(body)


# -- credentials -------------------------------------------------------------------------------------------


def origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, the port filled in for http and https."""
    u = httpx.URL(str(url))
    return u.scheme, u.host.lower(), u.port or {"http": 80, "https": 443}.get(u.scheme)


class OriginAuth(httpx.Auth):
    """HTTP basic credentials sent only to one origin (scheme, host, port): never to a CDN host the listing
    links to, nor to where a redirect leads."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.origin = origin(url)
        self._basic = httpx.BasicAuth(username, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin(request.url) == self.origin:
            yield from self._basic.auth_flow(request)
        else:
            yield request


def netrc_credentials(url: str) -> tuple[str, str] | None:
    """The ``~/.netrc`` (or ``$NETRC``) login and password for the host of ``url``, if it names that host.

    A file that cannot be parsed is a :class:`ConfigError` that shows neither the file's lines nor the
    parser's message (both may hold a password)."""
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        found = netrc.netrc(path).authenticators(urlsplit(url).hostname or "")
    except (netrc.NetrcParseError, OSError, UnicodeDecodeError):
        raise ConfigError(
            f"cannot read the credentials file {path}", hint="check its syntax (machine, login, password)"
        ) from None
    if not found:
        return None
    login, _account, password = found
    return login or "", password or ""


# -- the overall deadline ----------------------------------------------------------------------------------


class _Clock:
    """The time budget of one request: ``budget`` seconds plus what the bytes moved justify."""

    def __init__(self, budget: float) -> None:
        self.start = time.monotonic()
        self.budget = budget
        self.moved = 0

    def left(self) -> float:
        return self.start + self.budget + self.moved / MIN_RATE - time.monotonic()

    def message(self) -> str:
        return (
            f"the server answers too slowly: no complete answer within {time.monotonic() - self.start:.0f} s "
            f"(the deadline is {self.budget:g} s plus 1 s per {MIN_RATE >> 10} KiB received)"
        )


_local = threading.local()


@contextlib.contextmanager
def _running(clock: _Clock) -> Iterator[None]:
    # Thread-local: a request's socket reads and writes all happen in the thread that made it (sync httpx).
    previous = getattr(_local, "clock", None)
    _local.clock = clock
    try:
        yield
    finally:
        _local.clock = previous


def _limit(timeout: float | None, error: type[Exception]) -> tuple[_Clock | None, float | None]:
    clock: _Clock | None = getattr(_local, "clock", None)
    if clock is None:
        return None, timeout
    left = clock.left()
    if left <= 0:
        raise error(clock.message())
    return clock, left if timeout is None else min(timeout, left)


def _deadline_cut(
    clock: _Clock | None, timeout: float | None, limit: float | None
) -> typing.TypeGuard[_Clock]:
    """Whether a timed-out operation had been given the deadline's rest rather than its own timeout."""
    return clock is not None and limit is not None and (timeout is None or limit < timeout)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # The hot path of every download (a call per 64 KiB): _limit() inlined; its calls made a fetch over
        # loopback 9% slower than plain httpx (numpy 2.4.6: 14,000 reads over 8 threads), now 4%.
        clock: _Clock | None = getattr(_local, "clock", None)
        limit = timeout
        if clock is not None:
            left = clock.left()
            if left <= 0:
                raise httpcore.ReadTimeout(clock.message())
            if timeout is None or left < timeout:
                limit = left
        try:
            data = self._inner.read(max_bytes, limit)
        except httpcore.ReadTimeout:
            if _deadline_cut(clock, timeout, limit):
                raise httpcore.ReadTimeout(clock.message()) from None
            raise httpcore.ReadTimeout(f"no data for {timeout:g} s (the read timeout)") from None
        if clock is not None:
            clock.moved += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        clock, limit = _limit(timeout, httpcore.WriteTimeout)
        try:
            self._inner.write(buffer, limit)
        except httpcore.WriteTimeout:
            if _deadline_cut(clock, timeout, limit):
                raise httpcore.WriteTimeout(clock.message()) from None
            raise
        if clock is not None:
            clock.moved += len(buffer)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        _, limit = _limit(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        _, limit = _limit(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, limit, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        _, limit = _limit(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, limit, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _ClockedStream(httpx.SyncByteStream):
    """A response body read under its request's clock."""

    def __init__(self, inner: httpx.SyncByteStream, clock: _Clock) -> None:
        self._inner, self._clock = inner, clock

    def __iter__(self) -> Iterator[bytes]:
        # _running() inlined: this runs once per 64 KiB of every body.
        chunks = iter(self._inner)
        clock = self._clock
        while True:
            previous = getattr(_local, "clock", None)
            _local.clock = clock
            try:
                chunk = next(chunks, None)
            finally:
                _local.clock = previous
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _env_proxies() -> dict[str, str | None]:
    """The proxies of the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) as httpx
    mount keys, the way httpx reads them itself when it builds its own transports (with a custom transport it
    does not): a proxy URL, or ``None`` for hosts that ``NO_PROXY`` sends direct. SOCKS proxies are ignored."""
    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {
        f"{scheme}://": url
        for scheme, url in found.items()
        if scheme in {"http", "https", "all"} and urlsplit(url).scheme in {"http", "https"}
    }
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
        elif ":" in host and not host.startswith("["):
            mounts[f"all://[{host}]"] = None  # an IPv6 address
        elif host[0].isdigit() or host.startswith("[") or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        else:
            mounts[f"all://*{host.lstrip('.')}"] = None
    return mounts if any(v is not None for v in mounts.values()) else {}


class _DeadlineTransport(httpx.HTTPTransport):
    def __init__(
        self,
        limits: httpx.Limits,
        budget: float,
        proxy: str | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        # One SSL context for both pools (loading the CA bundle is about 20 ms: twice per client before).
        ssl_context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify, trust_env=True)
        )
        super().__init__(limits=limits, trust_env=True, verify=ssl_context)
        # httpx has no option for httpcore's network backend, which is where a deadline can reach every socket
        # read; so the pool (httpcore's public API, built as httpx builds it) is replaced by one that has it.
        common: dict[str, typing.Any] = {
            "ssl_context": ssl_context,
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": _DeadlineBackend(),
        }
        if proxy is None:
            self._pool = httpcore.ConnectionPool(**common)
        else:
            spec = httpx.Proxy(url=proxy)
            self._pool = httpcore.HTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=spec.url.raw_scheme,
                    host=spec.url.raw_host,
                    port=spec.url.port,
                    target=spec.url.raw_path,
                ),
                proxy_auth=spec.raw_auth,
                proxy_headers=spec.headers.raw,
                **common,
            )
        self._budget = budget

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        clock = _Clock(self._budget)
        with _running(clock):
            response = super().handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _ClockedStream(response.stream, clock)
        return response
