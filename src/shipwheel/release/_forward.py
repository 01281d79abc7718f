"""Forward-porting the release notes of a final release made on a maintenance branch to the main branch.

NumPy's release guide ends a maintenance release by forward-porting its release notes to main, so the next
release's documentation lists every release. Here that is one local commit on main (never pushed), made without
checking main out (the work tree stays on the maintenance branch): each notes file's change in the release's
notes commit is merged into main's copy of the file with ``git merge-file`` (a cherry-pick of that file), the new
blobs are written into main's tree with ``git mktree``, and main moves with a compare-and-swap ``update-ref``. A
conflict, or main checked out in another work tree, leaves main as it was and says what to do.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from .._fs import write_file
from .._git import Git
from .._git import message as git_message
from ..config import Config
from ..errors import CommandError

__all__ = ["ForwardPort", "file_at", "forward_port", "main_branch", "maintenance_release"]


@dataclass(frozen=True, slots=True)
class ForwardPort:
    """What :func:`forward_port` did: the commit made on ``branch`` (``None``: nothing was needed, or it could not
    be made), and when it could not, why and what to do (``todo``)."""

    branch: str
    commit: str | None
    todo: str = ""

    @property
    def detail(self) -> str:
        if self.todo:
            return f"not forward-ported to {self.branch}: {self.todo}"
        if self.commit:
            return f"forward-ported to {self.branch} as {self.commit[:12]} (not pushed)"
        return f"{self.branch} has them already"


def maintenance_release(config: Config, git: Git, version: Version) -> str | None:
    """The maintenance branch (``release.branch-format`` of the version's ``X.Y``) when HEAD is on it and
    ``version`` is a final release; ``None`` otherwise."""
    if version.is_prerelease or version.is_devrelease or len(version.release) < 2:
        return None
    try:
        head = git.run("symbolic-ref", "--quiet", "--short", "HEAD").strip()
    except CommandError:
        return None
    series = f"{version.release[0]}.{version.release[1]}"
    return head if head == config.release.branch_format.format(series=series) else None


def _has_branch(git: Git, name: str) -> bool:
    try:
        git.run("rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
    except CommandError:
        return False
    return True


def main_branch(git: Git) -> str | None:
    """The main line: the branch ``origin/HEAD`` names when it exists here, else ``main``, else ``master``."""
    try:
        remote_head = git.run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD").strip()
    except CommandError:
        remote_head = ""
    candidates = [remote_head.partition("/")[2]] if remote_head else []
    for name in [*candidates, "main", "master"]:
        if name and _has_branch(git, name):
            return name
    return None


def file_at(git: Git, rev: str, path: str) -> bytes | None:
    """The bytes of file ``path`` at ``rev``; ``None`` when it has none there."""
    try:
        kind = git.run("cat-file", "-t", f"{rev}:{path}").strip()
    except CommandError:
        return None
    return git.run_bytes("cat-file", "blob", f"{rev}:{path}") if kind == "blob" else None


def _merge(git: Git, ours: bytes, base: bytes, theirs: bytes) -> bytes | None:
    """``git merge-file`` of one file: the merged bytes, or ``None`` on a conflict."""
    with tempfile.TemporaryDirectory(prefix="shipwheel-forward-") as tmp:
        names = []
        for label, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            write_file(Path(tmp) / label, data)
            names.append(str(Path(tmp) / label))
        try:
            return git.run_bytes("merge-file", "-p", "--", *names)
        except CommandError:  # the exit code is the number of conflicts
            return None


def _with_blob(git: Git, tree: str | None, parts: list[str], blob: str) -> str:
    """The id of ``tree`` (``None``: an empty one) with the file ``parts`` set to ``blob``, built bottom-up."""
    entries: dict[str, str] = {}
    if tree is not None:
        for line in git.run("ls-tree", "-z", tree).split("\0"):
            if line:
                meta, _, name = line.partition("\t")
                entries[name] = meta
    head, rest = parts[0], parts[1:]
    if rest:
        sub = None
        if head in entries and entries[head].split()[1] == "tree":
            sub = entries[head].split()[2]
        entries[head] = f"040000 tree {_with_blob(git, sub, rest, blob)}"
    else:
        mode = (
            entries[head].split()[0] if head in entries and entries[head].split()[1] == "blob" else "100644"
        )
        entries[head] = f"{mode} blob {blob}"
    listing = "".join(f"{meta}\t{name}\0" for name, meta in entries.items())
    return git.run("mktree", "-z", input=listing).strip()


def _checked_out(git: Git, branch: str) -> str | None:
    for block in git.run("worktree", "list", "--porcelain").split("\n\n"):
        lines = block.splitlines()
        if f"branch refs/heads/{branch}" in lines:
            return lines[0].removeprefix("worktree ")
    return None


def forward_port(git: Git, paths: list[str], source: str, *, target: str, version: str) -> ForwardPort:
    """Bring the changes commit ``source`` made to ``paths`` (the notes files, relative to the work tree's top)
    into branch ``target`` as one new commit there; main is left as it was on a conflict."""
    todo_pick = f"git switch {target} && git cherry-pick -x {source[:12]}, resolve, and commit"
    tip = git.run("rev-parse", f"refs/heads/{target}").strip()
    merged: dict[str, bytes] = {}
    for rel in paths:
        theirs = file_at(git, source, rel)
        if theirs is None:
            continue
        base = file_at(git, f"{source}^", rel) or b""
        ours = file_at(git, tip, rel)
        if ours == theirs:
            continue
        result = theirs if ours is None and not base else _merge(git, ours or b"", base, theirs)
        if result is None:
            return ForwardPort(
                target, None, f"{rel} conflicts with {target}'s copy; {target} is unchanged: {todo_pick}"
            )
        if result != ours:
            merged[rel] = result
    if not merged:
        return ForwardPort(target, None)
    elsewhere = _checked_out(git, target)
    if elsewhere is not None:
        return ForwardPort(
            target,
            None,
            f"{target} is checked out in {elsewhere}; it is unchanged: there, {todo_pick.split(' && ')[1]}",
        )
    tree = git.run("rev-parse", f"{tip}^{{tree}}").strip()
    for rel, data in merged.items():
        blob = git.run_bytes("hash-object", "-w", "--stdin", input=data).decode().strip()
        tree = _with_blob(git, tree, rel.split("/"), blob)
    msg = git_message("DOC: Forward-port the {version} release notes\n\n(cherry picked from commit {source})",
                      version=version, source=source)  # fmt: skip
    commit = git.run("commit-tree", tree, "-p", tip, "-m", msg).strip()
    try:
        git.run(
            "update-ref", "-m", "shipwheel: forward-port release notes", f"refs/heads/{target}", commit, tip
        )
    except CommandError:
        return ForwardPort(target, None, f"{target} moved while the notes were forward-ported: {todo_pick}")
    return ForwardPort(target, commit)
