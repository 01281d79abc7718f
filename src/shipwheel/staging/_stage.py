"""``shipwheel stage``: put release files into a staging container, with a manifest and a static simple index.

The container (a folder or an S3 prefix) keeps every file at its top level, a ``SHA256SUMS`` manifest of all of
them, and ``simple/`` pages (PEP 503 HTML and PEP 691 JSON, see :func:`shipwheel.simple_index.render_index`), so testers
can ``pip install --index-url <container>/simple/`` the release candidates. A file already staged with the same
content is skipped; a different file under the same name is a conflict (exit 8) unless ``overwrite``.

Uploads run largest first, through an :class:`~shipwheel._adaptive.AdaptiveLimit`: to a bucket the number at
once starts at 4 and grows while the total throughput grows, up to ``jobs``, and halves when S3 pushes back
(503 SlowDown, 429, 500 InternalError, a reset or a timeout); the file that met the push-back is sent again
(:class:`~shipwheel._retry.RetryPolicy`). When fewer files are left than slots, a large one goes up in parts at
once. A folder is a disk, not a link: a fixed few copies at once.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from .._adaptive import AdaptiveLimit
from .._retry import RetryPolicy
from ..distfiles import collect_release_files, file_digests, hash_chunks
from ..errors import ConflictError, UsageError
from ..manifest import MANIFEST, format_manifest
from ..simple_index import IndexFile, render_index
from ._containers import (
    Container,
    Entry,
    Listing,
    TransferError,
    WritableContainer,
    is_writable,
    read_container_manifest,
)
from ._containers._local import LocalContainer

#: Copies at once into a local folder: the disk gains nothing from more.
_LOCAL_JOBS = 4

#: Seconds of one throughput measurement. Longer than fetch's: an upload's bytes are counted as the socket takes
#: them, and the socket's send buffer swallows the first few hundred KiB of each file at once, then nothing is
#: counted while the last of them drains and the server answers; shorter windows see those waves, not the link.
_WINDOW = 1.0


__all__ = ["StageEvent", "StageOutcome", "StageReport", "stage_files"]


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """One file given to ``stage``: ``staged`` (copied or uploaded now), ``replaced`` (uploaded now over a file of
    the same name with other bytes: ``--overwrite``), or ``present`` (the container already had it, identical)."""

    filename: str
    status: Literal["staged", "replaced", "present"]
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class StageEvent:
    """Progress of :func:`stage`: ``hashing`` per file; ``planned`` (``done`` files of ``total`` bytes to send);
    ``uploading`` (``total``: its size), ``progress`` (``done``: bytes
    sent since the last one, negative when a part is sent again), ``retry`` (``message``: why) and ``uploaded``
    per file; ``connections`` (``done``: uploads allowed at once now, ``total``: the cap) whenever that number
    changes; ``index`` at the end."""

    kind: Literal["hashing", "planned", "uploading", "progress", "retry", "uploaded", "connections", "index"]
    name: str = ""
    done: int = 0
    total: int = 0
    message: str = ""


@dataclass(slots=True)
class StageReport:
    """The result of :func:`stage`."""

    container: str
    files: list[StageOutcome] = field(default_factory=list)
    index_pages: list[str] = field(default_factory=list)
    total_files: int = 0
    #: The number of uploads at once, each value it took in order (adaptive concurrency; empty: nothing sent).
    connections: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def bytes_uploaded(self) -> int:
        """Bytes of the files sent by this run."""
        return sum(f.size for f in self.files if f.status != "present")


def stage_files(
    paths: Sequence[Path],
    container: Container,
    *,
    overwrite: bool = False,
    jobs: int = 16,
    adaptive: bool = True,
    policy: RetryPolicy | None = None,
    on_event: Callable[[StageEvent], None] | None = None,
) -> StageReport:
    """Stage the release files named by ``paths`` into ``container``; see the module docstring.

    ``jobs`` is the most uploads at once; with ``adaptive`` (the default) the number starts at 4 and adapts
    (:mod:`shipwheel._adaptive`), ``adaptive=False`` keeps ``jobs`` throughout. ``policy`` bounds the tries of
    each file after a transient failure. A file that finally fails raises its
    :class:`~shipwheel.errors.TransferError`, and then no manifest or index is written.
    """
    emit = on_event or (lambda _e: None)
    policy = policy or RetryPolicy()
    started = time.monotonic()
    if not is_writable(container):
        raise UsageError(
            f"cannot stage into {container.display}: it is an HTTP index or page, not a folder or bucket",
            hint="stage into a folder or s3://BUCKET/PREFIX, or upload to an index with "
            "shipwheel publish --repository URL",
        )
    assert isinstance(container, WritableContainer)
    local = _hash_local(collect_release_files(paths), emit)
    listing = policy.run(container.listing, missing_ok=True) or Listing()
    staged = _staged_digests(container, listing, local)
    conflicts = [
        name for name, (_, digest, _size) in local.items() if name in staged and staged[name] != digest
    ]
    if conflicts and not overwrite:
        raise ConflictError(
            f"{container.display} already holds different files named {', '.join(conflicts)}",
            hint="stage a new version (or build tag), or pass --overwrite to replace them",
        )
    report = StageReport(container.display)
    todo: list[str] = []
    for name, (_path, digest, size) in local.items():
        entry = listing.entries.get(name)
        if entry is not None and staged.get(name) == digest and (entry.size is None or entry.size == size):
            report.files.append(StageOutcome(name, "present", size, digest))
        else:
            todo.append(name)

    if todo:
        # A folder is a disk: a few copies at once, fixed; a bucket is a link that rewards what it rewards.
        local_disk = isinstance(container, LocalContainer)
        limiter = AdaptiveLimit(
            min(jobs, _LOCAL_JOBS) if local_disk else jobs,
            adaptive=adaptive and not local_disk,
            window=_WINDOW,
        )
        todo.sort(key=lambda n: -local[n][2])  # largest first: the last upload to finish is a small one
        uploaded = _upload_all(container, todo, local, limiter, policy, emit)
        report.files += [replace(o, status="replaced") if o.filename in conflicts else o for o in uploaded]
        report.connections = list(limiter.history)
    report.files.sort(key=lambda o: o.filename)

    report.index_pages, report.total_files = _write_index(container, listing, staged, local, policy, emit)
    report.seconds = time.monotonic() - started
    return report


def _hash_local(
    files: Sequence[Path], emit: Callable[[StageEvent], None]
) -> dict[str, tuple[Path, str, int]]:
    """``{name: (path, sha256, size)}`` of the files to stage."""
    local: dict[str, tuple[Path, str, int]] = {}
    for path in files:
        emit(StageEvent("hashing", path.name))
        try:
            local[path.name] = (path, file_digests(path)["sha256"], path.stat().st_size)
        except OSError as exc:
            raise UsageError(
                f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
            ) from exc
    return local


def _staged_digests(
    container: Container, listing: Listing, local: dict[str, tuple[Path, str, int]]
) -> dict[str, str]:
    """The sha256 of the files already in the container: from its manifest, and, for those of ``local`` the
    manifest does not list, from their bytes."""
    staged = {
        n: d
        for n, d in read_container_manifest(container, listing, RetryPolicy(retries=2)).items()
        if n in listing.entries
    }
    for name in local:
        if name in listing.entries and name not in staged:  # put there by other means: hash it once
            staged[name] = _hash_remote(container, listing.entries[name])[0]
    return staged


def _write_index(
    container: WritableContainer,
    listing: Listing,
    staged: dict[str, str],
    local: dict[str, tuple[Path, str, int]],
    policy: RetryPolicy,
    emit: Callable[[StageEvent], None],
) -> tuple[list[str], int]:
    """Write the manifest and the simple index of everything in the container, not only this run's files;
    return the index pages written and the number of files they cover."""
    digests = dict(staged)
    sizes = {name: e.size for name, e in listing.entries.items()}
    for name, (_path, digest, size) in local.items():
        digests[name], sizes[name] = digest, size
    for name, entry in listing.entries.items():
        if name not in digests:  # put there by other means: hash it once, from the container
            digests[name], sizes[name] = _hash_remote(container, entry)
    emit(StageEvent("index"))
    pages = render_index(IndexFile(n, sha256=digests[n], size=sizes[n] or 0) for n in sorted(digests))
    writes = [(MANIFEST, format_manifest(digests).encode(), "text/plain; charset=utf-8")]
    for rel, data in pages.items():
        ctype = "application/vnd.pypi.simple.v1+json" if rel.endswith(".json") else "text/html; charset=utf-8"
        writes.append((rel, data, ctype))
    # Small objects, one round trip or two each: at once, not one after another (a long link's RTT each).
    with ThreadPoolExecutor(max_workers=min(8, len(writes)), thread_name_prefix="stage-index") as pool:
        for fut in [pool.submit(policy.run, functools.partial(container.put_bytes, *w)) for w in writes]:
            fut.result()
    return sorted(pages), len(digests)


@dataclass(slots=True)
class _Uploads:
    """One stage's uploads: what every worker shares (the container, the files, the limiter, the retries, the
    progress), the queue they take files from, and how many slots they hold."""

    container: WritableContainer
    local: dict[str, tuple[Path, str, int]]
    limiter: AdaptiveLimit
    policy: RetryPolicy
    emit: Callable[[StageEvent], None]
    queue: list[str]
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: list[StageOutcome] = field(default_factory=list)
    holding: int = 0

    def connections(self) -> int:
        """Connections for the next upload: as fetch splits its last files over byte ranges, a large one goes up
        in parts at once (S3 multipart)."""
        with self.lock:
            left = len(self.queue)
        return self.limiter.connections_per_transfer(left)

    def upload(self, name: str) -> None:
        """Send one file, again after each transient failure; raise the final one."""
        path, digest, size = self.local[name]
        counting = threading.Lock()
        for attempt in self.policy.attempts():
            sent = 0

            def progress(n: int) -> None:
                nonlocal sent
                with counting:  # parts at once report from boto3's threads
                    sent += n
                self.limiter.moved(max(0, n))
                self.emit(StageEvent("progress", name, done=n, total=size))

            try:
                self.container.put_file(path, name, progress=progress, connections=self.connections())
            except TransferError as exc:
                if not exc.retryable or self.cancel.is_set():
                    raise
                self.limiter.overloaded()  # 503 SlowDown, 429, 500, a reset, a timeout: fewer uploads at once
                self.emit(StageEvent("progress", name, done=-sent, total=size))
                self.emit(StageEvent("retry", name, message=str(exc)))
                attempt.failed(exc, retry_after=exc.retry_after)
        self.emit(StageEvent("uploaded", name, total=size))
        with self.lock:
            self.outcomes.append(StageOutcome(name, "staged", size, digest))

    def worker(self) -> None:
        """Take a slot and keep it busy with the next files (see :func:`_upload_all`)."""
        while self.queue and not self.cancel.is_set():
            with self.limiter.slot(self.cancel.is_set):
                with self.lock:
                    self.holding += 1
                while (name := self._next()) is not None:
                    self.upload(name)

    def _next(self) -> str | None:
        """The next file for a slot holder, or ``None`` (the slot given back) when none is left or the limit fell
        below the slots held."""
        with self.lock:
            name = self.queue.pop() if self.queue and not self.cancel.is_set() else None
            if name is None or self.holding > self.limiter.limit:
                self.holding -= 1
                if name is not None:
                    self.queue.append(name)  # the limit fell: another slot holder takes it
                return None
            self.emit(StageEvent("uploading", name, total=self.local[name][2]))  # in the order taken
            return name


def _upload_all(
    container: WritableContainer,
    todo: list[str],
    local: dict[str, tuple[Path, str, int]],
    limiter: AdaptiveLimit,
    policy: RetryPolicy,
    emit: Callable[[StageEvent], None],
) -> list[StageOutcome]:
    """Upload the files ``todo`` (in that order) through ``limiter``'s slots; raise the first final failure.

    A slot is a connection kept busy: the worker holding one takes the next file at once, and gives the slot
    back only when no file is left or when the limit fell below the slots held. Were the slot given back
    between two files, the short gap (boto3 preparing the next request) would show as an idle slot, and the
    controller judges growth only on windows where no slot was idle.
    """
    # pop() from the end takes them in order
    uploads = _Uploads(container, local, limiter, policy, emit, queue=list(reversed(todo)))
    pool = ThreadPoolExecutor(max_workers=limiter.cap, thread_name_prefix="stage")
    emit(StageEvent("planned", done=len(todo), total=sum(local[n][2] for n in todo)))
    emit(StageEvent("connections", done=limiter.limit, total=limiter.cap))
    try:
        pending: set[Future[None]] = {pool.submit(uploads.worker) for _ in range(min(limiter.cap, len(todo)))}
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            before = limiter.limit
            if limiter.tick() != before:
                emit(StageEvent("connections", done=limiter.limit, total=limiter.cap))
            for fut in done:
                fut.result()
    except BaseException:
        uploads.cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return uploads.outcomes


def _hash_remote(container: Container, entry: Entry) -> tuple[str, int]:
    with container.stream(entry) as opened:
        digests, size = hash_chunks(opened.chunks)
    return digests["sha256"], size
