"""``shipwheel matrix``: the expected build identifiers, and which of them this machine can build now."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ..errors import ProjectError
from ._common import add_config_options, config_from_args, emit, err_console, out_console, print_json

if TYPE_CHECKING:
    from ..config import Config


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "matrix",
        parents=[common],
        help="list the expected build identifiers and mark those this machine can build",
        description="List the identifiers a release of the project ships (requires-python x platforms, "
        "build/skip selectors) and the interpreter of this machine that builds each, or why none can.",
    )
    p.add_argument(
        "project", nargs="?", type=Path, default=None, help="project folder or sdist file (default: .)"
    )
    add_config_options(p)
    p.add_argument("--only", metavar="SELECTORS", help="keep only identifiers matching these selectors")
    p.add_argument(
        "--platform",
        choices=("linux", "macos", "windows"),
        help="only the identifiers of this operating system; with --print-build-identifiers, exactly what the "
        "project's cibuildwheel prints for --platform on this machine (its archs as this host reads them)",
    )
    p.add_argument(
        "--print-build-identifiers",
        action="store_true",
        help="print only the identifiers, one a line (as cibuildwheel --print-build-identifiers); without "
        "--platform: the whole release",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--interpreters", action="store_true", help="also list every interpreter found")
    p.set_defaults(handler=run)


def _config(args: argparse.Namespace, overrides: dict[str, Any]) -> Config:
    """The project's configuration: of a folder or an sdist (its requires-python), with ``--config-dir``'s
    ``[tool.shipwheel]`` over it when given (the checkout of a project whose sdist was made elsewhere)."""
    project: Path | None = args.project
    if project is not None and not project.exists():
        raise ProjectError(f"{project} does not exist", hint="pass a project folder or an sdist file")
    return config_from_args(args, overrides, project_dir=project)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..interpreters import discover, match_identifiers

    overrides: dict[str, Any] = {"build": args.only} if args.only else {}
    config = _config(args, overrides)
    if args.print_build_identifiers and args.platform:
        identifiers = config.cibuildwheel_identifiers(args.platform)
    else:
        identifiers = config.identifiers()
    if args.platform and not args.print_build_identifiers:
        identifiers = [i for i in identifiers if i.os == args.platform]
    if args.print_build_identifiers:
        emit("".join(f"{i}\n" for i in identifiers))
        return 0
    interpreters = discover(config.build.interpreters)
    ok, missing = match_identifiers(identifiers, interpreters)
    reasons = {m.identifier: m.reason for m in missing}
    if args.json:
        print_json(
            {
                "identifiers": [
                    {
                        "identifier": str(i),
                        "buildable": i in ok,
                        "interpreter": str(ok[i].path) if i in ok else None,
                        "reason": reasons.get(i),
                        "tested": _tested(config, str(i)),
                    }
                    for i in identifiers
                ],
                "interpreters": [
                    {
                        "path": str(it.path),
                        "version": ".".join(map(str, it.version)),
                        "free_threaded": it.free_threaded,
                        "platform": it.platform,
                        "identifier": str(it.identifier) if it.identifier else None,
                        "source": it.source,
                    }
                    for it in interpreters
                ],
            }
        )
        return 0
    table = Table(title=f"{len(identifiers)} identifiers, {len(ok)} buildable here", title_justify="left")
    table.add_column("identifier", style="bold")
    table.add_column("here")
    table.add_column("interpreter or reason", overflow="fold")
    for ident in identifiers:
        if ident in ok:
            table.add_row(str(ident), Text("yes", style="green"), Text(ok[ident].describe()))
        else:
            table.add_row(str(ident), Text("no", style="yellow"), Text(reasons[ident], style="dim"))
    out_console.print(table)
    if args.interpreters:
        it_table = Table(title="interpreters found", title_justify="left")
        for col in ("version", "ABI", "platform", "path", "found in"):
            it_table.add_column(col)
        for it in interpreters:
            it_table.add_row(
                ".".join(map(str, it.version)),
                it.identifier_python,
                it.platform,
                Text(str(it.path)),
                it.source,
            )
        out_console.print(it_table)
    if not identifiers:
        err_console.print("no identifiers selected: check requires-python, platforms, build and skip")
    return 0


def _tested(config: Config, identifier: str) -> bool:
    """Whether the build tests this identifier's wheel: a test-command, and not in test-skip."""
    from ..matrix import Selector

    options = config.for_identifier(identifier)
    return bool(options.test_command) and not Selector.parse(options.test_skip).matches(identifier)
