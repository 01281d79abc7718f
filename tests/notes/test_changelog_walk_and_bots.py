"""The history walked as NumPy's script walks it, and bots left out of the contributors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.git_history import GitRepo
from fixtures.http_servers import ListingServer
from shipwheel.cli import main_inner
from shipwheel.notes import check_mailmap, make_changelog, read_history
from shipwheel.notes._bots import is_bot

URL = "https://github.com/o/r/pull/{number}"


def _numpys_numbers(repo: GitRepo, revision_range: str) -> list[int]:
    """NumPy's get_pull_requests() on the same git log output (numpy/numpy tools/changelog.py)."""
    merges = repo.git("log", "--oneline", "--merges", revision_range)
    numbers = [int(s) for s in re.findall(r"Merge pull request \#(\d*)", merges)]
    numbers += [int(s) for s in re.findall(r"Auto merge of \#(\d*)", merges)]
    commits = repo.git("log", "--oneline", "--no-merges", "--first-parent", revision_range)
    numbers += [int(s[1]) for s in re.findall(r"^.*\((\#|gh-|gh-\#)(\d+)\)$", commits, re.M)]
    return sorted(numbers)


def test_squash_merges_count_on_the_first_parent_line_only(tmp_path: Path) -> None:
    """NumPy 2.4.6's shape: the squash commit of #31456 was merged onto the maintenance branch by a merge commit
    titled "... (#31456) (#31460)"; NumPy's changelog lists neither (its published 2.4.6 changelog neither)."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v2.4.5")
    repo.commit("MAINT: Prepare 2.4.x for further development (#31444)")
    repo.git("branch", "backport")
    repo.checkout("backport")
    repo.commit("BUG: core: Don't call INCREF/DECREF on descr (#31456)", author=("Nathan", "n@example.org"))
    repo.checkout("main")
    repo.merge("backport", "BUG: core: Don't call INCREF/DECREF on descr (#31456) (#31460)")
    repo.git("branch", "fix")
    repo.checkout("fix")
    repo.commit("BUG: a fix", author=("Sebastian", "s@example.org"))
    repo.checkout("main")
    repo.merge("fix", "Merge pull request #31453 from seberg/issue-31452", body="BUG: a fix")
    repo.tag("v2.4.6")
    log = make_changelog(repo.path, "v2.4.5..v2.4.6", pr_url=URL)
    assert [p.number for p in log.pull_requests] == _numpys_numbers(repo, "v2.4.5..v2.4.6") == [31444, 31453]
    # Its author still contributed (NumPy's script counts every commit of the range).
    assert "Nathan +" in [c.display for c in log.contributors]


def _bots_repo(path: Path) -> GitRepo:
    repo = GitRepo(path)
    repo.commit("start", author=("Jane Maintainer", "jane@example.org"))
    repo.tag("v1")
    # multidict's real bot identities, and GitHub App accounts
    repo.commit("ci: drop redundant jobs (#1346)", author=("aio-libs bot", "aiolibsbot@koston.org"))
    repo.commit(
        "Bump x (#1350)", author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
    )
    repo.commit(
        "Fix alert (#1351)",
        author=(
            "Copilot Autofix powered by AI",
            "62310815+github-advanced-security[bot]@users.noreply.github.com",
        ),
    )
    repo.commit("Update pins (#1352)", author=("pyup-bot", "github-bot@pyup.io"))
    repo.commit(
        "[pre-commit.ci] auto fixes (#1353)",
        author=("Jane Maintainer", "jane@example.org"),
        coauthors=["pre-commit-ci[bot] <66853113+pre-commit-ci[bot]@users.noreply.github.com>"],
    )
    repo.commit("Release bot (#1354)", author=("releasor", "1234+releasor@users.noreply.github.com"))
    repo.commit("Homu merge (#1355)", author=("Homu", "homu@example.org"))
    repo.commit("A real person named Talbot (#1356)", author=("Nicolas Talbot", "nt@example.org"))
    return repo


def test_bots_are_never_contributors(tmp_path: Path) -> None:
    repo = _bots_repo(tmp_path / "r")
    log = make_changelog(repo.path, "v1..HEAD", pr_url=URL, bots=("Homu",))
    assert [c.display for c in log.contributors] == ["Jane Maintainer", "Nicolas Talbot +", "releasor +"]
    # NumPy's exact lists: only the configured names go.
    exact = make_changelog(repo.path, "v1..HEAD", pr_url=URL, bots=("Homu",), detect_bots=False)
    assert "aio-libs bot +" in [c.display for c in exact.contributors]
    assert "dependabot[bot] +" in [c.display for c in exact.contributors]


def test_github_bot_accounts_reported_by_the_api_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --github-titles, a pull request opened by an account of type Bot marks that login a bot."""
    repo = _bots_repo(tmp_path / "r")
    with ListingServer(tmp_path) as server:
        for n in range(1346, 1357):
            user = (
                '{"login": "releasor", "type": "Bot"}' if n == 1354 else '{"login": "jane", "type": "User"}'
            )
            server.page(
                f"/api/repos/o/r/pulls/{n}", f'{{"title": "T{n}", "user": {user}}}', "application/json"
            )
        monkeypatch.setenv("GITHUB_API_URL", server.url + "api")
        log = make_changelog(repo.path, "v1..HEAD", pr_url=URL, bots=("Homu",), github_token="t0ken")
    assert [c.display for c in log.contributors] == ["Jane Maintainer", "Nicolas Talbot +"]
    assert [p.title for p in log.pull_requests][:2] == ["T1346", "T1350"]


def test_changelog_command_leaves_bots_out_by_default_and_config_can_stop_it(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    repo = _bots_repo(tmp_path / "r")
    repo.git("remote", "add", "origin", "https://github.com/o/r.git")
    assert main_inner(["changelog", "v1..HEAD", "--repo", str(repo.path)]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "aio-libs bot" not in out and "[bot]" not in out and "pyup-bot" not in out
    (repo.path / "pyproject.toml").write_text(
        '[tool.shipwheel.changelog]\ndetect-bots = false\nbots = ["Homu"]\n', encoding="utf-8"
    )
    assert main_inner(["changelog", "v1..HEAD", "--repo", str(repo.path)]) == 0
    assert "* aio-libs bot +" in capsysbinary.readouterr().out.decode()


def test_mailmap_check_reports_bots_only_when_they_would_be_listed(tmp_path: Path) -> None:
    repo = _bots_repo(tmp_path / "r")
    history = read_history(repo.path, "v1..HEAD")
    assert [f for f in check_mailmap(history, bots=("Homu",), detect_bots=True) if f.code == "bot"] == []
    listed = {f.identity for f in check_mailmap(history, bots=("Homu",)) if f.code == "bot"}
    assert "aio-libs bot <aiolibsbot@koston.org>" in listed


@pytest.mark.parametrize(
    ("name", "email", "bot"),
    [
        ("dependabot[bot]", "", True),
        ("Renovate Bot", "", True),
        ("pyup-bot", "", True),
        ("x", "41898282+github-actions[bot]@users.noreply.github.com", True),
        ("Talbot", "talbot@example.org", False),
        ("Abbot Costello", "1+abbot@users.noreply.github.com", False),
        ("botany fan", "", False),
    ],
)
def test_bot_detection(name: str, email: str, bot: bool) -> None:
    assert is_bot(name, (email,) if email else ()) is bot
