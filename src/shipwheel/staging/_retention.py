"""The retention rule of development builds in a staging container: keep the newest ``keep`` development versions
(``X.Y.devN``) of a project, delete the files of the older ones. Releases, pre-releases and post-releases are
never deleted: only what a scheduled run stages (as NumPy's and SciPy's nightly wheels are pruned).

Two kinds of container delete through their own API: a bucket (``s3://``, DeleteObjects, then the ``SHA256SUMS``
manifest and the static index are written again for what is left) and an index server's upload URL, one request
per version with the credentials the caller passes: pypiserver's ``:action=remove_pkg``, or, on devpi-server
(which names itself in an ``X-Devpi-Server-Version`` header on every answer), a ``DELETE`` of the version's URL
below the index, as ``devpi remove`` sends it (a volatile index, devpi's default, allows it).

The same removal makes room on an index server for a nightly of a static development version (``1.2.0.dev0`` in
``pyproject.toml`` between releases, as NumPy and SciPy keep it): every night builds the same file names with
other bytes, and the newest replaces the last (:func:`clear_dev_files_on_index_server`, ``stage --overwrite``). A
release or pre-release file is never removed that way: an index's release files are final.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name
from packaging.version import Version

from .._http import make_client
from .._retry import RetryPolicy
from ..distfiles import DistFile, collect_release_files, file_digests
from ..errors import ConflictError, TransferError
from ._containers import Container, Entry, Listing, WritableContainer
from ._stage import _hash_remote, _staged_digests, _write_index

__all__ = [
    "ClearReport",
    "PruneReport",
    "clear_dev_files_on_index_server",
    "dev_versions_to_delete",
    "prune_bucket",
    "prune_index_server",
]


@dataclass(slots=True)
class PruneReport:
    """What a pruning kept and deleted: versions (newest first) and the files deleted."""

    container: str
    project: str
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ClearReport:
    """What :func:`clear_dev_files_on_index_server` removed: ``differing``, the given files the index held with
    other bytes; ``removed``, every file the removal took (pypiserver removes a version's files together)."""

    container: str
    differing: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def dev_versions_to_delete(versions: Iterable[Version], keep: int) -> tuple[list[Version], list[Version]]:
    """The development versions among ``versions`` to keep (the newest ``keep``) and to delete (the rest), each
    newest first; any other version is in neither list."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    dev = sorted({v for v in versions if v.is_devrelease}, reverse=True)
    return dev[:keep], dev[keep:]


def _plan(
    listing: Listing, project: str, keep: int, display: str
) -> tuple[PruneReport, dict[Version, list[str]]]:
    want = canonicalize_name(project)
    by_version: dict[Version, list[str]] = {}
    for name, entry in listing.entries.items():
        if canonicalize_name(entry.dist.name) == want:
            by_version.setdefault(entry.dist.version, []).append(name)
    kept, deleted = dev_versions_to_delete(by_version, keep)
    report = PruneReport(display, want, [str(v) for v in kept], [str(v) for v in deleted])
    return report, {v: sorted(by_version[v]) for v in deleted}


def prune_bucket(container: Container, project: str, keep: int) -> PruneReport:
    """Delete the files of ``project``'s development versions beyond the newest ``keep`` from an S3 container
    (:class:`~shipwheel.staging._containers._s3.S3Container`), then write its ``SHA256SUMS`` and static index
    again for what is left."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ._containers._s3 import S3Container

    if not isinstance(container, S3Container):
        raise TransferError(
            f"cannot delete from {container.display}", hint="prune an s3:// bucket or an index server"
        )
    report, doomed = _plan(container.listing(project), project, keep, container.display)
    keys = [container.prefix + name for names in doomed.values() for name in names]
    for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
        batch = keys[start : start + 1000]
        try:
            answer = container.client.delete_objects(
                Bucket=container.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
        except (BotoCoreError, ClientError) as exc:
            raise TransferError(
                f"S3 refused to delete old development builds from {container.display}: {exc}",
                hint="check that the credentials may delete objects (s3:DeleteObject)",
            ) from exc
        failed = answer.get("Errors") or []
        if failed:
            raise TransferError(
                f"S3 did not delete {', '.join(str(e.get('Key')) for e in failed[:3])} from {container.display}",
                hint="check that the credentials may delete objects (s3:DeleteObject)",
            )
    report.files = [k[len(container.prefix) :] for k in keys]
    if keys:
        _reindex(container)
    return report


def _reindex(container: WritableContainer) -> None:
    """``SHA256SUMS`` and the static simple index of what the container holds now, written as ``stage`` writes
    them (digests from its manifest; a file it does not name is read once to hash it)."""
    listing = container.listing()
    staged = _staged_digests(container, listing, {})
    _write_index(container, listing, staged, {}, RetryPolicy(retries=2), lambda _event: None)


def prune_index_server(
    upload_url: str,
    index: Container,
    project: str,
    keep: int,
    auth: tuple[str, str] | None,
    *,
    timeout: float = 60.0,
) -> PruneReport:
    """Delete ``project``'s development versions beyond the newest ``keep`` from the index server behind
    ``upload_url`` (its simple index is ``index``), one removal request per version."""
    report, doomed = _plan(index.listing(project), project, keep, upload_url)
    report.files = _remove_versions(
        upload_url, {(project, v): names for v, names in doomed.items()}, auth, timeout
    )
    return report


def _remove_versions(
    upload_url: str,
    doomed: dict[tuple[str, Version], list[str]],
    auth: tuple[str, str] | None,
    timeout: float,
) -> list[str]:
    """Remove each (project, version) of ``doomed`` from the index server: on devpi one ``DELETE`` per version, else
    one ``remove_pkg`` per name and version as its files write them; the names of the files removed."""
    removed: list[str] = []
    if not doomed:
        return removed
    with make_client(timeout=timeout, auth=auth) as client:
        devpi = _is_devpi(client, upload_url)
        for (project, version), names in doomed.items():
            if devpi:
                _remove_devpi(client, upload_url, project, version)
            else:
                for name, text in sorted(_as_written(names)):
                    _remove(client, upload_url, project, version, name, text)
            removed += names
    return removed


def _is_devpi(client: httpx.Client, upload_url: str) -> bool:
    """Whether the index server behind ``upload_url`` is devpi-server: it names itself in a header of every
    answer, also to a request without credentials."""
    try:
        response = client.get(upload_url, headers={"Accept": "application/json"})
    except httpx.HTTPError:
        return False  # the removal's own request says what is wrong with the server
    return "x-devpi-server-version" in response.headers


def _as_written(names: Iterable[str]) -> set[tuple[str, str]]:
    """The name and version as the file names write them (pypiserver matches those, not the normalized ones)."""
    out = set()
    for name in names:
        stem = name.removesuffix(".whl").removesuffix(".tar.gz").removesuffix(".zip")
        parts = stem.split("-")
        out.add((parts[0], parts[1]) if name.endswith(".whl") else ("-".join(parts[:-1]), parts[-1]))
    return out


def _remove(
    client: httpx.Client, upload_url: str, project: str, version: Version, name: str, text: str
) -> None:
    """One ``remove_pkg`` of the files named ``name``-``text``; a 404 means they are gone already."""
    response = client.post(upload_url, data={":action": "remove_pkg", "name": name, "version": text})
    if response.status_code in (401, 403):
        raise TransferError(
            f"{upload_url} refused to delete {project} {version} ({response.status_code})",
            hint="set SHIPWHEEL_USERNAME and SHIPWHEEL_PASSWORD to a user that may upload",
        )
    if response.status_code >= 400 and response.status_code != 404:  # 404: gone already
        raise TransferError(
            f"{upload_url} answered {response.status_code} to deleting {project} {version}",
            hint="the index server must remove versions (pypiserver's remove_pkg action, devpi's DELETE)",
            retryable=response.status_code >= 500,
        )


def _remove_devpi(client: httpx.Client, upload_url: str, project: str, version: Version) -> None:
    """devpi's removal of one version of ``project`` from the index at ``upload_url`` (its files with it); a 404
    means it is gone already."""
    url = f"{upload_url.rstrip('/')}/{project}/{version}"
    response = client.delete(url, headers={"Accept": "application/json"})
    if response.status_code in (401, 403):
        raise TransferError(
            f"{upload_url} refused to delete {project} {version} ({response.status_code})",
            hint="set SHIPWHEEL_USERNAME and SHIPWHEEL_PASSWORD to a user that may upload to this index; devpi "
            "removes versions from a volatile index only (devpi index INDEX volatile=True)",
        )
    if response.status_code >= 400 and response.status_code != 404:
        raise TransferError(
            f"{upload_url} answered {response.status_code} to deleting {project} {version}",
            hint="remove the version with `devpi remove`, or stage a new development version",
            retryable=response.status_code >= 500,
        )


def clear_dev_files_on_index_server(
    upload_url: str,
    index: Container,
    paths: Sequence[Path],
    auth: tuple[str, str] | None,
    *,
    timeout: float = 60.0,
) -> ClearReport:
    """Remove from the index server behind ``upload_url`` (its simple index is ``index``) the development versions
    of which it holds a file named as one of ``paths`` with other bytes, so that they can be uploaded again: a
    nightly of a static development version replaces the last one. Nothing is removed when the index holds the
    same bytes.

    :raises ConflictError: such a file is of a release or pre-release (checked before anything is removed).
    :raises TransferError: the server refused, or still lists a file after its removal (it cannot remove versions).
    """
    local: dict[str, tuple[DistFile, str]] = {}
    for path in collect_release_files(paths):
        dist = DistFile.parse(path.name)
        assert dist is not None  # collect_release_files keeps release files only
        local[path.name] = (dist, file_digests(path)["sha256"])
    report = ClearReport(upload_url)
    doomed: dict[tuple[str, Version], list[str]] = {}
    refused: list[str] = []
    for project in sorted({str(canonicalize_name(dist.name)) for dist, _ in local.values()}):
        listing = index.listing(project)
        for name, (dist, digest) in sorted(local.items()):
            entry = listing.entries.get(name)
            if canonicalize_name(dist.name) != project or entry is None or _digest_of(index, entry) == digest:
                continue
            if not dist.version.is_devrelease:
                refused.append(name)
                continue
            report.differing.append(name)
            doomed[(project, dist.version)] = sorted(
                n
                for n, e in listing.entries.items()
                if canonicalize_name(e.dist.name) == project and e.dist.version == dist.version
            )
    if refused:
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        raise ConflictError(
            f"{upload_url} already has {refused[0]}{more} with different contents, and a release file on an "
            "index server is never replaced (--overwrite replaces development versions only); nothing was removed",
            hint="build it again with a new version (or a wheel build tag)",
        )
    report.removed = _remove_versions(upload_url, doomed, auth, timeout)
    if doomed:
        left = sorted(set(report.differing) & _listed(index, doomed))
        if left:
            raise TransferError(
                f"{upload_url} still lists {left[0]} after removing its version",
                hint="the index server must remove versions (pypiserver's remove_pkg action, devpi's DELETE); "
                "on another server remove the version by hand, or stage a new development version",
            )
    return report


def _digest_of(index: Container, entry: Entry) -> str:
    """The sha256 the index lists for ``entry``, or of its bytes when it lists none."""
    return entry.sha256.lower() if entry.sha256 else _hash_remote(index, entry)[0]


def _listed(index: Container, doomed: Iterable[tuple[str, Version]]) -> set[str]:
    return {name for project in {p for p, _ in doomed} for name in index.listing(project).entries}
