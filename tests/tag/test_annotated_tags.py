"""``shipwheel tag``: annotated, signed when a key is set, made once, refused when it points elsewhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import UsageError
from shipwheel.release import TagConflictError, tag_release


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_kahan_repo(tmp_path / "kahan")


def test_tag_annotated_names_version(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_inner(["tag", "1.0.0", "--config-dir", str(repo)]) == 0
    assert "tagged" in capsys.readouterr().out
    assert git(repo, "cat-file", "-t", "v1.0.0").strip() == "tag"
    assert git(repo, "tag", "-l", "--format=%(contents:subject)", "v1.0.0").strip() == "kahan 1.0.0"
    assert git(repo, "rev-parse", "v1.0.0^{commit}") == git(repo, "rev-parse", "HEAD")


def test_tag_again_is_noop(repo: Path) -> None:
    config = load_config(repo)
    first = tag_release(config, "1.0.0")
    tag_object = git(repo, "rev-parse", "v1.0.0").strip()
    again = tag_release(config, "1.0.0")
    assert first.created and not again.created
    assert git(repo, "rev-parse", "v1.0.0").strip() == tag_object
    assert git(repo, "tag", "-l").split() == ["v1.0.0"]


def test_tag_elsewhere_refused(repo: Path) -> None:
    tag_release(load_config(repo), "1.0.0")
    (repo / "README.md").write_text("changed\n")
    git(repo, "commit", "-qam", "later")
    with pytest.raises(TagConflictError) as info:
        main_inner(["tag", "1.0.0", "--config-dir", str(repo)])
    assert info.value.exit_code == 4 and "git tag -d v1.0.0" in info.value.hint
    git(repo, "tag", "v1.1.0")  # lightweight
    with pytest.raises(TagConflictError, match="lightweight"):
        tag_release(load_config(repo), "1.1.0")


def test_tag_bad_version(repo: Path) -> None:
    with pytest.raises(UsageError):
        tag_release(load_config(repo), "v1.0.0-final")


def test_tag_signed_and_verified(repo: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", gnupg_home.fingerprint)
    result = tag_release(load_config(repo), "1.0.0")
    assert result.created and result.signed and result.verified
    subprocess.run(["git", "verify-tag", "v1.0.0"], cwd=repo, check=True, capture_output=True)
    again = tag_release(load_config(repo), "1.0.0")
    assert not again.created and again.verified


def test_tag_signing_without_key_is_clear(
    repo: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipwheel.errors import EnvironmentNotReadyError

    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    with pytest.raises(EnvironmentNotReadyError, match="could not sign"):
        tag_release(load_config(repo), "1.0.0", key="0000000000000000DEADBEEF")
    assert git(repo, "tag", "-l").strip() == ""
