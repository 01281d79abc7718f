"""Terminal: every string shipwheel prints goes through one function (``cli/_common.printable``, which applies
``_terminal.visible``); control characters are shown as escapes and no value is read as rich markup.

The walker feeds a value holding escape sequences, a bell, a carriage return, a right-to-left override and rich
markup to every option and positional of every command of the parser; whatever the command prints, on stdout or
stderr, holds none of those characters raw, and markup it echoes stays as written. A second test checks the
source: no module of the command line prints around the consoles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shipwheel.cli
from invariants.walk import RAW_CONTROLS, Slot, argv_for, commands, one_line_error, run, slots

HOSTILE = "x\x1b]0;pwned\x07\x1b[2J\r[bold]B[/bold][project]\u202eZ"


@pytest.mark.parametrize("slot", slots(), ids=lambda s: s.id)
def test_every_option_of_every_command_prints_control_characters_visibly(
    slot: Slot, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(argv_for(slot.command, tmp_path, slot, HOSTILE), capsys)
    one_line_error(result)
    for name, text in (("stdout", result.out), ("stderr", result.err)):
        raw = RAW_CONTROLS.findall(text)
        assert not raw, f"{slot.id}: raw control characters {raw!r} in {name}:\n{text}"
        # markup read as markup would leave "B" right before what follows "[project]"
        assert "B\\u202eZ" not in text, f"{slot.id}: markup read in {name}:\n{text}"
        if "[bold]" in text:  # echoed with its markup: as written
            assert "[bold]B[/bold][project]\\u202eZ" in text, f"{slot.id}: markup read in {name}:\n{text}"


def test_the_status_table_shows_brackets_as_written(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The record's detail holds shipwheel's own hint with [project] in it: shown, not eaten as markup."""
    from shipwheel.config import load_config
    from shipwheel.release import load_state

    state = load_state(load_config(project), "1.0.1")
    hint = "set [project] version, or list the files in [tool.shipwheel.release] version-files"
    state.set("check", "failed", hint)
    result = run(["status", "1.0.1"], capsys)
    assert result.code == 0
    assert "[project]" in result.out and "[tool.shipwheel.release]" in result.out, result.out


def test_piped_output_is_never_wrapped_nor_cut(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shipwheel.config import load_config
    from shipwheel.release import load_state

    state = load_state(load_config(project), "1.0.1")
    url = "https://index.example.invalid/" + "a-long-path-segment/" * 12 + "simple/"
    state.repository = url
    state.set("check", "done", f"kahan 1.0.1 is not on {url}")
    result = run(["status", "1.0.1"], capsys)
    assert url in result.out and "…" not in result.out, result.out


_PRINTERS = {"print", "input"}
_STREAMS = {"stdout", "stderr"}


def test_no_command_prints_around_the_consoles() -> None:
    """Every module of the command line prints through ``cli/_common`` (its consoles, ``print_json``, ``emit``):
    no ``print()``, no ``sys.stdout``/``sys.stderr``, no console of its own, no ``markup=True``."""
    found = []
    for path in Path(shipwheel.cli.__file__).parent.glob("*.py"):
        if path.name == "_common.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _PRINTERS:
                found.append(f"{where} {node.func.id}()")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in _STREAMS
                and getattr(node.value, "id", "") == "sys"
            ):
                found.append(f"{where} sys.{node.attr}")
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Console"
            ):
                found.append(f"{where} a Console of its own")
            for kw in getattr(node, "keywords", []) or []:
                if kw.arg == "markup" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                    found.append(f"{where} markup=True")
    assert not found, "printing around cli/_common.printable:\n" + "\n".join(found)


def test_the_walker_sees_every_command() -> None:
    """The parser is the list: each command has at least its own walk (a command without a value-taking option
    is run by the project-level walks of the other classes)."""
    walked = {s.command for s in slots()}
    assert walked, "the walker found no option"
    assert {("release",), ("status",), ("ci", "github"), ("docs",), ("announce",)} <= set(commands())
    assert set(commands()) - walked <= {("bump",)} | {c for c in commands() if not c}, (
        set(commands()) - walked
    )
