"""The one HTTP client factory: pooled connections, timeouts, a User-Agent, credentials never in URLs."""

from __future__ import annotations

import platform
import ssl
from urllib.parse import urlsplit, urlunsplit

import httpx

from . import __version__

__all__ = ["USER_AGENT", "make_client", "redact"]

USER_AGENT = f"shipwheel/{__version__} ({platform.python_implementation()} {platform.python_version()}; {platform.system()})"


def make_client(
    *,
    timeout: float = 60.0,
    max_connections: int = 16,
    auth: httpx.Auth | tuple[str, str] | None = None,
    follow_redirects: bool = False,
    max_redirects: int = 5,
    headers: dict[str, str] | None = None,
    verify: ssl.SSLContext
    | bool = True,  # publish's --cert / --client-cert: another CA, a client certificate
) -> httpx.Client:
    """A pooled HTTP client. Redirects are off unless asked for, and then bounded."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        limits=limits,
        auth=auth,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        trust_env=True,
        verify=verify,
    )


def redact(url: str) -> str:
    """``url`` with any user name and password removed, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
