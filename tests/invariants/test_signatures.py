"""Invariant (e): a signature is trusted only from a pinned key, for release tags too.

``git verify-tag`` accepts a tag signed by any key in the keyring; ``shipwheel tag`` and the release pipeline's
check of an existing tag accept only the keys ``sign`` pins (``sign.trusted-keys``, else ``sign.key``), read
from gpg's ``VALIDSIG`` status line (``git verify-tag --raw``). Real gpg, two throwaway keys in one keyring.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome, add_gpg_key, make_gpg_home
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import EnvironmentNotReadyError, ProjectError, VerificationError
from shipwheel.release import tag_release, verify_tag
from shipwheel.release._tag import repository_of, tag_signer
from shipwheel.sign import TrustedSigners, signer_from_status


@pytest.fixture(scope="module")
def two_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[GpgHome, GpgHome]:
    """The release manager's key and a stranger's, both with their secret part in the same keyring."""
    manager = make_gpg_home(tmp_path_factory.mktemp("gpg2"), "Release Manager <rm@example.invalid>")
    stranger = add_gpg_key(manager, "Stranger <stranger@example.invalid>")
    yield manager, stranger
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=manager.env(), capture_output=True, timeout=30)


@pytest.fixture
def repo(tmp_path: Path, two_keys: tuple[GpgHome, GpgHome], monkeypatch: pytest.MonkeyPatch) -> Path:
    manager, _ = two_keys
    monkeypatch.setenv("GNUPGHOME", str(manager.home))
    monkeypatch.delenv("SHIPWHEEL_SIGN_KEY", raising=False)
    monkeypatch.setenv("SHIPWHEEL_SIGN_TRUSTED_KEYS", manager.fingerprint)
    repo = make_kahan_repo(tmp_path / "kahan")
    monkeypatch.chdir(repo)
    return repo


def _sign_tag_by_hand(repo: Path, key: GpgHome, name: str = "v1.0.0") -> None:
    git(repo, "tag", "-s", "-u", key.fingerprint, "-m", f"kahan {name[1:]}", name, env=key.env())


def test_tag_signed_by_an_unpinned_key_in_the_keyring_is_refused(
    repo: Path, two_keys: tuple[GpgHome, GpgHome]
) -> None:
    _, stranger = two_keys
    _sign_tag_by_hand(repo, stranger)
    # git itself is content: the stranger's key is in the keyring.
    subprocess.run(["git", "verify-tag", "v1.0.0"], cwd=repo, check=True, capture_output=True, timeout=60)
    config = load_config(repo)
    assert not verify_tag(config, repository_of(config), "v1.0.0")
    with pytest.raises(VerificationError, match="not a pinned key"):
        tag_signer(config, repository_of(config), "v1.0.0")
    result = tag_release(config, "1.0.0")
    assert result.signed and not result.verified and not result.created


def test_tag_signed_by_the_pinned_key_verifies(repo: Path, two_keys: tuple[GpgHome, GpgHome]) -> None:
    manager, _ = two_keys
    _sign_tag_by_hand(repo, manager)
    config = load_config(repo)
    assert tag_signer(config, repository_of(config), "v1.0.0") == manager.fingerprint
    assert tag_release(config, "1.0.0").verified


def test_new_tag_with_an_unpinned_key_is_removed(repo: Path, two_keys: tuple[GpgHome, GpgHome]) -> None:
    _, stranger = two_keys
    with pytest.raises(EnvironmentNotReadyError, match="does not verify with a pinned key") as info:
        main_inner(["tag", "1.0.0", "--key", stranger.fingerprint])
    assert "\n" not in info.value.one_line()
    assert git(repo, "tag", "-l").strip() == ""


def test_sign_key_without_trusted_keys_is_the_pin(
    repo: Path, two_keys: tuple[GpgHome, GpgHome], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stranger = two_keys
    monkeypatch.delenv("SHIPWHEEL_SIGN_TRUSTED_KEYS")
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", "Release Manager")  # a user id, resolved to its fingerprint
    assert tag_release(load_config(repo), "1.0.0").verified
    _sign_tag_by_hand(repo, stranger, "v1.0.1")
    config = load_config(repo)
    assert not verify_tag(config, repository_of(config), "v1.0.1")


def test_release_refuses_an_existing_tag_by_an_unpinned_key(
    repo: Path, two_keys: tuple[GpgHome, GpgHome]
) -> None:
    _, stranger = two_keys
    _sign_tag_by_hand(repo, stranger)
    with pytest.raises(ProjectError, match="does not verify with a pinned key") as info:
        main_inner(["release", "1.0.0", "--only", "tag"])
    assert "\n" not in info.value.one_line()


def test_status_lines_without_validsig_are_refused() -> None:
    pinned = TrustedSigners(frozenset({"A" * 40}))
    with pytest.raises(VerificationError, match="no good signature"):
        signer_from_status("[GNUPG:] GOODSIG 1234 someone\n", pinned, what="tag v1")
    status = f"[GNUPG:] GOODSIG 1234 x\n[GNUPG:] VALIDSIG {'B' * 40} 2026-01-01 0 0 4 0 22 10 00 {'A' * 40}\n"
    assert signer_from_status(status, pinned, what="tag v1") == "A" * 40  # a subkey of the pinned key
    with pytest.raises(VerificationError, match="no signing key is pinned"):
        signer_from_status(status, TrustedSigners(), what="tag v1")
