"""``shipwheel changelog`` on real git repositories: byte-for-byte output, NumPy compatibility, edge cases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.git_history import GitRepo
from shipwheel.cli import main_inner
from shipwheel.errors import ProjectError, UsageError
from shipwheel.notes import (
    clean_title_rst,
    find_contributors,
    find_pull_requests,
    make_changelog,
    read_history,
    render,
)
from shipwheel.notes._changelog import github_owner, pr_url_from_remote
from shipwheel.notes._history import RANGE_FORMAT, _parse_range_log

DATA = Path(__file__).resolve().parent.parent / "data" / "changelog"
URL = "https://github.com/example/project/pull/{number}"


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        cwd=repo,
        capture_output=True,
        check=False,
        timeout=120,
        # UTF-8 whatever the locale: the changelog bytes must not depend on it.
        env={**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"},
    )


@pytest.mark.parametrize("fmt", ["rst", "md"])
def test_output_matches_expected_file_byte_for_byte(changelog_repo: GitRepo, fmt: str) -> None:
    proc = _cli(changelog_repo.path, "changelog", "v1.0..v1.1", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (DATA / f"release_repo.{fmt}").read_bytes()
    # Status on stderr only, so stdout can be redirected into the changelog file.
    assert b"contributors" in proc.stderr
    assert b"Contributors" not in proc.stderr


def test_contributors_are_those_of_numpys_git_shortlog(changelog_repo: GitRepo) -> None:
    """NumPy's get_authors(), run with the same git commands (numpy/numpy tools/changelog.py)."""
    pat = r"^.*\t(.*)$"
    grp = ("--group=author", "--group=trailer:co-authored-by")
    cur = changelog_repo.git("shortlog", "-s", *grp, "v1.0..v1.1")
    pre = changelog_repo.git("shortlog", "-s", *grp, "v1.0")
    authors_cur = set(re.findall(pat, cur, re.M)) - {"Homu", "dependabot-preview"}
    authors_pre = set(re.findall(pat, pre, re.M)) - {"Homu", "dependabot-preview"}
    expected = sorted([s + " +" for s in authors_cur - authors_pre] + list(authors_cur & authors_pre))

    history = read_history(changelog_repo.path, "v1.0..v1.1")
    ours = [c.display for c in find_contributors(history, bots=("Homu", "dependabot-preview"))]
    assert ours == expected
    assert "Zoë Ünicode +" in ours and "Alice Liddell +" in ours and "Åsa Early" in ours


def test_pull_requests_are_numpys_except_the_forks_own(changelog_repo: GitRepo) -> None:
    """NumPy's get_pull_requests() regexes on the same git log output, minus the fork's own #1."""
    merges = changelog_repo.git("log", "--oneline", "--merges", "v1.0..v1.1")
    numbers = [int(s) for s in re.findall(r"Merge pull request \#(\d*)", merges)]
    numbers += [int(s) for s in re.findall(r"Auto merge of \#(\d*)", merges)]
    commits = changelog_repo.git("log", "--oneline", "--no-merges", "--first-parent", "v1.0..v1.1")
    numbers += [int(s[1]) for s in re.findall(r"^.*\((\#|gh-|gh-\#)(\d+)\)$", commits, re.M)]

    history = read_history(changelog_repo.path, "v1.0..v1.1")
    pulls = find_pull_requests(history, owner="example")
    ours = [p.number for p in pulls]
    # #16, squashed on a maintenance branch merged back, is not on NumPy's first-parent walk: left out.
    assert ours == sorted(set(numbers) - {1})
    assert 16 not in ours
    titles = {p.number: (p.kind, p.title) for p in pulls}
    assert titles[10] == ("merge", "ENH: add `thing` to the *core* API")
    assert titles[12] == ("homu", "DOC: fix typos in the user guide")
    # An empty merge body: the subject of the pull request's first commit.
    assert titles[13] == ("merge", "ENH: first step of feature")
    assert titles[14][0] == "squash"


def test_fork_merges_count_when_the_branch_is_the_projects_own(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.git("branch", "feature")
    repo.checkout("feature")
    repo.git("branch", "sub")
    repo.checkout("sub")
    repo.commit("ENH: part one", author=("Ann Lee", "ann@example.org"))
    repo.checkout("feature")
    # A pull request of a fork, numbered in the fork's own series (far below the project's).
    repo.merge("sub", "Merge pull request #2 from ann/part-one", body="ENH: part one of the feature")
    repo.checkout("main")
    repo.merge("feature", "Merge pull request #21 from example/feature", body="ENH: the feature")
    repo.tag("v2")
    history = read_history(repo.path, "v1..v2")
    assert [p.number for p in find_pull_requests(history, owner="example")] == [2, 21]
    assert [p.number for p in find_pull_requests(history, owner="someone-else")] == [21]


def test_project_merges_inside_a_backport_branch_count(tmp_path: Path) -> None:
    """NumPy's main holds #23840 (merged into maintenance/1.25.x) inside `#23878 from charris/backport-23846`,
    a branch made from the maintenance branch; NumPy's script counts it, and so does shipwheel. The fork's own
    #1 inside another pull request stays out."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.commit("ENH: on main (#23830)")
    repo.git("branch", "maintenance/1.25.x")
    repo.checkout("maintenance/1.25.x")
    repo.git("branch", "prepare")
    repo.checkout("prepare")
    repo.commit("REL: Prepare for the NumPy 1.25.0rc1 release")
    repo.checkout("maintenance/1.25.x")
    repo.merge(
        "prepare", "Merge pull request #23840 from charris/prepare-1.25.0rc1-release", body="REL: prepare"
    )
    repo.git("branch", "backport")
    repo.checkout("backport")
    repo.commit("TST: Add tests for np.argsort (#23846)")
    repo.git("branch", "fork-fix")
    repo.checkout("fork-fix")
    repo.commit("typo", author=("Erin Fork", "erin@example.org"))
    repo.checkout("backport")
    repo.merge("fork-fix", "Merge pull request #1 from erin/typo", body="typo")
    repo.checkout("main")
    repo.merge("backport", "Merge pull request #23878 from charris/backport-23846", body="TST: backport")
    repo.tag("v2")
    merges = repo.git("log", "--oneline", "--merges", "v1..v2")
    numpy_numbers = sorted(int(s) for s in re.findall(r"Merge pull request \#(\d*)", merges))
    assert numpy_numbers == [1, 23840, 23878]
    pulls = find_pull_requests(read_history(repo.path, "v1..v2"), owner="numpy")
    assert [p.number for p in pulls] == [23830, 23840, 23878]


def test_range_without_merges(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("start", author=("Bea Early", "bea@example.org"))
    repo.tag("v1")
    repo.commit("fix one thing", author=("Bea Early", "bea@example.org"))
    repo.commit("fix another", author=("Cy New", "cy@example.org"), coauthors=["Bea Early <BEA@example.org>"])
    log = make_changelog(repo.path, "v1..HEAD", pr_url=URL)
    assert render(log) == (
        "\nContributors\n============\n\n"
        'A total of 2 people contributed to this release.  People with a "+" by their\n'
        "names contributed a patch for the first time.\n\n"
        "* Bea Early\n* Cy New +\n"
        "\nPull requests merged\n====================\n\n"
        "A total of 0 pull requests were merged for this release.\n\n"
    )


def test_mailmap_of_the_chosen_revision_only(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.commit("work", author=("jdoe", "jdoe@example.org"))
    repo.commit("map", files={".mailmap": "Jane Doe <jdoe@example.org>\n"})
    repo.tag("v2")
    # An uncommitted change of the work tree's .mailmap is not what the release has: ignored.
    (repo.path / ".mailmap").write_text("Wrong Name <jdoe@example.org>\n", encoding="utf-8")
    names = [c.name for c in make_changelog(repo.path, "v1..v2", pr_url=URL).contributors]
    assert names == ["Jane Doe", "Old Timer"]
    before = make_changelog(repo.path, "v1..v2", pr_url=URL, mailmap_from="v1")
    assert [c.name for c in before.contributors] == ["Old Timer", "jdoe"]


def test_bare_repository_gives_the_same_output(changelog_repo: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(changelog_repo.path), str(bare)], check=True)
    text = render(make_changelog(bare, "v1.0..v1.1", pr_url=URL, bots=("Homu", "dependabot[bot]")))
    assert text.encode() == (DATA / "release_repo.rst").read_bytes()


def test_titles_file_replaces_titles(changelog_repo: GitRepo, tmp_path: Path) -> None:
    titles = tmp_path / "titles.txt"
    titles.write_text("#11: BUG: fix the parser crash on empty input\n\n12\tDOC: edited\n", encoding="utf-8")
    out = tmp_path / "changelog.rst"
    assert (
        main_inner(
            [
                "changelog",
                "v1.0..v1.1",
                "--repo",
                str(changelog_repo.path),
                "--titles",
                str(titles),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert (
        "* `#11 <https://github.com/example/project/pull/11>`__: BUG: fix the parser crash on empty input\n"
        in text
    )
    assert "__: DOC: edited\n" in text
    as_json = tmp_path / "titles.json"
    as_json.write_text('{"13": "ENH: the new feature"}', encoding="utf-8")
    log = make_changelog(changelog_repo.path, "v1.0..v1.1", titles={13: "ENH: the new feature"})
    assert [p.title for p in log.pull_requests if p.number == 13] == ["ENH: the new feature"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("  ENH:   add\n `thing`  ", "ENH: add ``thing``"),
        ("Use `np.foo`s here", r"Use ``np.foo``\ s here"),
        ("keep ``code`` as is", "keep ``code`` as is"),
        ("a *b* c", r"a \*b\* c"),
        ("x" * 61 + " tail", "x" * 60 + "x..."),
        ("short words " * 8, "short words " * 5 + "short..."),
        ("y" * 90, "y" * 80 + "..."),
        ("x" * 55 + " `abc def` end", "x" * 55 + " ``abc``..."),
        (
            "BUG: " + "z" * 52 + " `some_function_name` is wrong",
            "BUG: " + "z" * 52 + " ``some_function_name``...",
        ),
    ],
)
def test_numpys_title_clean_up(title: str, expected: str) -> None:
    assert clean_title_rst(title) == expected


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@github.com:numpy/numpy.git", "https://github.com/numpy/numpy/pull/{number}"),
        ("https://github.com/numpy/numpy", "https://github.com/numpy/numpy/pull/{number}"),
        ("https://github.com/numpy/numpy.git/", "https://github.com/numpy/numpy/pull/{number}"),
        ("ssh://git@github.com/scipy/scipy.git", "https://github.com/scipy/scipy/pull/{number}"),
        ("https://gitlab.com/a/b.git", None),
    ],
)
def test_pr_url_from_origin(remote: str, url: str | None) -> None:
    assert pr_url_from_remote(remote) == url
    if url:
        assert github_owner(url) in {"numpy", "scipy"}


def test_errors_are_one_line_with_exit_codes(changelog_repo: GitRepo, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        main_inner(["changelog", "v1.0", "--repo", str(changelog_repo.path)])
    with pytest.raises(ProjectError, match="does not exist"):
        main_inner(["changelog", "v1.0..v9", "--repo", str(changelog_repo.path)])
    with pytest.raises(ProjectError, match="not a git repository"):
        main_inner(["changelog", "a..b", "--repo", str(tmp_path)])
    with pytest.raises(ProjectError, match="titles"):
        main_inner(
            ["changelog", "v1.0..v1.1", "--repo", str(changelog_repo.path), "--titles", str(tmp_path / "no")]
        )
    proc = _cli(changelog_repo.path, "changelog", "v1.0...v1.1")
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"Traceback" not in proc.stderr
    assert len(proc.stderr.decode().strip().splitlines()) == 1


def test_links_need_a_github_origin_or_pr_url(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.commit("fix (#3)")
    with pytest.raises(UsageError, match="origin remote is not on GitHub"):
        make_changelog(repo.path, "v1..HEAD")
    log = make_changelog(repo.path, "v1..HEAD", pr_url="https://git.example.org/p/-/merge_requests/{number}")
    assert log.url(3) == "https://git.example.org/p/-/merge_requests/3"
    with pytest.raises(UsageError, match="number"):
        make_changelog(repo.path, "v1..HEAD", pr_url="https://example.org/pr")


def test_range_log_parses_the_same_in_any_chunks(changelog_repo: GitRepo) -> None:
    """The range log is parsed while it streams in: chunk boundaries inside fields and UTF-8 do not matter."""
    data = changelog_repo.git_bytes("log", "-z", f"--format={RANGE_FORMAT}", "v1.0..v1.1")
    whole = _parse_range_log([data])
    assert len(whole) == 15
    assert _parse_range_log([data[i : i + 1] for i in range(len(data))]) == whole
    assert _parse_range_log([data[i : i + 7] for i in range(0, len(data), 7)]) == whole


def test_generated_history_agrees_with_numpys_git_commands(generated_history: tuple[Path, list[str]]) -> None:
    """On a 3,000-commit history from ``git fast-import``: the same people and numbers as NumPy's method."""
    path, tags = generated_history
    revision_range = f"{tags[3]}..{tags[-1]}"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, check=True
        ).stdout

    grp = ("--group=author", "--group=trailer:co-authored-by")
    cur = set(re.findall(r"^.*\t(.*)$", git("shortlog", "-s", *grp, revision_range), re.M)) - {"Homu"}
    pre = set(re.findall(r"^.*\t(.*)$", git("shortlog", "-s", *grp, tags[3]), re.M)) - {"Homu"}
    expected = sorted([s + " +" for s in cur - pre] + list(cur & pre))
    log = make_changelog(path, revision_range, pr_url=URL, bots=("Homu",))
    assert [c.display for c in log.contributors] == expected
    assert any(c.first_time for c in log.contributors) and any(not c.first_time for c in log.contributors)

    merges = git("log", "--oneline", "--merges", revision_range)
    numbers = {int(s) for s in re.findall(r"Merge pull request \#(\d*)", merges)}
    numbers |= {int(s) for s in re.findall(r"Auto merge of \#(\d*)", merges)}
    commits = git("log", "--oneline", "--no-merges", "--first-parent", revision_range)
    numbers |= {int(s[1]) for s in re.findall(r"^.*\((\#|gh-|gh-\#)(\d+)\)$", commits, re.M)}
    assert [p.number for p in log.pull_requests] == sorted(numbers)
    assert len(numbers) > 500
