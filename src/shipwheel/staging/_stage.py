"""``shipwheel stage``: put release files into a staging container, with a manifest and a static simple index.

The container (a folder or an S3 prefix) keeps every file at its top level, a ``SHA256SUMS`` manifest of all of
them, and ``simple/`` pages (PEP 503 HTML and PEP 691 JSON, see :func:`shipwheel.simple_index.render_index`), so testers
can ``pip install --index-url <container>/simple/`` the release candidates. A file already staged with the same
content is skipped; a different file under the same name is a conflict (exit 8) unless ``overwrite``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .._retry import RetryPolicy
from ..distfiles import DistFile, collect_release_files, file_digests
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

__all__ = ["StageEvent", "StageOutcome", "StageReport", "stage_files", "stage_to_index"]


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """One file given to ``stage``: ``staged`` (copied or uploaded now), or ``present`` (the container already
    had it, identical)."""

    filename: str
    status: Literal["staged", "present"]
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class StageEvent:
    """Progress of :func:`stage`: ``hashing``, ``uploading`` and ``uploaded`` per file, ``index`` at the end."""

    kind: Literal["hashing", "uploading", "uploaded", "index"]
    name: str = ""


@dataclass(slots=True)
class StageReport:
    """The result of :func:`stage`."""

    container: str
    files: list[StageOutcome] = field(default_factory=list)
    index_pages: list[str] = field(default_factory=list)
    total_files: int = 0


def stage_files(
    paths: Sequence[Path],
    container: Container,
    *,
    overwrite: bool = False,
    jobs: int = 4,
    on_event: Callable[[StageEvent], None] | None = None,
) -> StageReport:
    """Stage the release files named by ``paths`` into ``container``; see the module docstring."""
    emit = on_event or (lambda _e: None)
    if not is_writable(container):
        raise UsageError(
            f"cannot stage into {container.display}: it is an HTTP index or page, not a folder or bucket",
            hint="stage into a folder or s3://BUCKET/PREFIX, or upload to an index with "
            "shipwheel publish --repository URL",
        )
    assert isinstance(container, WritableContainer)
    files = collect_release_files(paths)
    local: dict[str, tuple[Path, str, int]] = {}
    for path in files:
        emit(StageEvent("hashing", path.name))
        try:
            local[path.name] = (path, file_digests(path)["sha256"], path.stat().st_size)
        except OSError as exc:
            raise UsageError(
                f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
            ) from exc
    try:
        listing = container.listing()
    except TransferError as exc:
        if exc.status != 404:
            raise
        listing = Listing()
    staged = {
        n: d
        for n, d in read_container_manifest(container, listing, RetryPolicy(retries=2)).items()
        if n in listing.entries
    }
    for name in local:
        if name in listing.entries and name not in staged:  # put there by other means: hash it once
            staged[name] = _hash_remote(container, listing.entries[name])[0]
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

    def upload(name: str) -> StageOutcome:
        path, digest, size = local[name]
        emit(StageEvent("uploading", name))
        container.put_file(path, name)
        emit(StageEvent("uploaded", name))
        return StageOutcome(name, "staged", size, digest)

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="stage") as pool:
        report.files += list(pool.map(upload, todo))
    report.files.sort(key=lambda o: o.filename)

    # The manifest and the index cover everything in the container, not only this run's files.
    digests = dict(staged)
    sizes = {name: e.size for name, e in listing.entries.items()}
    for name, (_path, digest, size) in local.items():
        digests[name], sizes[name] = digest, size
    for name, entry in listing.entries.items():
        if name not in digests:  # put there by other means: hash it once, from the container
            digests[name], sizes[name] = _hash_remote(container, entry)
    emit(StageEvent("index"))
    container.put_bytes(MANIFEST, format_manifest(digests).encode(), "text/plain; charset=utf-8")
    pages = render_index(IndexFile(n, sha256=digests[n], size=sizes[n] or 0) for n in sorted(digests))
    for rel, data in pages.items():
        ctype = "application/vnd.pypi.simple.v1+json" if rel.endswith(".json") else "text/html; charset=utf-8"
        container.put_bytes(rel, data, ctype)
    report.index_pages = sorted(pages)
    report.total_files = len(digests)
    return report


def stage_to_index(
    paths: Sequence[Path],
    repository: str,
    *,
    jobs: int = 4,
    retries: int = 5,
    timeout: float = 60.0,
    on_event: Callable[[StageEvent], None] | None = None,
) -> StageReport:
    """Stage into an index server (devpi, pypiserver, a private PyPI) through ``shipwheel publish``'s upload
    machinery, one release (project and version) at a time; files the index already has are skipped. Credentials
    come from where ``publish`` takes them (``SHIPWHEEL_USERNAME``/``SHIPWHEEL_PASSWORD``, ``~/.pypirc``,
    keyring). The release checks of ``publish`` are not run: staging is for release candidates."""
    from ..publish import PublishEvent, PublishSettings, publish_files

    emit = on_event or (lambda _e: None)
    files = collect_release_files(paths)
    releases: dict[tuple[str, str], list[Path]] = {}
    for path in files:
        dist = DistFile.parse(path.name)
        assert dist is not None  # collect_release_files keeps release files only
        releases.setdefault((dist.name, str(dist.version)), []).append(path)

    def relay(event: PublishEvent) -> None:
        if event.kind == "start":
            emit(StageEvent("uploading", event.filename))
        elif event.kind == "done":
            emit(StageEvent("uploaded", event.filename))

    report = StageReport(repository)
    for group in releases.values():
        result = publish_files(
            group,
            PublishSettings(repository=repository, jobs=jobs, retries=retries, timeout=timeout, verify=False),
            on_event=relay,
        )
        planned = {f.filename: f for f in result.plan.files}
        for r in result.results:
            item = planned[r.filename]
            status: Literal["staged", "present"] = "staged" if r.status == "uploaded" else "present"
            report.files.append(StageOutcome(r.filename, status, item.size, item.sha256))
        for item in result.plan.skipped:
            if all(o.filename != item.filename for o in report.files):
                report.files.append(StageOutcome(item.filename, "present", item.size, item.sha256))
    report.files.sort(key=lambda o: o.filename)
    report.total_files = len(report.files)
    return report


def _hash_remote(container: Container, entry: Entry) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with container.stream(entry) as opened:
        for chunk in opened.chunks:
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
