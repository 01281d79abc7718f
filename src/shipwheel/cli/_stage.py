"""``shipwheel stage``: put release files into a staging folder or bucket, with SHA256SUMS and a simple index."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rich.text import Text

from ..errors import UsageError
from ._common import (
    add_config_options,
    config_from_args,
    err_console,
    jobs_arg,
    jobs_fixed,
    out_console,
    print_json,
    retries_arg,
    timeout_arg,
    transfer_progress,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..config import StageOptions
    from ..staging import ClearReport, Container, PruneReport, StageEvent, StageReport


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "stage",
        parents=[common],
        help="put release files into a staging folder or S3 bucket with SHA256SUMS and a pip-installable index",
        description="Copy wheels and sdists (files, or every release file of a wheelhouse folder) into a "
        "staging container, a folder or s3://bucket/prefix; rewrite its SHA256SUMS and its static PEP 503 + "
        "PEP 691 index, so that 'pip install --index-url <container>/simple/ PROJECT==VERSION' installs them. "
        "An http(s) URL is an index server's upload URL (devpi, pypiserver): the files are uploaded with "
        "shipwheel publish's machinery and credentials. A nightly of a static development version (1.2.0.dev0 "
        "between releases) has the same file names every night: --overwrite replaces the last one.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILES|WHEELHOUSE", help="release files or folders")
    p.add_argument(
        "--to",
        dest="target",
        metavar="CONTAINER",
        help="folder, file://, s3://bucket/prefix, or an index upload URL (default: [tool.shipwheel.stage] to)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace staged files that differ (default: refuse); on an index server only a development "
        "version's files (X.Y.devN) are replaced, by removing that version first (pypiserver's remove_pkg, "
        "devpi's DELETE)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=jobs_arg,
        default=None,
        help="most parallel uploads (default: [tool.shipwheel.stage] jobs, 16); to a bucket the number starts "
        "at 4 and grows while throughput does, halving on 503 SlowDown/429 (jobs = N in the config keeps N "
        "throughout); a folder gets at most 4 copies at once",
    )
    p.add_argument(
        "--fixed-jobs", action="store_true", help="run exactly --jobs uploads at once instead of adapting"
    )
    p.add_argument(
        "--timeout",
        type=timeout_arg,
        default=60.0,
        metavar="SECONDS",
        help="network timeout (default: 60; each request to an index server also has an overall deadline)",
    )
    p.add_argument(
        "--retries",
        type=retries_arg,
        default=5,
        metavar="N",
        help="retries per file after the first try (default: 5)",
    )
    p.add_argument(
        "--endpoint-url", metavar="URL", help="S3 endpoint for s3:// containers (or AWS_ENDPOINT_URL)"
    )
    p.add_argument(
        "--keep-dev",
        type=_keep_arg,
        default=None,
        metavar="N",
        help="then delete the staged project's development versions (X.Y.devN) beyond the newest N from the "
        "bucket or index server (what a scheduled run of the generated workflow does with ci.dev-keep); "
        "releases and pre-releases are never deleted",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def _keep_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 1000")
    return value


def run(args: argparse.Namespace) -> int:
    full_config = config_from_args(args, {"stage.to": args.target, "stage.jobs": args.jobs})
    config = full_config.stage
    if not config.to:
        raise UsageError(
            "no container to stage into", hint="pass --to FOLDER|s3://BUCKET/PREFIX or set stage.to"
        )
    # `jobs = N` in pyproject.toml or SHIPWHEEL_STAGE_JOBS is a setting, kept as given; `-j N` alone is a cap
    adaptive = not jobs_fixed(args, full_config, "stage")
    index_server = urlsplit(config.to).scheme in {"http", "https"}
    if args.keep_dev is not None and not (index_server or urlsplit(config.to).scheme == "s3"):
        raise UsageError(
            f"--keep-dev deletes from a bucket or an index server, not from {config.to}",
            hint="stage into s3://BUCKET/PREFIX or an index server's upload URL, or leave --keep-dev out",
        )
    if index_server:
        report, cleared, pruned = _stage_to_index_server(args, config, adaptive)
    else:
        report, pruned = _stage_to_container(args, config, adaptive)
        cleared = None
    if args.json:
        _print_json(report, cleared, pruned)
    else:
        _print_text(report, cleared, pruned)
    return 0


def _stage_to_index_server(
    args: argparse.Namespace, config: StageOptions, adaptive: bool
) -> tuple[StageReport, ClearReport | None, list[PruneReport]]:
    """An index server (devpi, pypiserver): uploads through shipwheel publish's machinery; ``--overwrite`` first
    removes the development versions it holds other bytes of, ``--keep-dev`` prunes after the upload (both with
    one discovery of the server's index and credentials)."""
    from ..publish import stage_to_index

    removes = args.overwrite or args.keep_dev is not None
    with _index_server(config.to, args.timeout) if removes else contextlib.nullcontext() as server:
        cleared = _clear_index_server(server, args.files, args.timeout) if server and args.overwrite else None
        report = stage_to_index(
            args.files,
            config.to,
            jobs=config.jobs,
            retries=args.retries,
            timeout=args.timeout,
            adaptive=adaptive,
            on_event=_Lines(),
        )
        if cleared is not None:
            report.files = [
                dataclasses.replace(f, status="replaced")
                if f.filename in cleared.removed and f.status == "staged"
                else f
                for f in report.files
            ]
        pruned = (
            _prune_index_server(server, report, args.keep_dev, args.timeout)
            if server and args.keep_dev is not None
            else []
        )
    return report, cleared, pruned


def _stage_to_container(
    args: argparse.Namespace, config: StageOptions, adaptive: bool
) -> tuple[StageReport, list[PruneReport]]:
    """A folder or a bucket, with a progress bar; ``--keep-dev`` prunes the bucket afterwards."""
    from .._retry import RetryPolicy
    from ..staging import open_container, stage_files

    container = open_container(
        config.to,
        endpoint_url=args.endpoint_url,
        timeout=args.timeout,
        max_connections=4 * config.jobs,  # the last files may go up in several parts at once each
    )
    try:
        with transfer_progress(quiet=args.json) as progress:
            report = stage_files(
                args.files,
                container,
                overwrite=args.overwrite,
                jobs=config.jobs,
                adaptive=adaptive,
                policy=RetryPolicy(retries=args.retries),
                on_event=_Progress(progress),
            )
        pruned = _prune_bucket(container, report, args.keep_dev) if args.keep_dev is not None else []
    finally:
        container.close()
    return report, pruned


def _print_json(report: StageReport, cleared: ClearReport | None, pruned: list[PruneReport]) -> None:
    print_json(
        {
            "container": report.container,
            "files": [
                {"filename": f.filename, "status": f.status, "size": f.size, "sha256": f.sha256}
                for f in report.files
            ],
            "removed": _removed_too(report, cleared),
            "index_pages": report.index_pages,
            "total_files": report.total_files,
            "seconds": round(report.seconds, 3),
            "bytes_uploaded": report.bytes_uploaded,
            "connections": report.connections,
            "pruned": [
                {"project": p.project, "kept": p.kept, "deleted": p.deleted, "files": p.files} for p in pruned
            ],
        }
    )


def _print_text(report: StageReport, cleared: ClearReport | None, pruned: list[PruneReport]) -> None:
    _summary(report)
    extra = _removed_too(report, cleared)
    if extra:
        err_console.print(Text(f"removed with the replaced version, not staged again: {', '.join(extra)}"))
    for p in pruned:
        kept = ", ".join(p.kept) or "none"
        gone = f"deleted {', '.join(p.deleted)} ({len(p.files)} files)" if p.deleted else "deleted nothing"
        err_console.print(Text(f"{p.project}: kept the development versions {kept}; {gone}"))


def _projects(report: StageReport) -> list[str]:
    from ..distfiles import DistFile

    return sorted({d.name for f in report.files if (d := DistFile.parse(f.filename)) is not None})


def _prune_bucket(container: Container, report: StageReport, keep: int) -> list[PruneReport]:
    """The staged projects' old development builds out of the bucket, its manifest and index written again."""
    from ..staging import prune_bucket

    return [prune_bucket(container, project, keep) for project in _projects(report)]


@dataclasses.dataclass(frozen=True, slots=True)
class _Server:
    """An index server as publish finds it: the upload URL, its simple index (open) and the credentials."""

    upload_url: str
    index: Container
    auth: tuple[str, str] | None


@contextlib.contextmanager
def _index_server(upload_url: str, timeout: float) -> Iterator[_Server]:
    """The index server behind ``upload_url``, found once for the removals of a run; its index closed after."""
    from ..publish import index_server_access
    from ..staging import open_container

    access = index_server_access(upload_url, timeout=timeout)
    index = open_container(access.simple_url, timeout=timeout)
    try:
        yield _Server(access.upload_url, index, access.auth)
    finally:
        index.close()


def _prune_index_server(server: _Server, report: StageReport, keep: int, timeout: float) -> list[PruneReport]:
    """The staged projects' old development versions out of the index server, with publish's credentials."""
    from ..staging import prune_index_server

    return [
        prune_index_server(server.upload_url, server.index, project, keep, server.auth, timeout=timeout)
        for project in _projects(report)
    ]


def _clear_index_server(server: _Server, files: list[Path], timeout: float) -> ClearReport:
    """``--overwrite`` on an index server: the development versions it holds other bytes of, removed before the
    upload (a release file is refused)."""
    from ..staging import clear_dev_files_on_index_server

    return clear_dev_files_on_index_server(
        server.upload_url, server.index, files, server.auth, timeout=timeout
    )


def _removed_too(report: StageReport, cleared: ClearReport | None) -> list[str]:
    """Files the replaced versions took with them that this run did not stage again (a wheel not built tonight)."""
    given = {f.filename for f in report.files}
    return [name for name in (cleared.removed if cleared else []) if name not in given]


class _Lines:
    """Renders the events of a stage into an index server: one line per file staged."""

    def __call__(self, event: StageEvent) -> None:
        if event.kind == "uploaded":
            err_console.print(Text(f"staged {event.name}", style="green"))


class _Progress:
    """Renders the events of a stage into a folder or bucket: one bar for all bytes to send (its description
    says how many uploads run at once), one per file being sent."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.lock = threading.Lock()
        self.total = progress.add_task("hashing", total=0, visible=False)
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, event: StageEvent) -> None:
        with self.lock:
            self._handle(event)

    def _handle(self, event: StageEvent) -> None:
        p = self.progress
        if event.kind == "planned":
            p.update(self.total, total=event.total, description=f"{event.done} files", visible=True)
        elif event.kind == "connections":
            p.update(self.total, description=f"{event.done} uploads at once")
        elif event.kind == "uploading":
            self.tasks[event.name] = p.add_task(Text(event.name).plain, total=event.total)
        elif event.kind == "progress" and event.name in self.tasks:
            p.advance(self.tasks[event.name], event.done)
            p.advance(self.total, event.done)
        elif event.kind == "retry":
            p.console.print(Text(f"retrying {event.name}: {event.message}", style="yellow"))
        elif event.kind == "uploaded":
            task = self.tasks.pop(event.name, None)
            if task is not None:
                p.remove_task(task)
            p.console.print(Text(f"staged {event.name}", style="green"))
        elif event.kind == "index":
            p.console.print(Text("writing SHA256SUMS and the simple index", style="dim"))


def _summary(report: StageReport) -> None:
    from rich.table import Table

    table = Table(title=Text(f"staged into {report.container}"), title_justify="left")
    table.add_column("status")
    table.add_column("file", overflow="fold")
    table.add_column("sha256")
    for f in report.files:
        table.add_row(
            Text(f.status, style={"staged": "green", "replaced": "yellow"}.get(f.status, "dim")),
            Text(f.filename),
            f.sha256[:16],
        )
    out_console.print(table)
    staged = sum(1 for f in report.files if f.status == "staged")
    replaced = sum(1 for f in report.files if f.status == "replaced")
    line = f"{staged} staged, " + (f"{replaced} replaced, " if replaced else "")
    line += f"{len(report.files) - staged - replaced} already there"
    if report.index_pages:
        line += f"; the container holds {report.total_files} files"
    if report.connections and (staged or replaced):
        mb = report.bytes_uploaded / 1e6
        speed = mb / report.seconds if report.seconds > 0 else 0.0
        line += f"; {mb:.1f} MB in {report.seconds:.1f} s ({speed:.1f} MB/s), up to {max(report.connections)} at once"
    out_console.print(Text(line, style="bold"))
    if report.index_pages:
        for requirement in _requirements(report):
            out_console.print(
                Text(f"install with: pip install --index-url {_index_url(report.container)} {requirement}")
            )


def _requirements(report: StageReport) -> list[str]:
    """``project==version`` of each release among the files given to this run, for the install hint."""
    from ..distfiles import DistFile

    releases = set()
    for f in report.files:
        dist = DistFile.parse(f.filename)
        if dist is not None:
            releases.add((dist.name, dist.version))
    return [f"{name}=={version}" for name, version in sorted(releases)]


def _index_url(container: str) -> str:
    if "://" in container:
        return container.rstrip("/") + "/simple/"
    return Path(container).resolve().as_uri() + "/simple/"
