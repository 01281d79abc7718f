"""The cached build environments: what a reused one costs each run, and what the bytecode leaves behind."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

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


def test_environments_compile_what_the_build_imports_once_into_their_own_folder(tmp_path: Path) -> None:
    """Where Python writes no bytecode (PYTHONDONTWRITEBYTECODE, as on many CI images), the backend's hooks
    still write the bytecode of what they import, once, into the environment's own folder: a reused
    environment compiles nothing again, nothing is compiled that no build imports, and no ``__pycache__`` lands
    in the project's sources or in the wheel."""
    interp = next(i for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cache = EnvCache(tmp_path / "cache", environ=env)
    src = _project(tmp_path)
    with (tmp_path / "build.log").open("w") as log:
        build_env, reused = prepare_backend(src, interp, "wheel", cache=cache, env=env, log=log)
        assert not reused
        site = next(build_env.path.glob("lib/python*/site-packages"))
        assert not list(site.rglob("__pycache__")), "bytecode compiled at install time, before any import"
        wheel = run_backend(src, build_env, "wheel", outdir=tmp_path / "dist", env=env, log=log)
        first = _pycs(build_env.pycache)
        assert any(
            name.endswith(f"flit_core{os.sep}buildapi.cpython-{interp.version[0]}{interp.version[1]}.pyc")
            for name in first
        ), first
        again, reused = prepare_backend(src, interp, "wheel", cache=cache, env=env, log=log)
        assert reused and again.path == build_env.path
        run_backend(src, again, "wheel", outdir=tmp_path / "dist2", env=env, log=log)
    second = _pycs(build_env.pycache)
    common = {name for name in first if "flit_core" in name}
    assert common and all(second[name] == first[name] for name in common), (
        "the reused environment compiled again"
    )
    assert not list(src.rglob("__pycache__")), "bytecode written beside the project's sources"
    with zipfile.ZipFile(wheel) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".pyc") or "__pycache__" in n]
