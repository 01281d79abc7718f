"""``shipwheel branch X.Y``: the maintenance branch of a series, and on the main line the next release's start."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.version import Version

from .._fs import write_inside
from ..config import Config
from ..errors import CommandError, UsageError
from ._names import project_name
from ._tag import repository_of

__all__ = ["BranchResult", "make_branch"]

_SERIES = re.compile(r"^(\d+)\.(\d+)$", re.ASCII)  # ASCII: "٣.1" is no series (Version refuses it)

_SKELETON = {
    "rst": "{rule}\n{title}\n{rule}\n\nHighlights\n==========\n\n"
    "*Highlights are chosen near the end of the release cycle.*\n",
    "md": "# {title}\n\n## Highlights\n\n*Highlights are chosen near the end of the release cycle.*\n",
}


@dataclass(frozen=True, slots=True)
class BranchResult:
    """The maintenance branch (and whether this call made it), the next version, the commits made on main."""

    branch: str
    created: bool
    commit: str
    next_version: str
    notes: str | None = None
    commits: tuple[str, ...] = field(default=())


def make_branch(config: Config, series: str, *, ref: str = "HEAD", bump: bool = True) -> BranchResult:
    """Create the maintenance branch of ``series`` (``X.Y``) at ``ref`` and, on the current branch, start the
    next series: its release-notes skeleton (when ``release.notes-file`` is set) and, with ``bump``, the
    version ``X.(Y+1).0.dev0``. Each part already done is left as it is, so running it again changes nothing.

    :raises UsageError: ``series`` is not ``X.Y``.
    """
    m = _SERIES.match(series)
    if m is None:
        raise UsageError(f"{series!r} is not a release series", hint="write it as X.Y, e.g. 2.1")
    git = repository_of(config)
    name = config.release.branch_format.format(series=series)
    commit = git.resolve(ref)
    created = False
    try:
        existing = git.run("rev-parse", "--verify", "--quiet", f"refs/heads/{name}").strip()
    except CommandError:
        existing = ""
    if existing:
        commit = existing
    else:
        git.run("branch", "--", name, commit)
        created = True
    nxt = Version(f"{m.group(1)}.{int(m.group(2)) + 1}.0")
    project = project_name(config)
    commits: list[str] = []
    notes_rel = None
    if config.release.notes_file:
        path = config.project_dir / config.release.notes_file.format(version=nxt)
        notes_rel = str(path.relative_to(git.root))
        if not path.exists():
            fmt = "md" if path.suffix == ".md" else "rst"
            title = f"{project} {nxt} Release Notes"
            # never through a link in the work tree (a folder of the notes path, or a dangling notes link)
            write_inside(git.root, notes_rel, _SKELETON[fmt].format(title=title, rule="=" * len(title)))
            git.run("add", "--", notes_rel)
            git.run(
                "commit", "-q", "--no-verify", "-m", f"DOC: Start the {nxt} release notes", "--", notes_rel
            )
            commits.append(git.run("rev-parse", "HEAD").strip())
    if bump:
        from ._setver import current_version, set_version

        dev = Version(f"{nxt}.dev0")
        if current_version(config) < dev:
            change = set_version(config, dev)
            if change.commit:
                commits.append(change.commit)
    return BranchResult(name, created, commit, str(nxt), notes_rel, tuple(commits))
