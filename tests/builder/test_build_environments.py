"""The cached build environments: what a reused one costs each run."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipwheel._subprocess import find_uv
from shipwheel.builder._env import EnvCache
from shipwheel.interpreters import discover


def test_cached_environments_hold_the_bytecode_of_what_they_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every run of a backend hook in a reused environment imports the backend from it: with the bytecode
    written at install time it never compiles setuptools again, even where Python writes no bytecode."""
    if find_uv() is None:
        pytest.skip("uv not on PATH (pip writes the bytecode itself)")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    interp = next(i for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded)
    with (tmp_path / "env.log").open("w") as log:
        env, reused = EnvCache(tmp_path / "cache").get(interp, ["packaging"], log=log)
    assert not reused
    compiled = list(env.path.glob("lib/python*/site-packages/packaging/__pycache__/version.*.pyc"))
    assert compiled, "no bytecode for packaging/version.py"
