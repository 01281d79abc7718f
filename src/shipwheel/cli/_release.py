"""The release commands: ``release`` and ``status`` here; ``check``, ``version``/``bump`` and ``tag`` in their
own modules. :data:`RELEASE_COMMANDS` lists them, in pipeline order, for the command table in ``cli/__init__``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.text import Text

from . import _announce, _branch, _check, _docs, _tag, _version
from ._common import LazyChoices, add_config_options, config_from_args, err_console, out_console, print_json

__all__ = ["RELEASE_COMMANDS"]

_STYLE = {
    "ran": "bold green",
    "done": "green",
    "skipped": "dim",
    "not-selected": "dim",
    "would-run": "yellow",
    "failed": "bold red",
    "pending": "dim",
    "running": "yellow",
}


def _steps() -> tuple[str, ...]:
    from ..release import STEPS

    return tuple(STEPS)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    steps = LazyChoices(_steps)
    p = sub.add_parser(
        "release",
        parents=[common],
        help="the whole release, resumable: check, notes, version, tag, build, verify, sign, publish, bump",
        description="Run the configured steps (release.steps) of releasing VERSION. Before each step the real "
        "state is asked (the tag exists and verifies, the files are on the index with the same sha256, the "
        "version is committed), so running the same command again after a failure finishes the release and "
        "never repeats a step that took effect. The record is .shipwheel/releases/VERSION.json. It ends with the "
        "git push commands of the branch and the tag; the push step (not in the default release.steps) runs them.",
    )
    p.add_argument("version", metavar="VERSION", help="the version to release")
    p.add_argument("-r", "--repository", help="the index (default: publish.repository)")
    p.add_argument("--from", dest="start", choices=steps, metavar="STEP", help="begin at this step")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        choices=steps,
        metavar="STEP",
        help="run just this step (repeatable)",
    )
    p.add_argument(
        "--select",
        metavar="SELECTOR",
        help="a release of these identifiers only (cp312-*), those this machine builds; recorded for a resumed run",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run_release)

    s = sub.add_parser(
        "status",
        parents=[common],
        help="every step of a release and what it did (from .shipwheel/releases/VERSION.json)",
    )
    s.add_argument("version", metavar="VERSION", help="the release")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write one HTML page: steps, verify grid, files and hashes",
    )
    add_config_options(s)
    s.set_defaults(handler=run_status)


def run_release(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..errors import ShipwheelError, UsageError
    from ..release import ReleaseEvent, release

    config = config_from_args(args)

    verbose = getattr(args, "verbose", False) or getattr(args, "debug", False)

    def progress(event: ReleaseEvent) -> None:
        if args.json or (event.detail and not verbose):
            return  # step starts always; their progress lines (the build's) with -v
        err_console.print(
            Text(f"{event.step}: {event.detail}" if event.detail else f"{event.step} …", style="dim")
        )

    repository = args.repository
    if repository and repository.startswith("file:") and not repository.startswith("file://"):
        # On the command line a relative folder is the shell's, as everywhere; in the configuration it is the
        # project's (the pipeline resolves that one).
        repository = f"file:{Path(repository[len('file:') :]).expanduser().resolve()}"
    try:
        outcome = release(
            config,
            args.version,
            repository=repository,
            start=args.start,
            only=args.only,
            select=args.select,
            dry_run=args.dry_run,
            on_event=progress,
        )
    except UsageError:
        raise  # refused before any step ran: the table would only repeat the record
    except ShipwheelError:
        if not args.json:
            _status_table(config, args.version)
        raise
    if args.json:
        print_json(
            {
                "version": outcome.version,
                "repository": outcome.repository,
                "dry_run": outcome.dry_run,
                "state_file": str(outcome.state_file),
                "wheelhouse": str(outcome.wheelhouse or ""),
                "staging": outcome.staging,
                "index_url": outcome.index_url,
                "steps": [{"step": s.step, "outcome": s.outcome, "detail": s.detail} for s in outcome.steps],
            }
        )
        return 0
    title = f"{'plan of' if outcome.dry_run else 'release'} {outcome.version} -> {outcome.repository}"
    out_console.print(Text(title, style="italic"), soft_wrap=True)  # a line of its own: a URL is never cut
    table = Table()
    table.add_column("step", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("detail")
    for s in outcome.steps:
        table.add_row(s.step, Text(s.outcome, style=_STYLE.get(s.outcome, "")), s.detail)
    out_console.print(table)
    if outcome.dry_run:
        out_console.print(Text("dry run: nothing was changed", style="bold"))
        return 0
    _where(config, outcome)
    return 0


def _where(config: Any, outcome: Any) -> None:
    """Where everything went, one line each, never wrapped (paths and the pip line are copied by hand)."""
    lines = [("wheelhouse", str(outcome.wheelhouse))]
    if outcome.staging:
        lines.append(("staging", outcome.staging))
    lines.append(("index", outcome.index_url or outcome.repository))
    if outcome.index_url:
        from ..release import project_name

        name = project_name(config)
        lines.append(
            ("install", f"python3 -m pip install --index-url {outcome.index_url} {name}=={outcome.version}")
        )
    lines.append(("record", str(outcome.state_file)))
    if not any(s.step == "push" and s.outcome in {"ran", "done"} for s in outcome.steps):
        from ..release import push_commands

        # nothing is pushed unless the push step is listed: the exact commands, one line each, to copy
        lines += [("push", line) for line in push_commands(config, outcome.version)]
    for label, value in lines:
        out_console.print(Text(f"{label + ':':<12}{value}"), soft_wrap=True)


def _status_table(config: Any, version: str) -> None:
    from rich.table import Table

    from ..release import load_state

    state = load_state(config, version)
    # the title on a line of its own: a long index URL is never wrapped into the table's width nor cut
    out_console.print(
        Text(f"release {state.version} -> {state.repository or '?'}", style="italic"), soft_wrap=True
    )
    table = Table()
    table.add_column("step", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("detail")
    for name, rec in state.steps.items():
        if name not in config.release.steps and rec.status == "pending":
            continue  # not a step of this project's release
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(rec.finished)) if rec.finished else ""
        table.add_row(name, Text(rec.status, style=_STYLE.get(rec.status, "")), when, rec.detail)
    out_console.print(table)
    _selection_table(config, state)


def _selection_table(config: Any, state: Any) -> None:
    """The release's selected identifiers, each with its wheel or ``missing``, and the sdist."""
    from rich.table import Table

    from ..release import release_coverage

    cover = release_coverage(config, state)
    if cover.selection is None:
        return
    table = Table()
    table.add_column("identifier", no_wrap=True)
    table.add_column("wheel")
    for ident, st in cover.states().items():
        table.add_row(
            ident, Text(cover.wheels[ident]) if st == "present" else Text("missing", style="bold red")
        )
    table.add_row("sdist", Text(cover.sdist) if cover.sdist else Text("missing", style="bold red"))
    out_console.print(table)
    for name in cover.changed:
        out_console.print(
            Text(f"{name}: other bytes than the build recorded", style="bold red"), soft_wrap=True
        )


def _selection_json(config: Any, state: Any) -> dict[str, Any]:
    from ..release import release_coverage

    cover = release_coverage(config, state)
    return {
        "identifiers": cover.states() if cover.selection is not None else None,
        "files": dict(cover.wheels),
        "sdist": cover.sdist or None,
        "missing": cover.missing,
        "changed": list(cover.changed),
    }


def run_status(args: argparse.Namespace) -> int:
    from ..release import load_state

    config = config_from_args(args)
    state = load_state(config, args.version)
    if args.html is not None:
        from ..release import render_status_html
        from ._common import write_text_output

        write_text_output(render_status_html(config, state), args.html, "--html")
    if args.json:
        print_json(
            {
                **state.as_dict(),
                "state_file": str(state.path),
                "exists": state.path.is_file(),
                "configured_steps": [s for s in state.steps if s in config.release.steps],
                "selection": _selection_json(config, state),
            }
        )
        return 0
    if not state.path.is_file():
        out_console.print(Text(f"no release of {state.version} recorded in {state.path}", style="yellow"))
        return 0
    _status_table(config, args.version)
    return 0


#: Command modules of the release, each with ``register(subparsers, common)``, in pipeline order.
RELEASE_COMMANDS: tuple[ModuleType, ...] = (
    _check,
    _version,
    _tag,
    sys.modules[__name__],
    _docs,
    _announce,
    _branch,
)
