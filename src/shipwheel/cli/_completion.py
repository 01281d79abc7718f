"""``shipwheel completion bash|zsh|fish``: the shell code that completes commands and options.

argcomplete (a maintained argparse completer for bash, zsh and fish) does the work: the printed code calls
shipwheel back with ``_ARGCOMPLETE`` set, and :func:`shipwheel.cli.main` answers from the real parser, so the
completions never drift from the options.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import emit

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "completion",
        parents=[common],
        help="print the shell code that completes shipwheel's commands and options",
        description="Print completion code for bash, zsh or fish. Install it with, e.g., "
        "'shipwheel completion bash > ~/.local/share/bash-completion/completions/shipwheel', "
        "'shipwheel completion zsh > ~/.zfunc/_shipwheel' or "
        "'shipwheel completion fish > ~/.config/fish/completions/shipwheel.fish'.",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    emit(shellcode(["shipwheel"], shell=args.shell))
    return 0
