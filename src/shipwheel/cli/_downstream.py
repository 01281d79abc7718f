"""``shipwheel downstream VERSION``: the downstream projects' test suites against the candidate, as a table (or
JSON); exit 1 when a test regressed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ._common import (
    add_config_options,
    config_from_args,
    err_console,
    jobs_or_cores_arg,
    out_console,
    print_json,
    timeout_arg,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

_STYLE = {
    "passed": "green",
    "regressed": "bold red",
    "not-installable": "yellow",
    "unfinished": "yellow",
    "skipped": "dim",
}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "downstream",
        parents=[common],
        help="run the downstream projects' test suites against a release candidate",
        description="For each [[tool.shipwheel.downstream]] project and each local CPython that it and the "
        "candidate support, make a fresh environment with the downstream's released wheel, its test requirements "
        "and the candidate's wheel, and run its tests. Where tests fail, run them with the previous release from "
        "the index too: a test that fails with the candidate and passes with the previous release is a "
        "regression (exit code 1); one that fails in both is a known failure.",
    )
    p.add_argument("version", metavar="VERSION", help="the candidate's version")
    p.add_argument(
        "--from",
        dest="source",
        metavar="DIR_OR_URL",
        help="take the candidate's wheels from this staging container or index (default: the wheelhouse)",
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="test only this downstream project (repeatable)",
    )
    p.add_argument(
        "--select",
        metavar="SELECTORS",
        help="only these interpreters, by identifier (e.g. 'cp312-* cp313-*')",
    )
    p.add_argument(
        "--index-url",
        metavar="URL",
        help="simple index of the downstream projects, their test requirements and the previous release "
        "(default: UV_DEFAULT_INDEX, UV_INDEX_URL, PIP_INDEX_URL, else PyPI)",
    )
    p.add_argument(
        "--baseline",
        metavar="VERSION",
        help="compare with this release (default: the newest final release before VERSION on the index)",
    )
    p.add_argument(
        "--deadline",
        type=timeout_arg,
        metavar="SECONDS",
        help="seconds for the whole run; runs still going then are stopped "
        "(default: SHIPWHEEL_DOWNSTREAM_DEADLINE, else 3600)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=jobs_or_cores_arg,
        metavar="N",
        help="test suites at once (default: jobs; 0: cores)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


class _Progress:
    """Renders the library's events: a line per running cell (project, interpreter, what it does), a line
    when a cell ends."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[tuple[str, str], TaskID] = {}
        self.versions: dict[str, str] = {}

    def __call__(self, event: Any) -> None:
        p = self.progress
        key = (event.project, event.interpreter)
        if event.kind == "resolved":
            self.versions[event.project] = event.detail
            p.console.print(Text(f"{event.project}: {event.detail}", style="dim"))
        elif event.kind == "start":
            self.tasks[key] = p.add_task(self._label(event, "starting"), total=None)
        elif event.kind == "phase" and key in self.tasks:
            p.update(self.tasks[key], description=self._label(event, event.detail))
        elif event.kind == "done" and event.cell is not None:
            task = self.tasks.pop(key, None)
            if task is not None:
                p.remove_task(task)
            c = event.cell
            p.console.print(
                Text(
                    f"{c.status:<16}{c.project} {c.version} {c.interpreter}: {_outcome(c)} ({c.seconds:.1f} s)"
                ),
                style=_STYLE.get(c.status, ""),
            )

    def _label(self, event: Any, what: str) -> str:
        version = self.versions.get(event.project, "")
        return f"{event.project} {version} {event.interpreter}: {what}"


def _outcome(cell: Any) -> str:
    if cell.status in {"passed", "regressed"}:
        known = f", {len(cell.known_failures)} known failure(s)" if cell.known_failures else ""
        return f"{cell.passed} passed, {len(cell.regressions)} regression(s){known}"
    return str(cell.detail)


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..downstream import run_downstream

    config = config_from_args(args)
    quiet = getattr(args, "quiet", False) or args.json
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    )
    with progress:
        report = run_downstream(
            config,
            args.version,
            source=args.source,
            only=args.only,
            select=args.select,
            index_url=args.index_url,
            baseline=args.baseline,
            deadline=args.deadline,
            jobs=args.jobs,
            on_event=None if quiet else _Progress(progress),
        )
    if args.json:
        print_json(report.as_json())
        return 0 if report.ok else 1
    _render(report)
    return 0 if report.ok else 1


#: Regressions shown with their first lines; --json has them all.
_SHOWN = 20


def _render(report: Any) -> None:
    from rich.table import Table

    baseline = report.baseline or "no previous release"
    table = Table(title=f"{report.project} {report.version}: downstream tests (compared with {baseline})")
    for column in ("project", "python", "status", "passed", "regressions", "known failures", "time"):
        right = column in {"passed", "regressions", "known failures", "time"}
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    shown = ""
    for c in report.cells:
        name = f"{c.project} {c.version}".strip() if c.project != shown else ""
        shown = c.project
        ran = c.status in {"passed", "regressed"}
        table.add_row(
            name,
            c.python,
            Text(c.status, style=_STYLE.get(c.status, "")),
            str(c.passed) if ran else "-",
            Text(str(len(c.regressions)), style="bold red" if c.regressions else "") if ran else "-",
            str(len(c.known_failures)) if ran else "-",
            f"{c.seconds:.1f} s" if c.status != "skipped" else "",
        )
    out_console.print(table)
    for cell in report.cells:
        if cell.status not in {"passed", "regressed"}:
            out_console.print(
                Text(
                    f"{cell.status}: {f'{cell.project} {cell.version}'.strip()} on {cell.interpreter}: {cell.detail}"
                ),
                style=_STYLE.get(cell.status, ""),
                soft_wrap=True,
            )
    regressions = report.regressions
    for i, (cell, failure) in enumerate(regressions):
        head = f"regression: {cell.project} {cell.version} {cell.interpreter} {failure.test_id}"
        out_console.print(Text(head, style="bold red"), soft_wrap=True)
        if i < _SHOWN:
            out_console.print(Text(f"  with {baseline}: {failure.baseline}", style="dim"), soft_wrap=True)
            for line in failure.lines[:4]:
                out_console.print(Text(f"  {line}"), soft_wrap=True)
    if len(regressions) > _SHOWN:
        out_console.print(
            Text(f"(the first lines of the first {_SHOWN} only: --json has every one)", style="dim")
        )
    s = report.summary()
    known = (
        f", {s['known_failures']} known failure(s) (failing with {baseline} too)"
        if s["known_failures"]
        else ""
    )
    if regressions:
        line, style = f"{s['regressions']} regression(s) in {s['regressed']} run(s){known}", "bold red"
    elif report.unfinished:
        line, style = (
            f"{s['unfinished']} run(s) stopped by the deadline ({report.deadline:g} s){known}",
            "bold yellow",
        )
    else:
        line, style = (
            f"no regression in {s['tested']} run(s), {s['tests_passed']} tests passed{known}",
            "bold green",
        )
    out_console.print(Text(line, style=style), soft_wrap=True)
