"""``shipwheel docs``: built HTML docs into ``X.Y/`` of a docs git repository, ``stable`` and the version switcher.

The layout is NumPy's doc repository's: one folder per release series, ``stable`` a relative symlink to the newest
final series, and a ``versions.json`` in pydata-sphinx-theme's switcher format (``name``, ``version``, ``url``,
``preferred`` on the stable entry).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from .._fs import copy_tree, plan_tree_copy, write_inside
from .._git import Git, find_repository
from .._git import message as git_message
from ..errors import ProjectError, UsageError

__all__ = ["SWITCHER", "DocsResult", "publish_docs"]

SWITCHER = "versions.json"
_SERIES = re.compile(r"^\d+\.\d+$", re.ASCII)


@dataclass(frozen=True, slots=True)
class DocsResult:
    """What :func:`publish_docs` did: the series folder, where ``stable`` points, the commit (``None``: nothing
    changed), and whether it was pushed."""

    series: str
    stable: str | None
    commit: str | None
    pushed: bool


def docs_commit_message(project: str, version: str) -> str:
    """The message of the docs commit, which is also how a later run finds that it was made."""
    return git_message("Docs for {project} {version}", project=project, version=version)


def find_docs_commit(repo: Path, project: str, version: str) -> str | None:
    """The commit of the docs repository that added ``version``'s docs, or ``None``."""
    git = Git(repo)
    out = git.run("log", "--format=%H", "-F", f"--grep={docs_commit_message(project, version)}", "-n", "1")
    return out.strip() or None


def _switcher(repo: Path, stable: str | None, base_url: str) -> list[dict[str, object]]:
    series = sorted(
        (p.name for p in repo.iterdir() if p.is_dir() and not p.is_symlink() and _SERIES.match(p.name)),
        key=Version,
        reverse=True,
    )
    base = base_url.rstrip("/") + "/" if base_url else ""
    entries: list[dict[str, object]] = []
    if (repo / "dev").is_dir():
        entries.append({"name": "dev", "version": "dev", "url": f"{base}dev/"})
    for s in series:
        entry: dict[str, object] = {
            "name": f"{s} (stable)" if s == stable else s,
            "version": s,
            "url": f"{base}{s}/",
        }
        if s == stable:
            entry["preferred"] = True
        entries.append(entry)
    return entries


def _ignored(relative: str) -> bool:
    """Sphinx's build leftovers, not part of the published HTML."""
    return os.path.basename(relative) in {".doctrees", ".buildinfo", "_sources"}


def publish_docs(
    project: str,
    version: str,
    *,
    built: Path,
    repo: Path,
    base_url: str = "",
    push: bool = False,
) -> DocsResult:
    """Copy ``built`` (the HTML) into ``repo/X.Y/``, point ``stable`` at it for a final release newer than the
    current stable, rewrite the switcher and commit; with ``push``, push the branch to its upstream.

    :raises UsageError: ``built`` is not a folder with an ``index.html``.
    :raises ProjectError: ``repo`` is not a git work tree, or has uncommitted changes.
    """
    wanted = Version(version)
    if not (built / "index.html").is_file():
        raise UsageError(
            f"{built} holds no index.html", hint="build the docs first and pass their HTML folder"
        )
    top = find_repository(repo)
    if top is None or top.resolve() != repo.resolve():
        raise ProjectError(
            f"{repo} is not the top of a git work tree", hint="pass the docs repository's folder"
        )
    git = Git(repo)
    if git.dirty_paths():
        raise ProjectError(
            f"the docs repository {repo} has uncommitted changes", hint="commit or discard them"
        )
    series = f"{wanted.major}.{wanted.minor}"
    dest = repo / series
    try:  # the whole tree is checked before the old copy goes: a link out of it or a FIFO copies nothing
        plan_tree_copy(built, ignore=_ignored)
    except OSError as exc:
        raise ProjectError(
            f"cannot copy the docs from {built}: {exc.filename} {exc.strerror}",
            hint="the built HTML may hold links only to files inside it, and no pipes, sockets or devices",
        ) from None
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.is_dir():
        shutil.rmtree(dest)
    try:
        copy_tree(built, dest, ignore=_ignored)
    except OSError as exc:  # the tree changed after the check: what was copied is not committed
        raise ProjectError(
            f"cannot copy the docs from {built}: {exc.filename} {exc.strerror}",
            hint="build the docs again and pass the finished HTML folder",
        ) from None
    stable_link = repo / "stable"
    current = os.readlink(stable_link) if stable_link.is_symlink() else None
    final = not (wanted.is_prerelease or wanted.is_devrelease)
    # A bug-fix release of an older series (1.26.5 after 2.0.0) must not move stable back.
    if final and (current is None or not _SERIES.match(current) or Version(series) >= Version(current)):
        if stable_link.is_symlink() or stable_link.exists():
            stable_link.unlink()
        stable_link.symlink_to(series, target_is_directory=True)
        current = series
    write_inside(repo, SWITCHER, json.dumps(_switcher(repo, current, base_url), indent=2) + "\n")
    git.run("add", "-A")
    commit = None
    if git.run("status", "--porcelain"):
        git.run("commit", "-q", "--no-verify", "-m", docs_commit_message(project, version))
        commit = git.run("rev-parse", "HEAD").strip()
    pushed = False
    if push:
        git.run("push", "-q", "origin", "HEAD")
        pushed = True
    return DocsResult(series, current, commit, pushed)
