"""The command line's conventions: a misspelt command or option gets a suggestion, every command has ``-q``, and
shell completion answers from the parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipwheel.cli import build_parser, main_inner
from shipwheel.errors import UsageError


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["buidl"], "error: shipwheel: unknown command 'buidl'; did you mean 'build'?"),
        (["pubish"], "did you mean 'publish'?"),
        (
            ["build", "--jbos", "3"],
            "error: shipwheel build: unrecognized arguments: --jbos; did you mean '--jobs'?",
        ),
        (["fetch", "demo", "1.0", "--tiemout=5"], "did you mean '--timeout'?"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_misspelt_command_or_option_gets_a_suggestion(argv: list[str], expected: str) -> None:
    with pytest.raises(UsageError) as info:
        main_inner(argv)
    assert expected.removeprefix("error: ") in info.value.one_line()


def test_misspelt_command_console_script_is_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "buidl"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr == "error: shipwheel: unknown command 'buidl'; did you mean 'build'?\n"


def test_quiet_on_every_command() -> None:
    parser = build_parser()
    sub = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        assert "-q" in command._option_string_actions and "--quiet" in command._option_string_actions, name


def test_quiet_silences_status_but_keeps_results(tmp_path: Path) -> None:
    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "shipwheel",
                "notes",
                "1.0",
                "--project",
                str(tmp_path),
                "--range",
                "none",
                *flags,
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    loud, quiet = run(), run("-q")
    assert loud.returncode == quiet.returncode == 0
    assert loud.stderr and not quiet.stderr
    assert loud.stdout == quiet.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_shell_code(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    assert main_inner(["completion", shell]) == 0
    code = capsys.readouterr().out
    assert "shipwheel" in code and "_ARGCOMPLETE" in code


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("shipwheel bu", "build"),
        ("shipwheel fetch --ti", "--timeout"),
        ("shipwheel publish --ret", "--retries"),
    ],
)
def test_completion_answers_from_the_parser(tmp_path: Path, line: str, expected: str) -> None:
    """What the shell code does on TAB: call shipwheel back with _ARGCOMPLETE and read the candidates."""
    out = tmp_path / "candidates"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("_ARC")},
        "_ARGCOMPLETE": "1",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
    }
    subprocess.run([sys.executable, "-m", "shipwheel"], env=env, check=True, timeout=60, cwd=tmp_path)
    assert expected in out.read_text(encoding="utf-8").split()


def test_a_warning_off_a_terminal_is_one_line_without_padding(tmp_path: Path) -> None:
    """In a CI log (stderr no terminal) a logged warning is ``WARNING  message`` on one line: rich's handler
    laid it out as wide as the unbounded console, thousands of spaces per line."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIBW_", "SHIPWHEEL_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "config", "--config-dir", str(tmp_path)],
        env={**env, "CIBW_NO_SUCH_OPTION": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings and all(line == line.rstrip() and len(line) < 300 for line in warnings)
    assert warnings[0] == "WARNING  CIBW_NO_SUCH_OPTION is not understood by shipwheel and is ignored"
