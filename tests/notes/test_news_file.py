"""The release's ``notes`` step writes the news file as ``towncrier build --yes`` does, and never loses history.

Each case is run twice on the same git repository: ``shipwheel release V --only notes`` in one copy, towncrier's
own ``build --yes --version V`` (its command line, in this process) in the other. The commit shipwheel makes must
hold exactly the tree towncrier stages: the news file byte for byte, the fragments removed, nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.git_history import GitRepo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ProjectError
from shipwheel.release import run_checks

from .towncrier_layouts import LAYOUTS, VERSION, write_layout

HISTORY_RST = """\
Changelog
=========

Some words about this file.

.. towncrier release notes start

1.1.0 (2025-01-01)
==================

Features
--------

- Older news. (#1)
"""


def _repo(tmp_path: Path, layout: str, news: dict[str, str] | None = None) -> GitRepo:
    repo = GitRepo(tmp_path / "a")
    write_layout(repo.path, layout)
    for rel, text in (news or {}).items():
        (repo.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo.path / rel).write_bytes(text.encode())
    repo.git("add", "-A")
    repo.commit("start")
    return repo


def _towncrier_build(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from towncrier._shell import cli

    monkeypatch.chdir(path)  # towncrier runs git in the current folder
    result = CliRunner().invoke(cli, ["build", "--yes", "--version", VERSION])
    monkeypatch.undo()
    assert result.exit_code == 0, (result.output, result.exception)


def _both(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitRepo, Path]:
    theirs = tmp_path / "b"
    shutil.copytree(repo.path, theirs, symlinks=True)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    _towncrier_build(theirs, monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)]) == 0
    return repo, theirs


def _staged_tree(path: Path) -> str:
    """The tree of what towncrier staged (``git add`` of the news file, ``git rm`` of the fragments)."""
    return subprocess.run(
        ["git", "-C", str(path), "write-tree"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


CASES = {
    "history after start_string": ("towncrier.toml, defaults", {"NEWS.rst": HISTORY_RST}),
    "no start_string": ("towncrier.toml, defaults", {"NEWS.rst": "1.1.0\n=====\n\nOld.\n"}),
    "no news file yet": ("towncrier.toml, defaults", {}),
    "windows line ends": ("towncrier.toml, defaults", {"NEWS.rst": HISTORY_RST.replace("\n", "\r\n")}),
    "markdown": (
        "markdown default template",
        {"CHANGELOG.md": "# Changes\n\n<!-- towncrier release notes start -->\n\n# frob 1.1.0\n\nOld.\n"},
    ),
    "pyproject, package newsfragments": ("pyproject, package newsfragments", {"NEWS.rst": HISTORY_RST}),
    "per-release file": ("single_file false, ignore", {"docs/release/1.1.0.rst": "1.1.0\n=====\n"}),
    "sections": ("sections and table types", {"NEWS.rst": HISTORY_RST}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_notes_step_commits_what_towncrier_build_stages(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, news = CASES[case]
    repo = _repo(tmp_path, layout, news)
    head = repo.head()
    ours, theirs = _both(repo, tmp_path, monkeypatch)
    assert ours.git("rev-parse", "HEAD^{tree}").strip() == _staged_tree(theirs)
    assert ours.git("log", "--format=%s", f"{head}..HEAD").splitlines() == [
        f"DOC: Release notes for {VERSION}"
    ]
    assert ours.git("status", "--porcelain").strip() == ""
    removed = ours.git("diff", "--name-only", "--diff-filter=D", head, "HEAD").split()
    assert removed and all(layout_path in LAYOUTS[layout] for layout_path in removed)


def test_untracked_fragments_are_deleted_as_towncrier_deletes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, "towncrier.toml, defaults", {"NEWS.rst": HISTORY_RST})
    (repo.path / "changes" / "99.feature.rst").write_text("Not committed yet.\n", encoding="utf-8")
    ours, theirs = _both(repo, tmp_path, monkeypatch)
    assert ours.git("rev-parse", "HEAD^{tree}").strip() == _staged_tree(theirs)
    assert not (ours.path / "changes" / "99.feature.rst").exists()
    assert "Not committed yet." in (ours.path / "NEWS.rst").read_text()


def test_a_rerun_after_a_kill_before_the_commit_inserts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the news file was written, before the fragments went and the commit was made."""
    from shipwheel.notes import notes_target, prepare_notes

    repo = _repo(tmp_path, "towncrier.toml, defaults", {"NEWS.rst": HISTORY_RST})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    target = notes_target(repo.path, VERSION)
    assert target is not None
    update = prepare_notes(target, VERSION)
    assert update.text is not None
    (repo.path / "NEWS.rst").write_text(update.text, encoding="utf-8")
    assert main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)]) == 0
    text = (repo.path / "NEWS.rst").read_text()
    assert text == update.text and text.count(f"Frob {VERSION} (") == 1
    assert not list((repo.path / "changes").glob("*.feature.rst"))
    # and once more: nothing to do
    head = repo.head()
    assert main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)]) == 0
    assert repo.head() == head


def test_a_notes_file_that_does_not_name_the_version_is_never_replaced(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "towncrier.toml, defaults", {"doc/notes.rst": "Notes of 0.9 written by hand.\n"})
    (repo.path / "pyproject.toml").write_text(
        '[tool.shipwheel.release]\nnotes-file = "doc/notes.rst"\n', encoding="utf-8"
    )
    repo.git("add", "-A")
    repo.commit("config")
    head = repo.head()
    with pytest.raises(ProjectError, match=r"does not name 1\.2\.0: it is not replaced"):
        main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)])
    assert (repo.path / "doc" / "notes.rst").read_text() == "Notes of 0.9 written by hand.\n"
    assert repo.head() == head and repo.git("status", "--porcelain").strip() == ""


def test_a_section_of_the_version_below_newer_ones_is_refused_as_towncrier_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    stale = HISTORY_RST.replace(
        "1.1.0 (2025-01-01)\n==================",
        "2.0.0 (2026-02-01)\n==================\n\nNewer.\n\nFrob 1.2.0 (2026-01-01)\n=======================",
    )
    repo = _repo(tmp_path, "towncrier.toml, defaults", {"NEWS.rst": stale})
    with pytest.raises(ProjectError, match="already has a section"):
        main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)])


def test_a_project_without_towncrier_keeps_its_per_release_file(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "a")
    repo.commit("start", files={
        "pyproject.toml": '[project]\nname = "plain"\nversion = "1.2.0"\n\n'
        '[tool.shipwheel.release]\nnotes-file = "doc/release/{version}-notes.rst"\n',
    })  # fmt: skip
    assert main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)]) == 0
    text = (repo.path / "doc" / "release" / "1.2.0-notes.rst").read_text()
    assert text.startswith("=" * 25 + "\nplain 1.2.0 Release Notes\n")
    assert repo.git("status", "--porcelain").strip() == ""


def test_a_notes_document_takes_the_fragments_it_renders(tmp_path: Path) -> None:
    """NumPy's layout with release.notes-file: the document holds the fragments, which go in the same commit."""
    repo = _repo(tmp_path, "project template, all_bullets false, wrap, issue links")
    (repo.path / "pyproject.toml").write_text(
        (repo.path / "pyproject.toml").read_text()
        + '\n[tool.shipwheel.release]\nnotes-file = "doc/release/{version}-notes.rst"\n',
        encoding="utf-8",
    )
    repo.git("add", "-A")
    repo.commit("config")
    head = repo.head()
    assert main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)]) == 0
    text = (repo.path / "doc" / "release" / "1.2.0-notes.rst").read_text()
    assert "``frob`` gains an ``axis`` argument" in text and "gh-30" in text
    changed = repo.git("diff", "--name-status", head, "HEAD").split("\n")
    assert sorted(c.split("\t")[1] for c in changed if c.startswith("D")) == sorted(
        f"news/{name}"
        for name in ("30.feature.rst", "31.feature.rst", "32.feature.rst", "33.compatibility.rst")
    )


def test_check_reads_towncrier_toml_for_notes_and_fragments(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "towncrier.toml, defaults", {"NEWS.rst": HISTORY_RST})
    config = load_config(repo.path)
    before = {
        r.code: r for r in run_checks(config, VERSION, skip=("version-backend", "sdist-complete")).results
    }
    assert before["notes-present"].status == "fail"
    assert (
        before["notes-present"].message == "NEWS.rst has no section for 1.2.0 yet (9 fragment(s) to render)"
    )
    assert before["fragments-left"].status == "fail"
    assert "changes/12.feature.rst" in before["fragments-left"].details
    assert "changes/README.rst" not in before["fragments-left"].details
    assert main_inner(["release", VERSION, "--only", "notes", "--config-dir", str(repo.path)]) == 0
    after = {
        r.code: r for r in run_checks(config, VERSION, skip=("version-backend", "sdist-complete")).results
    }
    assert after["notes-present"].status == "pass" and after["fragments-left"].status == "pass"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("1.2.0 (2026-01-01)", True),
        ("## [1.2.0](https://o/1.2.0) - 2026-01-01", True),
        ("Release v1.2.0", True),
        ("frob 1.2.0.", True),
        ("1.2.0rc1", False),
        ("11.2.0", False),
        ("1.2.0.1", False),
        ("rev1.2.0", False),
    ],
)
def test_a_file_names_the_version_only_as_a_version(text: str, named: bool) -> None:
    from shipwheel.notes._newsfile import names_version

    assert names_version(text, "1.2.0") is named
