"""``shipwheel docs VERSION --to DOCS_REPO``: the built docs under ``X.Y/``, ``stable``, the switcher, a commit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "docs",
        parents=[common],
        help="put the built docs into X.Y/ of the docs git repository, point stable at a final, commit",
        description="Copy the built HTML (--from, else release.docs-dir) into X.Y/ of the docs repository (--to, "
        "else release.docs-repo), point the stable symlink at it for a final release newer than the current "
        "stable, rewrite versions.json (the pydata-sphinx-theme switcher) and commit. Nothing is pushed "
        "without --push.",
    )
    p.add_argument("version", metavar="VERSION", help="the release")
    p.add_argument("--to", dest="repo", type=Path, metavar="DOCS_REPO", help="the docs git repository")
    p.add_argument("--from", dest="built", type=Path, metavar="DIR", help="the built HTML docs")
    p.add_argument("--url", help="public URL of the docs repository, for the switcher (release.docs-url)")
    p.add_argument("--push", action="store_true", help="push the commit to the docs repository's origin")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_config_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..release import parse_version, project_name, publish_docs

    config = config_from_args(args)
    opts = config.release
    built = args.built or (config.project_dir / opts.docs_dir if opts.docs_dir else None)
    repo = args.repo or (config.project_dir / opts.docs_repo if opts.docs_repo else None)
    if built is None or repo is None:
        raise UsageError(
            "no built docs or no docs repository given", hint="pass --from DIR and --to DOCS_REPO"
        )
    name = project_name(config)
    result = publish_docs(
        name, str(parse_version(args.version)), built=built, repo=repo, base_url=args.url or opts.docs_url,
        push=args.push,
    )  # fmt: skip
    if args.json:
        print_json(
            {
                "series": result.series,
                "stable": result.stable,
                "commit": result.commit,
                "pushed": result.pushed,
            }
        )
        return 0
    done = f"committed {result.commit[:12]}" if result.commit else "nothing changed"
    out_console.print(Text(f"{repo}/{result.series}/: {done}; stable -> {result.stable}", style="bold"))
    if result.pushed:
        out_console.print(Text("pushed"))
    return 0
