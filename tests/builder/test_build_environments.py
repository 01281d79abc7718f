"""The cached build environments: what a reused one costs each run, and where the bytecode goes."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from shipwheel.builder._env import EnvCache
from shipwheel.builder._steps import prepare_backend, run_backend
from shipwheel.interpreters import discover

PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "tinypkg"
dynamic = ["version", "description"]
"""


def _project(root: Path) -> Path:
    src = root / "tinypkg-src"
    (src / "tinypkg").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    # a version flit cannot read from the syntax tree: it imports the module to get it
    (src / "tinypkg" / "__init__.py").write_text(
        '"""A tiny package."""\n__version__ = ".".join(["1", "0"])\n'
    )
    return src


def _pycs(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.pyc")}


@pytest.mark.parametrize("dont_write", [True, False], ids=["PYTHONDONTWRITEBYTECODE", "default"])
def test_environments_compile_what_the_build_imports_once(tmp_path: Path, dont_write: bool) -> None:
    """Nothing is compiled at install time; the backend's hooks write the bytecode of what they import, once,
    and a reused environment compiles nothing again. Where Python is told to write no bytecode
    (PYTHONDONTWRITEBYTECODE, as on many CI images) it goes into the environment's own folder, and no
    ``__pycache__`` lands in the project's sources; without the setting Python writes it as usual. Neither
    reaches the wheel."""
    interp = next(i for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"}}
    if dont_write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    cache = EnvCache(tmp_path / "cache", environ=env)
    src = _project(tmp_path)
    tag = f"cpython-{interp.version[0]}{interp.version[1]}"
    with (tmp_path / "build.log").open("w") as log:
        made, reused = cache.get(interp, ["flit_core>=3.9,<4"], log=log)  # what the project requires
        assert not reused and not list(made.path.rglob("*.pyc")), "bytecode compiled at install time"
        build_env, reused = prepare_backend(src, interp, "wheel", cache=cache, env=env, log=log)
        assert reused and build_env.path == made.path
        site = next(build_env.path.glob("lib/python*/site-packages"))
        installed = site / "flit_core"
        wheel = run_backend(src, build_env, "wheel", outdir=tmp_path / "dist", env=env, log=log)
        where = build_env.pycache if dont_write else installed
        first = _pycs(where)
        assert any(name.endswith(f"buildapi.{tag}.pyc") for name in first), first
        again, reused = prepare_backend(src, interp, "wheel", cache=cache, env=env, log=log)
        assert reused and again.path == build_env.path
        run_backend(src, again, "wheel", outdir=tmp_path / "dist2", env=env, log=log)
    second = _pycs(where)
    assert all(second[name] == first[name] for name in first), "the reused environment compiled again"
    if dont_write:
        assert not list(installed.rglob("__pycache__")) and not list(src.rglob("__pycache__"))
    else:
        assert not build_env.pycache.exists()
    with zipfile.ZipFile(wheel) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".pyc") or "__pycache__" in n]
