"""The ``shipwheel`` command line: parses, calls the library, renders, maps errors to exit codes.

``main()`` exits; ``main_inner()`` returns the exit code and lets exceptions through, so tests call it.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from rich.text import Text

from .._redact import register_environment_secrets
from .._version import __version__
from ..errors import EXIT_CODES, CommandError, ShipwheelError, UsageError
from . import (
    _build,
    _changelog,
    _ci,
    _completion,
    _config,
    _downstream,
    _fetch,
    _matrix,
    _notes,
    _publish,
    _sign,
    _stage,
    _verify,
)
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
    _downstream,
    _stage,
    _fetch,
    _sign,
    _publish,
    _changelog,
    _notes,
    _ci,
    _completion,
    *RELEASE_COMMANDS,
)


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())
    return f"exit codes:\n{codes}"


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class _Parser(argparse.ArgumentParser):
    """argparse, with every mistake one line (``error: ...; hint``, exit 2) instead of the usage text, and a
    suggestion for a misspelt command or option."""

    def error(self, message: str) -> NoReturn:
        hint = f"see '{self.prog} --help'"
        m = re.search(r"invalid choice: '?([^' ]*)'? \(choose from (.*)\)", message)
        if m:
            choices = [c.strip(" '\"") for c in m[2].split(",")]
            hint = _did_you_mean(m[1], choices) or f"choose from {', '.join(choices)}"
            if message.startswith("argument COMMAND"):
                message = f"unknown command '{m[1]}'"
        raise UsageError(f"{self.prog}: {message}", hint=hint)

    def resolve_text(self) -> None:
        """A command's description or epilog, or an option's help, may be a function: text the library holds
        (the checks, the precedence of the configuration, the platform families), read when it is shown rather
        than whenever the parser is built."""
        for owner in (self, *self._actions):
            for name in ("description", "epilog", "help"):
                value = getattr(owner, name, None)
                if callable(value):
                    setattr(owner, name, value())

    def format_help(self) -> str:
        self.resolve_text()
        return super().format_help()

    def options(self) -> list[str]:
        """Every option string this parser takes (``-j``, ``--jobs`` ...)."""
        return [o for action in self._actions for o in action.option_strings]


def _unrecognized(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> UsageError:
    """The error for arguments no parser took, with the closest option of the command as the hint."""
    command = getattr(args, "command", None)
    sub = _SUBPARSERS.get(command or "", parser)
    prog = sub.prog
    hint = f"see '{prog} --help'"
    options = sub.options() if isinstance(sub, _Parser) else []
    for word in extra:
        if word.startswith("-"):
            hint = _did_you_mean(word.split("=", 1)[0], options) or hint
            break
    return UsageError(f"{prog}: unrecognized arguments: {' '.join(extra)}", hint=hint)


#: command name -> its sub-parser, filled by build_parser (for the suggestions of _unrecognized)
_SUBPARSERS: dict[str, argparse.ArgumentParser] = {}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command's sub-parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print only results and errors: no progress, status or warnings",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show more progress"
    )
    parser = _Parser(
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
    _SUBPARSERS.update(sub.choices)
    return parser


def _setup_logging(debug: bool, verbose: bool, quiet: bool = False) -> None:
    level = (
        logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    )
    logger = logging.getLogger("shipwheel")
    if err_console.is_terminal:
        from rich.logging import RichHandler  # rich's log rendering: for a command that runs, not for --help

        handler: logging.Handler = RichHandler(
            console=err_console, show_time=False, show_path=False, markup=False
        )
    else:
        handler = _LineHandler()
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class _LineHandler(logging.Handler):
    """A log record as one line (``WARNING  message``) where stderr is no terminal: rich's handler lays records
    out in columns as wide as the console, which off a terminal is unbounded (lines are never wrapped there), so
    each line would end in thousands of spaces in a CI log."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            err_console.print(Text(f"{record.levelname:<8} {record.getMessage()}"), soft_wrap=True)
        except Exception:  # logging's contract: a failing handler reports, never raises
            self.handleError(record)


def main_inner(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, return its exit code. Exceptions propagate."""
    # the values of GITHUB_TOKEN, SHIPWHEEL_PASSWORD, AWS_SECRET_ACCESS_KEY ... are hidden at every sink
    register_environment_secrets()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        raise _unrecognized(parser, args, extra)
    quiet = getattr(args, "quiet", False)
    # the status console is shared by every command: -q silences it here, once, rather than in each command
    err_console.quiet = quiet
    _setup_logging(getattr(args, "debug", False), getattr(args, "verbose", False), quiet)
    code: int = args.handler(args)
    return code


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: run the command and exit with its code; user errors print one line, no traceback."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    if "_ARGCOMPLETE" in os.environ:  # called back by the code of `shipwheel completion SHELL`
        import argcomplete

        parser = build_parser()
        for sub in [parser, *_SUBPARSERS.values()]:  # completions show the options' help as written
            if isinstance(sub, _Parser):
                sub.resolve_text()
        argcomplete.autocomplete(parser)  # prints the completions and exits
    try:
        code = main_inner(argv)
    except ShipwheelError as exc:
        err_console.quiet = False  # -q keeps errors
        if debug:  # through the console too: a traceback holds the same secrets and names as the message
            err_console.print(Text(traceback.format_exc().rstrip("\n")), soft_wrap=True)
        err_console.print(Text.assemble(("error:", "bold red"), " ", exc.one_line()), soft_wrap=True)
        if isinstance(exc, CommandError) and exc.output and debug:
            err_console.print(exc.output, markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.quiet = False
        err_console.print(
            Text.assemble(("error:", "bold red"), " interrupted; run the same command again to resume")
        )
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code)
