"""What every command shares: consoles, the options common to all commands, JSON output and config overrides."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleDimensions, ConsoleOptions, RenderableType
from rich.text import Text

from .._redact import redact_data, redact_text
from .._terminal import visible
from ..errors import ProjectError

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..config import Bounds, Config

__all__ = [
    "LazyChoices",
    "add_config_options",
    "add_release_paths",
    "add_transfer_options",
    "bytes_arg",
    "config_from_args",
    "emit",
    "err_console",
    "jobs_arg",
    "jobs_fixed",
    "jobs_or_cores_arg",
    "out_console",
    "print_json",
    "printable",
    "retries_arg",
    "status",
    "timeout_arg",
    "transfer_overrides",
    "transfer_progress",
    "write_text_output",
]


def printable(text: str, *, lines: bool = True) -> str:
    """``text`` as it may be shown: secrets removed (``_redact.redact_text``) and control characters made visible
    (``_terminal.visible``; ``lines=False`` escapes newlines and tabs too). The one function every string the
    command line prints goes through: the consoles below apply it to every string and :class:`~rich.text.Text`
    they render, :func:`print_json` and :func:`write_text_output` to what they write."""
    return visible(redact_text(text), lines=lines)


def _printable_text(text: Text) -> Text:
    """``text`` through :func:`printable`, keeping shipwheel's own styles (spans) where only control characters
    change; a secret found drops the inner styles rather than risk keeping a piece of it."""
    plain = text.plain
    redacted = redact_text(plain)
    if redacted != plain:
        return Text(
            visible(redacted),
            style=text.style,
            justify=text.justify,
            overflow=text.overflow,
            no_wrap=text.no_wrap,
            end=text.end,
        )
    if visible(plain) == plain:
        return text
    cuts = sorted({offset for span in text.spans for offset in (span.start, span.end)} - {0, len(plain)})
    out = Text(
        style=text.style, justify=text.justify, overflow=text.overflow, no_wrap=text.no_wrap, end=text.end
    )
    for piece in text.divide(cuts):
        styles = [span.style for span in piece.spans if span.start == 0 and span.end == len(piece.plain)]
        out.append(visible(piece.plain), style=styles[-1] if styles else None)
    return out


#: Output that is not a terminal is never wrapped, nor cut with "…": a wheel name or a URL is copied from a log
#: or a piped table as it is. Wider than any line shipwheel prints.
_UNWRAPPED = 1 << 15


class _Console(Console):
    """A rich console that prints only :func:`printable` text: no string is ever read as rich markup or emoji
    codes (shipwheel styles its own words with :class:`~rich.text.Text` styles), secrets are removed and control
    characters are made visible in every string and ``Text`` it renders, tables and log lines included; and when
    its output is not a terminal, lines are as long as they are."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(printable(text), **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Any:
        if isinstance(renderable, Text):
            renderable = _printable_text(renderable)
        elif isinstance(renderable, str):
            renderable = self.render_str(renderable)
        segments: Any = super().render(renderable, options)
        return segments

    @property
    def size(self) -> ConsoleDimensions:
        found = super().size
        if not self.is_terminal:  # COLUMNS too is for a terminal: piped output keeps its lines whole
            return ConsoleDimensions(_UNWRAPPED, found.height)
        return found

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


#: Status, progress and errors go to stderr so that stdout can be piped.
err_console: Console = _Console(stderr=True, highlight=False, markup=False, emoji=False)
#: Results (tables, JSON, changelogs) go to stdout.
out_console: Console = _Console(highlight=False, markup=False, emoji=False)


def transfer_progress(*, quiet: bool) -> Progress:
    """The progress view of the commands that move a release's files (fetch, stage, publish): a bar per file and
    one for the whole release, with bytes, throughput and time left, on stderr, gone when done; off when
    ``quiet``. Descriptions are plain text (a file name is never read as markup)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    )


class LazyChoices(Sequence[str]):
    """The ``choices=`` of an option whose names the library holds (the release's steps): read from ``load`` the
    first time argparse checks a value or lists them, so that building the parser imports no step."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._names: Sequence[str] | None = None

    def _get(self) -> Sequence[str]:
        if self._names is None:
            self._names = tuple(self._load())
        return self._names

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __contains__(self, value: object) -> bool:
        return value in self._get()


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout, one document, nothing else; secrets removed from every string (control
    characters are escaped by JSON itself)."""
    text = json.dumps(redact_data(json.loads(json.dumps(data, default=str))), indent=2, sort_keys=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _number(kind: type[int] | type[float], bounds_name: str, name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses a number and refuses values outside the bounds named ``bounds_name``
    (exit 2, one line).

    The bounds are the configuration's own (``config.JOBS`` ...), so an option and its pyproject.toml key accept
    the same values; they are looked up when a value is parsed, so that building the parser reads no
    configuration code.
    """

    def parse(text: str) -> int | float:
        from .. import config

        bounds: Bounds = getattr(config, bounds_name)
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {bounds.describe(kind)}") from None
        if not bounds.check(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {bounds.describe(kind)}")
        return value

    parse.__name__ = name
    return parse


# The argparse types of every numeric option of every command: one place, so that no option takes -1 jobs,
# a NaN timeout or a negative retry count.
#: ``-j/--jobs`` where 0 means one per core (build, verify).
jobs_or_cores_arg = _number(int, "JOBS_OR_CORES", "jobs")
#: ``-j/--jobs`` of network transfers (fetch, publish, stage).
jobs_arg = _number(int, "JOBS", "jobs")
#: ``--retries``.
retries_arg = _number(int, "RETRIES", "retries")
#: ``--timeout`` in seconds.
timeout_arg = _number(float, "TIMEOUT", "timeout")
#: sizes in bytes (``--max-file-size``).
bytes_arg = _number(int, "BYTES", "bytes")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config-dir``: where the pyproject.toml with ``[tool.shipwheel]`` is, for commands without PROJECT."""
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder whose pyproject.toml holds [tool.shipwheel] (default: the current folder)",
    )


def add_release_paths(parser: argparse.ArgumentParser) -> None:
    """The ``WHEELHOUSE|FILE ...`` positional argument of the commands that take a release (verify, sign,
    publish); empty means the configured ``output-dir``."""
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="WHEELHOUSE|FILE",
        help="wheel/sdist files or folders holding them (default: the configured output-dir, ./wheelhouse)",
    )


def add_transfer_options(parser: argparse.ArgumentParser, section: str, *, what: str) -> None:
    """``-j/--jobs``, ``--fixed-jobs``, ``--retries`` and ``--timeout`` of the commands that move a release's files
    over the network, adapting how many at once (fetch, publish); ``what`` names the files moved ("downloads").

    No defaults here: the values and their source come from ``[tool.shipwheel.<section>]`` (see
    :func:`transfer_overrides` and :func:`jobs_fixed`).
    """
    parser.add_argument(
        "-j",
        "--jobs",
        type=jobs_arg,
        metavar="N",
        help=f"most {what} at once (default: {section}.jobs); the number starts small and grows while throughput "
        f"does ({section}.jobs set in the config keeps it fixed)",
    )
    parser.add_argument(
        "--fixed-jobs", action="store_true", help=f"run exactly --jobs {what} at once instead of adapting"
    )
    parser.add_argument(
        "--retries",
        type=retries_arg,
        metavar="N",
        help=f"retries per file after the first try, on connection errors and 5xx (default: {section}.retries)",
    )
    parser.add_argument(
        "--timeout",
        type=timeout_arg,
        metavar="SECONDS",
        help=f"network timeout in seconds (default: {section}.timeout)",
    )


def transfer_overrides(args: argparse.Namespace, section: str) -> dict[str, Any]:
    """The configuration overrides of the options :func:`add_transfer_options` added, those given."""
    given = {"jobs": args.jobs, "retries": args.retries, "timeout": args.timeout}
    return {f"{section}.{key}": value for key, value in given.items() if value is not None}


def jobs_fixed(args: argparse.Namespace, config: Config, section: str) -> bool:
    """Whether exactly ``<section>.jobs`` transfers run at once: ``--fixed-jobs``, or ``jobs`` set in
    pyproject.toml or the environment, which is a setting kept as set; ``-j N`` alone is the cap of an adaptive
    number."""
    return bool(args.fixed_jobs) or config.sources.get(f"{section}.jobs", "default") not in {
        "default",
        "command line",
    }


def config_from_args(
    args: argparse.Namespace, overrides: Mapping[str, Any] | None = None, *, project_dir: Path | None = None
) -> Config:
    """Load the configuration for a command, with its command-line ``overrides`` on top: of ``project_dir`` (a
    folder or an sdist) with ``[tool.*]`` from ``--config-dir`` when both are given."""
    from ..config import load_config

    config_dir = getattr(args, "config_dir", None)
    if project_dir is not None:
        return load_config(project_dir, overrides=overrides, config_dir=config_dir)
    return load_config(config_dir or Path.cwd(), overrides=overrides)


def status(message: str) -> None:
    """A dim status line on stderr (never on stdout, which may be redirected into a file)."""
    err_console.print(Text(message, style="dim"))


def emit(text: str, *, stderr: bool = False) -> None:
    """Write ``text`` as it is (no wrapping, no styling) through :func:`printable`, as UTF-8 bytes, to stdout (or
    stderr): a generated document, a diff, a list of identifiers, a build log folded into a CI group."""
    stream = sys.stderr if stderr else sys.stdout
    data = printable(text).encode("utf-8")
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
    else:  # a stream without bytes (a test's capture): the same text
        stream.write(data.decode("utf-8"))
    stream.flush()


def write_text_output(text: str, output: Path | None, option: str = "-o") -> None:
    """Write a generated document to ``output`` (UTF-8, ``\n`` line ends), or as UTF-8 bytes to stdout.

    Bytes, not the console: the document must be UTF-8 whatever the locale, and never wrapped.
    """
    from .._fs import write_file

    if output is None:
        emit(text)
        return
    try:
        write_file(output, text)  # a link at OUTPUT is replaced, never written through
    except OSError as exc:
        raise ProjectError(
            f"cannot write {output}: {exc.strerror}", hint=f"pass a writable path to {option}"
        ) from None
    status(f"wrote {output}")
