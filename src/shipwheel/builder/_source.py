"""Where a build's sources come from: a clean export of a git commit, a plain folder, or an sdist."""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._git import Git, find_repository
from ..errors import ProjectError

__all__ = ["Source", "extract_sdist", "prepare_source", "refuse_dirty"]

_COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "wheelhouse",
    "shipwheel-logs",
    "*.egg-info",
    "__pycache__",
    ".tox",
    ".nox",
)


@dataclass(frozen=True, slots=True)
class Source:
    """The sources of one build.

    ``tree`` is a private copy (never the user's working tree); ``sdist`` is set when the input was an sdist;
    ``epoch`` is the ``SOURCE_DATE_EPOCH`` of the build (the commit time for a git ref); ``check_dirty``: the
    build refuses uncommitted changes of ``project_dir`` (its ``HEAD`` was checked out without a ``--ref``).
    """

    tree: Path
    project_dir: Path
    epoch: int
    description: str
    commit: str | None = None
    sdist: Path | None = None
    check_dirty: bool = False


def _epoch_from_env() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ProjectError(
            f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds", hint="set it to an integer or unset it"
        ) from None


def extract_sdist(sdist: Path, dest: Path) -> Path:
    """Extract ``sdist`` safely into ``dest`` and return its top folder (the one with pyproject.toml)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                _refuse_deep(sdist, zf.namelist())
                for name in zf.namelist():
                    target = (dest / name).resolve()
                    if not target.is_relative_to(dest.resolve()):
                        raise ProjectError(
                            f"{sdist.name} holds a path outside its folder: {name!r}",
                            hint="rebuild the sdist",
                        )
                zf.extractall(dest)
        else:
            with tarfile.open(sdist, "r:*") as tar:
                _refuse_deep(sdist, tar.getnames())
                tar.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, RecursionError) as exc:
        raise ProjectError(
            f"{sdist} is not a readable sdist: {exc}", hint="pass a .tar.gz sdist built by python -m build"
        ) from exc
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1 or not (tops[0] / "pyproject.toml").is_file():
        raise ProjectError(
            f"{sdist.name} has no single top folder with a pyproject.toml",
            hint="pass an sdist built by a PEP 517 backend (python -m build --sdist)",
        )
    return tops[0]


#: Deeper member paths are refused before extraction: os.makedirs recurses once per level (a RecursionError near
#: 1,000) and the path would pass PATH_MAX long before; real sdists stay far below.
MAX_DEPTH = 256


def _refuse_deep(sdist: Path, names: list[str]) -> None:
    for name in names:
        depth = name.count("/") + name.count("\\")
        if depth > MAX_DEPTH:
            raise ProjectError(
                f"{sdist.name} holds a path {depth} levels deep ({name[:80]}…), more than {MAX_DEPTH}",
                hint="rebuild the sdist from the project's sources (python -m build --sdist)",
            )


def _sdist_epoch(sdist: Path) -> int:
    env = _epoch_from_env()
    if env is not None:
        return env
    try:
        with tarfile.open(sdist, "r:*") as tar:
            return int(max((m.mtime for m in tar.getmembers()), default=0)) or int(sdist.stat().st_mtime)
    except (tarfile.TarError, OSError):
        return int(sdist.stat().st_mtime)


def refuse_dirty(project: Path, own_outputs: Sequence[Path] = ()) -> None:
    """Refuse uncommitted changes below ``project`` (they would silently be missing from a build of HEAD); the
    build's own outputs (``own_outputs``: wheelhouse, logs, cache, wherever configured) never count."""
    repo = find_repository(project)
    if repo is None:
        return
    top = repo.resolve()
    subdir = project.relative_to(top).as_posix() if project != top else ""
    excludes = []
    for path in own_outputs:
        path = path.resolve()
        if path.is_relative_to(top) and path != top:
            excludes.append(f":(top,exclude){path.relative_to(top).as_posix()}")
    dirty = Git(repo).dirty_paths([subdir or ".", *excludes])
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise ProjectError(
            f"uncommitted changes in {project} ({shown}) would not be in the build of HEAD",
            hint="commit them, or pass --allow-dirty to build HEAD without them (or --ref REF)",
        )


def prepare_source(
    project: Path,
    *,
    ref: str | None,
    allow_dirty: bool,
    dest: Path,
) -> Source:
    """Make a private copy of the project's sources in ``dest`` (which must not exist yet).

    - an sdist file: extracted;
    - a folder in a git work tree: a clean checkout of ``ref`` (default ``HEAD``) with its history, tags and
      submodules (:meth:`shipwheel._git.Git.clean_copy`), built from that folder in it; with no
      ``ref``, uncommitted changes under the folder are refused unless ``allow_dirty`` (they would silently be
      left out of the build; the caller may instead check with :func:`refuse_dirty` once it knows where its own
      outputs are);
    - any other folder: copied, without build outputs and virtual environments.
    """
    project = project.expanduser()
    if not project.exists():
        raise ProjectError(f"{project} does not exist", hint="pass a project folder or an sdist file")
    if project.is_file():
        return _from_sdist(project, ref=ref, dest=dest)
    project = project.resolve()
    repo = find_repository(project)
    if repo is None:
        return _from_folder(project, ref=ref, dest=dest)
    git = Git(repo)
    subdir = project.relative_to(repo.resolve()).as_posix() if project != repo.resolve() else ""
    commit = git.resolve(ref or "HEAD")
    if ref is None and not allow_dirty:
        refuse_dirty(project)
    git.clean_copy(commit, dest)
    tree = dest / subdir if subdir else dest
    if not tree.is_dir():
        raise ProjectError(
            f"{subdir} does not exist at {ref or 'HEAD'} ({commit[:12]})",
            hint="pass a ref that contains the project",
        )
    if not (tree / "pyproject.toml").is_file():
        raise _no_pyproject(project, at=f" at {ref or 'HEAD'} ({commit[:12]})")
    return Source(
        tree=tree,
        project_dir=project,
        epoch=git.commit_time(commit),
        description=f"git {ref or 'HEAD'} ({commit[:12]}) of {project}",
        commit=commit,
    )


def _from_sdist(project: Path, *, ref: str | None, dest: Path) -> Source:
    if not project.name.endswith((".tar.gz", ".zip")):
        raise ProjectError(
            f"{project} is neither a folder nor an sdist", hint="pass a project folder or a .tar.gz sdist"
        )
    if ref is not None:
        raise ProjectError("--ref applies to a git project folder, not to an sdist", hint="leave out --ref")
    sdist = project.resolve()
    tree = extract_sdist(sdist, dest)
    return Source(
        tree=tree,
        project_dir=Path.cwd(),
        epoch=_sdist_epoch(sdist),
        description=f"sdist {sdist.name}",
        sdist=sdist,
    )


def _from_folder(project: Path, *, ref: str | None, dest: Path) -> Source:
    if ref is not None:
        raise ProjectError(
            f"--ref {ref} needs a git repository, and {project} is not in one", hint="leave out --ref"
        )
    if not (project / "pyproject.toml").is_file():
        raise _no_pyproject(project)
    shutil.copytree(project, dest, ignore=_COPY_IGNORE, symlinks=True)
    env = _epoch_from_env()
    epoch = env if env is not None else _newest_mtime(dest)
    return Source(tree=dest, project_dir=project, epoch=epoch, description=f"folder {project}")


def _no_pyproject(project: Path, at: str = "") -> ProjectError:
    return ProjectError(
        f"no pyproject.toml in {project}{at}",
        hint="run shipwheel in the project's folder (the one with pyproject.toml) or pass it as PROJECT",
    )


def _newest_mtime(tree: Path) -> int:
    newest = 0
    for root, _dirs, files in os.walk(tree):
        for name in files:
            try:
                newest = max(newest, int(os.lstat(os.path.join(root, name)).st_mtime))
            except OSError:
                continue
    return newest
