"""``shipwheel fetch``: every file of one project and version, from a staging container into a wheelhouse.

What is taken: exactly the files of the project and version (normalized names, parsed versions, build tags
allowed; never a prefix match), kept by platform families (``-t``), identifier selectors (``--only``) and
``--no-sdist``. How: in parallel; each file is downloaded to ``<name>.part`` beside its target, resumed with a
range request after a broken connection, verified (size, and sha256 from the URL fragment, PEP 691 hashes or the
container's ``SHA256SUMS``) and renamed into place only when whole and right. Transient failures are retried
with backoff (:mod:`shipwheel._retry`); a file that finally fails leaves nothing behind. An interrupted run
leaves ``.part`` files that the next run resumes. Files already present and identical are not downloaded again.

The signature of ``SHA256SUMS`` is checked by a hook: pass ``verify_manifest``, a function that receives the
path of the downloaded manifest (with ``SHA256SUMS.asc`` beside it when the container has one) and raises a
:class:`~shipwheel.errors.ShipwheelError` to stop the fetch.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

from ._retry import RetryPolicy
from .containers import Container, Entry, Listing, Rejected, TransferError, parse_sha256sums
from .distfiles import FAMILIES, DistFile, file_digests
from .errors import ShipwheelError, UsageError
from .matrix import Selector

__all__ = [
    "FetchCancelled",
    "FetchEvent",
    "FetchReport",
    "FileOutcome",
    "NothingToFetchError",
    "Selection",
    "download_file",
    "fetch",
    "select_entries",
]

_PROGRESS_STEP = 1 << 20
#: A file is split over several connections only when this much of it remains, in pieces of at least
#: ``_MIN_SEGMENT`` bytes.
_MIN_SPLIT = 4 << 20
_MIN_SEGMENT = 1 << 20


class NothingToFetchError(ShipwheelError):
    """The container holds no file of the project and version asked for (exit 1)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Selection:
    """Which files of a container to take."""

    project: str
    version: str
    families: tuple[str, ...] = ("all",)
    only: Selector | None = None
    sdist: bool = True

    def __post_init__(self) -> None:
        try:
            Version(self.version)
        except InvalidVersion as exc:
            raise UsageError(
                f"{self.version!r} is not a valid version",
                hint="give the exact version, like 2.4.6 or 2.5.0rc1",
            ) from exc
        for family in self.families:
            if family not in FAMILIES:
                raise UsageError(
                    f"unknown platform family {family!r}", hint=f"use one of {', '.join(FAMILIES)}"
                )

    def keeps(self, dist: DistFile) -> bool:
        """Whether ``dist`` (already of the right project and version) passes the filters."""
        if dist.kind == "sdist":
            return self.sdist
        if not any(dist.in_family(f) for f in self.families):
            return False
        if self.only:
            idents = dist.identifiers
            return not idents or any(self.only.matches(i) for i in idents)
        return True


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
    ``retry`` (``message`` says why), or ``done`` (``outcome`` set).
    """

    kind: Literal["listed", "start", "progress", "retry", "done"]
    filename: str = ""
    done: int = 0
    total: int | None = None
    message: str = ""
    outcome: FileOutcome | None = None


@dataclass(slots=True)
class FetchReport:
    """The result of :func:`fetch`."""

    container: str
    project: str
    version: str
    dest: Path
    files: list[FileOutcome] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every selected file is now in the wheelhouse, verified where the container allowed it."""
        return all(f.status != "failed" for f in self.files)

    @property
    def unverified(self) -> list[str]:
        """Files for which the container published no sha256."""
        return [
            f.filename for f in self.files if f.status != "failed" and "sha256" not in " ".join(f.verified_by)
        ]

    @property
    def bytes_downloaded(self) -> int:
        """Bytes of the files downloaded by this run."""
        return sum(f.size - f.resumed_from for f in self.files if f.status == "downloaded")


EventCallback = Callable[[FetchEvent], None]


def _ignore(_: FetchEvent) -> None:
    return None


def select_entries(listing: Listing, selection: Selection) -> tuple[list[Entry], int, list[str]]:
    """The entries of the project and version that pass the filters, how many of that release were filtered out,
    and the other versions of the project the listing has (for the message when nothing matches)."""
    keep: list[Entry] = []
    filtered = 0
    others: set[Version] = set()
    for entry in listing.entries.values():
        dist = entry.dist
        if not dist.matches(selection.project, selection.version):
            if dist.matches(selection.project, dist.version):
                others.add(dist.version)
            continue
        if selection.keeps(dist):
            keep.append(entry)
        else:
            filtered += 1
    keep.sort(key=lambda e: (e.dist.kind == "sdist", e.filename))
    return keep, filtered, [str(v) for v in sorted(others)]


class FetchCancelled(Exception):
    """Raised in a download thread when the fetch is interrupted; the ``.part`` file stays for the next run."""


def _expected(entry: Entry, manifest: dict[str, str]) -> Expected | str:
    sources: list[str] = []
    sha = entry.sha256
    if sha:
        sources.append("sha256 (index)")
    listed = manifest.get(entry.filename)
    if listed:
        if sha and sha != listed:
            return "the container publishes two different sha256 for this file (index and SHA256SUMS)"
        sha = listed
        sources.append("sha256 (SHA256SUMS)")
    if entry.size is not None:
        sources.append("size")
    return Expected(sha, entry.size, tuple(sources))


def _hash_file(path: Path) -> tuple[hashlib._Hash, int]:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h, path.stat().st_size


def download_file(
    container: Container,
    entry: Entry,
    dest: Path,
    expected: Expected,
    *,
    policy: RetryPolicy | None = None,
    on_event: EventCallback = _ignore,
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
    if (
        target.is_file()
        and expected.sha256
        and (expected.size is None or target.stat().st_size == expected.size)
    ):
        digest = file_digests(target)["sha256"]
        if digest == expected.sha256:
            return FileOutcome(name, "present", target.stat().st_size, digest, expected.sources)
    on_event(FetchEvent("start", name, 0, expected.size))
    fresh_restart_done = False
    one_connection = False
    attempts = 0
    resumed_from = 0
    error = ""
    for attempt in policy.attempts():
        attempts = attempt.number
        offset = part.stat().st_size if part.is_file() else 0
        if expected.size is not None and offset > expected.size:
            part.unlink()
            offset = 0
        try:
            parts = 1 if one_connection else segments() if callable(segments) else segments
            digest, size, resumed = _transfer(
                container, entry, part, offset, expected, on_event, cancel, parts
            )
            resumed_from = max(resumed_from, resumed)
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
        problem = ""
        if expected.size is not None and size != expected.size:
            problem = f"size {size} differs from the {expected.size} bytes the container publishes"
        elif expected.sha256 and digest != expected.sha256:
            problem = f"sha256 {digest} differs from the published {expected.sha256}"
        if problem:
            part.unlink(missing_ok=True)
            error = problem
            # A mismatch after a resume may come from a stale partial file: one fresh download decides.
            if (resumed or not fresh_restart_done) and not attempt.last:
                fresh_restart_done = True
                on_event(FetchEvent("retry", name, message=problem))
                attempt.failed(TransferError(problem))
                continue
            return FileOutcome(name, "failed", attempts=attempts, error=problem)
        os.replace(part, target)
        return FileOutcome(name, "downloaded", size, digest, expected.sources, attempts, resumed_from)
    part.unlink(missing_ok=True)
    return FileOutcome(name, "failed", attempts=attempts, error=error or "gave up")


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
        with container.stream(entry, start, end) as opened, path.open("wb") as out:
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


def _transfer(
    container: Container,
    entry: Entry,
    part: Path,
    offset: int,
    expected: Expected,
    on_event: EventCallback,
    cancel: threading.Event | None,
    segments: int = 1,
) -> tuple[str, int, int]:
    """One attempt: append to (or rewrite) ``part``; the sha256, the final size, and the offset resumed from.

    With ``segments`` > 1 and a known size, this connection keeps the first range of the rest and helper threads
    fetch the others into ``part.N`` files, appended (and hashed) in order once all are whole.
    """
    helpers: list[tuple[threading.Thread, Path]] = []
    errors: list[str] = []
    abort = threading.Event()
    try:
        with container.stream(entry, offset) as opened:
            if offset and opened.start == offset:
                h, done = _hash_file(part)
                mode, resumed = "ab", offset
            else:
                h, done, mode, resumed = hashlib.sha256(), 0, "wb", 0
            if opened.total is not None and expected.size is not None and opened.total != expected.size:
                raise TransferError(
                    f"{entry.filename}: the server sends {opened.total} bytes, the listing says {expected.size}",
                    hint="the container changed while fetching; run again",
                )
            shared = _Shared(entry.filename, done, opened.total or expected.size, on_event)
            stop = opened.total
            ranges = (
                _split(done, opened.total, segments) if opened.total is not None and opened.ranges else []
            )
            if ranges:
                stop = ranges[0][1]
                for i, (start, end) in enumerate(ranges[1:], 1):
                    seg = part.with_name(f"{part.name}.{i}")
                    thread = threading.Thread(
                        target=_segment,
                        args=(container, entry, seg, start, end, shared, (abort, cancel), errors),
                        name=f"fetch-segment-{i}",
                        daemon=True,
                    )
                    helpers.append((thread, seg))
                    thread.start()
            try:
                with part.open(mode) as out:
                    for chunk in opened.chunks:
                        if cancel is not None and cancel.is_set():
                            raise FetchCancelled
                        if stop is not None and done + len(chunk) > stop:
                            chunk = chunk[: stop - done]
                        out.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        shared.add(len(chunk))
                        if helpers and done == stop:
                            break  # the helpers have the rest; leaving the block drops this connection
                if stop is not None and done != stop:
                    raise TransferError(
                        f"download of {entry.filename} ended at {done} of {stop} bytes",
                        hint="run again to resume",
                        retryable=True,
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
            with part.open("ab") as out:
                for _, seg in helpers:
                    with seg.open("rb") as fh:
                        while block := fh.read(1 << 20):
                            out.write(block)
                            h.update(block)
                            done += len(block)
    finally:
        for _, seg in helpers:
            seg.unlink(missing_ok=True)
    shared.add(0, final=True)
    return h.hexdigest(), done, resumed


def read_manifest(
    container: Container,
    listing: Listing,
    policy: RetryPolicy,
    verify_manifest: Callable[[Path], None] | None = None,
) -> dict[str, str]:
    """The container's ``SHA256SUMS`` as ``{filename: sha256}`` (``{}`` when it has none), checked by
    ``verify_manifest`` when given (it receives the manifest's path, with ``SHA256SUMS.asc`` beside it)."""
    if listing.manifest is None:
        if verify_manifest is not None:
            raise TransferError(
                f"{container.display} has no SHA256SUMS to verify",
                hint="stage the release with shipwheel stage, or fetch without signature verification",
            )
        return {}
    data = b""
    for attempt in policy.attempts():
        try:
            data = container.read_small(listing.manifest)
        except TransferError as exc:
            if not exc.retryable:
                raise
            attempt.failed(exc, retry_after=exc.retry_after)
    if verify_manifest is not None:
        with tempfile.TemporaryDirectory(prefix="shipwheel-manifest-") as tmp:
            path = Path(tmp) / "SHA256SUMS"
            path.write_bytes(data)
            # No signature file: the hook decides whether that is acceptable.
            with contextlib.suppress(TransferError):
                signature = container.read_small(listing.manifest + ".asc", 1 << 20)
                path.with_name("SHA256SUMS.asc").write_bytes(signature)
            verify_manifest(path)
    return parse_sha256sums(data.decode("utf-8", "replace"))


def fetch(
    container: Container,
    selection: Selection,
    dest: Path,
    *,
    jobs: int = 8,
    policy: RetryPolicy | None = None,
    on_event: EventCallback = _ignore,
    verify_manifest: Callable[[Path], None] | None = None,
) -> FetchReport:
    """Fetch the selected files of ``container`` into ``dest`` (created if missing); see the module docstring.

    Raise :class:`NothingToFetchError` when the container has no file of the release, and
    :class:`~shipwheel.containers.TransferError` when it cannot be listed. Failures of single files are in the
    report, not raised.
    """
    policy = policy or RetryPolicy()
    started = time.monotonic()
    listing = _list_with_retries(container, selection.project, policy)
    entries, filtered, others = select_entries(listing, selection)
    # Only the refused links that name the project matter to whoever fetches it (an index root lists others).
    refused = [r for r in listing.rejected if r.mentions(selection.project)]
    report = FetchReport(container.display, selection.project, selection.version, dest, rejected=refused)
    report.skipped = filtered
    if not entries:
        if filtered:
            raise NothingToFetchError(
                f"all {filtered} files of {selection.project} {selection.version} in {container.display} "
                "were left out by the filters",
                hint="check -t, --only and --no-sdist",
            )
        seen = f"; it has {selection.project} {', '.join(others[-8:])}" if others else ""
        if refused:
            raise NothingToFetchError(
                f"{container.display} lists no usable file of {selection.project} {selection.version}: "
                f"{len(refused)} links were refused, e.g. {refused[0].name!r} ({refused[0].reason})",
                hint="allow the files' host with --allow-host HOST if you trust it",
            )
        raise NothingToFetchError(
            f"{container.display} has no files of {selection.project} {selection.version}{seen}",
            hint="check the project name, the version and the container URL",
        )
    manifest = read_manifest(container, listing, policy, verify_manifest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the wheelhouse {dest}: {exc.strerror}", hint="pass -w with a folder"
        ) from exc
    on_event(FetchEvent("listed", total=len(entries)))
    # Largest first, when sizes are known, so the last file to finish is a small one.
    entries.sort(key=lambda e: -(e.size or 0))
    cancel = threading.Event()
    outcomes: dict[str, FileOutcome] = {}

    lock = threading.Lock()
    started_files = 0
    workers = max(1, jobs)

    def segments() -> int:
        # Split files over several connections only at the end, when fewer files than workers remain.
        with lock:
            unstarted = len(entries) - started_files
        return 1 if unstarted >= workers else 2 if unstarted else 4

    def one(entry: Entry) -> FileOutcome:
        nonlocal started_files
        with lock:
            started_files += 1
        expected = _expected(entry, manifest)
        if isinstance(expected, str):
            return FileOutcome(entry.filename, "failed", error=expected)
        return download_file(
            container,
            entry,
            dest,
            expected,
            policy=policy,
            on_event=on_event,
            cancel=cancel,
            segments=segments,
        )

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch")
    futures: dict[Future[FileOutcome], Entry] = {}
    try:
        futures = {pool.submit(one, e): e for e in entries}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                outcome = fut.result()
                outcomes[outcome.filename] = outcome
                on_event(FetchEvent("done", outcome.filename, outcome.size, outcome.size, outcome=outcome))
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    report.files = [
        outcomes[e.filename] for e in sorted(entries, key=lambda e: (e.dist.kind == "sdist", e.filename))
    ]
    report.seconds = time.monotonic() - started
    return report


def _list_with_retries(container: Container, project: str, policy: RetryPolicy) -> Listing:
    for attempt in policy.attempts():
        try:
            return container.listing(project)
        except TransferError as exc:
            if not exc.retryable:
                raise
            attempt.failed(exc, retry_after=exc.retry_after)
    raise AssertionError("unreachable: the last attempt re-raises")


def families_from(values: Sequence[str] | None) -> tuple[str, ...]:
    """The ``-t`` values (repeatable, comma-separated allowed), ``("all",)`` when none."""
    out = tuple(v.strip() for value in (values or []) for v in value.split(",") if v.strip())
    return out or ("all",)


__all__ += ["Expected", "families_from", "read_manifest"]
