"""What every staging container is: the entries it lists, the listing, an open read, and the two protocols
(:class:`Container`, :class:`WritableContainer`). Each backend module imports these from here, never from the
package face, so the face can import the backends without a loop."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote

from packaging.utils import canonicalize_name

from ...distfiles import DistFile
from ...errors import TransferError
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
    "is_writable",
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


def is_writable(container: Container) -> bool:
    """Whether ``stage`` can put files into ``container``."""
    return isinstance(container, WritableContainer)
