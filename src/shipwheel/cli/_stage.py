"""``shipwheel stage``: put release files into a staging folder or bucket, with SHA256SUMS and a simple index."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.table import Table
from rich.text import Text

from ..distfiles import DistFile
from ..errors import UsageError
from ..staging import StageEvent, StageReport, open_container, stage_files, stage_to_index
from ._common import (
    add_config_options,
    config_from_args,
    err_console,
    jobs_arg,
    out_console,
    print_json,
    retries_arg,
    timeout_arg,
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "stage",
        parents=[common],
        help="put release files into a staging folder or S3 bucket with SHA256SUMS and a pip-installable index",
        description="Copy wheels and sdists (files, or every release file of a wheelhouse folder) into a "
        "staging container, a folder or s3://bucket/prefix; rewrite its SHA256SUMS and its static PEP 503 + "
        "PEP 691 index, so that 'pip install --index-url <container>/simple/ PROJECT==VERSION' installs them. "
        "An http(s) URL is an index server's upload URL (devpi, pypiserver): the files are uploaded with "
        "shipwheel publish's machinery and credentials.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILES|WHEELHOUSE", help="release files or folders")
    p.add_argument(
        "--to",
        dest="target",
        metavar="CONTAINER",
        help="folder, file://, s3://bucket/prefix, or an index upload URL (default: [tool.shipwheel.stage] to)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace staged files that differ (default: refuse)"
    )
    p.add_argument("-j", "--jobs", type=jobs_arg, default=4, help="parallel uploads (default: 4)")
    p.add_argument(
        "--timeout",
        type=timeout_arg,
        default=60.0,
        metavar="SECONDS",
        help="network timeout for an index server (default: 60; each request also has an overall deadline)",
    )
    p.add_argument(
        "--retries",
        type=retries_arg,
        default=5,
        metavar="N",
        help="retries per file for an index server (default: 5)",
    )
    p.add_argument(
        "--endpoint-url", metavar="URL", help="S3 endpoint for s3:// containers (or AWS_ENDPOINT_URL)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args, {"stage.to": args.target}).stage
    if not config.to:
        raise UsageError(
            "no container to stage into", hint="pass --to FOLDER|s3://BUCKET/PREFIX or set stage.to"
        )
    container = None
    if urlsplit(config.to).scheme not in {"http", "https"}:
        container = open_container(config.to, endpoint_url=args.endpoint_url)

    def show(event: StageEvent) -> None:
        if event.kind == "uploaded":
            err_console.print(Text(f"staged {event.name}", style="green"))
        elif event.kind == "index":
            err_console.print(Text("writing SHA256SUMS and the simple index", style="dim"))

    if container is None:
        # An index server (devpi, pypiserver): uploads through shipwheel publish's machinery.
        report = stage_to_index(
            args.files,
            config.to,
            jobs=args.jobs,
            retries=args.retries,
            timeout=args.timeout,
            on_event=show,
        )
    else:
        try:
            report = stage_files(
                args.files, container, overwrite=args.overwrite, jobs=args.jobs, on_event=show
            )
        finally:
            container.close()
    if args.json:
        print_json(
            {
                "container": report.container,
                "files": [
                    {"filename": f.filename, "status": f.status, "size": f.size, "sha256": f.sha256}
                    for f in report.files
                ],
                "index_pages": report.index_pages,
                "total_files": report.total_files,
            }
        )
    else:
        _summary(report)
    return 0


def _summary(report: StageReport) -> None:
    table = Table(title=Text(f"staged into {report.container}"), title_justify="left")
    table.add_column("status")
    table.add_column("file", overflow="fold")
    table.add_column("sha256")
    for f in report.files:
        table.add_row(
            Text(f.status, style="green" if f.status == "staged" else "dim"),
            Text(f.filename),
            f.sha256[:16],
        )
    out_console.print(table)
    staged = sum(1 for f in report.files if f.status == "staged")
    line = f"{staged} staged, {len(report.files) - staged} already there"
    if report.index_pages:
        line += f"; the container holds {report.total_files} files"
    out_console.print(Text(line, style="bold"))
    if report.index_pages:
        for requirement in _requirements(report):
            out_console.print(
                Text(f"install with: pip install --index-url {_index_url(report.container)} {requirement}")
            )


def _requirements(report: StageReport) -> list[str]:
    """``project==version`` of each release among the files given to this run, for the install hint."""
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
