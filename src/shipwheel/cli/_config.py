"""``shipwheel config``: the resolved configuration, and per identifier which value wins and where it came from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ..errors import ProjectError
from ._common import add_config_options, config_from_args, err_console, out_console, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from ..config import Config, JsonValue, Resolved


def _description() -> str:
    from ..config import PRECEDENCE

    return (
        "Show the resolved configuration and where each value came from. Precedence, lowest first: "
        + " < ".join(PRECEDENCE)
        + "; each table's platform tables and overrides apply per identifier."
    )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "config",
        parents=[common],
        help="show the resolved configuration and where each value came from",
        description=_description,  # the precedence, read from the configuration when the help is shown
    )
    p.add_argument(
        "project", nargs="?", type=Path, default=None, help="project folder or sdist file (default: .)"
    )
    add_config_options(p)
    p.add_argument("--json", action="store_true", help="print JSON: {key: {value, source}}")
    p.add_argument(
        "--identifier",
        metavar="ID",
        type=_identifier,
        help="the values one identifier gets (cp312-manylinux_x86_64): which value wins, where it came from, "
        "what it replaced",
    )
    p.add_argument(
        "--import-cibuildwheel",
        action="store_true",
        help="print the [tool.shipwheel] table equivalent to the project's cibuildwheel configuration",
    )
    p.set_defaults(handler=run)


def _identifier(text: str) -> str:
    from ..matrix import Identifier

    return str(Identifier.parse(text))


def run(args: argparse.Namespace) -> int:
    from ..config import import_cibuildwheel

    config = config_from_args(args, project_dir=args.project)
    if config.ci_only:
        used = ", ".join(config.ci_only)
        err_console.print(
            Text(f"used by cibuildwheel's CI runs only (accepted, no effect here): {used}"), style="dim"
        )
    for remark in config.remarks:
        err_console.print(Text(f"note: {remark}"), style="dim")
    if args.import_cibuildwheel:
        if not any(
            s.startswith(("[tool.cibuildwheel", "env CIBW_", ".github/")) for s in config.sources.values()
        ) and not [lv for lv in config.levels if lv.tool == "cibuildwheel"]:
            raise ProjectError(
                f"{config.project_dir} has no cibuildwheel configuration ([tool.cibuildwheel] or CIBW_*)",
                hint="run it in a project that builds with cibuildwheel",
            )
        out_console.file.write(import_cibuildwheel(config))
        return 0
    if args.json:
        print_json(_json(config, args.identifier))
        return 0
    line = config.cibuildwheel
    err_console.print(Text(f"cibuildwheel rules: {line.line.name} ({line.reason})"), style="dim")
    if args.identifier:
        out_console.print(_identifier_table(config, args.identifier))
        return 0
    out_console.print(_values_table(config))
    scoped = _scoped_table(config)
    if scoped.row_count:
        out_console.print(scoped)
    if config.downstream:
        out_console.print(_downstream_table(config))
    return 0


def _downstream_table(config: Config) -> Table:
    """The ``[[tool.shipwheel.downstream]]`` entries, as ``shipwheel downstream`` and the release step use them."""
    from rich.table import Table

    table = Table(
        title=f"downstream projects ({config.pyproject_label or 'pyproject.toml'})", title_justify="left"
    )
    for col in ("requirement", "test-requires", "test-command", "timeout", "select", "in-release"):
        table.add_column(col, overflow="fold")
    for entry in config.downstream:
        table.add_row(
            Text(entry.requirement),
            Text(_show(list(entry.test_requires))),
            Text(entry.test_command or "(its sdist's tests with pytest)"),
            Text(f"{entry.timeout:g} s"),
            Text(entry.select),
            Text(entry.in_release),
        )
    return table


def _values_table(config: Config) -> Table:
    from rich.table import Table

    table = Table(title=f"shipwheel configuration of {config.project_dir}", title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("source")
    for key, value in config.as_dict().items():
        source = config.sources[key]
        style = "dim" if source == "default" else "green"
        table.add_row(Text(key), Text(_show(value)), Text(source), style=style)
    return table


def _scoped_table(config: Config) -> Table:
    """Every platform table and override, with the identifiers it is for (``config --identifier`` tells which
    of them wins for one identifier)."""
    from rich.table import Table

    from ..config import jsonable

    per = Table(
        title="per platform and identifier (config --identifier ID: which wins)", title_justify="left"
    )
    for col in ("for", "key", "value", "source"):
        per.add_column(col, overflow="fold")
    for level in config.levels:
        if level.os is None and level.select is None:
            continue
        scope = level.select or f"{level.os} identifiers"
        for key, setting in level.values.items():
            mode = f" (inherit {setting.inherit})" if setting.inherit != "none" else ""
            per.add_row(
                Text(scope), Text(key), Text(_show(jsonable(setting.value)) + mode), Text(setting.origin)
            )
    return per


def _identifier_table(config: Config, identifier: str) -> Table:
    from rich.table import Table

    table = Table(title=f"{identifier}: the values it is built with", title_justify="left")
    for col in ("key", "value", "from", "replaced"):
        table.add_column(col, overflow="fold")
    for key, found in config.explain(identifier).items():
        style = "dim" if found.origin == "default" else "green"
        table.add_row(
            Text(key), Text(_shown(found)), Text(found.origin), Text(", ".join(found.replaced)), style=style
        )
    return table


def _shown(found: Resolved) -> str:
    from ..config import jsonable

    text = _show(jsonable(found.value))
    if found.value == "" and found.implicit:
        text += f"  (the default: {found.implicit})"
    return text


def _json(config: Config, identifier: str | None) -> dict[str, Any]:
    from ..config import jsonable

    choice = config.cibuildwheel
    data: dict[str, Any] = {
        "project_dir": str(config.project_dir),
        "pyproject": config.pyproject_label or None,
        "project": {
            "name": config.project.name,
            "version": config.project.version,
            "requires_python": str(config.project.requires_python)
            if config.project.requires_python
            else None,
            "source": config.project.source or None,
        },
        "cibuildwheel": {
            "line": choice.line.name,
            "version": choice.pinned or choice.line.newest,
            "reason": choice.reason,
            "rejected": list(choice.rejected),
        },
        "values": {k: {"value": v, "source": config.sources[k]} for k, v in config.as_dict().items()},
        "overrides": [
            {
                "select": level.select,
                "os": level.os,
                "source": level.origin,
                "values": {k: jsonable(s.value) for k, s in level.values.items()},
                "inherit": {k: s.inherit for k, s in level.values.items() if s.inherit != "none"},
            }
            for level in config.levels
            if level.os is not None or level.select is not None
        ],
        "downstream": [
            {
                "requirement": entry.requirement,
                "name": entry.name,
                "test-requires": list(entry.test_requires),
                "test-command": entry.test_command,
                "timeout": entry.timeout,
                "select": entry.select,
                "in-release": entry.in_release,
            }
            for entry in config.downstream
        ],
        "warnings": list(config.warnings),
        "notes": list(config.remarks),
        "ci_only": list(config.ci_only),
    }
    if identifier:
        data["identifier"] = identifier
        data["for_identifier"] = {
            key: {
                "value": jsonable(found.value),
                "source": found.origin,
                "replaced": list(found.replaced),
                **({"default": found.implicit} if found.value == "" and found.implicit else {}),
            }
            for key, found in config.explain(identifier).items()
        }
    return data


def _show(value: JsonValue) -> str:
    if isinstance(value, list):
        return " ".join(value) if value else "[]"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '""'
