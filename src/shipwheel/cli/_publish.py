"""``shipwheel publish``: upload a release, wheels in parallel first, the sdist last, resumable."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from . import _github
from ._common import (
    add_config_options,
    add_release_paths,
    add_transfer_options,
    config_from_args,
    err_console,
    jobs_fixed,
    out_console,
    print_json,
    transfer_overrides,
    transfer_progress,
)

if TYPE_CHECKING:  # the upload machinery (httpx) is imported when the command runs, not at every start-up
    from rich.table import Table

    from ..publish import Plan, PublishEvent, PublishResult

_ACTION_STYLE = {
    "upload": "cyan",
    "skip": "dim",
    "uploaded": "green",
    "skipped": "dim",
    "failed": "red",
    "not-sent": "yellow",
}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "publish",
        parents=[common],
        help="upload a release to PyPI or any index: wheels in parallel, then the sdist; resumable",
        description="Verify the release files, ask the index what it already has, then upload the wheels in "
        "parallel and, once the index lists every wheel, the sdist. Files already there with the same hash are "
        "skipped; a file there with another hash stops the run before anything is uploaded. Run it again after "
        "any failure to finish the release. Credentials: SHIPWHEEL_USERNAME/SHIPWHEEL_PASSWORD, "
        "TWINE_USERNAME/TWINE_PASSWORD, ~/.pypirc or keyring (a password alone is an API token, user __token__).",
    )
    add_release_paths(p)
    p.add_argument(
        "-r", "--repository", metavar="TARGET",
        help="pypi, testpypi, a ~/.pypirc section, an upload URL or file:PATH (default: SHIPWHEEL_REPOSITORY_URL, "
        "TWINE_REPOSITORY_URL, TWINE_REPOSITORY, UV_PUBLISH_URL, then publish.repository)",
    )  # fmt: skip
    p.add_argument(
        "--repository-url", "--publish-url", dest="repository_url", metavar="URL",
        help="the upload URL (twine's --repository-url, uv's --publish-url); same as -r URL",
    )  # fmt: skip
    p.add_argument(
        "--index-url", "--check-url", dest="index_url", metavar="URL",
        help="the index's simple URL, when it cannot be derived from the upload URL (uv's --check-url; "
        "default UV_PUBLISH_CHECK_URL)",
    )  # fmt: skip
    p.add_argument(
        "-u",
        "--username",
        help="user name (default: from the environment or ~/.pypirc; __token__ with a token)",
    )
    p.add_argument(
        "-p", "--password",
        help="password or API token (prefer SHIPWHEEL_PASSWORD / TWINE_PASSWORD: a command line is visible to "
        "other users of the machine)",
    )  # fmt: skip
    p.add_argument("-t", "--token", help="an API token, sent with the user name __token__ (uv's --token)")
    p.add_argument(
        "--config-file",
        type=Path,
        metavar="PATH",
        help="the .pypirc to read instead of ~/.pypirc (twine's option)",
    )
    p.add_argument(
        "--cert", type=Path, metavar="PATH",
        help="CA bundle to check the index's certificate with (default: TWINE_CERT, the section's ca_cert)",
    )  # fmt: skip
    p.add_argument(
        "--client-cert", type=Path, metavar="PATH",
        help="a PEM file with the client certificate and its key (default: TWINE_CLIENT_CERT, client_cert)",
    )  # fmt: skip
    p.add_argument(
        "--attestations", action=argparse.BooleanOptionalAction, default=None,
        help="send the PEP 740 attestations found beside the files (default: only to PyPI and TestPyPI)",
    )  # fmt: skip
    # twine's and uv's habits, accepted: identical files are always skipped and publish never prompts.
    p.add_argument(
        "--skip-existing", action="store_true", help="accepted for twine: identical files are skipped"
    )
    p.add_argument("--non-interactive", action="store_true", help="accepted for twine: publish never prompts")
    add_transfer_options(p, "publish", what="uploads")
    p.add_argument("--no-verify", action="store_true", help="upload without running shipwheel verify first")
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="publish even when the files are not the whole release: by default a wheel the others imply (their "
        "Python versions times their platforms) or a file the SHA256SUMS beside them lists stops the upload "
        "before anything is sent",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan (skipped, uploaded, order) and change nothing"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def _repository_spec(args: argparse.Namespace, configured: str, configured_source: str) -> str:
    if args.repository or args.repository_url:
        return str(args.repository or args.repository_url)
    if configured_source.startswith("env"):
        return configured
    for var in ("SHIPWHEEL_REPOSITORY_URL", "TWINE_REPOSITORY_URL", "TWINE_REPOSITORY", "UV_PUBLISH_URL"):
        if os.environ.get(var):
            return os.environ[var]
    return configured


def _plan_table(plan: Plan) -> Table:
    from rich.table import Table

    table = Table(title=f"{plan.project} {plan.version} -> {plan.repository.display}", title_justify="left")
    for col in ("#", "file", "action", "size", "why"):
        table.add_column(col, overflow="fold")
    for i, f in enumerate(plan.files, start=1):
        table.add_row(
            str(i),
            Text(f.filename),
            Text(f.action, style=_ACTION_STYLE[f.action]),
            f"{f.size / 1e6:.1f} MB",
            Text(f.reason, style="dim"),
        )
    return table


def _summary(result: PublishResult) -> Table:
    from rich.table import Table

    table = Table(
        title=f"{result.plan.project} {result.plan.version} on {result.plan.repository.display}",
        title_justify="left",
    )
    for col in ("file", "result", "attempts", "detail"):
        table.add_column(col, overflow="fold")
    for r in result.results:
        table.add_row(
            Text(r.filename),
            Text(r.status, style=_ACTION_STYLE[r.status]),
            str(r.attempts or ""),
            Text(r.detail, style="dim"),
        )
    return table


class _ProgressView:
    """A bar per file being sent and one for the whole release, on stderr; quiet when stderr is not a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.progress = transfer_progress(quiet=quiet or not err_console.is_terminal)
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.quiet = quiet
        self._all: Any = None  # the whole release: its throughput, and the uploads at once

    def __call__(self, event: PublishEvent) -> None:
        with self._lock:
            if event.kind == "start":
                if event.filename in self._tasks:
                    self.progress.reset(self._tasks[event.filename], total=event.total)
                else:
                    self._tasks[event.filename] = self.progress.add_task(event.filename, total=event.total)
            elif event.kind == "bytes" and event.filename in self._tasks:
                self.progress.advance(self._tasks[event.filename], event.amount)
                if self._all is not None:
                    self.progress.advance(self._all, event.amount)
            elif event.kind == "connections":
                what = f"all files, {event.amount} at once (at most {event.total})"
                if self._all is None:
                    self._all = self.progress.add_task(what, total=None)
                else:
                    self.progress.update(self._all, description=what)
            elif event.kind in {"done", "failed"}:
                task = self._tasks.pop(event.filename, None)
                if task is not None:
                    self.progress.remove_task(task)
                if not self.quiet:
                    style = "green" if event.kind == "done" else "red"
                    line = Text(f"{event.detail if event.kind == 'done' else 'failed'} ", style=style)
                    line.append(event.filename, style="default")
                    if event.kind == "failed":
                        line.append(f": {event.detail}", style="dim")
                    self.progress.console.print(line, soft_wrap=True)
            elif event.kind == "retry" and not self.quiet:
                self.progress.console.print(
                    Text(f"retrying {event.filename}: {event.detail}", style="yellow")
                )
            elif event.kind in {"wait", "plan"} and not self.quiet:
                self.progress.console.print(Text(event.detail, style="dim"))


def run(args: argparse.Namespace) -> int:
    overrides = transfer_overrides(args, "publish")
    if args.no_verify:
        overrides["publish.verify"] = False
    from ..publish import PublishSettings, UploadFailedError, publish_files
    from ..release import publish_check

    config = config_from_args(args, overrides)
    options = config.publish
    spec = _repository_spec(args, options.repository, config.sources.get("publish.repository", "default"))
    paths = list(args.paths) or [config.build.output_dir]
    view = _ProgressView(quiet=args.json)
    try:
        with view.progress:
            result = publish_files(
                paths,
                PublishSettings(
                    repository=spec,
                    index_url=args.index_url or os.environ.get("UV_PUBLISH_CHECK_URL") or None,
                    username=args.username,
                    password=args.password,
                    token=args.token,
                    config_file=args.config_file,
                    ca_cert=args.cert,
                    client_cert=args.client_cert,
                    attestations=args.attestations,
                    jobs=max(1, options.jobs),
                    fixed_jobs=jobs_fixed(args, config, "publish"),
                    retries=options.retries,
                    timeout=options.timeout,
                    check=publish_check(config) if options.verify else None,
                    dry_run=args.dry_run,
                    complete=not args.allow_incomplete,
                ),
                on_event=view,
            )
    except UploadFailedError as exc:
        _github.publish_finished(exc.result)
        if args.json:
            print_json(exc.result.as_dict())
        else:
            out_console.print(_summary(exc.result))
        raise
    _github.publish_finished(result)
    if args.json:
        print_json(result.as_dict())
        return 0
    if result.dry_run:
        out_console.print(_plan_table(result.plan))
        out_console.print(
            Text(f"dry run: nothing was uploaded ({len(result.plan.uploads)} would be)", style="bold")
        )
        return 0
    out_console.print(_summary(result))
    sent = sum(1 for r in result.results if r.status == "uploaded")
    line = Text(
        f"{sent} uploaded, {len(result.results) - sent} already there, in {result.seconds:.1f} s: ",
        style="bold",
    )
    line.append(result.url, style="link " + result.url if result.url.startswith("http") else "")
    out_console.print(line)
    return 0
