"""The ``shipwheel`` command line: parses, calls the library, renders, maps errors to exit codes.

``main()`` exits; ``main_inner()`` returns the exit code and lets exceptions through, so tests call it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from rich.logging import RichHandler
from rich.markup import escape

from .. import __version__
from ..errors import EXIT_CODES, CommandError, ShipwheelError
from . import _build, _changelog, _config, _fetch, _matrix, _notes, _publish, _sign, _stage, _verify
from ._common import err_console
from ._release import RELEASE_COMMANDS

__all__ = ["build_parser", "main", "main_inner"]

#: Command modules, in the order of the release pipeline. Each has ``register(subparsers)``; the parser it adds
#: sets ``handler`` to a function taking the parsed arguments and returning an exit code.
COMMANDS: tuple[ModuleType, ...] = (
    _config,
    _matrix,
    _build,
    _verify,
    _stage,
    _fetch,
    _sign,
    _publish,
    _changelog,
    _notes,
    *RELEASE_COMMANDS,
)


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())
    return f"exit codes:\n{codes}"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command's sub-parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show more progress"
    )
    parser = argparse.ArgumentParser(
        prog="shipwheel",
        description="Release engineering for Python packages with compiled extensions.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"shipwheel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub, common)
    return parser


def _setup_logging(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logger = logging.getLogger("shipwheel")
    logger.handlers[:] = [RichHandler(console=err_console, show_time=False, show_path=False, markup=False)]
    logger.setLevel(level)
    logger.propagate = False


def main_inner(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, return its exit code. Exceptions propagate."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "debug", False), getattr(args, "verbose", False))
    code: int = args.handler(args)
    return code


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: run the command and exit with its code; user errors print one line, no traceback."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = main_inner(argv)
    except ShipwheelError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(
            f"[bold red]error:[/] {escape(exc.one_line())}", markup=True, soft_wrap=True, highlight=False
        )
        if isinstance(exc, CommandError) and exc.output and debug:
            err_console.print(exc.output, markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(
            "[bold red]error:[/] interrupted; run the same command again to resume", markup=True
        )
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code)
