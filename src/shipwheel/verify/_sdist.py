"""Source distributions: one top folder, PKG-INFO valid and matching the filename, pyproject.toml present."""

from __future__ import annotations

import sys

from ..distfiles import DistFile
from ._archive import Limits, iter_tar
from ._metadata import check_metadata
from ._model import FileResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["check_sdist"]


def check_sdist(data: bytes, dist: DistFile, result: FileResult, limits: Limits) -> None:
    """Check the sdist in ``data`` (read once) and record what was found in ``result``."""
    if dist.is_zip_sdist:
        result.add("sdist-zip", "the sdist is a .zip archive; PyPI takes only .tar.gz sdists")
        return
    stem = result.filename[: -len(".tar.gz")]
    pkg_info: bytes | None = None
    pyproject: bytes | None = None
    outside: list[str] = []
    for name, content in iter_tar(data, result, limits):
        top, _, rest = name.partition("/")
        if top != stem:
            outside.append(name)
            continue
        if rest == "PKG-INFO":
            pkg_info = content
        elif rest == "pyproject.toml":
            pyproject = content
    if result.members == 0 and result.problems:
        return
    if outside:
        result.add(
            "sdist-top-dir",
            f"{len(outside)} members are outside the {stem}/ folder, for example {outside[0]!r}",
        )
    if pkg_info is None:
        result.add("sdist-pkg-info-missing", f"{stem}/PKG-INFO is missing")
    else:
        check_metadata(pkg_info, result, f"{stem}/PKG-INFO", dist.name, dist.version)
    if pyproject is None:
        result.add("sdist-pyproject-missing", f"{stem}/pyproject.toml is missing")
    else:
        try:
            tomllib.loads(pyproject.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            result.add("sdist-pyproject-invalid", f"{stem}/pyproject.toml: {exc}")
