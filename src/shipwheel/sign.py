"""``shipwheel sign``: detached armored GPG signatures and a signed ``SHA256SUMS`` manifest; their verification.

:func:`sign_files` writes ``<file>.asc`` beside each release file, ``SHA256SUMS`` (``sha256sum`` format) and
``SHA256SUMS.asc`` in the folder of the files. :func:`verify_signatures` checks ``.asc`` files with gpg and
:func:`verify_manifest` checks a manifest's signature and that the files match it; ``fetch`` and ``publish`` call
them when those files are present (:func:`verify_release_signatures`). PyPI no longer takes signatures, so
``publish`` never uploads them.

gpg runs through :mod:`shipwheel._subprocess` with ``--batch``; ``GNUPGHOME`` is respected, so tests and CI use a
throwaway keyring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import _subprocess
from .distfiles import collect_release_files, file_digests
from .errors import CommandError, EnvironmentNotReadyError, VerificationError

__all__ = [
    "MANIFEST",
    "SignResult",
    "sign_files",
    "verify_manifest",
    "verify_release_signatures",
    "verify_signatures",
]

MANIFEST = "SHA256SUMS"


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
        for name, digest in _parse_manifest(existing.read_text(encoding="utf-8")).items():
            if (folder / name).is_file():
                digests.setdefault(name, digest)
    text = "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    tmp = folder / (MANIFEST + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(existing)
    manifest_sig = _detach_sign(existing, gpg=gpg, key=key, env=env)
    return SignResult(tuple(signatures), existing, manifest_sig)


def _verify_one(signature: Path, signed: Path, *, gpg: str, env: Mapping[str, str] | None) -> None:
    try:
        _subprocess.run(
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


def verify_signatures(
    paths: Iterable[Path], *, gpg: str = "gpg", env: Mapping[str, str] | None = None
) -> list[Path]:
    """Check ``<file>.asc`` of every file of ``paths`` that has one; return the files whose signature is good.

    :raises VerificationError: a bad signature, or one made by an unknown key.
    :raises EnvironmentNotReadyError: gpg is not installed.
    """
    good = []
    for path in paths:
        signature = path.with_name(path.name + ".asc")
        if signature.is_file():
            _verify_one(signature, path, gpg=gpg, env=env)
            good.append(path)
    return good


def _parse_manifest(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) == 64 and name:
            out[name] = digest.lower()
    return out


def verify_manifest(
    manifest: Path,
    files: Iterable[Path] | None = None,
    *,
    gpg: str = "gpg",
    env: Mapping[str, str] | None = None,
    require_signature: bool = False,
) -> dict[str, str]:
    """Check ``manifest`` (a ``SHA256SUMS`` file): its ``.asc`` signature when present (or required), then that
    each of ``files`` (default: every file it lists that exists beside it) has the listed sha256.

    Returns ``{filename: sha256}`` as listed. A file of ``files`` the manifest does not list is an error.
    :raises VerificationError: a bad or missing signature, a file whose hash differs, a file not listed.
    """
    signature = manifest.with_name(manifest.name + ".asc")
    if signature.is_file():
        _verify_one(signature, manifest, gpg=gpg, env=env)
    elif require_signature:
        raise VerificationError(
            f"{manifest.name} has no signature ({signature.name})", hint="sign it: shipwheel sign"
        )
    listed = _parse_manifest(manifest.read_text(encoding="utf-8", errors="replace"))
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
        if file_digests(path)["sha256"] != want:
            raise VerificationError(
                f"{path.name} does not match its sha256 in {manifest.name}",
                hint="the file changed after it was signed; get the right file or sign the release again",
            )
    return listed


def verify_release_signatures(
    files: Sequence[Path], *, gpg: str = "gpg", env: Mapping[str, str] | None = None
) -> None:
    """What ``publish`` and ``fetch`` run: each ``.asc`` beside a file, and each folder's ``SHA256SUMS``.

    Nothing is checked (and gpg is not needed) when no signature or manifest is present.
    """
    env = env if env is not None else os.environ
    if any(f.with_name(f.name + ".asc").is_file() for f in files):
        verify_signatures(files, gpg=gpg, env=env)
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    for folder, members in by_folder.items():
        manifest = folder / MANIFEST
        if manifest.is_file():
            verify_manifest(manifest, members, gpg=gpg, env=env)


def manifest_hook(*, gpg: str = "gpg", require_signature: bool = False) -> Callable[[Path], None]:
    """The ``verify_manifest`` hook of :func:`shipwheel.fetch.fetch`: it gets a downloaded ``SHA256SUMS`` (with
    ``SHA256SUMS.asc`` beside it when the container has one) and checks the signature when present (required
    with ``require_signature``). fetch itself then checks each file against the manifest's hashes."""

    def hook(manifest: Path) -> None:
        signature = manifest.with_name(manifest.name + ".asc")
        if signature.is_file():
            _verify_one(signature, manifest, gpg=gpg, env=None)
        elif require_signature:
            raise VerificationError(
                f"{manifest.name} of the container is not signed (no {signature.name})",
                hint="sign the staged release with shipwheel sign, or fetch without --require-signature",
            )

    return hook


__all__ += ["manifest_hook"]
