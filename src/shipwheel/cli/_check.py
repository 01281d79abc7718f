"""``shipwheel check VERSION``: the preflight of a release, every check pass / fail / skipped with its fix."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, err_console, out_console, print_json

_STYLE = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "skipped": ("skip", "dim")}


def _epilog() -> str:
    from ..release import CHECKS

    codes = "\n".join(f"  {code:<22} {what}" for code, (what, _) in CHECKS.items())
    return f"checks:\n{codes}"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "check",
        parents=[common],
        help="preflight of a release: tree, branch, version everywhere, index, notes, deprecations, API, docs, sdist",
        description="Run every preflight check of VERSION and report each as pass, fail or skipped, with a "
        "stable code and the fix. Nothing is changed. Exit 1 when a check fails.",
        epilog=_epilog,  # the checks' table, read from the release when the help is shown
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("version", metavar="VERSION", help="the version about to be released")
    p.add_argument(
        "-r", "--repository", help="the index to look for VERSION on (default: publish.repository)"
    )
    p.add_argument(
        "--skip", action="append", default=[], metavar="CODE", help="leave out a check (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..release import run_checks

    config = config_from_args(args)

    def progress(result: Any) -> None:
        if not args.json:
            err_console.print(Text(f"{result.code}: {result.status}", style="dim"))

    report = run_checks(config, args.version, repository=args.repository, skip=args.skip, on_result=progress)
    if args.json:
        print_json(report.as_dict())
        return 0 if report.ok else 1
    table = Table(title=f"shipwheel check {report.version}", show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("result")
    for r in report.results:
        label, style = _STYLE[r.status]
        body = Text(r.message)
        for line in r.details[:20]:
            body.append(f"\n  {line}", style="dim")
        if len(r.details) > 20:
            body.append(f"\n  … and {len(r.details) - 20} more", style="dim")
        if r.status == "fail" and r.fix:
            body.append(f"\nfix: {r.fix}", style="yellow")
        table.add_row(Text(label, style=style), r.code, body)
    out_console.print(table)
    failed = sum(r.status == "fail" for r in report.results)
    passed = sum(r.status == "pass" for r in report.results)
    skipped = len(report.results) - failed - passed
    summary = f"{passed} passed, {failed} failed, {skipped} skipped"
    out_console.print(Text(summary, style="bold red" if failed else "bold green"))
    return 0 if report.ok else 1
