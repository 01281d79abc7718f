"""``shipwheel release`` without a build: step selection, the record, and the verify step's sdist check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome
from fixtures.index_servers import make_release
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import EnvironmentNotReadyError, ProjectError, UsageError, VerificationError
from shipwheel.release import ReleaseState, release, state_path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_kahan_repo(tmp_path / "kahan")
    make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=1)
    return repo


def test_release_verify_step_checks_the_built_sdist(repo: Path) -> None:
    """The sdist that was really built must hold the tracked files; the record says verify failed."""
    with pytest.raises(VerificationError, match=r"sdist lacks .*\[sdist-complete\]"):
        main_inner(["release", "1.0.0", "--only", "verify", "--select", "cp311-*", "--config-dir", str(repo)])
    record = json.loads(state_path(repo, "1.0.0").read_text())
    assert record["steps"]["verify"]["status"] == "failed"
    assert "sdist-complete" in record["steps"]["verify"]["detail"]


def test_release_dry_run_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert main_inner(["release", "1.0.1", "--dry-run", "--json", "-r", f"file:{repo.parent / 'idx'}",
                       "--config-dir", str(repo)]) == 0  # fmt: skip
    plan = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert plan["check"] == plan["version"] == plan["tag"] == plan["bump"] == "would-run"
    assert plan["sign"] == "skipped" and plan["notes"] == "skipped"
    assert not (repo / ".shipwheel").exists() and not (repo.parent / "idx").exists()
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "tag", "-l") == ""


def test_release_step_selection(repo: Path) -> None:
    config = load_config(repo)
    with pytest.raises(UsageError, match="unknown step"):
        release(config, "1.0.1", only=["publsh"], dry_run=True)
    with pytest.raises(UsageError, match="PEP 440"):
        release(config, "1.0.1-final", dry_run=True)
    out = release(config, "1.0.1", start="publish", dry_run=True, repository=f"file:{repo.parent / 'idx'}")
    outcomes = {s.step: s.outcome for s in out.steps}
    assert outcomes["check"] == outcomes["tag"] == "not-selected"
    assert outcomes["publish"] == "would-run"


def test_release_record_atomic_and_damaged(repo: Path) -> None:
    path = state_path(repo, "1.0.0")
    state = ReleaseState.load(path, "1.0.0")
    state.set("check", "done", "fine", codes=3)
    assert json.loads(path.read_text())["steps"]["check"]["data"] == {"codes": 3}
    assert [p.name for p in path.parent.iterdir()] == ["1.0.0.json"]  # no temporary file left
    path.write_text("{ half a rec")
    assert ReleaseState.load(path, "1.0.0").steps["check"].status == "pending"  # rebuilt from the real state


def test_release_tag_on_wrong_commit_refused(repo: Path) -> None:
    """A tag made by hand on a commit that does not hold the version is not taken as the release's."""
    git(repo, "tag", "-a", "-m", "oops", "v1.0.1")  # HEAD holds 1.0.0
    with pytest.raises(ProjectError, match=r"holds 1\.0\.0, not 1\.0\.1"):
        main_inner(["release", "1.0.1", "--only", "tag", "--config-dir", str(repo)])


def test_release_gpg_missing_then_present(
    repo: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing configured but gpg missing: the tag step fails (exit 5), makes no tag; with gpg it goes on."""
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    monkeypatch.setenv("SHIPWHEEL_SIGN_KEY", gnupg_home.fingerprint)
    monkeypatch.setenv("SHIPWHEEL_SIGN_GPG", str(repo / "no-such-gpg"))
    argv = ["release", "1.0.0", "--only", "tag", "--config-dir", str(repo)]
    with pytest.raises(EnvironmentNotReadyError) as info:
        main_inner(argv)
    assert info.value.exit_code == 5 and git(repo, "tag", "-l") == ""
    monkeypatch.setenv("SHIPWHEEL_SIGN_GPG", "gpg")
    assert main_inner(argv) == 0
    assert "BEGIN PGP SIGNATURE" in git(repo, "cat-file", "tag", "v1.0.0")
    assert main_inner(argv) == 0  # found done, verified, not made again
    assert git(repo, "tag", "-l").split() == ["v1.0.0"]


def test_release_notes_step_commits_once(repo: Path) -> None:
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.shipwheel.release]\nnotes-file = "doc/release/{version}-notes.rst"\n')
    git(repo, "commit", "-qam", "configure")
    head = git(repo, "rev-parse", "HEAD").strip()
    argv = ["release", "1.0.1", "--only", "notes", "--config-dir", str(repo)]
    assert main_inner(argv) == 0
    assert "1.0.1" in (repo / "doc" / "release" / "1.0.1-notes.rst").read_text()
    assert git(repo, "log", "--format=%s", f"{head}..HEAD").splitlines() == ["DOC: Release notes for 1.0.1"]
    assert main_inner(argv) == 0  # committed already: found done
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"


def test_release_build_fetches_from_staging(repo: Path, tmp_path: Path) -> None:
    """With fetch.from set, the build step takes the staged files instead of building."""
    staging = tmp_path / "staging"
    staged = make_release(staging, "kahan", "1.0.1", wheels=2)
    with (repo / "pyproject.toml").open("a") as fh:
        # two wheels staged: a trial release, not held to the whole matrix
        fh.write(
            f'\n[tool.shipwheel.fetch]\nfrom = "{staging}"\n[tool.shipwheel.release]\ncomplete-matrix = false\n'
        )
    git(repo, "commit", "-qam", "staging")
    assert main_inner(["release", "1.0.1", "--only", "build", "--config-dir", str(repo)]) == 0
    fetched = sorted(p.name for p in (repo / "wheelhouse").iterdir() if "1.0.1" in p.name)
    assert fetched == sorted(p.name for p in staged)
    record = json.loads(state_path(repo, "1.0.1").read_text())
    assert record["steps"]["build"]["detail"].startswith("fetched 3 file(s)")
