"""The Quickstart's release of the example, without a build: a project inside a larger repository, the local
staging folder and ``file:`` index taken from the project folder, and what the command says at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from fixtures.index_servers import make_release
from fixtures.release_repo import git, make_kahan_repo, make_outer_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import UsageError


def test_release_refuses_commit_and_tag_steps_inside_a_larger_repository(tmp_path: Path) -> None:
    """notes, version, tag and bump would commit and tag the whole repository: refused before anything runs,
    with the steps to keep; the example's own steps (none of them) are accepted."""
    project = make_outer_repo(tmp_path / "tool")
    head = git(tmp_path / "tool", "rev-parse", "HEAD")
    with pytest.raises(UsageError, match=r"step 'version' is not in release.steps"):
        main_inner(["release", "1.0.0", "--only", "version", "--config-dir", str(project)])
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace('steps = ["check",', 'steps = ["check", "tag",')
    )
    for argv in ([], ["--dry-run"], ["--only", "tag"]):
        with pytest.raises(UsageError) as info:
            main_inner(["release", "1.0.0", *argv, "--config-dir", str(project)])
        assert info.value.exit_code == 2
        assert "inside the git repository" in str(
            info.value
        ) and "the step(s) tag would commit or tag" in str(info.value)
        assert "'check', 'build', 'verify', 'sign', 'stage', 'publish'" in str(info.value.hint)
    assert not (project / ".shipwheel").exists()  # refused before anything ran
    git(tmp_path / "tool", "checkout", "-q", "--", ".")
    assert main_inner(["release", "1.0.0", "--dry-run", "--config-dir", str(project)]) == 0
    assert git(tmp_path / "tool", "rev-parse", "HEAD") == head and git(tmp_path / "tool", "tag", "-l") == ""
    assert git(tmp_path / "tool", "status", "--porcelain") == ""


def test_stage_and_file_index_relative_to_the_project_then_rerun_is_noop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Relative stage.to and file: targets land in the project folder whatever the current one; the output
    names the wheelhouse, the staging folder, the index URL with its pip line, and the record; a second run
    finds both steps done."""
    repo = make_kahan_repo(tmp_path / "kahan")
    # a pure wheel serves every identifier of the matrix: the release is complete, as publish requires
    files = [
        make_wheel(repo / "wheelhouse", "kahan", "1.0.0", "py3-none-any"),
        *make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=0),
    ]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SHIPWHEEL_STAGE_TO", "staging")
    monkeypatch.setenv("SHIPWHEEL_PUBLISH_REPOSITORY", "file:index")
    argv = ["release", "1.0.0", "--only", "stage", "--only", "publish", "--config-dir", str(repo)]
    assert main_inner(argv) == 0
    out = capsys.readouterr().out
    index_url = (repo / "index" / "simple").as_uri() + "/"
    assert f"install:    python3 -m pip install --index-url {index_url} kahan==1.0.0" in out
    assert f"staging:    {repo / 'staging'}" in out and f"wheelhouse: {repo / 'wheelhouse'}" in out
    assert f"record:     {repo / '.shipwheel' / 'releases' / '1.0.0.json'}" in out
    for folder in ("staging", "index"):
        assert {p.name for p in files} <= {p.name for p in (repo / folder).iterdir()}
        assert (repo / folder / "simple" / "kahan" / "index.html").is_file()
    assert list(elsewhere.iterdir()) == []
    assert main_inner([*argv, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert {s["step"]: s["outcome"] for s in again["steps"] if s["outcome"] != "not-selected"} == {
        "stage": "done",
        "publish": "done",
    }
    assert again["index_url"] == index_url and again["staging"] == str(repo / "staging")
    assert git(repo, "status", "--porcelain") == ""


def test_check_of_a_project_inside_a_repository_looks_at_its_folder(tmp_path: Path) -> None:
    """Uncommitted work elsewhere in the repository does not reach the project's release (built from its folder
    of HEAD), so tree-clean looks at the project's folder only."""
    from shipwheel.config import load_config
    from shipwheel.release import run_checks

    project = make_outer_repo(tmp_path / "tool")
    (tmp_path / "tool" / "README.md").write_text("work in progress\n")
    result = next(r for r in run_checks(load_config(project), "1.0.0").results if r.code == "tree-clean")
    assert result.status == "pass" and "examples/kahan/" in result.message
    (project / "README.md").write_text("changed\n")
    result = next(r for r in run_checks(load_config(project), "1.0.0").results if r.code == "tree-clean")
    assert result.status == "fail" and result.details == ("examples/kahan/README.md",)


def test_complete_matrix_false_verifies_what_was_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default verify holds the release to the whole matrix (the example's macOS and Windows wheels too);
    complete-matrix = false, the Quickstart's trial release, leaves that check out and nothing else."""
    from shipwheel.errors import VerificationError

    repo = make_kahan_repo(tmp_path / "kahan")
    make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=0)
    # every Linux x86-64 wheel of the matrix: whatever CPythons this machine has, the ones it builds are there
    for ident in load_config(repo).identifiers():
        if ident.platform == "manylinux_x86_64" and not ident.free_threaded:
            make_wheel(
                repo / "wheelhouse", "kahan", "1.0.0", f"{ident.python}-{ident.python}-manylinux_2_17_x86_64"
            )
    argv = ["release", "1.0.0", "--only", "verify", "--config-dir", str(repo)]
    with pytest.raises(VerificationError, match=r"\[matrix-missing\]"):
        main_inner(argv)
    monkeypatch.setenv("SHIPWHEEL_RELEASE_COMPLETE_MATRIX", "0")
    with pytest.raises(VerificationError) as info:
        main_inner(argv)
    assert "matrix-missing" not in str(info.value) and "[sdist-complete]" in str(info.value)  # the fake sdist
