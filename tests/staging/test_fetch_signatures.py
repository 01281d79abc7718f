"""``shipwheel fetch`` and the release's signatures (real gpg, a throwaway key): a signed manifest is checked
whether or not it is asked for, and ``--require-signature`` refuses a release without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.gpg import GpgHome
from fixtures.index_servers import make_release
from shipwheel.errors import VerificationError
from shipwheel.sign import MANIFEST, sign_files


def test_fetch_requires_a_good_manifest_signature(
    tmp_path: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipwheel.cli import main_inner

    staged = tmp_path / "staged"
    files = make_release(staged, "demo-fetched", "1.0", wheels=1)
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    sign_files([staged])
    args = ["fetch", "demo-fetched", "1.0", "--from", str(staged), "--require-signature", "--json"]
    args += ["--trusted-key", gnupg_home.fingerprint]
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
    """Signatures are verified when present; --require-signature only adds "and refuse without"."""
    from shipwheel.cli import main_inner

    staged = tmp_path / "staged"
    make_release(staged, "demo-present", "1.0", wheels=1)
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    sign_files([staged])
    args = ["fetch", "demo-present", "1.0", "--from", str(staged), "--json"]
    args += ["--trusted-key", gnupg_home.fingerprint]
    assert main_inner([*args, "-w", str(tmp_path / "good")]) == 0
    manifest = staged / MANIFEST
    manifest.write_text(manifest.read_text() + "\n")
    with pytest.raises(VerificationError, match="BAD signature"):
        main_inner([*args, "-w", str(tmp_path / "bad")])
    assert not (tmp_path / "bad").exists()
    (staged / "SHA256SUMS.asc").unlink()
    (staged / MANIFEST).unlink()
    assert main_inner([*args, "-w", str(tmp_path / "plain")]) == 0  # nothing signed, nothing required
