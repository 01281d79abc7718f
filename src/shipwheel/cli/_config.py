"""``shipwheel config``: the resolved configuration and where each value came from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from ._common import add_config_options, config_from_args, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "config",
        parents=[common],
        help="show the resolved configuration and where each value came from",
        description="Show the resolved [tool.shipwheel] configuration. Precedence, highest first: command line > "
        "SHIPWHEEL_* environment > pyproject.toml > packaged defaults.",
    )
    p.add_argument("project", nargs="?", type=Path, default=None, help="project folder (default: .)")
    add_config_options(p)
    p.add_argument("--json", action="store_true", help="print JSON: {key: {value, source}}")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args, project_dir=args.project)
    values = config.as_dict()
    if args.json:
        print_json(
            {
                "project_dir": str(config.project_dir),
                "pyproject": str(config.pyproject) if config.pyproject else None,
                "values": {k: {"value": v, "source": config.sources[k]} for k, v in values.items()},
            }
        )
        return 0
    table = Table(title=f"shipwheel configuration of {config.project_dir}", title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("source")
    for key, value in values.items():
        source = config.sources[key]
        style = "dim" if source == "default" else "green"
        table.add_row(Text(key), Text(_show(value)), Text(source), style=style)
    out_console.print(table)
    return 0


def _show(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(value) if value else "[]"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '""'
