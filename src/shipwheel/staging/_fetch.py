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

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .._adaptive import AdaptiveLimit
from .._retry import RetryPolicy
from ..distfiles import FAMILIES, DistFile
from ..errors import ShipwheelError, UsageError
from ..matrix import Selector
from ._containers import Container, Entry, Listing, Rejected, read_container_manifest
from ._download import (
    EventCallback,
    Expected,
    FetchCancelled,
    FetchEvent,
    FileOutcome,
    download_file,
    no_events,
)

__all__ = [
    "FetchCancelled",
    "FetchEvent",
    "FetchReport",
    "FileOutcome",
    "NothingToFetchError",
    "Selection",
    "download_file",
    "fetch_release",
    "select_entries",
]


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
            if family not in (*FAMILIES, "sdist"):
                raise UsageError(
                    f"unknown platform family {family!r}", hint=f"use one of {', '.join(FAMILIES)}, sdist"
                )

    @property
    def wheel_families(self) -> tuple[str, ...]:
        """The families of wheels asked for (``-t sdist`` alone asks for none)."""
        return tuple(f for f in self.families if f != "sdist")

    def keeps(self, dist: DistFile) -> bool:
        """Whether ``dist`` (already of the right project and version) passes the filters."""
        if dist.kind == "sdist":
            return self.sdist
        if not any(dist.in_family(f) for f in self.wheel_families):
            return False
        if self.only:
            idents = dist.identifiers
            return not idents or any(self.only.matches(i) for i in idents)
        return True


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
    #: The number of files downloaded at once, each value it took in order (adaptive concurrency).
    connections: list[int] = field(default_factory=list)

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


def _other_version(rejected: Rejected, selection: Selection) -> bool:
    """Whether a refused link's name reads ``<project>-<another version>…``."""
    name = rejected.name.lower()
    for prefix in {selection.project.lower(), canonicalize_name(selection.project).replace("-", "_")}:
        if name.startswith(prefix + "-"):
            head = re.split(r"-(?=[a-z]{2}\d|py\d)|\.tar\.gz$|\.zip$|\.whl$", name[len(prefix) + 1 :])[0]
            try:
                return Version(head) != Version(selection.version)
            except InvalidVersion:
                return False
    return False


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


def fetch_release(
    container: Container,
    selection: Selection,
    dest: Path,
    *,
    jobs: int = 8,
    policy: RetryPolicy | None = None,
    on_event: EventCallback = no_events,
    verify_manifest: Callable[[Path], None] | None = None,
    require_manifest: bool = False,
    adaptive: bool = True,
) -> FetchReport:
    """Fetch the selected files of ``container`` into ``dest`` (created if missing); see the module docstring.

    ``jobs`` is the most files downloaded at once; with ``adaptive`` (the default) the number starts small and
    grows while the total throughput grows, and halves when the server pushes back (:mod:`shipwheel._adaptive`);
    ``adaptive=False`` keeps ``jobs`` throughout.

    Raise :class:`NothingToFetchError` when the container has no file of the release, and
    :class:`~shipwheel.errors.TransferError` when it cannot be listed. Failures of single files are in the
    report, not raised.
    """
    policy = policy or RetryPolicy()
    started = time.monotonic()
    listing = policy.run(lambda: container.listing(selection.project))
    entries, filtered, others = select_entries(listing, selection)
    # Only the refused links that name the project matter to whoever fetches it (an index root lists others), and
    # not those of its other versions (PyPI's page of numexpr lists 2.4-rc1 under a name no longer valid).
    refused = [
        r for r in listing.rejected if r.mentions(selection.project) and not _other_version(r, selection)
    ]
    report = FetchReport(container.display, selection.project, selection.version, dest, rejected=refused)
    report.skipped = filtered
    _check_wheels_kept(listing, selection, entries, container.display)
    if not entries:
        raise _nothing_to_fetch(container.display, selection, filtered, refused, others)
    manifest = read_container_manifest(
        container, listing, policy, verify_manifest, require_manifest=require_manifest
    )
    _make_wheelhouse(dest)
    on_event(FetchEvent("listed", total=len(entries)))
    # Largest first, when sizes are known, so the last file to finish is a small one.
    entries.sort(key=lambda e: -(e.size or 0))
    downloads = _Downloads(
        _FetchJob(container, dest, manifest, policy, on_event),
        total=len(entries),
        limiter=AdaptiveLimit(max(1, jobs), adaptive=adaptive),
    )
    outcomes = downloads.run(entries)
    report.files = [
        outcomes[e.filename] for e in sorted(entries, key=lambda e: (e.dist.kind == "sdist", e.filename))
    ]
    report.seconds = time.monotonic() - started
    report.connections = list(downloads.limiter.history)
    return report


def _nothing_to_fetch(
    where: str, selection: Selection, filtered: int, refused: list[Rejected], others: list[str]
) -> NothingToFetchError:
    """Why no file of the release is taken: all filtered out, all links refused, or none there."""
    if filtered:
        return NothingToFetchError(
            f"all {filtered} files of {selection.project} {selection.version} in {where} "
            "were left out by the filters",
            hint="check -t, --only and --no-sdist",
        )
    seen = f"; it has {selection.project} {', '.join(others[-8:])}" if others else ""
    if refused:
        return NothingToFetchError(
            f"{where} lists no usable file of {selection.project} {selection.version}: "
            f"{len(refused)} links were refused, e.g. {refused[0].name!r} ({refused[0].reason})",
            hint="allow the files' host with --allow-host HOST if you trust it",
        )
    return NothingToFetchError(
        f"{where} has no files of {selection.project} {selection.version}{seen}",
        hint="check the project name, the version and the container URL",
    )


def _make_wheelhouse(dest: Path) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the wheelhouse {dest}: {exc.strerror}", hint="pass -w with a folder"
        ) from exc


@dataclass(frozen=True, slots=True)
class _FetchJob:
    """What every download of one fetch shares: where from, where to, what the container vouches for, the
    retries and the caller's progress callback."""

    container: Container
    dest: Path
    manifest: dict[str, str]
    policy: RetryPolicy
    on_event: EventCallback


@dataclass(slots=True)
class _Downloads:
    """The downloads of one fetch, through the slots of ``limiter``: the files started so far (to split the last
    ones over several connections) and the bytes each has moved (the throughput the limiter adapts to)."""

    job: _FetchJob
    total: int
    limiter: AdaptiveLimit
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: int = 0
    progress: dict[str, int] = field(default_factory=dict)

    def segments(self) -> int:
        """Connections for the rest of a file: several only at the end, when fewer files than slots remain."""
        with self.lock:
            unstarted = self.total - self.started
        return self.limiter.connections_per_transfer(unstarted)

    def relay(self, event: FetchEvent) -> None:
        """Feed the limiter with a file's progress and push-back, then pass the event on."""
        if event.kind == "progress":
            with self.lock:
                delta = event.done - self.progress.get(event.filename, 0)
                self.progress[event.filename] = event.done
            self.limiter.moved(max(0, delta))
        elif event.kind == "retry":
            self.limiter.overloaded()  # 429/503, a reset, a timeout: fewer connections at once
        self.job.on_event(event)

    def one(self, entry: Entry) -> FileOutcome:
        """Download one file once a slot is free."""
        with self.limiter.slot(self.cancel.is_set):
            with self.lock:
                self.started += 1
            expected = _expected(entry, self.job.manifest)
            if isinstance(expected, str):
                return FileOutcome(entry.filename, "failed", error=expected)
            return download_file(
                self.job.container,
                entry,
                self.job.dest,
                expected,
                policy=self.job.policy,
                on_event=self.relay,
                cancel=self.cancel,
                segments=self.segments,
            )

    def run(self, entries: list[Entry]) -> dict[str, FileOutcome]:
        """Download ``entries`` (in that order as slots free up); the outcome of each, by file name."""
        on_event, limiter = self.job.on_event, self.limiter
        workers = limiter.cap
        outcomes: dict[str, FileOutcome] = {}
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch")
        on_event(FetchEvent("connections", done=limiter.limit, total=workers))
        try:
            futures: dict[Future[FileOutcome], Entry] = {pool.submit(self.one, e): e for e in entries}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                before = limiter.limit
                if limiter.tick() != before:
                    on_event(FetchEvent("connections", done=limiter.limit, total=workers))
                for fut in done:
                    outcome = fut.result()
                    outcomes[outcome.filename] = outcome
                    on_event(
                        FetchEvent("done", outcome.filename, outcome.size, outcome.size, outcome=outcome)
                    )
        except BaseException:
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return outcomes


def _check_wheels_kept(listing: Listing, selection: Selection, kept: list[Entry], where: str) -> None:
    """``-t FAMILY`` that keeps no wheel is an error, not a silent fetch of the sdist alone (``-t sdist``
    asks for the sdist alone)."""
    families = selection.wheel_families
    if not families or "all" in families or any(e.dist.kind == "wheel" for e in kept):
        return
    release = [
        e.dist for e in listing.entries.values() if e.dist.matches(selection.project, selection.version)
    ]
    if not release:
        return  # nothing of the release at all: the caller's message says so
    has = sorted({d.family() for d in release if d.kind == "wheel"})
    what = f"wheels for {', '.join(has)}" if has else "no wheels at all"
    raise NothingToFetchError(
        f"{selection.project} {selection.version} in {where} has no {' or '.join(families)} wheels "
        f"(it has {what})",
        hint=f"choose -t among {', '.join(has)}, or -t sdist for the sdist alone"
        if has
        else "pass -t sdist to fetch the sdist alone",
    )


def families_from(values: Sequence[str] | None) -> tuple[str, ...]:
    """The ``-t`` values (repeatable, comma-separated allowed), ``("all",)`` when none."""
    out = tuple(v.strip() for value in (values or []) for v in value.split(",") if v.strip())
    return out or ("all",)


__all__ += ["Expected", "families_from"]
