"""Is the sdist what the project's own configuration means to ship? Tracked files it lacks, sorted by intent.

A project says what its sdist holds in its ``MANIFEST.in`` (setuptools), its backend's rules, and, where it runs
check-manifest, a ``[tool.check-manifest]`` table. multidict's real sdists leave ``HISTORY.rst``, ``benchmarks/``
and ``tools/`` out on purpose: its ``MANIFEST.in`` includes only what it ships. So a tracked file the sdist lacks is

- **ignored** when check-manifest would ignore it: its default rules (generated files, VCS and CI files), the
  ``ignore`` patterns of ``[tool.check-manifest]``, and the ``exclude``/``prune`` lines of ``MANIFEST.in`` (read with
  check-manifest's own parser), plus dotfiles and the caller's extra patterns;
- **lost** (an error) when ``MANIFEST.in`` includes it (``include``, ``graft``, ``recursive-include``,
  ``global-include``, matched as setuptools matches them) and the sdist still lacks it, or when the project asks
  for the strict check with a ``[tool.check-manifest]`` table, as check-manifest itself then fails;
- **left out** (reported, not fatal) otherwise: the project's rules do not ship it.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["SdistOmissions", "sdist_omissions"]

_GENERATED = ("PKG-INFO",)


@dataclass(frozen=True, slots=True)
class SdistOmissions:
    """Tracked files the sdist lacks: ``lost`` ones fail the check, ``left_out`` ones are reported."""

    lost: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    #: The project asked for check-manifest's strict comparison (a ``[tool.check-manifest]`` table).
    strict: bool = False
    #: Why the lost files are lost, one line per rule (``MANIFEST.in: include CHANGES.rst``).
    why: dict[str, str] = field(default_factory=dict)


def _has_check_manifest_table(project_dir: Path) -> bool:
    """Whether the project configures check-manifest (where check-manifest looks: pyproject.toml, setup.cfg,
    tox.ini); an empty table counts: the project runs it."""
    try:
        data = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))
        if isinstance(data.get("tool"), dict) and "check-manifest" in data["tool"]:
            return True
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        pass
    for name in ("setup.cfg", "tox.ini"):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            if parser.read(project_dir / name, encoding="utf-8") and parser.has_section("check-manifest"):
                return True
        except (configparser.Error, UnicodeDecodeError):
            continue
    return False


def _manifest_lines(project_dir: Path) -> list[str]:
    path = project_dir / "MANIFEST.in"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines, joined = [], ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        line, joined = (joined + line).strip(), ""
        if line:
            lines.append(line)
    return lines


def _included(path: str, lines: Sequence[str]) -> str | None:
    """The last ``MANIFEST.in`` line that includes ``path`` when no later line excludes it again; ``None`` when
    the template does not ship it. Patterns match as setuptools' do (``*`` stays within a folder for ``include``;
    ``graft`` takes a whole folder; ``recursive-include DIR PATTERN`` any depth below DIR; ``global-include``
    anywhere)."""
    verdict: str | None = None
    name = PurePosixPath(path).name
    for line in lines:
        cmd, _, rest = line.partition(" ")
        words = rest.split()
        if not words:
            continue
        match = False
        if cmd in ("include", "exclude"):
            match = any(fnmatch.fnmatchcase(path, w) and path.count("/") == w.count("/") for w in words)
        elif cmd in ("global-include", "global-exclude"):
            match = any(fnmatch.fnmatchcase(name, w) for w in words)
        elif cmd in ("recursive-include", "recursive-exclude") and len(words) > 1:
            folder = words[0].rstrip("/") + "/"
            match = path.startswith(folder) and any(fnmatch.fnmatchcase(name, w) for w in words[1:])
        elif cmd in ("graft", "prune"):
            match = any(path.startswith(w.rstrip("/") + "/") for w in words)
        if match:
            verdict = line if cmd in ("include", "global-include", "recursive-include", "graft") else None
    return verdict


def sdist_omissions(
    project_dir: Path, tracked: Sequence[str], members: Sequence[str], extra_ignore: Sequence[str] = ()
) -> SdistOmissions:
    """Sort the files of ``tracked`` (relative to the project folder) that the sdist's ``members`` (relative to its
    top folder) lack into lost and left out; see the module docstring. ``extra_ignore``: fnmatch patterns on the
    path or the file name that are never reported (``release.sdist-ignore``)."""
    import check_manifest

    have = set(members)
    candidates = []
    for path in tracked:
        parts = PurePosixPath(path).parts
        if path in have or path in _GENERATED or any(p.startswith(".") for p in parts):
            continue
        if any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(parts[-1], pat) for pat in extra_ignore):
            continue
        candidates.append(path)
    if not candidates:
        return SdistOmissions(strict=_has_check_manifest_table(project_dir))
    ui = check_manifest.UI(verbosity=0)
    with check_manifest.cd(str(project_dir)):
        ignore, _ = check_manifest.read_config()
        ignore += check_manifest.read_manifest(ui)
    # check-manifest matches with the platform's separator; tracked paths are POSIX.
    kept = set(ignore.filter([p.replace("/", os.sep) for p in candidates]))
    candidates = [p for p in candidates if p.replace("/", os.sep) in kept]
    strict = _has_check_manifest_table(project_dir)
    lines = _manifest_lines(project_dir)
    lost: list[str] = []
    left_out: list[str] = []
    why: dict[str, str] = {}
    for path in candidates:
        rule = _included(path, lines)
        if rule is not None:
            lost.append(path)
            why[path] = f"MANIFEST.in: {rule}"
        elif strict:
            lost.append(path)
            why[path] = "[tool.check-manifest]: the project asks for every tracked file"
        else:
            left_out.append(path)
    return SdistOmissions(lost, left_out, strict, why)
