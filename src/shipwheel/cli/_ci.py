"""``shipwheel ci github``: generate, write or check the GitHub Actions workflow of the release."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.text import Text

from ._common import add_config_options, config_from_args, emit, err_console, status

_DEFAULT_DIR = Path(".github/workflows")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ci",
        parents=[common],
        help="generate the CI workflows that build, verify and publish the release on native runners",
        description="Generate CI workflows from [tool.shipwheel]: one sdist from the ref, wheels built from it "
        "by a pinned cibuildwheel on native runners with the same matrix and build steps as shipwheel build, "
        "then shipwheel verify and trusted publishing with attestations.",
    )
    ci_sub = p.add_subparsers(dest="provider", metavar="PROVIDER", required=True)
    g = ci_sub.add_parser(
        "github",
        parents=[common],
        help="GitHub Actions: the wheels workflow (sdist, wheels, tag check, verify, publish, stage)",
        description="Print the GitHub Actions workflow generated from [tool.shipwheel]; --write writes it, "
        "--check fails with a diff when the committed one differs.",
    )
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the workflows into DIR")
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 with a diff when the files in DIR differ from the generated",
    )
    g.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help="the workflows folder (default: .github/workflows beside pyproject.toml)",
    )
    add_config_options(g)
    g.set_defaults(handler=run_github)


def run_github(args: argparse.Namespace) -> int:
    from ..ci import check_workflows, cibuildwheel_pin, github_workflows, write_workflows

    config = config_from_args(args)
    generated = github_workflows(config)
    pin, why = cibuildwheel_pin(config.cibuildwheel)
    status(f"cibuildwheel {pin.version} pinned: {why}")
    directory = args.output_dir or config.project_dir / _DEFAULT_DIR
    if args.check:
        drifts = check_workflows(generated, directory)
        for drift in drifts:
            what = "is missing" if drift.missing else "differs from what [tool.shipwheel] generates"
            err_console.print(Text.assemble(("drift:", "bold red"), f" {drift.path} {what}"))
            emit(drift.diff)
        if drifts:
            err_console.print(Text("run: shipwheel ci github --write"))
            return 1
        status(f"{len(generated)} workflow(s) in {directory} match the configuration")
        return 0
    if args.write:
        changed = write_workflows(generated, directory)
        for path in changed:
            status(f"wrote {path}")
        if not changed:
            status(f"{directory} is up to date")
        return 0
    for text in generated.values():
        emit(text)
    return 0
