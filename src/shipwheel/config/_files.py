"""Reading the files the configuration comes from: pyproject.toml (of a folder or inside an sdist) and the
packaged defaults. Errors name the file as the user knows it, never a temporary path."""

from __future__ import annotations

import os
import sys
import tarfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

from .._fs import read_limited
from ..errors import ConfigError, ProjectError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "load_defaults",
    "parse_toml",
    "read_pyproject",
    "read_sdist_member",
    "read_sdist_pyproject",
    "read_toml",
]


def read_toml(path: Path, label: str | None = None) -> dict[str, Any]:
    """Parse the TOML file ``path``; ``label`` names it in errors (default: its path)."""
    try:
        data = read_limited(path, _MAX_PYPROJECT)  # a huge file or /dev/zero is an error, not a full memory
    except OSError as exc:
        raise ProjectError(
            f"cannot read {label or path}: {exc.strerror}", hint="check the path and its permissions"
        ) from exc
    return parse_toml(data, label or str(path))


def parse_toml(data: bytes, shown: str) -> dict[str, Any]:
    """Parse TOML bytes; ``shown`` names the file in errors."""
    try:
        parsed: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        return parsed
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{shown} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
            hint="save the file as UTF-8, as TOML requires",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{shown} is not valid TOML: {exc}", hint="fix the syntax error at that position"
        ) from exc
    except RecursionError:
        raise ConfigError(f"{shown} nests tables or arrays too deeply", hint="flatten the TOML") from None


#: pyproject.toml files are small; a bigger member is not read (it would be a hostile sdist).
_MAX_PYPROJECT = 4 * 1024 * 1024


def read_sdist_member(sdist: Path, member: str, label: str | None = None) -> str | None:
    """The text of ``TOP/member`` of an sdist (``.tar.gz`` or ``.zip``), read without extracting anything;
    None when the sdist has no such member."""
    data = _sdist_member(sdist, member, label)
    return None if data is None else data.decode("utf-8", errors="replace")


def _sdist_member(sdist: Path, member: str, label: str | None) -> bytes | None:
    hint = "pass an sdist built by a PEP 517 backend (python -m build --sdist)"
    suffix = "/" + member
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(suffix)]
                if not names:
                    return None
                if len(names) > 1 or zf.getinfo(names[0]).file_size > _MAX_PYPROJECT:
                    raise ProjectError(f"{sdist.name} has no single top-level {member}", hint=hint)
                return zf.read(names[0])
        with tarfile.open(sdist, "r:*") as tar:
            members = [
                m for m in tar.getmembers()
                if m.isfile() and m.name.strip("./").count("/") == 1 and m.name.endswith(suffix)
            ]  # fmt: skip
            if not members:
                return None
            if len(members) > 1 or members[0].size > _MAX_PYPROJECT:
                raise ProjectError(f"{sdist.name} has no single top-level {member}", hint=hint)
            fh = tar.extractfile(members[0])
            return fh.read() if fh is not None else b""
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ProjectError(f"{sdist.name} is not a readable sdist: {exc}", hint=hint) from None


def read_sdist_pyproject(sdist: Path, label: str | None = None) -> dict[str, Any] | None:
    """The parsed ``TOP/pyproject.toml`` of an sdist (None: a setup.py-only sdist), read from the archive
    without extracting anything."""
    data = _sdist_member(sdist, "pyproject.toml", label)
    if data is None:
        if read_sdist_member(sdist, "PKG-INFO") is None:
            raise ProjectError(
                f"{sdist.name} has no top-level pyproject.toml or PKG-INFO",
                hint="pass an sdist built by a PEP 517 backend (python -m build --sdist)",
            )
        return None
    return parse_toml(data, label or f"{sdist.name}:pyproject.toml")


def load_defaults() -> dict[str, Any]:
    """The packaged defaults, as the ``[tool.shipwheel]`` table they hold."""
    text = resources.files("shipwheel.config").joinpath("defaults.toml").read_text(encoding="utf-8")
    table: dict[str, Any] = tomllib.loads(text)["tool"]["shipwheel"]
    return table


def read_pyproject(project_dir: Path, label: str | None = None) -> dict[str, Any] | None:
    """The parsed pyproject.toml of ``project_dir``, or ``None`` when there is none; ``label`` names it in
    errors instead of its path (a temporary export)."""
    path = project_dir / "pyproject.toml"
    if not os.path.lexists(path):
        return (
            None  # anything else there (a FIFO, a dangling link, a folder) is read and refused: never skipped
        )
    return read_toml(path, label)
