"""Downloading one file: resumed, verified, renamed into place atomically, retried, optionally in parallel parts.

:func:`download_file` is the whole job for one release file: ``<name>.part`` beside the target, an HTTP range
request (or the backend's equivalent) to resume it after a broken connection, the size and sha256 checked
against what the container publishes (:class:`Expected`), the retry policy of :mod:`shipwheel._retry` for
transient failures, and progress through :class:`FetchEvent` callbacks. ``shipwheel fetch`` runs it for every
file of a release; anything else that downloads release files can too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._fs import ensure_not_link, open_new_or_append, regular_size
from .._retry import RetryPolicy
from ..distfiles import Hasher, continue_hash, file_digests, new_hasher
from ._containers import Container, Entry, TransferError

__all__ = [
    "EventCallback",
    "Expected",
    "FetchCancelled",
    "FetchEvent",
    "FileOutcome",
    "download_file",
    "no_events",
]

# Small enough for the adaptive concurrency to measure throughput over half a second.
_PROGRESS_STEP = 256 << 10
#: A file is split over several connections only when this much of it remains, in pieces of at least
#: ``_MIN_SEGMENT`` bytes.
_MIN_SPLIT = 4 << 20
_MIN_SEGMENT = 1 << 20
#: The largest file taken when neither the container nor the server says how large it is (an endless body stops
#: here instead of filling the disk). Warehouse's largest per-project limit is a few GiB.
MAX_UNKNOWN_SIZE = 16 << 30


@dataclass(frozen=True, slots=True)
class Expected:
    """What the container says a file must be, and who said it."""

    sha256: str | None
    size: int | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one file."""

    filename: str
    status: Literal["downloaded", "present", "failed"]
    size: int = 0
    sha256: str | None = None
    verified_by: tuple[str, ...] = ()
    attempts: int = 0
    resumed_from: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FetchEvent:
    """Progress of a fetch, sent to the ``on_event`` callback (from worker threads).

    ``kind`` is ``listed`` (``total``: files selected), ``start``, ``progress`` (``done`` bytes of ``total``),
    ``retry`` (``message`` says why), ``done`` (``outcome`` set), or ``connections`` (``done`` files downloaded
    at once now, ``total`` the most allowed).
    """

    kind: Literal["listed", "start", "progress", "retry", "done", "connections"]
    filename: str = ""
    done: int = 0
    total: int | None = None
    message: str = ""
    outcome: FileOutcome | None = None


EventCallback = Callable[[FetchEvent], None]


def no_events(_: FetchEvent) -> None:
    """The default progress callback: ignore every event."""
    return None


class FetchCancelled(Exception):
    """Raised in a download thread when the fetch is interrupted; the ``.part`` file stays for the next run."""


def download_file(
    container: Container,
    entry: Entry,
    dest: Path,
    expected: Expected,
    *,
    policy: RetryPolicy | None = None,
    on_event: EventCallback = no_events,
    cancel: threading.Event | None = None,
    segments: Callable[[], int] | int = 1,
) -> FileOutcome:
    """Download one file into the folder ``dest``: resume, verify, rename atomically, retry; never raise for a
    failure of this file (the outcome says it), except on cancellation (the ``.part`` file stays for resuming).

    ``segments`` (a number, or a function asked when each attempt starts) lets the rest of a large file come
    over that many connections at once, by byte ranges: it helps at the end of a fetch, when fewer files than
    connections remain on a link that limits each connection. A segment that fails only costs a resume.
    """
    policy = policy or RetryPolicy()
    target = dest / entry.filename
    part = dest / f"{entry.filename}.part"
    name = entry.filename
    # Links in the wheelhouse are never followed: a linked target is not "present" (the rename replaces the
    # link), and a linked ``.part`` is removed, never appended to (see shipwheel._fs).
    present = _present(target, expected)
    if present is not None:
        return present
    try:
        ensure_not_link(part)
    except OSError as exc:
        return FileOutcome(name, "failed", error=f"cannot replace {part}: {exc.strerror}")
    on_event(FetchEvent("start", name, 0, expected.size))
    return _attempts(_Transfer(container, entry, part, expected, on_event, cancel), target, policy, segments)


@dataclass(frozen=True, slots=True)
class _Transfer:
    """One file's download: what every attempt, and every connection of an attempt, shares."""

    container: Container
    entry: Entry
    part: Path
    expected: Expected
    on_event: EventCallback
    cancel: threading.Event | None


def _attempts(
    t: _Transfer, target: Path, policy: RetryPolicy, segments: Callable[[], int] | int
) -> FileOutcome:
    """Try until the ``.part`` file is whole and right, then rename it to ``target``; see :func:`download_file`."""
    name, part, expected, on_event = t.entry.filename, t.part, t.expected, t.on_event
    fresh_restart_done = False
    one_connection = False
    attempts = 0
    # Bytes left by an earlier run and kept: what ``resumed_from`` reports.
    resumed_from = regular_size(part) or 0
    error = ""
    for attempt in policy.attempts():
        attempts = attempt.number
        offset = regular_size(part) or 0
        if expected.size is not None and offset > expected.size:
            part.unlink()
            offset = resumed_from = 0
        try:
            parts = 1 if one_connection else segments() if callable(segments) else segments
            digest, size, resumed, identity = _transfer(t, offset, parts)
            if not resumed:
                resumed_from = 0  # the server sent the file from its start
        except OSError as exc:  # the wheelhouse, not the network: disk full, permissions
            part.unlink(missing_ok=True)
            return FileOutcome(
                name, "failed", attempts=attempts, error=f"cannot write {part}: {exc.strerror}"
            )
        except TransferError as exc:
            error = exc.message
            one_connection = one_connection or isinstance(exc, _SegmentError)
            if exc.retryable and not attempt.last:
                on_event(FetchEvent("retry", name, message=exc.message))
                attempt.failed(exc, retry_after=exc.retry_after)
                continue
            part.unlink(missing_ok=True)
            return FileOutcome(name, "failed", attempts=attempts, error=error)
        problem = _mismatch(expected, size, digest)
        if problem:
            part.unlink(missing_ok=True)
            error, resumed_from = problem, 0
            # A mismatch after a resume may come from a stale partial file: one fresh download decides.
            if (resumed or not fresh_restart_done) and not attempt.last:
                fresh_restart_done = True
                on_event(FetchEvent("retry", name, message=problem))
                attempt.failed(TransferError(problem))
                continue
            return FileOutcome(name, "failed", attempts=attempts, error=problem)
        if not _same_file(part, identity):
            # Something replaced the .part file after it was written and verified: never rename that.
            part.unlink(missing_ok=True)
            return FileOutcome(name, "failed", attempts=attempts, error=f"{part} was replaced while fetching")
        os.replace(part, target)
        return FileOutcome(name, "downloaded", size, digest, expected.sources, attempts, resumed_from)
    part.unlink(missing_ok=True)
    return FileOutcome(name, "failed", attempts=attempts, error=error or "gave up")


def _present(target: Path, expected: Expected) -> FileOutcome | None:
    """The outcome of a target already there with the published size and sha256 (``None`` otherwise)."""
    present = regular_size(target)
    if present is not None and expected.sha256 and (expected.size is None or present == expected.size):
        digest = file_digests(target)["sha256"]
        if digest == expected.sha256:
            return FileOutcome(target.name, "present", present, digest, expected.sources)
    return None


def _mismatch(expected: Expected, size: int, digest: str) -> str:
    """How the bytes received differ from what the container publishes (``""``: they do not)."""
    if expected.size is not None and size != expected.size:
        return f"size {size} differs from the {expected.size} bytes the container publishes"
    if expected.sha256 and digest != expected.sha256:
        return f"sha256 {digest} differs from the published {expected.sha256}"
    return ""


def _same_file(path: Path, identity: tuple[int, int]) -> bool:
    """Whether ``path`` is still the file (device, inode) written."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == identity


class _SegmentError(TransferError):
    """A helper connection failed: the next attempts resume over one connection."""


class _Shared:
    """Bytes done of one file, over all its connections, and the progress events about them."""

    def __init__(self, name: str, done: int, total: int | None, on_event: EventCallback) -> None:
        self.name, self.done, self.total, self.on_event = name, done, total, on_event
        self.reported = done
        self.lock = threading.Lock()

    def add(self, n: int, final: bool = False) -> None:
        with self.lock:
            self.done += n
            if final or self.done - self.reported >= _PROGRESS_STEP:
                self.reported = self.done
                self.on_event(FetchEvent("progress", self.name, self.done, self.total))


def _segment(
    container: Container,
    entry: Entry,
    path: Path,
    start: int,
    end: int,
    shared: _Shared,
    stops: tuple[threading.Event, threading.Event | None],
    errors: list[str],
) -> None:
    """Download bytes ``[start, end)`` of ``entry`` into ``path``; record a failure in ``errors``; stop early
    when either event of ``stops`` is set."""
    try:
        with container.stream(entry, start, end) as opened, open_new_or_append(path, False) as out:
            if opened.start != start:
                raise TransferError(f"{entry.filename}: the server does not serve byte ranges", hint="")
            want = end - start
            for chunk in opened.chunks:
                if any(e is not None and e.is_set() for e in stops):
                    raise FetchCancelled
                chunk = chunk[:want]
                out.write(chunk)
                want -= len(chunk)
                shared.add(len(chunk))
                if want == 0:
                    break
            if want:
                raise TransferError(f"a segment of {entry.filename} ended early", hint="", retryable=True)
    except (TransferError, FetchCancelled, OSError) as exc:
        errors.append(str(exc) or type(exc).__name__)


def _split(done: int, total: int, segments: int) -> list[tuple[int, int]]:
    """Byte ranges ``[start, end)`` of the rest of a file for ``segments`` connections; ``[]`` when not worth it."""
    rest = total - done
    if segments < 2 or rest < _MIN_SPLIT:
        return []
    size = max(_MIN_SEGMENT, -(-rest // segments))
    starts = list(range(done, total, size))
    return [(a, min(a + size, total)) for a in starts]


def _transfer(t: _Transfer, offset: int, segments: int = 1) -> tuple[str, int, int, tuple[int, int]]:
    """One attempt: append to (or rewrite) ``t.part``; the sha256, the final size, the offset resumed from, and the
    identity (device, inode) of the ``.part`` file written.

    With ``segments`` > 1 and a known size, this connection keeps the first range of the rest and helper threads
    fetch the others into ``part.N`` files, appended (and hashed) in order once all are whole.
    """
    entry, expected = t.entry, t.expected
    helpers: list[tuple[threading.Thread, Path]] = []
    errors: list[str] = []
    abort = threading.Event()
    try:
        with t.container.stream(entry, offset) as opened:
            if offset and opened.start == offset:
                h, done = continue_hash(t.part)
                resumed = offset
            else:
                h, done, resumed = new_hasher(), 0, 0
            if opened.total is not None and expected.size is not None and opened.total != expected.size:
                raise TransferError(
                    f"{entry.filename}: the server sends {opened.total} bytes, the listing says {expected.size}",
                    hint="the container changed while fetching; run again",
                )
            shared = _Shared(entry.filename, done, opened.total or expected.size, t.on_event)
            stop = opened.total
            ranges = (
                _split(done, opened.total, segments) if opened.total is not None and opened.ranges else []
            )
            if ranges:
                stop = ranges[0][1]
                _start_helpers(t, ranges[1:], shared, (abort, t.cancel), errors, helpers)
            try:
                done, identity = _receive(
                    t, opened.chunks, bool(resumed), h, done, stop, shared, bool(helpers)
                )
            except BaseException:
                abort.set()
                raise
            finally:
                for thread, _ in helpers:
                    thread.join()
        if errors:
            raise _SegmentError(
                f"a parallel segment of {entry.filename} failed ({errors[0]})",
                hint="run again",
                retryable=True,
            )
        if helpers:
            done += _append_segments(t.part, [seg for _, seg in helpers], h)
    finally:
        for _, seg in helpers:
            seg.unlink(missing_ok=True)
    shared.add(0, final=True)
    return h.hexdigest(), done, resumed, identity


def _start_helpers(
    t: _Transfer,
    ranges: list[tuple[int, int]],
    shared: _Shared,
    stops: tuple[threading.Event, threading.Event | None],
    errors: list[str],
    helpers: list[tuple[threading.Thread, Path]],
) -> None:
    """Start one helper connection per range, each into ``part.N``; add each (thread, file) to ``helpers``."""
    for i, (start, end) in enumerate(ranges, 1):
        seg = t.part.with_name(f"{t.part.name}.{i}")
        thread = threading.Thread(
            target=_segment,
            args=(t.container, t.entry, seg, start, end, shared, stops, errors),
            name=f"fetch-segment-{i}",
            daemon=True,
        )
        helpers.append((thread, seg))
        thread.start()


def _receive(
    t: _Transfer,
    chunks: Iterable[bytes],
    append: bool,
    h: Hasher,
    done: int,
    stop: int | None,
    shared: _Shared,
    helped: bool,
) -> tuple[int, tuple[int, int]]:
    """Write this connection's bytes into the ``.part`` file (after its ``done`` bytes when ``append``), hashing
    them, up to ``stop``; the bytes then in the file and its identity (device, inode)."""
    # A body longer than anyone said is refused, not written on until the disk is full.
    limit = t.expected.size if t.expected.size is not None else MAX_UNKNOWN_SIZE
    name = t.entry.filename
    with open_new_or_append(t.part, append) as out:
        identity = (os.fstat(out.fileno()).st_dev, os.fstat(out.fileno()).st_ino)
        for chunk in chunks:
            if t.cancel is not None and t.cancel.is_set():
                raise FetchCancelled
            if stop is not None and done + len(chunk) > stop:
                chunk = chunk[: stop - done]
            if done + len(chunk) > limit:
                raise TransferError(
                    f"{name}: the server sends more than {limit} bytes",
                    hint="the container changed while fetching, or misbehaves; run again",
                )
            out.write(chunk)
            h.update(chunk)
            done += len(chunk)
            shared.add(len(chunk))
            if helped and done == stop:
                break  # the helpers have the rest; leaving the block drops this connection
    if stop is not None and done != stop:
        raise TransferError(
            f"download of {name} ended at {done} of {stop} bytes", hint="run again to resume", retryable=True
        )
    return done, identity


def _append_segments(part: Path, segments: list[Path], h: Hasher) -> int:
    """Append the helpers' files to ``part`` in order, hashing them; the bytes appended."""
    added = 0
    with open_new_or_append(part, True) as out:
        for seg in segments:
            with seg.open("rb") as fh:
                while block := fh.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    added += len(block)
    return added
