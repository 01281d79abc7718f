"""What every command shares: consoles, the options common to all commands, JSON output and config overrides."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import Config, load_config

__all__ = ["add_config_options", "config_from_args", "err_console", "out_console", "print_json"]

#: Status, progress and errors go to stderr so that stdout can be piped.
err_console = Console(stderr=True, highlight=False)
#: Results (tables, JSON, changelogs) go to stdout.
out_console = Console(highlight=False)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout, one document, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config-dir``: where the pyproject.toml with ``[tool.shipwheel]`` is, for commands without PROJECT."""
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder whose pyproject.toml holds [tool.shipwheel] (default: the current folder)",
    )


def config_from_args(
    args: argparse.Namespace, overrides: Mapping[str, Any] | None = None, *, project_dir: Path | None = None
) -> Config:
    """Load the configuration for a command, with its command-line ``overrides`` on top."""
    where = project_dir or getattr(args, "config_dir", None) or Path.cwd()
    return load_config(where, overrides=overrides)
