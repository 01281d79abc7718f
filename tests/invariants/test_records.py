"""shipwheel's own records go through one reader (``shipwheel._records.load_record``): a record that is damaged,
of the wrong shape or not a regular file is set aside (renamed beside itself, with a warning naming both) and
rebuilt from the real state; nothing is trusted from half of it, and nothing of it is lost."""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from shipwheel.builder._resume import read_record
from shipwheel.publish._plan import digest_files
from shipwheel.release._state import ReleaseState
from shipwheel.verify._cache import VerifyCache

SRC = Path(__file__).resolve().parents[2] / "src" / "shipwheel"

#: what each reader makes of a record it cannot use: nothing
READERS: dict[str, Callable[[Path], object]] = {
    "build journal": lambda path: read_record(path),
    "verify results": lambda path: VerifyCache(path=path).known_digests("fp", "a.whl"),
    "digest cache": lambda path: digest_files([], cache=path),
    "release record": lambda path: _steps_done(ReleaseState.load(path, "1.0.0")),
}
EMPTY: dict[str, object] = {
    "build journal": None,
    "verify results": frozenset(),
    "digest cache": {},
    "release record": [],
}


def _steps_done(state: ReleaseState) -> list[str]:
    return [name for name, rec in state.steps.items() if rec.status != "pending"]


DAMAGED = {
    "not JSON": b'{"finished": {',  # cut short by a kill
    "not UTF-8": b'{"finished": "\xff"}',
    "wrong shape": json.dumps(["a", "list"]).encode(),
    "wrong field types": json.dumps(
        {"finished": [], "entries": [], "format": 1, "steps": {"build": {"status": "done", "data": []}}}
    ).encode(),
}


@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
@pytest.mark.parametrize("what", READERS, ids=list(READERS))
def test_a_damaged_record_is_set_aside_with_a_warning_and_nothing_of_it_trusted(
    what: str, damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(DAMAGED[damage])
    with caplog.at_level(logging.WARNING, logger="shipwheel"):
        found = READERS[what](path)
    if damage == "wrong field types" and what in {"verify results", "digest cache"}:
        # another format's results and a digest table that happens to be a table: read as empty, kept
        assert found == EMPTY[what]
        return
    assert found == EMPTY[what]
    aside = [p.name for p in tmp_path.iterdir() if p.name.startswith("record.json.invalid-")]
    assert not path.exists() and len(aside) == 1, sorted(p.name for p in tmp_path.iterdir())
    assert aside[0] in caplog.text and what in caplog.text
    assert (tmp_path / aside[0]).read_bytes() == DAMAGED[damage]  # kept for whoever wants to look


@pytest.mark.parametrize("what", READERS, ids=list(READERS))
def test_a_record_that_is_a_fifo_is_set_aside_unopened(what: str, tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    os.mkfifo(path)
    assert READERS[what](path) == EMPTY[what]  # a blocking open would hang here (the test's timeout fails it)
    assert not path.exists()


@pytest.mark.parametrize("what", READERS, ids=list(READERS))
def test_a_missing_record_is_no_warning(what: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shipwheel"):
        assert READERS[what](tmp_path / "record.json") == EMPTY[what]
    assert not caplog.text


def test_no_record_reader_of_its_own() -> None:
    """No module parses a file with json.loads/json.load beside the one reader, except the ones that read
    something other than shipwheel's own records (listed, each with its reason)."""
    others = {
        "_records.py": "the one reader",
        "publish/_journal.py": "an append-only JSON-lines journal: a line torn by a kill is skipped, not the file",
    }
    found = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"loads", "load"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "json"
                and node.args
                and isinstance(node.args[0], ast.Call)
                and "read_limited" in ast.unparse(node.args[0])
            ):
                found.append(rel)
    assert sorted(set(found) - set(others)) == []
