"""Pushing a release: the branch and the tag to the branch's remote, as two ``git push`` commands.

``release`` and ``tag`` end by showing the two commands (:func:`push_plan`); the ``push`` step (off by default:
list it in ``release.steps``) runs them. The remote is the branch's upstream remote (``branch.NAME.remote``), else
``origin``; only the remote's *name* is shown, and anything git says back is redacted, so a URL holding a token
never reaches the terminal or the record.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .._git import Git
from .._redact import redact, redact_text
from ..config import Config
from ..errors import CommandError, ProjectError, RemoteError

__all__ = ["PushPlan", "push_commands", "push_plan", "push_release", "pushed"]


@dataclass(frozen=True, slots=True)
class PushPlan:
    """Where a release goes: the remote, the local branch, the branch it updates there, and the tag."""

    remote: str
    branch: str | None
    remote_branch: str | None
    tag: str

    @property
    def branch_refspec(self) -> str | None:
        if self.branch is None:
            return None
        if self.remote_branch and self.remote_branch != self.branch:
            return f"{self.branch}:{self.remote_branch}"
        return self.branch

    def commands(self) -> list[list[str]]:
        """The ``git push`` commands, branch first (a tag whose commit the branch lacks confuses nobody then)."""
        out = []
        if self.branch_refspec is not None:
            out.append(["git", "push", self.remote, self.branch_refspec])
        out.append(["git", "push", self.remote, self.tag])
        return out

    def lines(self) -> list[str]:
        """:meth:`commands` as shell lines, without any credential (a remote given as a URL is redacted)."""
        return [redact_text(shlex.join([*cmd[:2], redact(cmd[2]), *cmd[3:]])) for cmd in self.commands()]


def _config(git: Git, key: str) -> str | None:
    try:
        return git.run("config", "--get", key).strip() or None
    except CommandError:
        return None


def push_plan(git: Git, tag: str) -> PushPlan:
    """The remote and branch the release is pushed from: the checked-out branch and its upstream's remote
    (``origin`` when it has none, or tracks a local branch); a detached HEAD pushes the tag alone."""
    try:
        branch: str | None = git.run("symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
    except CommandError:
        branch = None
    remote = "origin"
    remote_branch = None
    if branch is not None:
        configured = _config(git, f"branch.{branch}.remote")
        if configured and configured != ".":
            remote = configured
            merge = _config(git, f"branch.{branch}.merge")
            if merge and merge.startswith("refs/heads/"):
                remote_branch = merge.removeprefix("refs/heads/")
    if remote.startswith("-"):
        raise ProjectError(
            f"the remote of branch {branch} is {redact(remote)!r}, which git would read as an option",
            hint=f"set it to a remote's name (git branch --set-upstream-to=origin/{branch})",
        )
    return PushPlan(remote, branch, remote_branch, tag)


def _remote_refs(git: Git, plan: PushPlan) -> dict[str, str]:
    refs = [f"refs/tags/{plan.tag}"]
    if plan.branch is not None:
        refs.append(f"refs/heads/{plan.remote_branch or plan.branch}")
    try:
        out = git.run("ls-remote", plan.remote, *refs)
    except CommandError as exc:
        raise RemoteError(
            f"cannot list the remote {redact(plan.remote)}: {redact_text(exc.message)}",
            hint="check the remote (git remote -v) and your access to it",
        ) from None
    found = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        found[ref.strip()] = sha.strip()
    return found


def pushed(git: Git, plan: PushPlan) -> bool:
    """Whether the remote already holds the release's tag (the same tag object) and, on a branch, the branch
    at this commit or past it."""
    remote = _remote_refs(git, plan)
    if remote.get(f"refs/tags/{plan.tag}") != git.run("rev-parse", f"refs/tags/{plan.tag}").strip():
        return False
    if plan.branch is None:
        return True
    there = remote.get(f"refs/heads/{plan.remote_branch or plan.branch}")
    if there is None:
        return False
    head = git.run("rev-parse", f"refs/heads/{plan.branch}").strip()
    if there == head:
        return True
    try:  # the remote's branch moved on past the release (someone pushed after it): still pushed
        git.run("merge-base", "--is-ancestor", head, there)
    except CommandError:
        return False
    return True


def push_release(git: Git, plan: PushPlan) -> None:
    """Run the plan's ``git push`` commands (git's network deadline, no password prompt).

    :raises ProjectError: the tag does not exist here.
    :raises RemoteError: a push failed (git's words, redacted).
    """
    try:
        git.run("rev-parse", "--verify", "--quiet", f"refs/tags/{plan.tag}")
    except CommandError:
        raise ProjectError(
            f"tag {plan.tag} does not exist, nothing to push", hint="run the tag step first"
        ) from None
    for cmd in plan.commands():
        try:
            git.run(*cmd[1:])
        except CommandError as exc:
            raise RemoteError(
                f"{redact_text(shlex.join([*cmd[:2], redact(cmd[2]), *cmd[3:]]))} failed: "
                f"{redact_text(exc.message)}",
                hint="check your access to the remote, then run the same command again (what was pushed stays)",
            ) from None


def push_commands(config: Config, version: str) -> list[str]:
    """The shell lines that push release ``version`` (its branch and tag), for ``release`` and ``tag`` to show;
    none while the release has no tag here (a release run without the tag step has nothing to push)."""
    from ._tag import find_tag, repository_of, tag_name

    git = repository_of(config)
    name = tag_name(config, version)
    return push_plan(git, name).lines() if find_tag(git, name) is not None else []
