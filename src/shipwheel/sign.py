"""``shipwheel sign``: detached armored GPG signatures and a signed ``SHA256SUMS`` manifest; their verification.

:func:`sign_files` writes ``<file>.asc`` beside each release file, ``SHA256SUMS`` (``sha256sum`` format) and
``SHA256SUMS.asc`` in the folder of the files. :func:`verify_signatures` checks ``.asc`` files with gpg and
:func:`verify_manifest` checks a manifest's signature and that the files match it; ``fetch`` and ``publish`` call
them when those files are present (:func:`verify_release_signatures`). PyPI no longer takes signatures, so
``publish`` never uploads them.

A signature is trusted only from a pinned key (:class:`TrustedSigners`): gpg's ``VALIDSIG`` status line names the
fingerprint that made it, and it must be one of the pinned fingerprints. A good signature by any other key of the
keyring is refused, unless the caller explicitly accepts any key (``TrustedSigners(any_key=True)``).

gpg runs through :mod:`shipwheel._subprocess` with ``--batch``; ``GNUPGHOME`` is respected, so tests and CI use a
throwaway keyring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import _subprocess
from .distfiles import collect_release_files, file_digests
from .errors import CommandError, ConfigError, EnvironmentNotReadyError, VerificationError
from .manifest import MANIFEST, read_manifest, write_manifest

__all__ = [
    "MANIFEST",
    "ReleaseSignatures",
    "SignResult",
    "TrustedSigners",
    "parse_fingerprint",
    "sign_files",
    "signer_from_status",
    "trusted_signers",
    "verify_manifest",
    "verify_release",
    "verify_release_signatures",
    "verify_signatures",
]

# v4 keys have 40 hex digits, v5 keys 64. Short and long key ids (8/16 digits) are not accepted as pins: anyone can
# make a key whose short id collides with a given one, and gpg would then say VALIDSIG with the impostor's print.
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_PIN_HINT = "pin the release manager's key by its full fingerprint (gpg --fingerprint KEY): "
_PIN_HINT += "[tool.shipwheel.sign] trusted-keys (or SHIPWHEEL_SIGN_TRUSTED_KEYS), or --trusted-key FPR of sign and fetch"


def parse_fingerprint(value: str) -> str | None:
    """``value`` as an upper-case fingerprint (spaces and a ``0x`` dropped), or ``None`` when it is not one."""
    text = value.replace(" ", "").upper().removeprefix("0X")
    return text if _FINGERPRINT.fullmatch(text) else None


@dataclass(frozen=True, slots=True)
class TrustedSigners:
    """Whose signatures are accepted: the keys with these ``fingerprints`` or, with ``any_key``, any key in the
    keyring (the explicit opt-out of pinning). Without fingerprints, ``key`` (a key id or user id) is resolved to
    its fingerprint with gpg when the first signature is checked, so that commands that find no signature never
    need gpg. ``notes`` says how the pins were found. The default trusts nobody, so a signature check without pins
    fails with a hint to pin."""

    fingerprints: frozenset[str] = frozenset()
    any_key: bool = False
    key: str = ""
    notes: tuple[str, ...] = field(default=(), compare=False)


def trusted_signers(
    pinned: Iterable[str] = (),
    *,
    key: str = "",
    any_key: bool = False,
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
    resolve: bool = True,
) -> TrustedSigners:
    """The signers to trust: ``pinned`` fingerprints (``trusted-keys`` and ``--trusted-key``), else the signing
    ``key`` (``[tool.shipwheel.sign] key``): a fingerprint as is, a key id or user id resolved to its fingerprint
    with gpg now (``notes`` says so) or, without ``resolve``, when a signature is checked. ``any_key`` accepts any
    key in the keyring instead.

    :raises ConfigError: a pin that is not a full fingerprint; a ``key`` that gpg does not know or that names
        several keys.
    """
    if any_key:
        return TrustedSigners(any_key=True, notes=("any key in gpg's keyring is trusted (no pin)",))
    prints = set()
    for value in pinned:
        fpr = parse_fingerprint(value)
        if fpr is None:
            raise ConfigError(
                f"trusted key {value!r} is not a full fingerprint (40 or 64 hex digits)", hint=_PIN_HINT
            )
        prints.add(fpr)
    if prints or not key.strip():
        return TrustedSigners(frozenset(prints))
    fpr = parse_fingerprint(key)
    if fpr is not None:
        return TrustedSigners(frozenset({fpr}))
    if not resolve:
        return TrustedSigners(key=key)
    resolved = _resolve_key(key, gpg=gpg, env=env)
    return TrustedSigners(frozenset({resolved}), notes=(f"sign.key {key!r} resolved with gpg to {resolved}",))


def _resolve_key(key: str, *, gpg: str, env: Mapping[str, str] | None) -> str:
    try:
        out = _subprocess.run(
            [gpg, "--batch", "--no-tty", "--with-colons", "--list-keys", "--", key],
            env=env,
            what=f"gpg --list-keys {key}",
            timeout=60,
        ).stdout
    except CommandError as exc:
        raise ConfigError(f"sign.key {key!r} is not in gpg's keyring", hint=_PIN_HINT) from exc
    primaries = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("pub:"):
            primaries += [n.split(":")[9] for n in lines[i + 1 : i + 2] if n.startswith("fpr:")]
    if len(primaries) != 1:
        raise ConfigError(f"sign.key {key!r} names {len(primaries)} keys in gpg's keyring", hint=_PIN_HINT)
    return primaries[0].upper()


@dataclass(frozen=True, slots=True)
class SignResult:
    """What :func:`sign_files` wrote: one ``.asc`` per file, and the manifest with its signature."""

    signatures: tuple[Path, ...]
    manifest: Path | None
    manifest_signature: Path | None


def _gpg_cmd(gpg: str, key: str | None) -> list[str]:
    cmd = [gpg, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback"]
    if key:
        cmd += ["--local-user", key]
    return cmd


def _detach_sign(path: Path, *, gpg: str, key: str | None, env: Mapping[str, str] | None) -> Path:
    _readable(path)
    target = path.with_name(path.name + ".asc")
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        _subprocess.run(
            [*_gpg_cmd(gpg, key), "--armor", "--detach-sign", "--output", str(tmp), str(path)],
            env=env,
            what=f"gpg signing {path.name}",
            hint="check that gpg has a secret key (gpg --list-secret-keys) and pass --key ID; "
            "a key with a passphrase needs gpg-agent to know it",
            timeout=120,
        )
    except CommandError as exc:
        tmp.unlink(missing_ok=True)
        if "No secret key" in exc.output or "no default secret key" in exc.output:
            raise EnvironmentNotReadyError(
                f"gpg has no secret key{f' {key!r}' if key else ''} to sign with",
                hint="create or import one (gpg --quick-gen-key), or pass --key with an existing key id",
            ) from exc
        raise
    tmp.replace(target)
    return target


def sign_files(
    paths: Sequence[Path],
    *,
    key: str | None = None,
    gpg: str = "gpg",
    manifest: bool = True,
    env: Mapping[str, str] | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> SignResult:
    """Sign each release file (``paths``: files or folders) and write the signed ``SHA256SUMS`` manifest.

    The manifest goes into the folder of the first file and lists every file signed that lives in that folder.
    :raises EnvironmentNotReadyError: no gpg, or no secret key to sign with.
    """
    files = collect_release_files(paths)
    signatures = []
    for path in files:
        signatures.append(_detach_sign(path, gpg=gpg, key=key, env=env))
        if on_file is not None:
            on_file(path)
    if not manifest:
        return SignResult(tuple(signatures), None, None)
    folder = files[0].parent
    digests = {p.name: file_digests(p)["sha256"] for p in files if p.parent == folder}
    # Files already listed for the same folder (signed in an earlier call) stay listed.
    existing = folder / MANIFEST
    if existing.is_file():
        for name, digest in _read_manifest(existing).items():
            if (folder / name).is_file():
                digests.setdefault(name, digest)
    write_manifest(existing, digests)
    manifest_sig = _detach_sign(existing, gpg=gpg, key=key, env=env)
    return SignResult(tuple(signatures), existing, manifest_sig)


def _pinned(trusted: TrustedSigners, *, what: str, gpg: str, env: Mapping[str, str] | None) -> TrustedSigners:
    """``trusted`` with a ``key`` still to resolve resolved to its fingerprint; refused when it pins nothing.

    Checked before gpg runs (no signature is worth checking against nothing) and on the status lines it reports.
    """
    if not trusted.fingerprints and not trusted.any_key and trusted.key:
        return TrustedSigners(frozenset({_resolve_key(trusted.key, gpg=gpg, env=env)}))
    if not trusted.fingerprints and not trusted.any_key:
        raise VerificationError(
            f"{what}: no signing key is pinned, and a signature is trusted only from a pinned key",
            hint=_PIN_HINT + " (their --trust-keyring accepts any key in gpg's keyring instead)",
        )
    return trusted


def _verify_one(
    signature: Path, signed: Path, *, gpg: str, env: Mapping[str, str] | None, trusted: TrustedSigners
) -> str:
    """Check one detached signature; return the fingerprint of the trusted key that made it."""
    trusted = _pinned(trusted, what=signature.name, gpg=gpg, env=env)
    for path in (signature, signed):
        _readable(path)  # else gpg's failure to read would be reported as a BAD signature
    try:
        proc = _subprocess.run(
            [gpg, "--batch", "--no-tty", "--status-fd", "1", "--verify", str(signature), str(signed)],
            env=env,
            what=f"gpg --verify {signature.name}",
            timeout=120,
        )
    except CommandError as exc:
        out = exc.output
        if "NO_PUBKEY" in out or "No public key" in out:
            raise VerificationError(
                f"{signature.name}: signed with a key gpg does not know",
                hint="import the release manager's public key (gpg --import KEY.asc) and run again",
            ) from exc
        raise VerificationError(
            f"{signature.name}: BAD signature for {signed.name}",
            hint="the file or its signature was changed; fetch both again from the release manager",
        ) from exc
    return signer_from_status(proc.stdout, trusted, what=signature.name, signed=signed.name)


def signer_from_status(
    status: str,
    trusted: TrustedSigners,
    *,
    what: str,
    signed: str = "it",
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
) -> str:
    """The fingerprint of the pinned key that made the good signature which gpg's status lines report (``gpg
    --status-fd``, ``git verify-tag --raw``); ``what`` and ``signed`` name the signature and the signed thing in
    messages. A ``trusted.key`` not yet resolved is resolved with ``gpg`` here.

    :raises VerificationError: no good signature, nothing pinned, or a key that is not pinned made it.
    """
    trusted = _pinned(trusted, what=what, gpg=gpg, env=env)
    # VALIDSIG <fpr> <date> <ts> <expire> <version> <reserved> <algo> <hash> <class> [<primary fpr>]: the signing
    # (sub)key and its primary key; a pin may name either. GOODSIG alone carries only the long key id.
    signers = []
    for line in status.splitlines():
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "VALIDSIG"] and len(parts) > 2:
            signers.append({p.upper() for p in (parts[2], *parts[11:12])})
    if not signers or "[GNUPG:] GOODSIG" not in status:
        raise VerificationError(
            f"{what}: gpg found no good signature for {signed}",
            hint="the signature is expired, revoked or not a signature; sign the release again",
        )
    for prints in signers:
        match = prints & trusted.fingerprints
        if match:
            return min(match)
        if trusted.any_key:
            return min(prints)
    made_by = ", ".join(sorted(p for prints in signers for p in prints))
    raise VerificationError(
        f"{what}: signed by {made_by}, which is not a pinned key",
        hint="if that key is the release manager's, " + _PIN_HINT,
    )


def verify_signatures(
    paths: Iterable[Path],
    *,
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
    trusted: TrustedSigners | None = None,
) -> list[Path]:
    """Check ``<file>.asc`` of every file of ``paths`` that has one; return the files whose signature is good and
    made by a ``trusted`` key (default: nobody is trusted, so any signature fails with a hint to pin).

    :raises VerificationError: a bad signature, one made by an unknown or unpinned key, or nothing pinned.
    :raises EnvironmentNotReadyError: gpg is not installed.
    """
    good = []
    for path in paths:
        signature = path.with_name(path.name + ".asc")
        if signature.is_file():
            _verify_one(signature, path, gpg=gpg, env=env, trusted=trusted or TrustedSigners())
            good.append(path)
    return good


def _read_manifest(manifest: Path) -> dict[str, str]:
    try:
        return read_manifest(manifest)
    except OSError as exc:
        raise VerificationError(f"cannot read {manifest}: {exc.strerror}", hint="check the file") from exc


def verify_manifest(
    manifest: Path,
    files: Iterable[Path] | None = None,
    *,
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
    require_signature: bool = False,
    trusted: TrustedSigners | None = None,
) -> dict[str, str]:
    """Check ``manifest`` (a ``SHA256SUMS`` file): its ``.asc`` signature when present (or required), made by a
    ``trusted`` key, then that each of ``files`` (default: every file it lists that exists beside it) has the
    listed sha256.

    Returns ``{filename: sha256}`` as listed. A file of ``files`` the manifest does not list is an error.
    :raises VerificationError: a bad, unpinned or missing signature, a file whose hash differs, a file not listed.
    """
    signature = manifest.with_name(manifest.name + ".asc")
    if signature.is_file():
        _verify_one(signature, manifest, gpg=gpg, env=env, trusted=trusted or TrustedSigners())
    elif require_signature:
        raise VerificationError(
            f"{manifest.name} has no signature ({signature.name})", hint="sign it: shipwheel sign"
        )
    listed = _read_manifest(manifest)
    targets = (
        list(files)
        if files is not None
        else [manifest.parent / n for n in listed if (manifest.parent / n).is_file()]
    )
    for path in targets:
        want = listed.get(path.name)
        if want is None:
            raise VerificationError(
                f"{path.name} is not listed in {manifest.name}",
                hint="sign the release again (shipwheel sign)",
            )
        _check_digest(path, want)
    return listed


def _readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise VerificationError(
            f"cannot read {path}: {exc.strerror or exc}", hint="check the file's permissions and run again"
        ) from exc


def _check_digest(path: Path, want: str) -> None:
    _readable(path)
    if file_digests(path)["sha256"] != want:
        raise VerificationError(
            f"{path.name} does not match its sha256 in {MANIFEST}",
            hint="the file changed after it was signed; get the right file or sign the release again",
        )


def verify_release_signatures(
    files: Sequence[Path],
    *,
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
    trusted: TrustedSigners | None = None,
) -> None:
    """What ``publish`` and ``fetch`` run: each ``.asc`` beside a file, and each folder's ``SHA256SUMS``; every
    signature must be made by a ``trusted`` key.

    Nothing is checked (and gpg is not needed) when no signature or manifest is present.
    """
    env = env if env is not None else os.environ
    if any(f.with_name(f.name + ".asc").is_file() for f in files):
        verify_signatures(files, gpg=gpg, env=env, trusted=trusted)
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    for folder, members in by_folder.items():
        manifest = folder / MANIFEST
        if manifest.is_file():
            verify_manifest(manifest, members, gpg=gpg, env=env, trusted=trusted)


@dataclass(frozen=True, slots=True)
class ReleaseSignatures:
    """What :func:`verify_release` found: every release file, those covered by a good signature from a trusted key
    (their own ``.asc``, or a signed ``SHA256SUMS`` that lists them with the right sha256), the rest (only with
    ``allow_unsigned``), and the fingerprints that signed."""

    files: tuple[Path, ...]
    signed: tuple[Path, ...]
    unsigned: tuple[Path, ...]
    signers: frozenset[str]


def verify_release(
    files: Sequence[Path],
    *,
    trusted: TrustedSigners,
    allow_unsigned: bool = False,
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
) -> ReleaseSignatures:
    """``shipwheel sign --verify``: every release file must be signed by a ``trusted`` key, by its own ``.asc``
    or through a signed ``SHA256SUMS``; a folder's ``SHA256SUMS`` must be signed and list each of its files.

    ``allow_unsigned`` checks only the signatures present (a missing ``.asc``, an unsigned manifest or a file the
    manifest does not list is then reported in ``unsigned``); a bad signature or a wrong sha256 always fails.
    :raises VerificationError: the first problem found.
    """
    signed: set[Path] = set()
    signers: set[str] = set()
    for path in files:
        signature = path.with_name(path.name + ".asc")
        if signature.is_file():
            signers.add(_verify_one(signature, path, gpg=gpg, env=env, trusted=trusted))
            signed.add(path)
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    for folder, members in by_folder.items():
        manifest = folder / MANIFEST
        if not manifest.is_file():
            continue
        signature = manifest.with_name(MANIFEST + ".asc")
        manifest_signed = signature.is_file()
        if manifest_signed:
            signers.add(_verify_one(signature, manifest, gpg=gpg, env=env, trusted=trusted))
        elif not allow_unsigned:
            raise VerificationError(
                f"{manifest} has no signature ({signature.name})",
                hint="sign the release (shipwheel sign), or pass --allow-unsigned to check only what is signed",
            )
        listed = _read_manifest(manifest)
        for path in members:
            if path.name not in listed:
                if not allow_unsigned:
                    raise VerificationError(
                        f"{path.name} is not listed in {manifest}",
                        hint="sign the release again (shipwheel sign), or pass --allow-unsigned",
                    )
                continue
            _check_digest(path, listed[path.name])
            if manifest_signed:
                signed.add(path)
    unsigned = tuple(f for f in files if f not in signed)
    if unsigned and not allow_unsigned:
        names = ", ".join(f.name for f in unsigned[:3]) + (
            f" and {len(unsigned) - 3} more" if len(unsigned) > 3 else ""
        )
        raise VerificationError(
            f"{len(unsigned)} of {len(files)} release files are not signed: {names}",
            hint="sign them (shipwheel sign), or pass --allow-unsigned to check only the signatures present",
        )
    return ReleaseSignatures(
        tuple(files), tuple(f for f in files if f in signed), unsigned, frozenset(signers)
    )


def manifest_hook(
    *, gpg: str = "gpg", require_signature: bool = False, trusted: TrustedSigners | None = None
) -> Callable[[Path], None]:
    """The ``verify_manifest`` hook of :func:`shipwheel.staging.fetch_release`: it gets a downloaded ``SHA256SUMS`` (with
    ``SHA256SUMS.asc`` beside it when the container has one) and checks the signature when present (required
    with ``require_signature``), which must be made by a ``trusted`` key. fetch itself then checks each file
    against the manifest's hashes."""

    def hook(manifest: Path) -> None:
        signature = manifest.with_name(manifest.name + ".asc")
        if signature.is_file():
            _verify_one(signature, manifest, gpg=gpg, env=None, trusted=trusted or TrustedSigners())
        elif require_signature:
            raise VerificationError(
                f"{manifest.name} of the container is not signed (no {signature.name})",
                hint="sign the staged release with shipwheel sign, or fetch without --require-signature",
            )

    return hook


__all__ += ["manifest_hook"]
