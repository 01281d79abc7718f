"""``shipwheel changelog`` and ``shipwheel mailmap-check``: contributor and pull-request lists from git alone."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ..errors import EnvironmentNotReadyError
from ._common import (
    add_config_options,
    config_from_args,
    out_console,
    print_json,
    status,
    write_text_output,
)

if TYPE_CHECKING:
    from ..config import Config


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("range", metavar="A..B", help="the previous release and the new one, e.g. v1.0.0..v1.1.0")
    p.add_argument(
        "--repo", type=Path, default=Path("."), help="git work tree or bare git directory (default: .)"
    )
    p.add_argument(
        "--mailmap-from", metavar="REV", default=None, help="apply the .mailmap of this revision (default: B)"
    )
    p.add_argument(
        "--bots", metavar="NAMES", default=None, help="names left out, space-separated (default: config)"
    )
    add_config_options(p)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "changelog",
        parents=[common],
        help="write the contributor and pull-request lists of a release, from git alone",
        description="Write the contributors (authors and Co-authored-by trailers, .mailmap applied, '+' for "
        "first-timers) and the pull requests merged (merge commits, homu merges, squash merges) of A..B. "
        "The rst output is byte-compatible with NumPy's tools/changelog.py. Offline: no GitHub token needed. "
        "Only the changelog goes to stdout; status goes to stderr.",
    )
    _add_common(p)
    p.add_argument(
        "--pr-url",
        metavar="TEMPLATE",
        default=None,
        help="link of a pull request with {number} (default: from the origin remote on GitHub)",
    )
    p.add_argument("--format", choices=("rst", "md"), default=None, help="output format (default: rst)")
    p.add_argument(
        "--titles", metavar="FILE", type=Path, default=None, help="titles file: 'NUMBER: title' lines"
    )
    p.add_argument(
        "--github-titles",
        action="store_true",
        help="ask the GitHub API for the current titles (needs GITHUB_TOKEN; off by default)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", type=Path, default=None, help="write here, not to stdout"
    )
    p.add_argument("--json", action="store_true", help="print the lists as JSON")
    p.set_defaults(handler=run)

    m = sub.add_parser(
        "mailmap-check",
        parents=[common],
        help="list identities of a release that look unmapped, with proposed .mailmap lines",
        description="Find identities in A..B (after the current .mailmap) that look unmapped: one address "
        "under several names, one name with several addresses, handle-only names, bots, placeholder names. "
        "Exit code 1 when there are any.",
    )
    _add_common(m)
    m.add_argument("--json", action="store_true", help="print the findings as JSON")
    m.set_defaults(handler=run_mailmap_check)


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    for key in ("pr_url", "format", "bots"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[f"changelog.{key.replace('_', '-')}"] = value
    project_dir = args.config_dir
    if project_dir is None and (args.repo / "pyproject.toml").is_file():
        project_dir = args.repo
    return config_from_args(args, overrides, project_dir=project_dir)


def run(args: argparse.Namespace) -> int:
    from ..notes import make_changelog, read_titles_file, render

    config = _config(args)
    opts = config.changelog
    titles_path: Path | None = args.titles
    if titles_path is None and opts.titles_file:
        titles_path = config.project_dir / opts.titles_file
    titles = read_titles_file(titles_path) if titles_path is not None else None
    token = None
    if args.github_titles:
        token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
        if not token:
            raise EnvironmentNotReadyError(
                "--github-titles needs a token", hint="set GITHUB_TOKEN, or leave --github-titles out"
            )
    log = make_changelog(
        args.repo,
        args.range,
        mailmap_from=args.mailmap_from,
        pr_url=opts.pr_url or None,
        bots=opts.bots,
        detect_bots=opts.detect_bots,
        titles=titles,
        github_token=token,
        progress=status,
    )
    if args.json:
        print_json(
            {
                "contributors": [
                    {"name": c.name, "first_time": c.first_time, "commits": c.commits}
                    for c in log.contributors
                ],
                "pull_requests": [
                    {
                        "number": p.number,
                        "title": p.title,
                        "url": log.url(p.number),
                        "kind": p.kind,
                        "commit": p.commit,
                    }
                    for p in log.pull_requests
                ],
            }
        )
        return 0
    text = render(log, opts.format)
    write_text_output(text, args.output)
    status(f"{len(log.contributors)} contributors, {len(log.pull_requests)} pull requests")
    return 0


def run_mailmap_check(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..notes import check_mailmap, read_history

    config = _config(args)
    history = read_history(args.repo, args.range, mailmap_from=args.mailmap_from, progress=status)
    findings = check_mailmap(history, bots=config.changelog.bots, detect_bots=config.changelog.detect_bots)
    if args.json:
        print_json(
            [
                {"code": f.code, "identity": f.identity, "message": f.message, "proposal": f.proposal}
                for f in findings
            ]
        )
        return 1 if findings else 0
    if not findings:
        status("every identity looks mapped")
        return 0
    table = Table(title=f"{len(findings)} identities look unmapped", title_justify="left")
    table.add_column("code", style="bold")
    table.add_column("identity")
    table.add_column("why")
    for f in findings:
        table.add_row(f.code, Text(f.identity), Text(f.message))
    out_console.print(table)
    lines = [f.proposal for f in findings if f.code != "bot"]
    if lines:
        out_console.print(Text("proposed .mailmap lines:", style="bold"))
        for line in lines:
            out_console.print(Text(line), soft_wrap=True)
    for f in findings:
        if f.code == "bot":
            out_console.print(Text(f.proposal), soft_wrap=True)
    return 1
