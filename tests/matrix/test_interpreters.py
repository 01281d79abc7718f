"""Interpreter discovery on this machine (real interpreters, no fakes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shipwheel.errors import EnvironmentNotReadyError
from shipwheel.interpreters import discover, inspect_interpreter, match_identifiers
from shipwheel.matrix import Identifier


def test_discovers_the_running_interpreter() -> None:
    found = discover()
    assert found, "at least the interpreter running the tests"
    here = inspect_interpreter(sys.executable)
    assert any(i.version == here.version and i.free_threaded == here.free_threaded for i in found)
    # one entry per interpreter, even though a venv and its base both point at it
    keys = [(i.version, i.free_threaded, i.path.resolve()) for i in found]
    assert len(keys) == len(set(keys))


def test_configured_interpreter_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentNotReadyError, match="does not exist"):
        discover([tmp_path / "python9.9"])


def test_configured_path_that_is_not_python(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    with pytest.raises(EnvironmentNotReadyError, match="not a working CPython"):
        discover([fake])


def test_reasons_for_what_cannot_be_built_here() -> None:
    found = discover()
    here = found[0].identifier
    assert here is not None
    other_os = Identifier.parse(f"cp{here.major}{here.minor}-win_amd64")
    missing = Identifier(minor=99, free_threaded=False, platform=here.platform)
    ok, bad = match_identifiers([here, other_os, missing], found)
    assert here in ok
    reasons = {u.identifier: u for u in bad}
    assert "built on windows" in reasons[other_os].reason and reasons[other_os].kind == "platform"
    assert reasons[missing].kind == "interpreter" and "pyenv install" in reasons[missing].reason
