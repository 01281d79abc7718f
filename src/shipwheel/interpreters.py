"""Discover the CPython interpreters of this machine and tell which build identifiers they can build.

Candidates come from PATH (``python3``, ``python3.X``, ``python3.Xt``), from pyenv's installed versions and from
the ``interpreters`` configuration. Each candidate is asked about itself once (in parallel); virtual
environments are traced back to their base interpreter so that each interpreter is listed once.
"""

from __future__ import annotations

import json
import os
import platform as _platform
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentNotReadyError
from .matrix import Identifier

__all__ = ["Interpreter", "Unbuildable", "discover", "inspect_interpreter", "match_identifiers"]

_PROBE = r"""
import json, platform, sys, sysconfig
libc = platform.libc_ver()
print(json.dumps({
    "executable": sys.executable,
    "base_executable": getattr(sys, "_base_executable", sys.executable),
    "in_venv": sys.prefix != sys.base_prefix,
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:3]),
    "releaselevel": sys.version_info.releaselevel,
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "machine": platform.machine(),
    "system": platform.system(),
    "libc": list(libc),
    "platform": sysconfig.get_platform(),
}))
"""


@dataclass(frozen=True, order=True, slots=True)
class Interpreter:
    """One CPython interpreter of this machine."""

    version: tuple[int, int, int]
    free_threaded: bool
    path: Path
    machine: str
    system: str
    libc: str
    libc_version: str
    platform: str
    source: str = "PATH"

    @property
    def identifier_python(self) -> str:
        """``cp312`` or ``cp313t``."""
        return f"cp{self.version[0]}{self.version[1]}{'t' if self.free_threaded else ''}"

    @property
    def identifier_platform(self) -> str | None:
        """The identifier platform this interpreter builds natively, or ``None`` when shipwheel has none."""
        machine = self.machine.lower()
        if self.system == "Linux":
            family = "musllinux" if self.libc != "glibc" else "manylinux"
            return f"{family}_{ {'amd64': 'x86_64', 'arm64': 'aarch64'}.get(machine, machine) }"
        if self.system == "Darwin":
            return f"macosx_{ {'aarch64': 'arm64'}.get(machine, machine) }"
        if self.system == "Windows":
            return {"amd64": "win_amd64", "x86_64": "win_amd64", "arm64": "win_arm64", "x86": "win32"}.get(
                machine
            )
        return None

    @property
    def identifier(self) -> Identifier | None:
        """The identifier of the wheels this interpreter builds here."""
        plat = self.identifier_platform
        if plat is None:
            return None
        return Identifier(
            major=self.version[0], minor=self.version[1], free_threaded=self.free_threaded, platform=plat
        )

    def describe(self) -> str:
        """``CPython 3.12.1 (free-threaded) at /path``."""
        ft = " (free-threaded)" if self.free_threaded else ""
        return f"CPython {'.'.join(map(str, self.version))}{ft} at {self.path}"


@dataclass(frozen=True, slots=True)
class Unbuildable:
    """Why an identifier can't be built on this machine."""

    identifier: Identifier
    reason: str
    #: ``platform``: another OS or architecture (a CI runner's job); ``interpreter``: this platform, no interpreter.
    kind: str = "interpreter"


def _candidates(extra: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = [(Path(p).expanduser(), "configured") for p in extra]
    name = re.compile(r"^python3(\.\d+t?)?(\.exe)?$")
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    pyenv_shims = Path(root) / "shims"
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        folder = Path(entry)
        if not entry or folder == pyenv_shims or not folder.is_dir():
            continue
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        found += [(folder / n, "PATH") for n in names if name.match(n)]
    versions = Path(root) / "versions"
    if versions.is_dir():
        for v in sorted(versions.iterdir()):
            for n in ("python3", "python3t"):
                exe = v / "bin" / n
                if exe.exists():
                    found.append((exe, "pyenv"))
            found += [
                (exe, "pyenv") for exe in sorted((v / "bin").glob("python3.*t")) if name.match(exe.name)
            ]
    return found


def inspect_interpreter(path: Path | str, *, source: str = "configured") -> Interpreter:
    """Ask the interpreter at ``path`` about itself; raise :class:`EnvironmentNotReadyError` if it can't run."""
    path = Path(path)
    try:
        proc = subprocess.run(
            [str(path), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=90, check=False
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        data = None
    if not data or data.get("implementation") != "cpython":
        raise EnvironmentNotReadyError(
            f"{path} is not a working CPython interpreter",
            hint="fix or remove it from the 'interpreters' setting",
        )
    exe = Path(data["base_executable"] if data["in_venv"] else data["executable"] or path)
    return Interpreter(
        version=(int(data["version"][0]), int(data["version"][1]), int(data["version"][2])),
        free_threaded=bool(data["free_threaded"]),
        path=exe,
        machine=data["machine"],
        system=data["system"],
        libc=data["libc"][0] or ("glibc" if data["system"] != "Linux" else "musl"),
        libc_version=data["libc"][1],
        platform=data["platform"],
        source=source,
    )


def discover(extra: Sequence[str | os.PathLike[str]] = ()) -> list[Interpreter]:
    """Every distinct CPython interpreter found on PATH, in pyenv and in ``extra``, newest first.

    A path in ``extra`` that does not work raises :class:`EnvironmentNotReadyError`; other candidates that do not
    work (broken links, other implementations) are passed over.
    """
    cands = _candidates(extra)
    seen: set[Path] = set()
    unique: list[tuple[Path, str]] = []
    for path, source in cands:
        try:
            real = path.resolve(strict=True)
        except OSError:
            if source == "configured":
                raise EnvironmentNotReadyError(
                    f"configured interpreter {path} does not exist", hint="fix the path in 'interpreters'"
                ) from None
            continue
        if real not in seen:
            seen.add(real)
            unique.append((path, source))

    def probe(item: tuple[Path, str]) -> Interpreter | None:
        path, source = item
        try:
            return inspect_interpreter(path, source=source)
        except EnvironmentNotReadyError:
            if source == "configured":
                raise
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(probe, unique))
    by_key: dict[tuple[tuple[int, int, int], bool, Path], Interpreter] = {}
    for interp in results:
        if interp is None:
            continue
        key = (interp.version, interp.free_threaded, interp.path.resolve())
        by_key.setdefault(key, interp)
    return sorted(by_key.values(), key=lambda i: (i.version, i.free_threaded), reverse=True)


def match_identifiers(
    identifiers: Iterable[Identifier], interpreters: Sequence[Interpreter]
) -> tuple[dict[Identifier, Interpreter], list[Unbuildable]]:
    """Pair each identifier with the interpreter that builds it here (the newest patch release), or say why not."""
    here_os = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(
        _platform.system(), _platform.system()
    )
    by_ident: dict[Identifier, Interpreter] = {}
    for interp in interpreters:  # newest first, so the first one wins
        ident = interp.identifier
        if ident is not None and ident not in by_ident:
            by_ident[ident] = interp
    here_platforms = {i.platform for i in by_ident}
    ok: dict[Identifier, Interpreter] = {}
    missing: list[Unbuildable] = []
    for ident in identifiers:
        if ident in by_ident:
            ok[ident] = by_ident[ident]
            continue
        kind = "platform"
        if ident.os != here_os:
            reason = (
                f"{ident.platform} wheels are built on {ident.os}; build them on a CI runner (shipwheel ci)"
            )
        elif here_platforms and ident.platform not in here_platforms:
            have = ", ".join(sorted(here_platforms))
            reason = (
                f"this machine builds {have}, not {ident.platform}; build it on a CI runner or in a container"
            )
        else:
            ft = " free-threaded" if ident.free_threaded else ""
            reason = (
                f"no{ft} CPython {ident.version} interpreter found on PATH or in pyenv; "
                f"install it (pyenv install {ident.version}{'t' if ident.free_threaded else ''}) or add its path to 'interpreters'"
            )
            kind = "interpreter"
        missing.append(Unbuildable(ident, reason, kind))
    return ok, missing


def current() -> Interpreter:
    """The interpreter running shipwheel."""
    return inspect_interpreter(sys.executable, source="running")
