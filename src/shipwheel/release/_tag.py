"""``shipwheel tag``: one annotated (and, with a key, GPG- or SSH-signed) tag per release, made once."""

from __future__ import annotations

from dataclasses import dataclass

from .. import _subprocess
from .._git import Git, find_repository
from .._git import message as git_message
from ..config import Config
from ..errors import CommandError, ConfigError, EnvironmentNotReadyError, ProjectError, VerificationError
from ..sign import signer_from_status, trusted_signers
from ._names import project_name
from ._tag_ssh import ssh_mode, ssh_sign_args, ssh_tag_signer
from ._version import parse_version

__all__ = ["TagConflictError", "TagResult", "find_tag", "tag_name", "tag_release", "tag_signer", "verify_tag"]


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


def tag_message(template: str, project: str, version: str) -> str:
    """The message of a release tag: ``template`` (``tag-message``) with each value on one line, its control
    characters written as escapes (a project name holding CR/LF never starts a second line of the message), and
    no secret in it; it always names ``version``."""
    text = git_message(template, project=project, version=version)
    if version not in text:
        text = f"{text} ({version})"  # the message must name the version, whatever the template says
    return text


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


def tag_signer(config: Config, git: Git, name: str, *, key: str | None = None) -> str:
    """The fingerprint of the pinned key that signed tag ``name``: ``git verify-tag --raw`` must report a good
    signature (gpg's ``VALIDSIG``) by one of the keys ``sign`` trusts (``sign.trusted-keys``, else ``key`` or
    ``sign.key`` resolved to its fingerprint); any other key in the keyring is refused.

    An SSH-signed tag (git's ``gpg.format=ssh``, or an SSH ``key``) is checked the same way against the pinned
    SSH keys (:func:`ssh_tag_signer`); its signer is the key's ``SHA256:`` fingerprint.

    :raises VerificationError: unsigned, a bad signature, nothing pinned, or a key that is not pinned.
    """
    key = key if key is not None else config.sign.key
    if _is_ssh_signed(git, name) or ssh_mode(config, git, key):
        return ssh_tag_signer(config, git, name, key=key)
    gpg = config.sign.gpg or "gpg"
    trusted = trusted_signers(config.sign.trusted_keys, key=key, gpg=gpg, resolve=False)
    try:
        proc = _subprocess.run(
            ["git", "-C", str(git.root), *_gpg_args(config), "verify-tag", "--raw", "--", name],
            what=f"git verify-tag {name}",
            timeout=120,
        )
        status = proc.stderr
    except CommandError as exc:
        status = exc.output  # a bad or unknown signature: no VALIDSIG in it, so it is refused below
    return signer_from_status(status, trusted, what=f"tag {name}", signed=name, gpg=gpg)


def verify_tag(config: Config, git: Git, name: str, *, key: str | None = None) -> bool:
    """Whether tag ``name`` carries a good signature by a pinned key (see :func:`tag_signer`); ``False`` for an
    unsigned tag and for a signature by any key that is not pinned, even one in the keyring."""
    try:
        tag_signer(config, git, name, key=key)
    except (VerificationError, ConfigError):
        return False
    return True


def _is_signed(git: Git, name: str) -> bool:
    body = git.run("cat-file", "tag", f"refs/tags/{name}")
    return "-----BEGIN PGP SIGNATURE-----" in body or "-----BEGIN SSH SIGNATURE-----" in body


def _is_ssh_signed(git: Git, name: str) -> bool:
    try:
        return "-----BEGIN SSH SIGNATURE-----" in git.run("cat-file", "tag", f"refs/tags/{name}")
    except CommandError:
        return False


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
        verified = verify_tag(config, git, name, key=key) if signed else False
        return TagResult(name, commit, False, signed, verified)
    project = project_name(config)
    message = tag_message(config.release.tag_message, project, version)
    ssh = bool(key) and ssh_mode(config, git, key)
    args = ["tag", "-a", "-m", message]
    if key:
        signing = ssh_sign_args(config, key) if ssh else [*_gpg_args(config), "tag", "-s", "-u", key]
        args = [*signing, "-m", message]
    try:
        git.run(*args, "--", name, commit)
    except CommandError as exc:
        if key:
            raise EnvironmentNotReadyError(
                f"could not sign tag {name} with key {key}: {exc.message}",
                hint=(
                    "check the SSH key (its private half beside it, or in ssh-agent)"
                    if ssh
                    else "check the key (gpg --list-secret-keys) and GNUPGHOME"
                )
                + ", or unset sign.key for an unsigned tag",
            ) from exc
        raise
    verified = False
    if key:
        try:
            tag_signer(config, git, name, key=key)
        except (VerificationError, ConfigError) as exc:
            git.run("tag", "-d", name)
            raise EnvironmentNotReadyError(
                f"the new tag {name} does not verify with a pinned key ({exc.message}); it was removed",
                hint="sign with a key of sign.trusted-keys, or pin this key there by its full fingerprint",
            ) from None
        verified = True
    return TagResult(name, commit, True, bool(key), verified)
