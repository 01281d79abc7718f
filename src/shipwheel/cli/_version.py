"""``shipwheel version`` (show or set the version everywhere) and ``shipwheel bump`` (the next PEP 440 version)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "version",
        parents=[common],
        help="show the version in every configured file, or set it there and commit",
        description="Without VERSION: the version each configured location holds (pyproject.toml, __init__.py, "
        "meson.build, patterns), exit 1 when they disagree. With VERSION: write it everywhere and commit "
        "those files (release.commit-message, default 'REL: Release {version}').",
    )
    p.add_argument("version", nargs="?", metavar="VERSION", help="the PEP 440 version to set")
    p.add_argument("--no-commit", action="store_true", help="write the files, do not commit")
    p.add_argument("-m", "--message", help="the commit message ({version} is replaced)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run_version)

    b = sub.add_parser(
        "bump",
        parents=[common],
        help="move to the next PEP 440 version (dev -> a/b/rc -> final -> next dev) and commit",
        description="Without options: a final release goes to the next micro's .dev0, rcN to rcN+1, .devN to "
        ".devN+1. --pre a|b|rc moves to (or on within) that phase, --final drops pre and dev parts, --dev starts "
        "a development release. --next picks the segment that grows after a final.",
    )
    kind = b.add_mutually_exclusive_group()
    kind.add_argument("--pre", choices=["a", "b", "rc"], help="the next pre-release of this kind")
    kind.add_argument("--final", action="store_true", help="the final release of the current version")
    kind.add_argument("--dev", action="store_true", help="the next development release")
    b.add_argument(
        "--next",
        choices=["major", "minor", "micro"],
        default="micro",
        help="after a final: which segment grows",
    )
    b.add_argument("--no-commit", action="store_true", help="write the files, do not commit")
    b.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(b)
    b.set_defaults(handler=run_bump)


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def run_version(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..release import current_version, locations_of, parse_version, read_locations, set_version

    config = config_from_args(args)
    if args.version is None:
        found = read_locations(locations_of(config))
        try:
            version: str | None = str(current_version(config))
        except Exception:  # disagreeing or unparsable locations: shown in the table, exit 1
            version = None
        if args.json:
            print_json(
                {"version": version, "locations": {_rel(p, config.project_dir): v for p, v in found.items()}}
            )
        else:
            table = Table(box=None, show_header=False)
            for path, value in found.items():
                table.add_row(_rel(path, config.project_dir), value)
            out_console.print(table)
            out_console.print(
                Text(version, style="bold") if version else Text("the locations disagree", style="bold red")
            )
        return 0 if version else 1
    change = set_version(config, parse_version(args.version), commit=not args.no_commit, message=args.message)
    return _report(change, config.project_dir, args.json)


def run_bump(args: argparse.Namespace) -> int:
    from ..release import bump

    config = config_from_args(args)
    change = bump(
        config, pre=args.pre, final=args.final, dev=args.dev, segment=args.next, commit=not args.no_commit
    )
    return _report(change, config.project_dir, args.json)


def _report(change: Any, base: Path, as_json: bool) -> int:
    files = [_rel(p, base) for p in change.changed]
    if as_json:
        print_json({"old": change.old, "new": str(change.new), "changed": files, "commit": change.commit})
        return 0
    if not files:
        out_console.print(Text(f"already {change.new}; nothing changed"))
        return 0
    out_console.print(Text(f"{change.old} -> {change.new} in {', '.join(files)}", style="bold"))
    if change.commit:
        out_console.print(Text(f"committed {change.commit[:12]}"))
    return 0
