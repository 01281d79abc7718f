"""Set the version in every configured location and commit the change (``shipwheel version`` / ``bump``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from .._fs import read_text
from .._git import Git, find_repository
from .._git import message as git_message
from ..config import Config
from ..errors import ProjectError
from ._version import VersionLocation, bump_version, find_locations, write_version

__all__ = ["VersionChange", "bump", "current_version", "locations_of", "set_version"]


@dataclass(frozen=True, slots=True)
class VersionChange:
    """What :func:`set_version` did: the version before and after, the files it rewrote, the commit it made."""

    old: str
    new: Version
    changed: tuple[Path, ...] = ()
    commit: str | None = None
    locations: tuple[VersionLocation, ...] = field(default=())


def locations_of(config: Config) -> list[VersionLocation]:
    """The version locations of the configured project."""
    opts = config.release
    return find_locations(config.project_dir, opts.version_files, opts.version_patterns, config.project.name)


def current_version(config: Config) -> Version:
    """The version the first location holds; :class:`ProjectError` when the locations disagree."""
    from ._version import parse_version

    locations = locations_of(config)
    first = locations[0].read()
    version = parse_version(first.split(" ")[0])
    for loc in locations[1:]:
        if not loc.agrees(version):
            raise ProjectError(
                f"{loc.path.name} holds {loc.read()} but {locations[0].path.name} holds {first}",
                hint="set one version everywhere with: shipwheel version VERSION",
            )
    return version


def set_version(
    config: Config, version: Version, *, commit: bool = True, message: str | None = None
) -> VersionChange:
    """Write ``version`` into every location and, with ``commit``, commit those files alone.

    Nothing changes and nothing is committed when every location already holds ``version``.
    :raises ProjectError: a version file with uncommitted changes (they would go into the release commit).
    """
    locations = locations_of(config)
    old = locations[0].read()
    git = None
    if commit:
        top = find_repository(config.project_dir)
        if top is None:
            raise ProjectError(
                f"{config.project_dir} is not in a git repository", hint="run git init, or pass --no-commit"
            )
        git = Git(top)
        rel = [str(loc.path.relative_to(top)) for loc in locations]
        dirty = git.dirty_paths(rel)
        interrupted = _interrupted_writes(git, locations, version, dirty)
        others = [p for p in dirty if p not in interrupted]
        if others:
            raise ProjectError(
                f"version files have uncommitted changes: {', '.join(others)}",
                hint="commit or stash them first, or pass --no-commit",
            )
    changed = write_version(locations, version)
    if (
        git is not None
    ):  # an earlier run wrote them and was stopped before its commit: that commit is made now
        changed = list(dict.fromkeys([*changed, *(git.root / p for p in interrupted)]))
    sha = None
    if git is not None and changed:
        template = message or (
            config.release.bump_message if version.is_devrelease else config.release.commit_message
        )
        text = git_message(template, version=version, project=config.project.name or "")
        paths = [str(p.relative_to(git.root)) for p in changed]
        git.run("add", "--", *paths)
        git.run("commit", "-q", "--no-verify", "-m", text, "--", *paths)
        sha = git.run("rev-parse", "HEAD").strip()
    return VersionChange(old=old, new=version, changed=tuple(changed), commit=sha, locations=tuple(locations))


def _interrupted_writes(
    git: Git, locations: list[VersionLocation], version: Version, dirty: list[str]
) -> list[str]:
    """The ``dirty`` version files whose only change from HEAD is ``version`` written in: what a run stopped
    between writing the version and committing it (a kill -9) leaves. Any other change is the user's."""
    from ..errors import CommandError

    out = []
    for loc in locations:
        rel = loc.path.relative_to(git.root).as_posix()
        if rel not in dirty:
            continue
        try:
            committed = git.run("show", f"HEAD:{rel}")
            now = read_text(loc.path)
        except (CommandError, OSError, ValueError):
            continue
        try:
            expected = loc.rewritten(version, committed)
        except ProjectError:
            continue
        if now == expected and now != committed:
            out.append(rel)
    return out


def bump(
    config: Config,
    *,
    pre: str | None = None,
    final: bool = False,
    dev: bool = False,
    segment: str = "micro",
    commit: bool = True,
) -> VersionChange:
    """Move to the next version (:func:`bump_version`) and write it like :func:`set_version`."""
    new = bump_version(current_version(config), pre=pre, final=final, dev=dev, segment=segment)
    return set_version(config, new, commit=commit)
