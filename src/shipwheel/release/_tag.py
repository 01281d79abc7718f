"""``shipwheel tag``: one annotated (and, with a key, GPG-signed) tag per release, made once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._git import Git, find_repository
from ..config import Config
from ..errors import CommandError, EnvironmentNotReadyError, ProjectError
from ._version import parse_version

__all__ = ["TagConflictError", "TagResult", "find_tag", "tag_name", "tag_release", "verify_tag"]


class TagConflictError(ProjectError):
    """The release tag exists and names another commit, or is not an annotated tag (exit 4)."""


@dataclass(frozen=True, slots=True)
class TagResult:
    """The tag of a release: its name, the commit it names, whether this call made it, whether it is signed."""

    name: str
    commit: str
    created: bool
    signed: bool
    verified: bool


def tag_name(config: Config, version: str) -> str:
    """The tag name of ``version`` (``tag-format``, default ``v{version}``)."""
    return config.release.tag_format.format(version=version)


def repository_of(config: Config) -> Git:
    """The git wrapper of the repository holding the project; :class:`ProjectError` outside one."""
    top = find_repository(config.project_dir)
    if top is None:
        raise ProjectError(f"{config.project_dir} is not in a git repository", hint="run git init first")
    return Git(top)


def find_tag(git: Git, name: str) -> tuple[str, str] | None:
    """``(object type, commit)`` of tag ``name``, or ``None`` when there is no such tag."""
    ref = f"refs/tags/{name}"
    try:
        kind = git.run("cat-file", "-t", ref).strip()
    except CommandError:
        return None
    return kind, git.run("rev-parse", f"{ref}^{{commit}}").strip()


def _gpg_args(config: Config) -> list[str]:
    return ["-c", f"gpg.program={config.sign.gpg}"] if config.sign.gpg else []


def verify_tag(config: Config, git: Git, name: str) -> bool:
    """Whether ``git verify-tag`` accepts the signature of ``name`` (``False`` for an unsigned tag)."""
    try:
        git.run(*_gpg_args(config), "verify-tag", name)
    except CommandError:
        return False
    return True


def _is_signed(git: Git, name: str) -> bool:
    body = git.run("cat-file", "tag", f"refs/tags/{name}")
    return "-----BEGIN PGP SIGNATURE-----" in body or "-----BEGIN SSH SIGNATURE-----" in body


def tag_release(config: Config, version: str, *, ref: str = "HEAD", key: str | None = None) -> TagResult:
    """Tag ``ref`` as release ``version``: annotated, the message naming the version, signed with ``key``
    (default ``sign.key``; unsigned when neither is set), and checked with ``git verify-tag``.

    The same tag already on the same commit is left as it is (``created=False``).
    :raises TagConflictError: the tag names another commit, or is a lightweight tag.
    :raises EnvironmentNotReadyError: signing failed or the new signature does not verify.
    """
    parse_version(version)
    git = repository_of(config)
    name = tag_name(config, version)
    commit = git.resolve(ref)
    key = key if key is not None else config.sign.key
    existing = find_tag(git, name)
    if existing is not None:
        kind, target = existing
        if target != commit:
            raise TagConflictError(
                f"tag {name} already exists and names {target[:12]}, not {commit[:12]}",
                hint=f"release from {target[:12]}, or delete the wrong tag first (git tag -d {name}) "
                "if it was never pushed",
            )
        if kind != "tag":
            raise TagConflictError(
                f"tag {name} is a lightweight tag, a release tag must be annotated",
                hint=f"delete it (git tag -d {name}) and run shipwheel tag again",
            )
        signed = _is_signed(git, name)
        return TagResult(name, commit, False, signed, verify_tag(config, git, name) if signed else False)
    project = config.project.name or Path(git.root).name
    message = config.release.tag_message.format(project=project, version=version)
    if version not in message:
        message = f"{message} ({version})"  # the message must name the version, whatever the template says
    args = ["tag", "-a", "-m", message]
    if key:
        args = [*_gpg_args(config), "tag", "-s", "-u", key, "-m", message]
    try:
        git.run(*args, "--", name, commit)
    except CommandError as exc:
        if key:
            raise EnvironmentNotReadyError(
                f"could not sign tag {name} with key {key}: {exc.message}",
                hint="check the key (gpg --list-secret-keys) and GNUPGHOME, or unset sign.key for an unsigned tag",
            ) from exc
        raise
    verified = False
    if key:
        verified = verify_tag(config, git, name)
        if not verified:
            git.run("tag", "-d", name)
            raise EnvironmentNotReadyError(
                f"git verify-tag rejects the new tag {name}; it was removed",
                hint="import the public key of the signing key into the keyring git uses",
            )
    return TagResult(name, commit, True, bool(key), verified)
