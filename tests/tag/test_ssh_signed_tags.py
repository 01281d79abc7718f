"""SSH-signed release tags (gpg.format=ssh), checked against the pinned key only: real ssh-keygen keys."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import EnvironmentNotReadyError, ProjectError, VerificationError
from shipwheel.release import tag_release, verify_tag
from shipwheel.release._tag import repository_of, tag_signer

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")


def _key(folder: Path, name: str) -> Path:
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path


def _fingerprint(public: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(public)], check=True, capture_output=True, text=True)
    return out.stdout.split()[1]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "keys"
    folder.mkdir()
    return _key(folder, "release-manager"), _key(folder, "someone-else")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_kahan_repo(tmp_path / "kahan")
    git(repo, "config", "gpg.format", "ssh")
    return repo


def test_a_tag_is_ssh_signed_and_verified_with_the_configured_key(
    repo: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mine, _ = keys
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", str(mine))
    assert main_inner(["tag", "1.0.0", "--config-dir", str(repo)]) == 0
    assert "(signed, verified)" in capsys.readouterr().out
    assert "-----BEGIN SSH SIGNATURE-----" in git(repo, "cat-file", "tag", "v1.0.0")
    config = load_config(repo)
    assert tag_signer(config, repository_of(config), "v1.0.0") == _fingerprint(
        mine.with_name(mine.name + ".pub")
    )
    again = tag_release(config, "1.0.0")
    assert not again.created and again.signed and again.verified


def test_a_public_key_file_signs_through_ssh_agent(
    repo: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None:
        pytest.skip("ssh-agent is not installed")
    mine, _ = keys
    git(repo, "config", "--unset", "gpg.format")  # the .pub file alone says SSH
    sock = Path(f"/tmp/sw-agent-{os.getpid()}-{tmp_path.name[-12:]}.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(mine)], env=env, check=True, capture_output=True, timeout=60)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", str(mine.with_name(mine.name + ".pub")))
        result = tag_release(load_config(repo), "1.0.0")
        assert result.created and result.signed and result.verified
    finally:
        agent.terminate()
        agent.wait(timeout=30)
        sock.unlink(missing_ok=True)


@pytest.fixture
def foreign_tag(repo: Path, keys: tuple[Path, Path]) -> Iterator[Path]:
    """v1.0.0 SSH-signed by hand with the other key."""
    _, other = keys
    git(repo, "-c", f"user.signingKey={other}", "tag", "-s", "-m", "kahan 1.0.0", "v1.0.0")
    yield repo


def test_a_tag_signed_by_another_ssh_key_is_refused(
    foreign_tag: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = foreign_tag
    mine, other = keys
    # git itself calls it good with any allowed-signers file that lists the other key; shipwheel pins its own
    allowed = repo.parent / "allowed"
    allowed.write_text(f'* namespaces="git" {other.with_name(other.name + ".pub").read_text()}')
    subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag", "v1.0.0"],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip
    git(repo, "config", "gpg.ssh.allowedSignersFile", str(allowed))  # the user's own file is not what decides
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", str(mine))
    config = load_config(repo)
    with pytest.raises(VerificationError, match="no good SSH signature by a pinned key"):
        tag_signer(config, repository_of(config), "v1.0.0")
    assert verify_tag(config, repository_of(config), "v1.0.0") is False
    assert tag_release(config, "1.0.0").verified is False
    with pytest.raises(ProjectError, match="does not verify with a pinned key"):
        main_inner(["release", "1.0.0", "--only", "tag", "--config-dir", str(repo)])


def test_a_new_tag_by_a_key_that_is_not_pinned_is_removed(
    repo: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = keys
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", str(other))
    monkeypatch.setenv("SHIPWHEEL_SIGN_TRUSTED_KEYS", str(mine.with_name(mine.name + ".pub")))
    with pytest.raises(EnvironmentNotReadyError) as info:
        tag_release(load_config(repo), "1.0.0")
    assert "does not verify with a pinned key (tag v1.0.0 carries no good SSH signature" in info.value.message
    assert git(repo, "tag", "-l").strip() == ""
