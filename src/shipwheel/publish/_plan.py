"""The plan of a publish: which files are skipped, which uploaded, in which order, decided before anything moves.

Wheels come first, sorted by name; sdists last. A file the index already holds with the same sha256 is skipped; a
file the index holds under the same name with another hash makes the whole plan a :class:`ConflictError`. For
PyPI and TestPyPI their upload rules are checked here too, so that a release is not refused halfway.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from packaging.version import Version

from .._fs import write_file
from .._records import RecordShapeError, load_record
from ..distfiles import DistFile, collect_release_files, file_digests, file_stamp
from ..errors import ConflictError, UsageError, VerificationError
from ..simple_index import IndexFile
from ._repository import Repository
from ._upload import attestations_for

__all__ = [
    "PYPI_MAX_FILE_SIZE",
    "PYPI_RELEASE_AGE",
    "Plan",
    "PlannedFile",
    "PublishRuleError",
    "blake2_256",
    "collect_files",
    "digest_files",
    "make_plan",
    "pypi_rule_problems",
    "release_created",
]

#: PyPI's default per-file upload limit (a project can be granted more).
PYPI_MAX_FILE_SIZE = 100 * 1024 * 1024
#: PyPI refuses new files for a release (one version) created longer ago than this.
PYPI_RELEASE_AGE = timedelta(days=14)


class PublishRuleError(VerificationError):
    """The files break a rule of the target index; nothing was uploaded (exit 1)."""


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One release file and what the publish does with it."""

    path: Path
    dist: DistFile
    size: int
    sha256: str
    action: Literal["skip", "upload"]
    reason: str = ""
    attestations: tuple[Path, ...] = ()

    @property
    def filename(self) -> str:
        return self.dist.filename


@dataclass(frozen=True, slots=True)
class Plan:
    """Every file of one release on one repository, wheels first, then sdists."""

    repository: Repository
    project: str
    version: str
    files: tuple[PlannedFile, ...]

    @property
    def uploads(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.action == "upload")

    @property
    def skipped(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.action == "skip")

    @property
    def wheels(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.dist.kind == "wheel")

    @property
    def sdists(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.dist.kind == "sdist")

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (for ``--json`` and ``--dry-run``)."""
        return {
            "repository": self.repository.display,
            "project": self.project,
            "version": self.version,
            "files": [
                {
                    "file": f.filename,
                    "action": f.action,
                    "reason": f.reason,
                    "size": f.size,
                    "sha256": f.sha256,
                    "order": i,
                }
                for i, f in enumerate(self.files, start=1)
            ],
        }


def collect_files(inputs: Sequence[Path]) -> list[tuple[Path, DistFile]]:
    """The distribution files named by ``inputs`` (see :func:`~shipwheel.distfiles.collect_release_files`), with
    their parsed names, wheels first.

    :raises UsageError: nothing to publish, a name that is not a distribution, several projects or versions.
    """
    found = [(path, DistFile.parse(path.name)) for path in collect_release_files(inputs)]
    pairs = [(path, dist) for path, dist in found if dist is not None]
    releases = {(d.name, str(d.version)) for _, d in pairs}
    if len(releases) > 1:
        shown = ", ".join(f"{n} {v}" for n, v in sorted(releases))
        raise UsageError(
            f"the files belong to several releases ({shown})", hint="publish one release at a time"
        )
    return sorted(pairs, key=lambda pd: (pd[1].kind == "sdist", pd[1].filename))


def _digest(path: Path) -> str:
    try:
        return file_digests(path)["sha256"]
    except OSError as exc:
        raise VerificationError(
            f"cannot read {path.name}: {exc.strerror or type(exc).__name__}",
            hint="check the file (its permissions, the disk), or build it again",
        ) from None


def blake2_256(path: Path) -> str:
    """The blake2b-256 digest the upload form carries (computed only for files that are sent)."""
    return file_digests(path, ("blake2b-256",))["blake2b-256"]


def _stamp(path: Path) -> list[int]:
    return list(file_stamp(path))  # as JSON keeps it


def digest_files(paths: Iterable[Path], jobs: int = 2, cache: Path | None = None) -> dict[Path, str]:
    """sha256 of each file, ``jobs`` files at a time (hashlib frees the GIL).

    With ``cache`` (a JSON file), a digest is reused while the file's size, mtime, ctime and inode are unchanged,
    so a re-run does not read a release of hundreds of megabytes again.
    """
    paths = list(paths)
    known: dict[str, list[object]] = {}
    if cache is not None:
        known = load_record(cache, _digest_table, limit=64 << 20, what="digest cache") or {}
    out: dict[Path, str] = {}
    todo: list[Path] = []
    for path in paths:
        entry = known.get(str(path.resolve()))
        if (
            isinstance(entry, list)
            and len(entry) == 2
            and entry[0] == _stamp(path)
            and isinstance(entry[1], str)
        ):
            out[path] = entry[1]
        else:
            todo.append(path)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        out.update(zip(todo, pool.map(_digest, todo), strict=True))
    if cache is not None and todo:
        for path in todo:
            known[str(path.resolve())] = [_stamp(path), out[path]]
        # Only a cache: a state folder that is a file, a cache path that is a folder, a full disk cost a re-hash
        # next time, never the publish. Never written through a link planted in the state folder.
        with contextlib.suppress(OSError):
            write_file(cache, json.dumps(known))
    return {p: out[p] for p in paths}


def release_created(existing: Mapping[str, IndexFile], version: Version) -> datetime | None:
    """When the release ``version`` got its first file on the index, from PEP 700 ``upload-time``; ``None`` when
    the index lists no file of that version (or gives no times).

    Warehouse refuses new files for a *release* (one version) created over 14 days ago
    (``MAXIMUM_AGE_FOR_NEW_UPLOADS_DAYS`` in ``warehouse/forklift/legacy.py``); files of other versions of the
    project do not count. The oldest upload-time of the version's files stands in for the release's creation.
    """
    times: list[datetime] = []
    for f in existing.values():
        dist = DistFile.parse(f.filename)
        if dist is not None and dist.version == version and f.upload_time is not None:
            when = f.upload_time
            times.append(when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc))
    return min(times) if times else None


def pypi_rule_problems(
    files: Sequence[tuple[Path, DistFile, int]],
    existing: Mapping[str, IndexFile],
    *,
    new_files: Iterable[str],
    now: datetime | None = None,
    max_file_size: int = PYPI_MAX_FILE_SIZE,
) -> list[str]:
    """Every PyPI upload rule the files break (empty when none)."""
    problems: list[str] = []
    for path, dist, size in files:
        if dist.is_zip_sdist:
            problems.append(
                f"{path.name}: PyPI accepts only .tar.gz sdists (PEP 625); build the sdist as .tar.gz"
            )
        if dist.version.local:
            problems.append(
                f"{path.name}: PyPI refuses local versions (+{dist.version.local}); drop the local part"
            )
        if size > max_file_size:
            problems.append(
                f"{path.name}: {size / 2**20:.0f} MiB is over PyPI's {max_file_size / 2**20:.0f} MiB limit; "
                "ask PyPI for a larger limit for the project"
            )
    new = list(new_files)
    for path, dist, _size in files:
        # Warehouse: "Only one sdist may be uploaded per release" (a .tar.gz under another spelling of the name).
        other = next(
            (
                name
                for name in existing
                if name != dist.filename
                and (theirs := DistFile.parse(name)) is not None
                and theirs.kind == "sdist"
                and theirs.version == dist.version
            ),
            None,
        )
        if dist.kind == "sdist" and dist.filename in new and other is not None:
            problems.append(
                f"{path.name}: PyPI takes one sdist per release and already has {other}; "
                "publish the wheels alone, or a new version"
            )
    first = release_created(existing, files[0][1].version) if files and new else None
    if first is not None:
        now = now or datetime.now(timezone.utc)
        if now - first > PYPI_RELEASE_AGE:
            problems.append(
                f"release {files[0][1].version} was first uploaded on {first:%Y-%m-%d}, over "
                f"{PYPI_RELEASE_AGE.days} days ago, and PyPI takes no new files for it ({len(new)} would be new); "
                "publish a new version"
            )
    return problems


def make_plan(
    repository: Repository,
    files: Sequence[tuple[Path, DistFile]],
    digests: Mapping[Path, str],
    existing: Mapping[str, IndexFile],
    *,
    remote_digest: Callable[[IndexFile], str | None] | None = None,
    journal_done: Mapping[str, str] | None = None,
    now: datetime | None = None,
    max_file_size: int | None = None,
    attestations: bool | None = None,
) -> Plan:
    """Decide what to do with each file.

    :raises ConflictError: the index holds a file of the same name with other bytes (all such files named).
    :raises PublishRuleError: PyPI's rules refuse some files (all problems named), for PyPI and TestPyPI only.
    """
    journal_done = journal_done or {}
    # PEP 740 attestations go to PyPI and TestPyPI unless asked otherwise (twine's default).
    send_attestations = repository.kind == "pypi" if attestations is None else attestations
    planned: list[PlannedFile] = []
    conflicts: list[str] = []
    for path, dist in files:
        sha = digests[path]
        size = path.stat().st_size
        atts = attestations_for(path) if send_attestations else ()
        remote = existing.get(dist.filename)
        if remote is not None:
            theirs = remote.sha256 or (remote_digest(remote) if remote_digest else None)
            if theirs is not None and theirs.lower() != sha.lower():
                conflicts.append(dist.filename)
                continue
            # A listed file without a hash on another host (a CDN) is not downloaded just to compare it.
            why = "already on the index" if theirs is not None else "already on the index (no hash listed)"
            planned.append(PlannedFile(path, dist, size, sha, "skip", why, atts))
        else:
            # A file an earlier run saw accepted but the index does not list (a lagging CDN page, a wiped index)
            # is sent again: an index that has it answers "exists", which is checked against its hash.
            why = "resent: an earlier run saw it accepted" if journal_done.get(dist.filename) == sha else ""
            planned.append(PlannedFile(path, dist, size, sha, "upload", why, atts))
    if conflicts:
        first = conflicts[0]
        more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
        raise ConflictError(
            f"{repository.display} already has {first}{more} with different contents; nothing was uploaded",
            hint="a published file cannot be replaced: build the release again with a new version "
            "(or a wheel build tag), or fetch the index's files instead",
        )
    if repository.kind == "pypi":
        problems = pypi_rule_problems(
            [(p.path, p.dist, p.size) for p in planned],
            existing,
            new_files=[p.filename for p in planned if p.action == "upload"],
            now=now,
            max_file_size=max_file_size or PYPI_MAX_FILE_SIZE,
        )
        if problems:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            message, _, hint = problems[0].partition("; ")
            raise PublishRuleError(f"{message}{more}; nothing was uploaded", hint=hint)
    head = planned[0].dist
    return Plan(repository, str(head.name), str(head.version), tuple(planned))


def _digest_table(loaded: object) -> dict[str, list[object]]:
    if not isinstance(loaded, dict):
        raise RecordShapeError("not a JSON object")
    return loaded
