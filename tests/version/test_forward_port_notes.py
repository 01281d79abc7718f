"""A final release on a maintenance branch forward-ports its release notes to main as a local commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner

NOTES = "doc/release/{version}-notes.rst"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """kahan with release notes per version, a maintenance/1.0.x branch checked out, main moved on."""
    repo = make_kahan_repo(tmp_path / "kahan")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.shipwheel.release]\nnotes-file = "{NOTES}"\n')
    git(repo, "commit", "-qam", "configure the notes")
    git(repo, "branch", "maintenance/1.0.x")
    (repo / "README.md").write_text("main moved on\n")
    git(repo, "commit", "-qam", "ENH: on main only")
    git(repo, "switch", "-q", "maintenance/1.0.x")
    monkeypatch.setenv("SHIPWHEEL_RELEASE_STEPS", '["notes"]')
    return repo


def _write_notes(repo: Path, version: str) -> str:
    rel = NOTES.format(version=version)
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(f"kahan {version} Release Notes\n{'=' * 26}\n\nFixes a header.\n")
    return rel


def _release(repo: Path, version: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main_inner(["release", version, "--json", "--config-dir", str(repo)]) == 0
    return {s["step"]: s["detail"] for s in json.loads(capsys.readouterr().out)["steps"]}


def test_the_notes_of_a_final_maintenance_release_reach_main(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rel = _write_notes(repo, "1.0.1")
    main_before = git(repo, "rev-parse", "main").strip()
    detail = _release(repo, "1.0.1", capsys)["notes"]
    assert "forward-ported to main" in detail
    assert git(repo, "rev-parse", "main^").strip() == main_before  # one commit on top of main
    assert git(repo, "show", f"main:{rel}") == (repo / rel).read_text()
    assert git(repo, "show", "main:README.md") == "main moved on\n"  # main's own changes kept
    assert (
        git(repo, "log", "-1", "--format=%s", "main").strip() == "DOC: Forward-port the 1.0.1 release notes"
    )
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "maintenance/1.0.x"
    assert git(repo, "status", "--porcelain", "--untracked-files=no").strip() == ""
    assert git(repo, "ls-remote", ".", "refs/remotes/*").strip() == ""  # nothing pushed anywhere
    again = _release(repo, "1.0.1", capsys)["notes"]  # done: main is not given a second commit
    assert "is committed" in again and git(repo, "rev-parse", "main^").strip() == main_before


def test_a_conflict_leaves_main_untouched_and_says_what_to_do(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rel = NOTES.format(version="1.0.1")
    git(repo, "switch", "-q", "main")
    (repo / rel).parent.mkdir(parents=True)
    (repo / rel).write_text("a draft of the 1.0.1 notes, written on main\n")
    git(repo, "add", rel)
    git(repo, "commit", "-qm", "DOC: draft")
    main_before = git(repo, "rev-parse", "main").strip()
    git(repo, "switch", "-q", "maintenance/1.0.x")
    _write_notes(repo, "1.0.1")
    detail = _release(repo, "1.0.1", capsys)["notes"]
    assert "not forward-ported to main" in detail and "conflicts" in detail
    assert "git switch main && git cherry-pick -x" in detail
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert _release(repo, "1.0.1", capsys)["notes"].endswith("is committed")  # said once, not retried


def test_a_pre_release_on_the_maintenance_branch_is_not_forward_ported(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_notes(repo, "1.0.1rc1")
    main_before = git(repo, "rev-parse", "main").strip()
    assert "forward" not in _release(repo, "1.0.1rc1", capsys)["notes"]
    assert git(repo, "rev-parse", "main").strip() == main_before


def test_main_checked_out_in_another_work_tree_is_left_alone(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repo, "worktree", "add", "-q", str(tmp_path / "main-tree"), "main")
    main_before = git(repo, "rev-parse", "main").strip()
    _write_notes(repo, "1.0.1")
    detail = _release(repo, "1.0.1", capsys)["notes"]
    assert f"main is checked out in {tmp_path / 'main-tree'}" in detail and "git cherry-pick -x" in detail
    assert git(repo, "rev-parse", "main").strip() == main_before


def test_multidict_news_file_section_is_merged_into_master(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """multidict just before 6.7.1 (towncrier, CHANGES.rst): released from maintenance/6.7.x while master added to
    the end of CHANGES.rst; master gets the 6.7.1 section and keeps its own edit."""
    from fixtures.mirrors import clone_at

    commit = "39d3c322f6a9e824beee9b6f178e3166205f0f59"  # the 6.7.1 release commit
    repo = clone_at("aio-libs/multidict", commit, tmp_path / "multidict", branch="master")
    git(repo, "reset", "-q", "--hard", f"{commit}^")
    later = git(repo, "tag", "--no-merged", "HEAD").split()  # v6.7.1 and later did not exist yet
    for i in range(0, len(later), 200):
        git(repo, "tag", "-d", *later[i : i + 200])
    git(repo, "branch", "maintenance/6.7.x")
    edit = "\n.. an edit made on master, at the end of the file\n"
    with (repo / "CHANGES.rst").open("a") as fh:
        fh.write(edit)
    git(repo, "commit", "-qam", "DOC: an edit on master")
    master_before = git(repo, "rev-parse", "master").strip()
    git(repo, "switch", "-q", "maintenance/6.7.x")
    assert main_inner(["release", "6.7.1", "--only", "notes", "--json", "--config-dir", str(repo)]) == 0
    detail = {s["step"]: s["detail"] for s in json.loads(capsys.readouterr().out)["steps"]}["notes"]
    assert "forward-ported to master" in detail
    assert git(repo, "rev-parse", "master^").strip() == master_before
    on_master = git(repo, "show", "master:CHANGES.rst")
    released = (repo / "CHANGES.rst").read_text()
    assert on_master == released + edit  # the 6.7.1 section, as on the maintenance branch, and master's edit
    # only the notes file moves: master's tree differs from its parent in CHANGES.rst alone
    assert git(repo, "diff", "--name-only", "master^", "master").split() == ["CHANGES.rst"]
