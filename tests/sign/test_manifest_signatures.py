"""``shipwheel sign`` with real gpg and a throwaway key; the checks fetch and publish run (fetch's own use of them:
``tests/staging/test_fetch_signatures.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome, make_gpg_home
from fixtures.index_servers import make_release
from shipwheel.errors import VerificationError
from shipwheel.publish import PublishSettings, publish_files
from shipwheel.release import publish_check
from shipwheel.sign import (
    MANIFEST,
    TrustedSigners,
    sign_files,
    verify_manifest,
    verify_release_signatures,
    verify_signatures,
)


def pinned(*homes: GpgHome) -> TrustedSigners:
    return TrustedSigners(frozenset(h.fingerprint for h in homes))


def test_sign_and_verify(tmp_path: Path, gnupg_home: GpgHome) -> None:
    files = make_release(tmp_path, "demo", "1.0", wheels=2)
    result = sign_files([tmp_path], key=gnupg_home.fingerprint, env=gnupg_home.env())
    assert {p.name for p in result.signatures} == {f.name + ".asc" for f in files}
    assert result.manifest == tmp_path / MANIFEST and result.manifest_signature == tmp_path / "SHA256SUMS.asc"
    assert (tmp_path / f"{files[0].name}.asc").read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    assert verify_signatures(files, env=gnupg_home.env(), trusted=pinned(gnupg_home)) == files
    listed = verify_manifest(
        tmp_path / MANIFEST, env=gnupg_home.env(), require_signature=True, trusted=pinned(gnupg_home)
    )
    assert set(listed) == {f.name for f in files}
    # sha256sum itself agrees with the manifest.
    subprocess.run(["sha256sum", "--check", "--quiet", MANIFEST], cwd=tmp_path, check=True, timeout=60)


def test_tampering_is_caught(tmp_path: Path, gnupg_home: GpgHome) -> None:
    files = make_release(tmp_path, "demo", "1.0", wheels=1)
    sign_files(files, env=gnupg_home.env())
    with files[0].open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(VerificationError, match="BAD signature"):
        verify_signatures(files, env=gnupg_home.env(), trusted=pinned(gnupg_home))
    (tmp_path / f"{files[0].name}.asc").unlink()
    with pytest.raises(VerificationError, match="does not match its sha256"):
        verify_release_signatures(files, env=gnupg_home.env(), trusted=pinned(gnupg_home))


def test_unknown_key_and_publish_refuses(tmp_path: Path, gnupg_home: GpgHome) -> None:
    files = make_release(tmp_path / "dist", "demo-signed", "1.0", wheels=1)
    stranger = make_gpg_home(tmp_path, "Stranger <x@example.invalid>")
    sign_files(files, env=stranger.env())
    with pytest.raises(VerificationError, match="key gpg does not know"):
        verify_signatures(files, env=gnupg_home.env(), trusted=pinned(gnupg_home, stranger))
    # publish checks signatures beside the files and refuses before anything is written.
    os.environ["GNUPGHOME"] = str(gnupg_home.home)
    try:
        with pytest.raises(VerificationError):
            publish_files(
                files,
                PublishSettings(
                    repository=f"file:{tmp_path / 'index'}",
                    check=publish_check(None),
                    environ={"HOME": str(tmp_path)},
                ),
            )
    finally:
        del os.environ["GNUPGHOME"]
    assert not (tmp_path / "index").exists()


def test_sign_cli_without_a_key_is_one_line(tmp_path: Path) -> None:
    make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "sign", str(tmp_path / "dist")],
        env={**os.environ, "GNUPGHOME": str(empty)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 5, proc.stderr
    assert "no secret key" in proc.stderr and "Traceback" not in proc.stderr


def test_manifest_hook_for_fetch(
    tmp_path: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipwheel.sign import manifest_hook

    make_release(tmp_path, "demo", "1.0", wheels=1)
    sign_files([tmp_path], env=gnupg_home.env())
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    trusted = pinned(gnupg_home)
    manifest_hook(require_signature=True, trusted=trusted)(tmp_path / MANIFEST)
    (tmp_path / MANIFEST).write_text((tmp_path / MANIFEST).read_text().replace("a", "b", 1))
    with pytest.raises(VerificationError, match="BAD signature"):
        manifest_hook(trusted=trusted)(tmp_path / MANIFEST)
    (tmp_path / "SHA256SUMS.asc").unlink()
    manifest_hook(trusted=trusted)(tmp_path / MANIFEST)
    with pytest.raises(VerificationError, match="not signed"):
        manifest_hook(require_signature=True, trusted=trusted)(tmp_path / MANIFEST)


def test_sign_cli_then_verify(
    tmp_path: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from shipwheel.cli import main_inner

    files = make_release(tmp_path, "demo", "1.0", wheels=1)
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    assert main_inner(["sign", str(tmp_path), "--key", gnupg_home.fingerprint, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["signatures"]) == len(files) and out["manifest_signature"].endswith("SHA256SUMS.asc")
    pin = ["--trusted-key", gnupg_home.fingerprint]
    assert main_inner(["sign", str(tmp_path), "--verify", *pin]) == 0
    files[0].write_bytes(files[0].read_bytes() + b"\0")
    with pytest.raises(VerificationError):
        main_inner(["sign", str(tmp_path), "--verify", *pin])


def _cli(*args: str, home: GpgHome, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        env={**home.env(), "SHIPWHEEL_SIGN_KEY": ""}, cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_sign_verify_fails_for_unsigned_files(tmp_path: Path, gnupg_home: GpgHome) -> None:
    dist = tmp_path / "dist"
    files = make_release(dist, "demo", "1.0", wheels=1)
    sign_files([dist], env=gnupg_home.env())
    pin = ["--trusted-key", gnupg_home.fingerprint]
    assert _cli("sign", str(dist), "--verify", *pin, home=gnupg_home, cwd=tmp_path).returncode == 0
    # A wheel added after signing has neither a signature nor a line in SHA256SUMS.
    extra = next(
        f for f in make_release(tmp_path / "more", "demo", "1.0", wheels=2) if not (dist / f.name).exists()
    )
    (dist / extra.name).write_bytes(extra.read_bytes())
    proc = _cli("sign", str(dist), "--verify", *pin, home=gnupg_home, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not signed" in proc.stderr or "not listed" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "good" not in proc.stdout
    proc = _cli("sign", str(dist), "--verify", "--allow-unsigned", *pin, home=gnupg_home, cwd=tmp_path)
    assert proc.returncode == 0 and extra.name in proc.stdout and "not signed" in proc.stdout
    # No manifest at all: each file needs its own .asc.
    (dist / extra.name).unlink()
    (dist / MANIFEST).unlink()
    (dist / f"{MANIFEST}.asc").unlink()
    assert _cli("sign", str(dist), "--verify", *pin, home=gnupg_home, cwd=tmp_path).returncode == 0
    (dist / f"{files[0].name}.asc").unlink()
    proc = _cli("sign", str(dist), "--verify", *pin, home=gnupg_home, cwd=tmp_path)
    assert proc.returncode == 1 and "not signed" in proc.stderr


def test_manifest_must_be_signed_and_list_every_file(tmp_path: Path, gnupg_home: GpgHome) -> None:
    from shipwheel.sign import verify_release

    files = make_release(tmp_path, "demo", "1.0", wheels=2)
    sign_files(files, env=gnupg_home.env())
    trusted = pinned(gnupg_home)
    # Signed only through the manifest (no .asc of their own): still signed.
    for f in files:
        f.with_name(f.name + ".asc").unlink()
    checked = verify_release(files, trusted=trusted, env=gnupg_home.env())
    assert checked.signed == tuple(files) and checked.signers == {gnupg_home.fingerprint}
    manifest = tmp_path / MANIFEST
    manifest.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()[1:]))
    (tmp_path / f"{MANIFEST}.asc").unlink()
    with pytest.raises(VerificationError, match="SHA256SUMS has no signature"):
        verify_release(files, trusted=trusted, env=gnupg_home.env())
    checked = verify_release(files, trusted=trusted, env=gnupg_home.env(), allow_unsigned=True)
    assert checked.signed == () and checked.unsigned == tuple(files)


def test_second_key_in_the_keyring_is_refused_unless_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fixtures.gpg import add_gpg_key
    from shipwheel.cli import main_inner
    from shipwheel.sign import verify_release

    manager = make_gpg_home(tmp_path, "Release Manager <rm@example.invalid>")
    other = add_gpg_key(manager, "Someone Else <else@example.invalid>")  # in the same keyring, fully known
    staged = tmp_path / "staged"
    files = make_release(staged, "demo-pinned", "1.0", wheels=1)
    sign_files([staged], key=other.fingerprint, env=manager.env())
    monkeypatch.setenv("GNUPGHOME", str(manager.home))
    with pytest.raises(VerificationError, match="not a pinned key"):
        verify_release(files, trusted=pinned(manager))
    assert verify_release(files, trusted=pinned(other)).signers == {other.fingerprint}
    with pytest.raises(VerificationError, match="no signing key is pinned"):
        verify_release(files, trusted=TrustedSigners())
    assert verify_release(files, trusted=TrustedSigners(any_key=True)).signed == tuple(files)

    pin_manager = ["--trusted-key", manager.fingerprint]
    # sign --verify
    with pytest.raises(VerificationError, match="not a pinned key"):
        main_inner(["sign", str(staged), "--verify", *pin_manager])
    with pytest.raises(VerificationError, match="no signing key is pinned"):
        main_inner(["sign", str(staged), "--verify"])
    assert main_inner(["sign", str(staged), "--verify", "--trust-keyring"]) == 0
    assert main_inner(["sign", str(staged), "--verify", "--trusted-key", other.fingerprint.lower()]) == 0
    # [tool.shipwheel.sign] trusted-keys, and its default: sign.key
    monkeypatch.setenv("SHIPWHEEL_SIGN_TRUSTED_KEYS", manager.fingerprint)
    with pytest.raises(VerificationError, match="not a pinned key"):
        main_inner(["sign", str(staged), "--verify"])
    monkeypatch.delenv("SHIPWHEEL_SIGN_TRUSTED_KEYS")
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", "else@example.invalid")  # a user id, resolved with gpg
    capsys.readouterr()
    assert main_inner(["sign", str(staged), "--verify"]) == 0
    assert f"resolved with gpg to {other.fingerprint}" in " ".join(capsys.readouterr().err.split())
    monkeypatch.delenv("SHIPWHEEL_SIGN_KEY")
    # fetch: --require-signature, and the automatic check of a present SHA256SUMS.asc
    fetch = ["fetch", "demo-pinned", "1.0", "--from", str(staged), "--json"]
    for extra in (["--require-signature"], []):
        with pytest.raises(VerificationError, match="not a pinned key"):
            main_inner([*fetch, *extra, *pin_manager, "-w", str(tmp_path / "w1")])
        with pytest.raises(VerificationError, match="no signing key is pinned"):
            main_inner([*fetch, *extra, "-w", str(tmp_path / "w2")])
        assert not (tmp_path / "w1").exists() and not (tmp_path / "w2").exists()
    assert (
        main_inner(
            [*fetch, "--require-signature", "--trusted-key", other.fingerprint, "-w", str(tmp_path / "w")]
        )
        == 0
    )
    # publish checks the signatures present against sign.trusted-keys
    from shipwheel.config import load_config
    from shipwheel.release import publish_check

    for pins, ok in (([manager.fingerprint], False), ([other.fingerprint], True)):
        config = load_config(tmp_path, overrides={"sign.trusted-keys": pins})
        index = tmp_path / f"index-{ok}"
        if ok:
            publish_files(
                files,
                PublishSettings(
                    repository=f"file:{index}", check=publish_check(config), environ={"HOME": str(tmp_path)}
                ),
            )
            assert index.exists()
        else:
            with pytest.raises(VerificationError, match="not a pinned key"):
                publish_files(
                    files,
                    PublishSettings(
                        repository=f"file:{index}",
                        check=publish_check(config),
                        environ={"HOME": str(tmp_path)},
                    ),
                )
            assert not index.exists()
    subprocess.run(
        ["gpgconf", "--kill", "gpg-agent"], env=manager.env(), capture_output=True, timeout=30, check=False
    )


def test_short_key_ids_are_not_pins(tmp_path: Path, gnupg_home: GpgHome) -> None:
    make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    sign_files([tmp_path / "dist"], env=gnupg_home.env())
    short = gnupg_home.fingerprint[-8:]
    proc = _cli("sign", "dist", "--verify", "--trusted-key", short, home=gnupg_home, cwd=tmp_path)
    assert proc.returncode == 2 and "not a full key fingerprint" in proc.stderr
    long_id = gnupg_home.fingerprint[-16:]
    (tmp_path / "pyproject.toml").write_text(f'[tool.shipwheel.sign]\ntrusted-keys = ["{long_id}"]\n')
    proc = _cli("sign", "dist", "--verify", home=gnupg_home, cwd=tmp_path)
    assert proc.returncode == 3 and "not a full fingerprint" in proc.stderr and "Traceback" not in proc.stderr
    spaced = " ".join(
        gnupg_home.fingerprint[i : i + 4] for i in range(0, 40, 4)
    )  # as gpg --fingerprint shows it
    (tmp_path / "pyproject.toml").write_text(f'[tool.shipwheel.sign]\ntrusted-keys = ["{spaced}"]\n')
    assert _cli("sign", "dist", "--verify", home=gnupg_home, cwd=tmp_path).returncode == 0


def test_a_signing_subkey_is_accepted_by_its_primary_fingerprint(tmp_path: Path) -> None:
    """gpg signs with the subkey; VALIDSIG names the subkey and then the primary key, which is what people pin."""
    from shipwheel.sign import verify_release

    home = make_gpg_home(tmp_path, "Primary <primary@example.invalid>")
    subprocess.run(
        ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-add-key", home.fingerprint, "ed25519", "sign", "never"],
        check=True, capture_output=True, env=home.env(), timeout=120,
    )  # fmt: skip
    files = make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    sign_files(files, key=home.fingerprint, env=home.env())
    colons = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-keys", home.fingerprint],
        check=True, capture_output=True, text=True, env=home.env(), timeout=60,
    ).stdout  # fmt: skip
    subkey = [line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:")][-1]
    assert subkey != home.fingerprint
    assert verify_release(files, trusted=pinned(home), env=home.env()).signers == {home.fingerprint}
    by_subkey = verify_release(files, trusted=TrustedSigners(frozenset({subkey})), env=home.env())
    assert by_subkey.signers == {subkey}
    subprocess.run(
        ["gpgconf", "--kill", "gpg-agent"], env=home.env(), capture_output=True, timeout=30, check=False
    )


def test_an_unreadable_file_is_one_line_not_a_bad_signature(tmp_path: Path, gnupg_home: GpgHome) -> None:
    import shutil
    import tempfile

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    folder = Path(tempfile.mkdtemp(prefix="shipwheel-sign-"))  # pytest's tmp folders are root-only
    home = Path(tempfile.mkdtemp(prefix="g-"))  # a copy of the keyring that the other user owns
    try:
        folder.chmod(0o755)
        files = make_release(folder, "demo", "1.0", wheels=1)
        sign_files([folder], env=gnupg_home.env())
        for f in folder.iterdir():
            f.chmod(0o644)
        files[0].chmod(0)
        shutil.copytree(gnupg_home.home, home / "g", ignore=shutil.ignore_patterns("S.*", "*.lock"))
        subprocess.run(["chown", "-R", "65534:65534", str(home)], check=True, timeout=60)
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "shipwheel", "sign", str(folder), "--verify", "--trusted-key", gnupg_home.fingerprint],
            env={**os.environ, "GNUPGHOME": str(home / "g"), "HOME": str(home)}, capture_output=True, text=True, timeout=300, cwd=folder,
        )  # fmt: skip
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith(f"error: cannot read {files[0]}: Permission denied"), proc.stderr
        assert "BAD" not in proc.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def test_a_garbage_manifest_is_no_traceback(tmp_path: Path, gnupg_home: GpgHome) -> None:
    from shipwheel.sign import verify_release

    files = make_release(tmp_path, "demo", "1.0", wheels=1)
    (tmp_path / MANIFEST).write_bytes(b"\xff\xfe\x00garbage\n" * 10)
    result = sign_files(files, env=gnupg_home.env())  # an earlier manifest that does not parse is replaced
    assert result.manifest is not None
    assert verify_release(files, trusted=pinned(gnupg_home), env=gnupg_home.env()).signed == tuple(files)
