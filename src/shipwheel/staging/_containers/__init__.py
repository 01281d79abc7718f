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

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from packaging.utils import canonicalize_name

from ...distfiles import DistFile
from ...errors import TransferError, UsageError
from ...manifest import MANIFEST

__all__ = [
    "MANIFEST",
    "Container",
    "Entry",
    "Listing",
    "Opened",
    "Rejected",
    "TransferError",
    "WritableContainer",
    "open_container",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One release file a container offers.

    ``location`` is what the backend needs to read it (a URL, a path, an S3 key); ``size`` and ``sha256`` are
    what the container publishes about it, ``None`` when it says nothing.
    """

    dist: DistFile
    location: str
    size: int | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        """The validated file name: the only form in which a listed name ever becomes a local path."""
        return self.dist.filename


@dataclass(frozen=True, slots=True)
class Rejected:
    """A listed name or link that was not taken, and why (``other-host``, ``bad-name``, ``bad-scheme`` ...)."""

    name: str
    reason: str
    url: str = ""

    def mentions(self, project: str) -> bool:
        """Whether the link's text or target names ``project`` (normalized), so that a user fetching it cares."""
        want = canonicalize_name(project)
        text = f"{self.name} {unquote(self.url)}".lower()
        return want in re.sub(r"[-_.]+", "-", text)


@dataclass(slots=True)
class Listing:
    """What a container lists: release files by name, the manifest if any, and what was refused."""

    entries: dict[str, Entry] = field(default_factory=dict)
    manifest: str | None = None
    rejected: list[Rejected] = field(default_factory=list)
    pages: int = 0

    def add(self, entry: Entry) -> None:
        """Keep ``entry``; a second link to the same name keeps the one that publishes more."""
        old = self.entries.get(entry.filename)
        if old is None or (old.sha256 is None and entry.sha256 is not None):
            self.entries[entry.filename] = entry


@dataclass(frozen=True, slots=True)
class Opened:
    """An open read of one file: the chunks begin at byte ``start``; ``total`` is the file's size if known;
    ``ranges`` says whether the backend serves byte ranges (HTTP: ``Accept-Ranges: bytes`` or a 206 answer)."""

    start: int
    total: int | None
    chunks: Iterator[bytes]
    ranges: bool = True


@runtime_checkable
class Container(Protocol):
    """A place that lists release files and streams them."""

    #: The container as the user wrote it, without credentials, for messages.
    display: str

    def listing(self, project: str | None = None) -> Listing:
        """Every release file the container offers (of ``project`` where the backend can narrow it down)."""
        ...

    def stream(self, entry: Entry, offset: int = 0, end: int | None = None) -> AbstractContextManager[Opened]:
        """Open ``entry`` for reading from byte ``offset`` up to ``end`` (exclusive; ``None``: the end of the
        file). The backend may start at 0 instead (see :attr:`Opened.start`) and may send more than asked; the
        caller counts. Raise :class:`TransferError` (``retryable`` for transient failures)."""
        ...

    def read_small(self, location: str, limit: int = 16 << 20) -> bytes:
        """The whole content of a small object (the manifest), at most ``limit`` bytes."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class WritableContainer(Container, Protocol):
    """A container ``shipwheel stage`` can put files into."""

    def put_file(
        self, path: Path, name: str, progress: Callable[[int], None] | None = None, connections: int = 1
    ) -> None:
        """Store the file at ``path`` under ``name``, atomically (readers never see half a file); ``progress``
        receives the bytes written as they go, from any thread (negative when a backend rewinds to send a part
        again); ``connections``: how many parts of a large file a backend may send at once."""
        ...

    def put_bytes(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` under the relative ``name`` (may contain ``/`` for index pages)."""
        ...


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


def is_writable(container: Container) -> bool:
    """Whether ``stage`` can put files into ``container``."""
    return isinstance(container, WritableContainer)


__all__ += ["is_writable"]


# The manifest reader of every container, and the static index writer of a folder container (publish's ``file:``
# targets use it); imported last because they need the names above.
from ._index import read_container_manifest, write_static_index  # noqa: E402

__all__ += ["read_container_manifest", "write_static_index"]
