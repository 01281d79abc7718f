"""A local folder as a container: release files at its top level, ``SHA256SUMS`` and ``simple/`` beside them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..._fs import write_atomic
from ...distfiles import DistFile
from ...errors import UsageError
from ._base import MANIFEST, Entry, Listing, Opened, Rejected, TransferError

__all__ = ["LocalContainer"]

_CHUNK = 1 << 20


class LocalContainer:
    """A folder; ``put_*`` write through a temporary file in the same folder and an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.display = str(root)

    def listing(self, project: str | None = None) -> Listing:
        """The release files at the top of the folder (symlinks that leave the folder are refused)."""
        listing = Listing(pages=1)
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"container {self.root} is a file, not a folder", hint="name a folder")
        if not self.root.is_dir():
            raise TransferError(
                f"container folder {self.root} does not exist",
                hint="check the path, or stage files there first",
                status=404,
            )
        root = self.root.resolve()
        for path in sorted(self.root.iterdir()):
            name = path.name
            if name == MANIFEST and path.is_file():
                listing.manifest = str(path)
                continue
            dist = DistFile.parse(name)
            if dist is None or not path.is_file():
                continue
            if path.is_symlink() and root not in path.resolve().parents:
                listing.rejected.append(Rejected(name, "outside: a symlink out of the container folder"))
                continue
            listing.add(Entry(dist, str(path), path.stat().st_size, None))
        return listing

    @contextlib.contextmanager
    def stream(self, entry: Entry, offset: int = 0, end: int | None = None) -> Iterator[Opened]:
        """Read the file from ``offset`` up to ``end``."""
        try:
            fh = open(entry.location, "rb")  # noqa: SIM115 - closed below, after the caller is done
        except OSError as exc:
            raise TransferError(
                f"cannot read {entry.location}: {exc.strerror}", hint="check the container folder"
            ) from exc
        with fh:
            total = os.fstat(fh.fileno()).st_size
            fh.seek(min(offset, total))

            left = (end if end is not None else total) - min(offset, total)

            def chunks() -> Iterator[bytes]:
                nonlocal left
                while left > 0 and (block := fh.read(min(_CHUNK, left))):
                    left -= len(block)
                    yield block

            yield Opened(min(offset, total), total, chunks())

    def read_small(self, location: str, limit: int = 16 << 20) -> bytes:
        """The content of a small file of the container."""
        try:
            with open(location, "rb") as fh:
                return fh.read(limit)
        except OSError as exc:
            raise TransferError(
                f"cannot read {location}: {exc.strerror}",
                hint="check the container folder",
                status=404 if isinstance(exc, FileNotFoundError) else None,
            ) from exc

    def close(self) -> None:
        """Nothing to release."""

    def _parts(self, name: str) -> list[str]:
        parts = name.split("/")
        if any(p in {"", ".", ".."} or "\\" in p for p in parts):
            raise UsageError(
                f"refusing to write {name!r} into a container", hint="this is a bug in shipwheel"
            )
        return parts

    def put_file(
        self, path: Path, name: str, progress: Callable[[int], None] | None = None, connections: int = 1
    ) -> None:
        """Copy ``path`` to ``name`` through a temporary file and an atomic rename; ``progress`` gets each chunk's
        size as it is read (``connections`` is for network backends: a disk copy is one stream)."""
        parts = self._parts(name)

        def chunks(src: BinaryIO) -> Iterator[bytes]:
            while chunk := src.read(_CHUNK):
                if progress is not None:
                    progress(len(chunk))
                yield chunk

        with path.open("rb") as src:
            self._write_atomic(parts, chunks(src))

    def put_bytes(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write ``data`` to ``name`` atomically."""
        self._write_atomic(self._parts(name), iter([data]))

    def _write_atomic(self, parts: list[str], chunks: Iterator[bytes]) -> None:
        # Never through a link planted in the folder: see _fs.
        try:
            write_atomic(self.root, parts, chunks)
        except OSError as exc:
            raise TransferError(
                f"cannot write {self.root.joinpath(*parts)}: {exc.strerror or exc}",
                hint="check the folder, its free space and permissions",
            ) from exc
