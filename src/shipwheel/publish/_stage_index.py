"""``shipwheel stage --to URL`` for an index server (devpi, pypiserver, a private PyPI): staging through publish's
upload machinery. It lives with publish, which it runs, and speaks staging's vocabulary (:class:`StageEvent`,
:class:`StageReport`) so the ``stage`` command shows it like any other container."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from .._http import make_client
from .._retry import RetryPolicy
from ..distfiles import DistFile, collect_release_files
from ..staging import StageEvent, StageOutcome, StageReport
from ._credentials import resolve_credentials
from ._publish import PublishSettings, publish_files
from ._repository import resolve_repository, same_origin
from ._results import PublishEvent
from ._runner import find_index

__all__ = ["IndexServerAccess", "index_server_access", "stage_to_index"]


@dataclass(frozen=True, slots=True)
class IndexServerAccess:
    """An index server as ``publish`` finds it: its upload URL, its simple index, and the credentials to upload
    (and to delete, for ``stage --keep-dev`` and ``--overwrite``)."""

    upload_url: str
    simple_url: str
    auth: tuple[str, str] | None


def index_server_access(repository: str, *, timeout: float = 60.0) -> IndexServerAccess:
    """The upload URL, simple index (pypiserver's ``/simple/``, devpi's ``/+simple/``, the one the configuration
    names) and credentials of ``repository``, found where ``publish`` finds them."""
    repo = resolve_repository(repository)
    credentials = resolve_credentials(repo)
    auth = (credentials.username, credentials.password) if credentials is not None else None
    same_host = repo.index_url == "" or same_origin(repo.index_url, repo.upload_url)
    index_auth = httpx.BasicAuth(*auth) if auth is not None and same_host else None
    with make_client(timeout=timeout) as client:
        simple = find_index(
            client, repo, index_auth, RetryPolicy(retries=2), credentials if index_auth else None
        )
    return IndexServerAccess(repo.upload_url, simple, auth)


def stage_to_index(
    paths: Sequence[Path],
    repository: str,
    *,
    jobs: int = 4,
    retries: int = 5,
    timeout: float = 60.0,
    adaptive: bool = True,
    on_event: Callable[[StageEvent], None] | None = None,
) -> StageReport:
    """Stage into an index server (devpi, pypiserver, a private PyPI) through ``shipwheel publish``'s upload
    machinery, one release (project and version) at a time; files the index already has are skipped. Credentials
    come from where ``publish`` takes them (``SHIPWHEEL_USERNAME``/``SHIPWHEEL_PASSWORD``, ``~/.pypirc``,
    keyring). The release checks of ``publish`` are not run: staging is for release candidates. ``jobs`` is the cap
    of publish's adaptive uploads, kept throughout when not ``adaptive``."""
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
            PublishSettings(
                repository=repository,
                jobs=jobs,
                retries=retries,
                timeout=timeout,
                fixed_jobs=not adaptive,
            ),
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
