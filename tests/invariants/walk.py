"""The walker: every command of the parser, every option and positional that takes a value, found from the parser.

The invariant tests feed one class of hostile input through what this module finds, so a command added to the
parser (``downstream``, or any later one) is walked without an edit here. :data:`FAST` only narrows a command
to local, quick work (a dry run, a ``file:`` index); a command missing from it runs with its required values
alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import build_parser, main
from shipwheel.errors import EXIT_CODES

#: Extra arguments that keep a command local and quick (placeholders: {dir} an empty folder, {file} a file).
#: Only speed: a command that is not here is walked all the same.
FAST: dict[str, list[str]] = {
    "build": ["--only", "cp39-nothing_matches", "--output-dir", "{dir}/out"],
    "matrix": ["--platform", "linux"],
    "release": ["--dry-run", "-r", "file:{dir}"],
    "check": [
        "-r",
        "file:{dir}",
        "--skip",
        "version-backend",
        "--skip",
        "docs-build",
        "--skip",
        "sdist-complete",
    ],
    "publish": ["-r", "file:{dir}", "--dry-run"],
    "stage": ["--to", "{dir}/staging"],
    "fetch": ["--url", "{dir}", "--retries", "0", "--timeout", "5"],
    "sign": ["--key", "0" * 40],
    "notes": ["--range", "none"],
    "docs": ["--to", "{dir}", "--from", "{dir}"],
    "verify": ["--no-completeness"],
}
#: Values for required positionals, by metavar (anything else: a path that does not exist).
POSITIONAL = {
    "VERSION": "1.0.1",
    "A..B": "v1.0.0..HEAD",
    "X.Y": "1.0",
    "PROJECT": "kahan",
    "shell": "bash",
}


@dataclass(frozen=True)
class Slot:
    """One place a value goes: ``option`` (``--html``) or a positional (``option`` is ``""``, ``dest`` names it)."""

    command: tuple[str, ...]
    option: str
    dest: str
    metavar: str
    is_path: bool
    choices: tuple[str, ...] | None

    @property
    def id(self) -> str:
        return f"{' '.join(self.command)} {self.option or '<' + self.dest + '>'}"


def leaves(
    parser: argparse.ArgumentParser | None = None, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command (``ci github`` for a command with sub-commands) and its parser."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaves(sub, (*prefix, name))
            return
    yield prefix, parser


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))


def slots() -> list[Slot]:
    """Every option and positional of every command that takes a value."""
    found = []
    for command, parser in leaves():
        for action in parser._actions:
            if not _takes_value(action):
                continue
            found.append(
                Slot(
                    command,
                    action.option_strings[-1] if action.option_strings else "",
                    action.dest,
                    str(action.metavar or action.dest),
                    action.type is Path,
                    tuple(action.choices) if action.choices else None,
                )
            )
    return found


def commands() -> list[tuple[str, ...]]:
    return [command for command, _ in leaves()]


def _fill(text: str, scratch: Path) -> str:
    return text.replace("{dir}", str(scratch / "empty")).replace("{file}", str(scratch / "a-file"))


def argv_for(command: tuple[str, ...], scratch: Path, slot: Slot | None = None, value: str = "") -> list[str]:
    """The command line of ``command`` with its required positionals filled, :data:`FAST`'s narrowing, and
    ``value`` in ``slot`` (``--option=value`` so that no value is taken for an option)."""
    (scratch / "empty").mkdir(exist_ok=True)
    (scratch / "a-file").touch()
    parser = dict(leaves())[command]
    argv = list(command)
    for action in parser._actions:
        if action.option_strings or not _takes_value(action):
            continue
        if slot is not None and slot.dest == action.dest and not slot.option:
            argv.append(value)
        elif action.nargs in ("?", "*"):
            continue
        else:
            argv.append(POSITIONAL.get(str(action.metavar or action.dest), str(scratch / "missing")))
    fast = [_fill(a, scratch) for a in FAST.get(command[0], [])]
    if slot is not None and slot.option:
        options = {o for a in parser._actions if a.dest == slot.dest for o in a.option_strings}
        # the slot's own value replaces FAST's for the same option
        kept: list[str] = []
        skip = False
        for word in fast:
            if skip:
                skip = False
                continue
            if word in options:
                skip = True
                continue
            kept.append(word)
        fast = [*kept, f"{slot.option}={value}"]
    # sub-commands take their options after the last command word; positionals were added in order
    return [*argv, *fast]


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the console script's ``main`` in this process; its exit code, stdout and stderr."""
    capsys.readouterr()
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def one_line_error(result: Run) -> None:
    """A documented exit code, and a failure is one line without a traceback."""
    assert result.code in EXIT_CODES or result.code == 130, result
    assert "Traceback" not in result.err, result.err


# -- a project to run in -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _kahan_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_kahan_repo(tmp_path_factory.mktemp("walk") / "kahan")
    git(repo, "tag", "-a", "-m", "kahan 1.0.0", "v1.0.0")
    (repo / "README.md").write_text("more\n")
    git(repo, "commit", "-qam", "BUG: fix the sum")
    return repo


@pytest.fixture
def project(_kahan_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the example project (a git repository, tagged v1.0.0, one commit after), as cwd."""
    repo = tmp_path / "kahan"
    shutil.copytree(_kahan_template, repo, symlinks=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "gnupg"))
    # this checkout is a development build, which `ci github` refuses to write into a workflow
    monkeypatch.setenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT", "shipwheel==1.0.0")
    return repo


# -- FIFOs: whether anything opened one -------------------------------------------------------------------------


class FifoWatch:
    """Named pipes planted where a command may read; a thread keeps trying to open each for writing without
    blocking, which succeeds only while some reader has it open. So ``opened`` lists every FIFO the command
    opened (and unblocks it with an empty write end, so a test that fails does not hang)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.opened: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def plant(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        os.mkfifo(path)
        self.paths.append(path)
        return path

    def _watch(self) -> None:
        while not self._stop.is_set():
            for path in self.paths:
                with contextlib.suppress(OSError):
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
                    try:
                        if stat.S_ISFIFO(os.fstat(fd).st_mode):  # not a file the command wrote in its place
                            self.opened.add(path)
                    finally:
                        os.close(fd)  # the reader sees the end of the file and goes on
            time.sleep(0.01)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def is_fifo(path: Path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


#: Characters a terminal obeys: none may reach the output raw.
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def files_under(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(path).st_mode) and ".git" not in path.relative_to(folder).parts[:1]:
                yield path
