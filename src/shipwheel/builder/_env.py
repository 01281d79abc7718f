"""Isolated build environments, cached and reused when that is safe.

pypa/build runs the backend's hooks in an environment behind its ``IsolatedEnv`` protocol; its own
implementation makes a fresh one every time, for the interpreter running build. shipwheel builds for many
interpreters and again and again, so it keeps one environment per (interpreter, requirements) under the cache
folder, created with uv when uv is installed (pip otherwise), completed under a file lock and marked complete only
at the end. An environment is reused only when its interpreter, its requirements, the installer and shipwheel's
version are all the same, and it is younger than ``MAX_AGE`` (so unpinned requirements pick up new releases).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from build.env import IsolatedEnv

from .._subprocess import find_uv, run
from .._version import __version__
from ..interpreters import Interpreter

__all__ = ["MAX_AGE", "CachedEnv", "EnvCache"]

MAX_AGE = 7 * 24 * 3600
_MARKER = "shipwheel-env.json"
_PYCACHE = "pycache"


class CachedEnv(IsolatedEnv):
    """A build environment in the cache, as pypa/build's ``IsolatedEnv``; ``bytecode``: what the processes run
    from it get to write their bytecode (:meth:`EnvCache.bytecode_environ`)."""

    def __init__(self, path: Path, *, bytecode: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.bytecode = dict(bytecode or {})

    @property
    def python_executable(self) -> str:
        return str(self.path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))

    @property
    def pycache(self) -> Path:
        """Where the processes run from this environment write their bytecode when Python is told to write none
        (see :meth:`EnvCache.bytecode_environ`)."""
        return self.path / _PYCACHE

    def make_extra_environ(self) -> Mapping[str, str] | None:
        # The environment's scripts folder: backend_runner puts it in front of the build's own PATH (which
        # carries the ccache shims), where pypa/build's own environments would put it in front of os.environ's.
        return {
            "PATH": str(Path(self.python_executable).parent),
            "VIRTUAL_ENV": str(self.path),
            **self.bytecode,
        }


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class EnvCache:
    """Build environments under ``root/envs``, downloads under ``root/uv`` or ``root/pip``."""

    def __init__(self, root: Path, *, environ: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.uv = find_uv()
        self.installer = "uv" if self.uv else "pip"
        base = dict(os.environ if environ is None else environ)
        base.setdefault("UV_CACHE_DIR", str(root / "uv"))
        base.setdefault("PIP_CACHE_DIR", str(root / "pip"))
        base["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        base.pop("PYTHONPATH", None)
        base.pop("VIRTUAL_ENV", None)
        self.environ = base

    def bytecode_environ(self, path: Path) -> dict[str, str]:
        """What the processes run from the environment at ``path`` get so that the bytecode of what they import
        is written once, lazily, and reused by the next run.

        Environments are installed without bytecode (``uv pip install --compile-bytecode`` cost 3.5 CPU-seconds
        per environment for numpy, Cython and meson, mostly modules no build imports, three times over in a
        three-interpreter build on two cores): Python writes the bytecode of what is imported, as it does for
        any build. Where ``PYTHONDONTWRITEBYTECODE`` is set (as on many CI images) it would write none, and every
        hook, meson and Cython run would compile what it imports again; there ``PYTHONPYCACHEPREFIX`` (Python
        3.8+) has it written into the environment's own folder instead of ``__pycache__`` beside the sources, so
        the setting keeps its purpose, clean source folders (it is cleared for these processes only: an empty
        value is unset to Python). Without the setting nothing changes: a project's own bytecode compile
        (setuptools' ``build_py --compile``) writes where the project expects it; with it, such a compile (which
        the setting makes fail in a plain build) writes into that folder."""
        if not self.environ.get("PYTHONDONTWRITEBYTECODE"):
            return {}
        return {"PYTHONPYCACHEPREFIX": str(path / _PYCACHE), "PYTHONDONTWRITEBYTECODE": ""}

    def _key(self, interpreter: Interpreter, requirements: Iterable[str]) -> str:
        blob = json.dumps(
            {
                "python": str(interpreter.path),
                "version": interpreter.version,
                "ft": interpreter.free_threaded,
                "requires": sorted(set(requirements)),
                "installer": self.installer,
                "bytecode": _PYCACHE,
                "shipwheel": __version__,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def get(
        self, interpreter: Interpreter, requirements: Iterable[str], *, log: IO[str]
    ) -> tuple[CachedEnv, bool]:
        """An environment for ``interpreter`` with ``requirements`` installed, and whether it was reused."""
        reqs = sorted(set(requirements))
        key = self._key(interpreter, reqs)
        path = self.root / "envs" / key
        with _locked(self.root / "envs" / f"{key}.lock"):
            marker = path / _MARKER
            if marker.is_file() and time.time() - marker.stat().st_mtime < MAX_AGE:
                log.write(f"reusing build environment {path}\n")
                return CachedEnv(path, bytecode=self.bytecode_environ(path)), True
            if path.exists():
                shutil.rmtree(path)
            self.create(interpreter.path, path, log=log)
            env = CachedEnv(path, bytecode=self.bytecode_environ(path))
            if reqs:
                self.install(env, reqs, log=log)
            marker.write_text(json.dumps({"requires": reqs, "python": str(interpreter.path)}))
            return env, False

    def add(self, env: CachedEnv, requirements: Iterable[str], *, log: IO[str]) -> None:
        """Install extra requirements (the backend's ``get_requires_for_build_*``) into a cached environment."""
        reqs = sorted(set(requirements))
        if not reqs:
            return
        with _locked(env.path.with_name(env.path.name + ".lock")):
            self.install(env, reqs, log=log)

    def create(self, python: Path, path: Path, *, log: IO[str], seed: bool = False) -> None:
        """A new virtual environment at ``path`` for ``python``; ``seed``: with pip in it, as ``python -m venv``
        makes them (uv's have none)."""
        if self.uv:
            run(
                [
                    self.uv,
                    "venv",
                    "--quiet",
                    *(["--seed"] if seed else []),
                    "--python",
                    str(python),
                    str(path),
                ],
                env=self.environ,
                logfile=log,
                what="uv venv",
            )
        else:
            run([str(python), "-m", "venv", str(path)], env=self.environ, logfile=log, what="python -m venv")

    def install(self, env: CachedEnv, requirements: Iterable[str], *, log: IO[str]) -> None:
        """Install ``requirements`` into ``env``."""
        reqs = list(requirements)
        if self.uv:
            # no bytecode up front: what the build imports is compiled once, lazily (bytecode_environ)
            cmd = [self.uv, "pip", "install", "--python", env.python_executable, *reqs]
        else:
            cmd = [env.python_executable, "-m", "pip", "install", "--no-compile", *reqs]
        run(
            cmd,
            env=self.environ,
            logfile=log,
            what="installing " + " ".join(reqs),
            hint="check the requirement names and the network",
        )
