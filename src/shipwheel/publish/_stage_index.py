"""``shipwheel stage --to URL`` for an index server (devpi, pypiserver, a private PyPI): staging through publish's
upload machinery. It lives with publish, which it runs, and speaks staging's vocabulary (:class:`StageEvent`,
:class:`StageReport`) so the ``stage`` command shows it like any other container."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from ..distfiles import DistFile, collect_release_files
from ..staging import StageEvent, StageOutcome, StageReport
from ._publish import PublishSettings, publish_files
from ._results import PublishEvent

__all__ = ["stage_to_index"]


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
