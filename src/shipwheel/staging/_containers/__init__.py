"""Staging containers: where release files wait between the build machines and the index.

One URL syntax names every kind of container:

* a local folder: ``wheelhouse/``, ``/srv/staging``, ``file:///srv/staging``;
* an HTTP(S) page of links: a directory listing of nginx, Apache or Python's ``http.server``, a static bucket
  listing (S3-style XML too), or a PEP 503 (HTML) / PEP 691 (JSON) simple index such as pypiserver, devpi or
  PyPI: ``https://host/simple/`` (the project page is found from the project name);
* an S3 bucket: ``s3://bucket/prefix``, with ``?endpoint=http://127.0.0.1:9000`` (or ``--endpoint-url``, or
  ``AWS_ENDPOINT_URL``) for another S3 server; credentials come from the usual AWS variables and files.

:func:`open_container` turns such a URL into a :class:`Container`, which lists release files
(:meth:`Container.listing`) and streams one of them from an offset (:meth:`Container.stream`). Local and S3
containers are also writable (:class:`WritableContainer`), which ``shipwheel stage`` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ...errors import UsageError
from ._base import (
    MANIFEST,
    Container,
    Entry,
    Listing,
    Opened,
    Rejected,
    TransferError,
    WritableContainer,
    is_writable,
)
from ._index import read_container_manifest, write_static_index

__all__ = [
    "MANIFEST",
    "Container",
    "Entry",
    "Listing",
    "Opened",
    "Rejected",
    "TransferError",
    "WritableContainer",
    "is_writable",
    "open_container",
    "read_container_manifest",
    "write_static_index",
]


def open_container(
    url: str,
    *,
    allow_hosts: Sequence[str] = (),
    endpoint_url: str | None = None,
    timeout: float = 60.0,
    max_connections: int = 16,
) -> Container:
    """The container named by ``url`` (see the module docstring); raise :class:`UsageError` when it is not one."""
    text = url.strip()
    if not text:
        raise UsageError(
            "no container given", hint="pass --from/--to with a folder, an http(s):// or s3:// URL"
        )
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in {"", "file"}:
        from ._local import LocalContainer

        path = Path(unquote(urlsplit(text).path)) if scheme == "file" else Path(text)
        return LocalContainer(path.expanduser())
    if scheme in {"http", "https"}:
        from ._http import HttpContainer

        _check_http_url(text)

        return HttpContainer(text, allow_hosts=allow_hosts, timeout=timeout, max_connections=max_connections)
    if scheme == "s3":
        from ._s3 import S3Container

        parts = urlsplit(text)
        query = parse_qs(parts.query)
        endpoint = endpoint_url or next(iter(query.get("endpoint", [])), None)
        if not parts.netloc:
            raise UsageError(f"{text!r} names no bucket", hint="write s3://BUCKET/PREFIX")
        return S3Container(
            parts.netloc,
            parts.path.strip("/"),
            endpoint_url=endpoint,
            max_connections=max_connections,
            timeout=timeout,
        )
    raise UsageError(
        f"unsupported container URL scheme {scheme!r}",
        hint="use a folder, file://, http://, https:// or s3://BUCKET/PREFIX",
    )


def _check_http_url(url: str) -> None:
    """A one-line :class:`UsageError` for an http(s) URL that cannot be used (bad port, no host)."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise UsageError(
            f"the port of {_redacted(url)} is not a number from 1 to 65535", hint="check the container URL"
        ) from None
    if not parts.hostname:
        raise UsageError(f"{_redacted(url)} names no host", hint="write http(s)://HOST/PATH")


def _redacted(url: str) -> str:
    from ..._http import redact

    try:
        return redact(url)
    except ValueError:
        return "the container URL"
