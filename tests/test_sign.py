"""``shipwheel sign`` with real gpg and a throwaway key; the checks fetch and publish run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome, make_gpg_home
from fixtures.index_servers import make_release
from shipwheel.errors import VerificationError
from shipwheel.publish import publish_files
from shipwheel.sign import MANIFEST, sign_files, verify_manifest, verify_release_signatures, verify_signatures


def test_sign_and_verify(tmp_path: Path, gnupg_home: GpgHome) -> None:
    files = make_release(tmp_path, "demo", "1.0", wheels=2)
    result = sign_files([tmp_path], key=gnupg_home.fingerprint, env=gnupg_home.env())
    assert {p.name for p in result.signatures} == {f.name + ".asc" for f in files}
    assert result.manifest == tmp_path / MANIFEST and result.manifest_signature == tmp_path / "SHA256SUMS.asc"
    assert (tmp_path / f"{files[0].name}.asc").read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    assert verify_signatures(files, env=gnupg_home.env()) == files
    listed = verify_manifest(tmp_path / MANIFEST, env=gnupg_home.env(), require_signature=True)
    assert set(listed) == {f.name for f in files}
    # sha256sum itself agrees with the manifest.
    subprocess.run(["sha256sum", "--check", "--quiet", MANIFEST], cwd=tmp_path, check=True, timeout=60)


def test_tampering_is_caught(tmp_path: Path, gnupg_home: GpgHome) -> None:
    files = make_release(tmp_path, "demo", "1.0", wheels=1)
    sign_files(files, env=gnupg_home.env())
    with files[0].open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(VerificationError, match="BAD signature"):
        verify_signatures(files, env=gnupg_home.env())
    (tmp_path / f"{files[0].name}.asc").unlink()
    with pytest.raises(VerificationError, match="does not match its sha256"):
        verify_release_signatures(files, env=gnupg_home.env())


def test_unknown_key_and_publish_refuses(tmp_path: Path, gnupg_home: GpgHome) -> None:
    files = make_release(tmp_path / "dist", "demo-signed", "1.0", wheels=1)
    stranger = make_gpg_home(tmp_path, "Stranger <x@example.invalid>")
    sign_files(files, env=stranger.env())
    with pytest.raises(VerificationError, match="key gpg does not know"):
        verify_signatures(files, env=gnupg_home.env())
    # publish checks signatures beside the files and refuses before anything is written.
    os.environ["GNUPGHOME"] = str(gnupg_home.home)
    try:
        with pytest.raises(VerificationError):
            publish_files(
                files, repository=f"file:{tmp_path / 'index'}", verify=True, environ={"HOME": str(tmp_path)}
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
    manifest_hook(require_signature=True)(tmp_path / MANIFEST)
    (tmp_path / MANIFEST).write_text((tmp_path / MANIFEST).read_text().replace("a", "b", 1))
    with pytest.raises(VerificationError, match="BAD signature"):
        manifest_hook()(tmp_path / MANIFEST)
    (tmp_path / "SHA256SUMS.asc").unlink()
    manifest_hook()(tmp_path / MANIFEST)
    with pytest.raises(VerificationError, match="not signed"):
        manifest_hook(require_signature=True)(tmp_path / MANIFEST)


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
    assert main_inner(["sign", str(tmp_path), "--verify"]) == 0
    files[0].write_bytes(files[0].read_bytes() + b"\0")
    with pytest.raises(VerificationError):
        main_inner(["sign", str(tmp_path), "--verify"])


def test_fetch_requires_a_good_manifest_signature(
    tmp_path: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipwheel.cli import main_inner

    staged = tmp_path / "staged"
    files = make_release(staged, "demo-fetched", "1.0", wheels=1)
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    sign_files([staged])
    args = ["fetch", "demo-fetched", "1.0", "--from", str(staged), "--require-signature", "--json"]
    assert main_inner([*args, "-w", str(tmp_path / "good")]) == 0
    assert {p.name for p in (tmp_path / "good").iterdir()} >= {f.name for f in files}
    # A manifest changed after signing is refused before anything is fetched.
    manifest = staged / MANIFEST
    manifest.write_text(manifest.read_text() + "\n")
    with pytest.raises(VerificationError, match="BAD signature"):
        main_inner([*args, "-w", str(tmp_path / "bad")])
    (staged / "SHA256SUMS.asc").unlink()
    with pytest.raises(VerificationError, match="not signed"):
        main_inner([*args, "-w", str(tmp_path / "unsigned")])


def test_fetch_checks_a_present_signature_without_being_asked(
    tmp_path: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signatures are verified when present (issue 5); --require-signature only adds "and refuse without"."""
    from shipwheel.cli import main_inner

    staged = tmp_path / "staged"
    make_release(staged, "demo-present", "1.0", wheels=1)
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    sign_files([staged])
    args = ["fetch", "demo-present", "1.0", "--from", str(staged), "--json"]
    assert main_inner([*args, "-w", str(tmp_path / "good")]) == 0
    manifest = staged / MANIFEST
    manifest.write_text(manifest.read_text() + "\n")
    with pytest.raises(VerificationError, match="BAD signature"):
        main_inner([*args, "-w", str(tmp_path / "bad")])
    assert not (tmp_path / "bad").exists()
    (staged / "SHA256SUMS.asc").unlink()
    (staged / MANIFEST).unlink()
    assert main_inner([*args, "-w", str(tmp_path / "plain")]) == 0  # nothing signed, nothing required
