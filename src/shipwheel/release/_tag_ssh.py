"""SSH-signed release tags (git's ``gpg.format=ssh``), held to the same rule as GPG ones: a signature counts only
when it is by a pinned key.

git checks an SSH signature against an *allowed signers* file (``gpg.ssh.allowedSignersFile``). The user's own
file may trust any number of keys, so it is never used here: shipwheel writes one holding only the pinned keys
(``sign.trusted-keys`` entries that are SSH keys, else the signing key ``sign.key``) and passes it to
``git verify-tag`` for that one call; a tag signed by any other key finds no principal and is refused.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from .. import _subprocess
from .._fs import read_text, write_file
from .._git import Git
from ..config import Config
from ..errors import CommandError, ConfigError, VerificationError

__all__ = ["is_ssh_key", "ssh_mode", "ssh_pins", "ssh_sign_args", "ssh_tag_signer"]

#: Public key types of OpenSSH (``ssh-ed25519``, ``ecdsa-sha2-nistp256``, ``sk-ssh-ed25519@openssh.com``, ...).
_KEY_LINE = re.compile(r"^(?:key::)?((?:ssh|ecdsa|sk)-[A-Za-z0-9@.+-]+)\s+([A-Za-z0-9+/=]+)(?:\s.*)?$")
#: The principal of every line of the allowed-signers file shipwheel writes.
PRINCIPAL = "shipwheel-pinned"
_GOOD = re.compile(rf'Good "git" signature for {PRINCIPAL} with \S+ key (SHA256:[A-Za-z0-9+/=]+)')


def _key_path(config: Config, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.project_dir / path


def is_ssh_key(config: Config, value: str) -> bool:
    """Whether ``value`` (``sign.key``, ``--key``, a trusted key) names an SSH key: a public key line
    (``ssh-ed25519 AAAA...``, or git's ``key::`` form), or a key file (``.pub``, or an OpenSSH private key)."""
    value = value.strip()
    if not value:
        return False
    if _KEY_LINE.match(value):
        return True
    if "/" not in value and not value.endswith(".pub"):
        return False  # a GPG key id, fingerprint or user id
    path = _key_path(config, value)
    if not path.is_file():
        return False
    if path.suffix == ".pub":
        return True
    try:
        head = read_text(path, 64 * 1024, errors="replace")
    except (OSError, ValueError):
        return False
    return "BEGIN OPENSSH PRIVATE KEY" in head


def ssh_mode(config: Config, git: Git, key: str | None) -> bool:
    """Whether the release tag is SSH-signed: ``key`` is an SSH key, or git's ``gpg.format`` is ``ssh``."""
    if key and is_ssh_key(config, key):
        return True
    if not key:
        return False
    try:
        return git.run("config", "--get", "gpg.format").strip() == "ssh"
    except CommandError:  # not set
        return False


def _public_line(config: Config, value: str) -> tuple[str, str]:
    """``(key type, base64)`` of the public key ``value`` names (a key line, a ``.pub`` file, or a private key
    file whose ``.pub`` lies beside it or whose public half ``ssh-keygen -y`` derives)."""
    value = value.strip()
    m = _KEY_LINE.match(value)
    if m is None:
        path = _key_path(config, value)
        public = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
        try:
            if public.is_file():
                text = read_text(public, 64 * 1024).strip()
            else:
                text = _subprocess.run(
                    ["ssh-keygen", "-y", "-P", "", "-f", str(path)], what="ssh-keygen -y", timeout=60
                ).stdout.strip()
        except (OSError, ValueError, CommandError):
            text = ""
        m = _KEY_LINE.match(text.splitlines()[0] if text else "")
        if m is None:
            raise ConfigError(
                f"the SSH key {value!r} has no readable public key",
                hint="set sign.key to the public key file (.pub) or the key itself (ssh-ed25519 AAAA...)",
            )
    return m.group(1), m.group(2)


def ssh_pins(config: Config, key: str | None) -> list[tuple[str, str]]:
    """The SSH keys whose signatures count: ``sign.trusted-keys`` entries that are SSH keys, else ``key``."""
    pinned = [t for t in config.sign.trusted_keys if is_ssh_key(config, t)]
    values = pinned or ([key] if key else [])
    if not values:
        raise ConfigError(
            "no SSH key is pinned to check the tag with",
            hint="set sign.key to the release manager's SSH key, or list it in sign.trusted-keys",
        )
    return [_public_line(config, v) for v in values]


def _fingerprint(kind: str, blob: str) -> str:
    with tempfile.TemporaryDirectory(prefix="shipwheel-ssh-") as tmp:
        path = Path(tmp) / "key.pub"
        write_file(path, f"{kind} {blob}\n")
        out = _subprocess.run(["ssh-keygen", "-l", "-f", str(path)], what="ssh-keygen -l", timeout=60).stdout
    return out.split()[1]


def ssh_sign_args(config: Config, key: str) -> list[str]:
    """The git arguments that make ``git tag -s -u KEY`` sign with SSH key ``key``."""
    value = key.strip()
    if _KEY_LINE.match(value):
        value = value if value.startswith("key::") else f"key::{value}"  # signed by ssh-agent
    else:
        value = str(_key_path(config, value))
    return ["-c", "gpg.format=ssh", "-c", f"user.signingKey={value}", "tag", "-s", "-u", value]


def ssh_tag_signer(config: Config, git: Git, name: str, *, key: str | None) -> str:
    """The fingerprint (``SHA256:...``) of the pinned SSH key that signed tag ``name``.

    :raises VerificationError: unsigned, a bad signature, or a key that is not pinned.
    :raises ConfigError: no SSH key pinned.
    """
    pins = ssh_pins(config, key)
    with tempfile.TemporaryDirectory(prefix="shipwheel-ssh-") as tmp:
        allowed = Path(tmp) / "allowed_signers"
        write_file(allowed, "".join(f'{PRINCIPAL} namespaces="git" {kind} {blob}\n' for kind, blob in pins))
        args = ["git", "-C", str(git.root), "-c", f"gpg.ssh.allowedSignersFile={allowed}"]
        try:
            proc = _subprocess.run(
                [*args, "verify-tag", "--raw", "--", name], what=f"git verify-tag {name}", timeout=120
            )
            output, ok = proc.stderr + proc.stdout, True
        except CommandError as exc:
            output, ok = exc.output, False
    found = _GOOD.search(output or "")
    if not ok or found is None:
        raise VerificationError(
            f"tag {name} carries no good SSH signature by a pinned key",
            hint="sign the tag with the pinned key (sign.key, sign.trusted-keys), or delete it "
            f"(git tag -d {name}) if it was never pushed",
        )
    fingerprint = found.group(1)
    if fingerprint not in {_fingerprint(kind, blob) for kind, blob in pins}:  # pragma: no cover - git checked
        raise VerificationError(f"tag {name} is signed by {fingerprint}, which is not pinned")
    return fingerprint
