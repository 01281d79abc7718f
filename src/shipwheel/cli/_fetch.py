"""``shipwheel fetch``: download one release from a staging container into a wheelhouse (the wheel-uploader's job)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ..errors import UsageError
from ._common import (
    add_config_options,
    add_transfer_options,
    config_from_args,
    jobs_fixed,
    out_console,
    print_json,
    transfer_overrides,
    transfer_progress,
)
from ._sign import add_trust_options, signers_from

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..staging import FetchEvent, FetchReport


def _family_help() -> str:
    from ..distfiles import FAMILIES

    return (
        f"platform family to keep, repeatable: {', '.join(FAMILIES)}, sdist (the sdist alone) "
        "(default: all; a family the release has no wheels for is an error)"
    )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "fetch",
        parents=[common],
        help="download every file of one release from a staging container into a wheelhouse",
        description="Download exactly the files of PROJECT VERSION from a staging container (a folder, an "
        "http(s) page of links or simple index, s3://bucket/prefix) into a wheelhouse: in parallel, resumed, "
        "verified against the sha256 the container publishes, renamed into place only when whole. The old "
        "wheel-uploader form 'PROJECT VERSION -u URL -w DIR -t FAMILY' keeps working.",
    )
    p.add_argument(
        "project",
        metavar="PROJECT",
        help="project name, normalized (NumPy = numpy, foo_bar = foo-bar = Foo.Bar)",
    )
    p.add_argument("version", metavar="VERSION", help="exact version (2.4.6 never takes 2.4.60)")
    p.add_argument(
        "--from",
        "-u",
        "--url",
        dest="source",
        metavar="CONTAINER",
        help="folder, file://, http(s):// page or index, s3://bucket/prefix (default: [tool.shipwheel.fetch] from)",
    )
    p.add_argument(
        "-t",
        "--type",
        dest="families",
        action="append",
        metavar="FAMILY",
        help=_family_help,  # the families of distfiles, read when the help is shown
    )
    p.add_argument(
        "--only", metavar="SELECTORS", help="keep wheels whose identifiers match, e.g. 'cp312-* cp313-*'"
    )
    p.add_argument("--no-sdist", action="store_true", help="leave the sdist out")
    p.add_argument("-w", "--wheelhouse", type=Path, default=None, help="target folder (default: wheelhouse)")
    add_transfer_options(p, "fetch", what="downloads")
    p.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        metavar="HOST",
        help="also follow links and redirects to this host (repeatable)",
    )
    p.add_argument(
        "--endpoint-url", metavar="URL", help="S3 endpoint for s3:// containers (or AWS_ENDPOINT_URL)"
    )
    p.add_argument(
        "--require-signature",
        action="store_true",
        help="refuse a container without a signed SHA256SUMS (a SHA256SUMS.asc that is present is always "
        "checked with gpg, GNUPGHOME respected)",
    )
    add_trust_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


class _Progress:
    """Renders fetch events: one bar for the whole release and one per file being downloaded."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.lock = threading.Lock()
        self.total: TaskID | None = None
        self.tasks: dict[str, TaskID] = {}
        self.done: dict[str, int] = {}
        self.files = 0

    def __call__(self, event: FetchEvent) -> None:
        with self.lock:
            self._handle(event)

    def _handle(self, event: FetchEvent) -> None:
        p = self.progress
        if event.kind == "listed":
            self.files = event.total or 0
            self.total = p.add_task(f"{self.files} files", total=None)
        elif event.kind == "connections" and self.total is not None:
            p.update(self.total, description=f"{self.files} files, {event.done} at once")
        elif event.kind == "start":
            self.tasks[event.filename] = p.add_task(Text(event.filename).plain, total=event.total)
            self.done[event.filename] = 0
        elif event.kind == "progress" and event.filename in self.tasks:
            delta = event.done - self.done.get(event.filename, 0)
            self.done[event.filename] = event.done
            p.update(self.tasks[event.filename], completed=event.done, total=event.total)
            if self.total is not None:
                p.advance(self.total, delta)
        elif event.kind == "retry":
            p.console.print(Text(f"retrying {event.filename}: {event.message}", style="yellow"))
        elif event.kind == "done" and event.outcome is not None:
            task = self.tasks.pop(event.filename, None)
            if task is not None:
                p.remove_task(task)
            o = event.outcome
            style = {"downloaded": "green", "present": "dim", "failed": "red"}[o.status]
            note = f": {o.error}" if o.error else ""
            p.console.print(Text(f"{o.status:<10} {o.filename}{note}", style=style))


def run(args: argparse.Namespace) -> int:
    from .._retry import RetryPolicy
    from ..matrix import Selector
    from ..sign import manifest_hook
    from ..staging import Selection, families_from, fetch_release, open_container

    overrides = {
        "fetch.from": args.source,
        "fetch.wheelhouse": str(args.wheelhouse) if args.wheelhouse is not None else None,
        "fetch.allow-hosts": args.allow_hosts,
        **transfer_overrides(args, "fetch"),
    }
    full_config = config_from_args(args, overrides)
    config = full_config.fetch
    trusted = signers_from(args, full_config, resolve=False)
    only = Selector.parse(args.only, what="--only selector") if args.only else None
    selection = Selection(
        project=args.project,
        version=args.version,
        families=families_from(args.families),
        only=only,
        sdist=not args.no_sdist,
    )
    if not config.from_:
        raise UsageError(
            "no container to fetch from", hint="pass --from URL or set [tool.shipwheel.fetch] from"
        )
    container = open_container(
        config.from_,
        allow_hosts=config.allow_hosts,
        endpoint_url=args.endpoint_url,
        timeout=config.timeout,
        max_connections=4 * max(1, config.jobs),  # the last files may come over several connections each
    )
    policy = RetryPolicy(retries=config.retries)
    try:
        with transfer_progress(quiet=args.json) as progress:
            report = fetch_release(
                container,
                selection,
                config.wheelhouse,
                jobs=config.jobs,
                policy=policy,
                on_event=_Progress(progress),
                # a signed manifest is always checked when the container has one; --require-signature demands it
                verify_manifest=manifest_hook(
                    require_signature=args.require_signature, gpg=full_config.sign.gpg, trusted=trusted
                ),
                require_manifest=args.require_signature,
                adaptive=not jobs_fixed(args, full_config, "fetch"),
            )
    finally:
        container.close()
    if args.json:
        print_json(_as_json(report))
    else:
        _summary(report)
    return 0 if report.ok else 1


def _as_json(report: FetchReport) -> dict[str, Any]:
    return {
        "container": report.container,
        "project": report.project,
        "version": report.version,
        "wheelhouse": str(report.dest),
        "ok": report.ok,
        "seconds": round(report.seconds, 3),
        "connections": report.connections,
        "bytes_downloaded": report.bytes_downloaded,
        "files": [
            {
                "filename": f.filename,
                "status": f.status,
                "size": f.size,
                "sha256": f.sha256,
                "verified_by": list(f.verified_by),
                "attempts": f.attempts,
                "resumed_from": f.resumed_from,
                "error": f.error,
            }
            for f in report.files
        ],
        "filtered_out": report.skipped,
        "rejected": [{"name": r.name, "reason": r.reason} for r in report.rejected],
        "unverified": report.unverified,
    }


def _summary(report: FetchReport) -> None:
    from rich.table import Table

    counts = {s: sum(1 for f in report.files if f.status == s) for s in ("downloaded", "present", "failed")}
    mb = report.bytes_downloaded / 1e6
    speed = mb / report.seconds if report.seconds > 0 else 0.0
    table = Table(
        title=Text(f"{report.project} {report.version} from {report.container} into {report.dest}"),
        title_justify="left",
    )
    table.add_column("status")
    table.add_column("file", overflow="fold")
    table.add_column("verified by / error", overflow="fold")
    for f in report.files:
        style = {"downloaded": "green", "present": "dim", "failed": "red"}[f.status]
        detail = f.error or (", ".join(f.verified_by) or "length only (no published sha256 or size)")
        table.add_row(Text(f.status, style=style), Text(f.filename), Text(detail))
    out_console.print(table)
    line = (
        f"{counts['downloaded']} downloaded ({mb:.1f} MB in {report.seconds:.1f} s, {speed:.1f} MB/s), "
        f"{counts['present']} already present, {counts['failed']} failed"
    )
    if report.skipped:
        line += f", {report.skipped} left out by filters"
    if report.connections and counts["downloaded"]:
        line += f"; up to {max(report.connections)} downloads at once"
    out_console.print(Text(line, style="bold red" if counts["failed"] else "bold"))
    if report.unverified:
        out_console.print(
            Text(
                f"warning: {len(report.unverified)} files have no published sha256 (only their length was checked)",
                style="yellow",
            )
        )
    for rejected in report.rejected[:20]:
        out_console.print(Text(f"ignored link {rejected.name!r}: {rejected.reason}", style="yellow"))
    if len(report.rejected) > 20:
        out_console.print(Text(f"... and {len(report.rejected) - 20} more ignored links", style="yellow"))
