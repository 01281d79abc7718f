"""``shipwheel config``: the resolved configuration and where each value came from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from ..config import import_cibuildwheel
from ..errors import ProjectError
from ._common import add_config_options, config_from_args, err_console, out_console, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "config",
        parents=[common],
        help="show the resolved configuration and where each value came from",
        description="Show the resolved [tool.shipwheel] configuration. Precedence, highest first: command line > "
        "SHIPWHEEL_* environment > [tool.shipwheel] > CIBW_* environment > [tool.cibuildwheel] > packaged "
        "defaults.",
    )
    p.add_argument(
        "project", nargs="?", type=Path, default=None, help="project folder or sdist file (default: .)"
    )
    add_config_options(p)
    p.add_argument("--json", action="store_true", help="print JSON: {key: {value, source}}")
    p.add_argument(
        "--import-cibuildwheel",
        action="store_true",
        help="print the [tool.shipwheel] table equivalent to the project's cibuildwheel configuration",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args, project_dir=args.project)
    if config.ci_only:
        err_console.print(
            Text(
                f"used by cibuildwheel's CI runs only (accepted, no effect here): {', '.join(config.ci_only)}"
            ),
            style="dim",
            soft_wrap=True,
        )
    if args.import_cibuildwheel:
        if not any(s.startswith(("[tool.cibuildwheel", "env CIBW_")) for s in config.sources.values()):
            raise ProjectError(
                f"{config.project_dir} has no cibuildwheel configuration ([tool.cibuildwheel] or CIBW_*)",
                hint="run it in a project that builds with cibuildwheel",
            )
        out_console.file.write(import_cibuildwheel(config))
        return 0
    values = config.as_dict()
    shown_dir = str(config.project_dir)
    if args.json:
        print_json(
            {
                "project_dir": shown_dir,
                "pyproject": config.pyproject_label or None,
                "values": {k: {"value": v, "source": config.sources[k]} for k, v in values.items()},
                "overrides": [
                    {"select": o.select, "source": o.origin, "values": _jsonable(o.values)}
                    for o in config.overrides
                ],
                "warnings": list(config.warnings),
                "ci_only": list(config.ci_only),
            }
        )
        return 0
    table = Table(title=f"shipwheel configuration of {shown_dir}", title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("source")
    for key, value in values.items():
        source = config.sources[key]
        style = "dim" if source == "default" else "green"
        table.add_row(Text(key), Text(_show(value)), Text(source), style=style)
    out_console.print(table)
    if config.overrides:
        per = Table(title="per identifier", title_justify="left")
        for col in ("select", "key", "value", "source"):
            per.add_column(col, overflow="fold")
        for o in config.overrides:
            for name, value in _jsonable(o.values).items():
                per.add_row(Text(o.select), Text(name.replace("_", "-")), Text(_show(value)), Text(o.origin))
        out_console.print(per)
    return 0


def _jsonable(values: Any) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "items"):
            value = dict(value)
        out[name.replace("_", "-")] = value
    return out


def _show(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(value) if value else "[]"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '""'
