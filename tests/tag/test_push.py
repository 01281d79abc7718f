"""Pushing a release: the exact git push commands after tag and release, and the push step (off by default)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixtures.processes import free_port
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import RELEASE_STEPS, load_config
from shipwheel.errors import RemoteError
from shipwheel.release import push_commands, tag_release


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_kahan_repo(tmp_path / "kahan")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "remote.git")], check=True)
    git(repo, "remote", "add", "origin", str(tmp_path / "remote.git"))
    return repo


def test_tag_ends_with_the_push_commands_of_the_branch_and_the_tag(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_inner(["tag", "1.0.0", "--config-dir", str(repo)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(None, 1)[1] for line in out if line.startswith("push:")] == [
        "git push origin main",
        "git push origin v1.0.0",
    ]
    assert main_inner(["tag", "1.0.0", "--json", "--config-dir", str(repo)]) == 0
    assert json.loads(capsys.readouterr().out)["push"] == ["git push origin main", "git push origin v1.0.0"]
    assert git(repo, "ls-remote", "origin").strip() == ""  # shown, not run


def test_no_push_commands_before_the_release_is_tagged(repo: Path) -> None:
    assert push_commands(load_config(repo), "1.0.0") == []


def test_the_push_commands_follow_the_branch_upstream(repo: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "fork.git")], check=True)
    git(repo, "remote", "add", "upstream", str(tmp_path / "fork.git"))
    git(repo, "push", "-q", "upstream", "main:release-line")
    git(repo, "branch", "--set-upstream-to=upstream/release-line")
    tag_release(load_config(repo), "1.0.0")
    assert push_commands(load_config(repo), "1.0.0") == [
        "git push upstream main:release-line",
        "git push upstream v1.0.0",
    ]


def test_release_prints_the_push_commands_and_pushes_nothing_by_default(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(repo)
    assert "push" in RELEASE_STEPS and "push" not in config.release.steps
    monkeypatch.setenv("SHIPWHEEL_RELEASE_STEPS", '["tag"]')
    assert main_inner(["release", "1.0.0", "--config-dir", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "git push origin main\n" in out and "git push origin v1.0.0\n" in out
    assert git(repo, "ls-remote", "origin").strip() == ""


def test_the_push_step_pushes_the_branch_and_the_tag_once(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWHEEL_RELEASE_STEPS", '["tag", "push"]')
    argv = ["release", "1.0.0", "--json", "--config-dir", str(repo)]
    assert main_inner(argv) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["push"]["outcome"] == "ran"
    remote = dict(reversed(line.split("\t")) for line in git(repo, "ls-remote", "origin").splitlines())
    assert remote["refs/heads/main"] == git(repo, "rev-parse", "main").strip()
    assert remote["refs/tags/v1.0.0"] == git(repo, "rev-parse", "v1.0.0").strip()
    assert main_inner(argv) == 0  # again: the remote holds both, nothing to do
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["push"]["outcome"] == "done"


def test_a_failed_push_never_shows_the_remote_credentials(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "ghp_s3cretTokenValue1234567890"
    git(repo, "remote", "set-url", "origin", f"https://release-bot:{token}@127.0.0.1:{free_port()}/kahan.git")
    monkeypatch.setenv("SHIPWHEEL_RELEASE_STEPS", '["tag", "push"]')
    with pytest.raises(RemoteError) as info:
        main_inner(["release", "1.0.0", "--config-dir", str(repo)])
    assert token not in info.value.message and token not in (info.value.hint or "")
    assert "git push origin main" in info.value.message
    assert token not in capsys.readouterr().out
    assert token not in (repo / ".shipwheel" / "releases" / "1.0.0.json").read_text()
