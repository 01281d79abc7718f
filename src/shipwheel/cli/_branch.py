"""``shipwheel branch X.Y``: the maintenance branch, and the next series started on the current branch."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "branch",
        parents=[common],
        help="create the maintenance branch X.Y and start the next series (notes skeleton, .dev0) on this branch",
        description="Create the maintenance branch of series X.Y (release.branch-format, default "
        "maintenance/{series}.x) at HEAD (or --ref), without switching to it. On the current branch: write and "
        "commit the next series' release-notes skeleton (when release.notes-file is set) and, unless --no-bump, "
        "set the version to X.(Y+1).0.dev0. What is already there is left alone.",
    )
    p.add_argument("series", metavar="X.Y", help="the series that gets a maintenance branch")
    p.add_argument("--ref", default="HEAD", help="where the branch starts (default HEAD)")
    p.add_argument("--no-bump", action="store_true", help="leave the version on this branch as it is")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..release import make_branch

    config = config_from_args(args)
    result = make_branch(config, args.series, ref=args.ref, bump=not args.no_bump)
    if args.json:
        print_json(
            {
                "branch": result.branch,
                "created": result.created,
                "commit": result.commit,
                "next_version": result.next_version,
                "notes": result.notes,
                "commits": list(result.commits),
            }
        )
        return 0
    what = "created" if result.created else "already there"
    out_console.print(Text(f"{result.branch} {what} at {result.commit[:12]}", style="bold"))
    if result.notes:
        out_console.print(Text(f"release notes of {result.next_version}: {result.notes}"))
    if result.commits:
        out_console.print(Text(f"{len(result.commits)} commit(s) on this branch"))
    return 0
