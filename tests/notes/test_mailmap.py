"""``.mailmap`` at a revision, applied like git applies it; ``shipwheel mailmap-check``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.git_history import GitRepo
from shipwheel._git import Git
from shipwheel.cli import main_inner
from shipwheel.notes import find_contributors, read_history
from shipwheel.notes._mailmap import GitWithMailmap, split_ident
from shipwheel.notes._mailmap_check import check_mailmap

MAILMAP = """\
# comment line
Proper One <one@example.org>
<two.new@example.org> <two@example.org>
Proper Three <three.new@example.org> <three@example.org>
Proper Four <four@example.org> four-handle <FOUR@example.org>
Proper Five <five@example.org> # trailing comment
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Name <a@b>", ("Name", "a@b")),
        ("Name   <a@b> trailing", ("Name", "a@b")),
        ("<a@b>", ("", "a@b")),
        ("Name", None),
        ("Name <a@b", None),
        ("Zoë Ünicode <z@b>", ("Zoë Ünicode", "z@b")),
    ],
)
def test_split_ident(value: str, expected: tuple[str, str] | None) -> None:
    assert split_ident(value) == expected


def _mailmapped_repo(path: Path) -> GitRepo:
    repo = GitRepo(path)
    repo.commit("start", files={".mailmap": MAILMAP})
    repo.tag("v1")
    repo.commit("a", author=("one", "ONE@example.org"))
    repo.commit("b", author=("Two", "two@example.org"), coauthors=["three <Three@Example.org>"])
    repo.commit("c", author=("four-handle", "four@example.org"), coauthors=["Four Other <four@example.org>"])
    repo.commit("d", author=("x", "five@example.org"), coauthors=["just a name", "Ünï Code <u@example.org>"])
    return repo


def test_names_are_those_git_shortlog_prints(tmp_path: Path) -> None:
    repo = _mailmapped_repo(tmp_path / "r")
    out = repo.git("shortlog", "-s", "--group=author", "--group=trailer:co-authored-by", "v1..HEAD")
    expected = sorted(set(re.findall(r"^.*\t(.*)$", out, re.M)))
    names = sorted(c.name for c in find_contributors(read_history(repo.path, "v1..HEAD")))
    assert names == expected
    assert "Proper Four" in names and "Four Other" in names and "just a name" in names


def test_mailmap_check_finds_and_fixes(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.commit("a", author=("Jane Doe", "jane@example.org"))
    repo.commit("b", author=("J. Doe", "jane@example.org"))
    repo.commit("c", author=("Jane Doe", "jane@work.example.com"))
    repo.commit("d", author=("jdoe42", "jdoe42@example.org"))
    repo.commit("e", author=("root", "root@localhost"))
    repo.commit("f", author=("helper-bot[bot]", "helper-bot[bot]@users.noreply.github.com"))
    repo.commit("g", author=("Homu", "homu@example.org"))
    history = read_history(repo.path, "v1..HEAD")
    findings = check_mailmap(history, bots=("Homu",))
    codes = {(f.code, f.identity) for f in findings}
    assert codes == {
        ("bot", "helper-bot[bot] <helper-bot[bot]@users.noreply.github.com>"),
        ("email-several-names", "J. Doe <jane@example.org>"),
        ("handle-only", "jdoe42 <jdoe42@example.org>"),
        ("name-several-emails", "Jane Doe <jane@work.example.com>"),
        ("placeholder", "root <root@localhost>"),
    }
    # The proposed lines for the two mapping problems fix them.
    fixes = [f.proposal for f in findings if f.code in {"email-several-names", "name-several-emails"}]
    assert fixes == [
        "Jane Doe <jane@example.org> J. Doe <jane@example.org>",
        "Jane Doe <jane@example.org> <jane@work.example.com>",
    ]
    repo.commit("map", files={".mailmap": "\n".join(fixes) + "\n"})
    after = check_mailmap(read_history(repo.path, "v1..HEAD"), bots=("Homu",))
    assert {f.code for f in after} == {"bot", "handle-only", "placeholder"}


def test_mailmap_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.commit("a", author=("Ann Lee", "ann@example.org"))
    assert main_inner(["mailmap-check", "v1..HEAD", "--repo", str(repo.path)]) == 0
    repo.commit("b", author=("annlee", "ann@example.org"))
    capsys.readouterr()
    assert main_inner(["mailmap-check", "v1..HEAD", "--repo", str(repo.path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {d["code"] for d in data} == {"email-several-names", "handle-only"}
    assert "Ann Lee <ann@example.org> annlee <ann@example.org>" in [d["proposal"] for d in data]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="ab <>@.\tÜ-", min_size=1, max_size=12), min_size=1, max_size=40))
def test_split_ident_cuts_like_git(tmp_path: Path, values: list[str]) -> None:
    """Without a mapping, git check-mailmap echoes the identity as *it* parsed it: ours must agree."""
    mm = GitWithMailmap.open(Git(_plain_repo(tmp_path)), None)
    idents = [v.strip() for v in values if split_ident(v.strip()) is not None]
    mapped = mm.map_identities(idents)
    for value in idents:
        assert mapped[value] == split_ident(value), value


def _plain_repo(tmp_path: Path) -> Path:
    path = tmp_path / "plain"
    if not path.exists():
        GitRepo(path).commit("start")
    return path


def test_mailmap_check_accepts_numpys_bang_handles(tmp_path: Path) -> None:
    """NumPy's .mailmap maps handle-only people to `!handle` (real lines, numpy 2.4.0rc1 sdist): no finding."""
    repo = GitRepo(tmp_path / "r")
    repo.commit(
        "start",
        files={
            ".mailmap": "!amotzop <you@example.com>\n!8bitmp3 <19637339+8bitmp3@users.noreply.github.com>\n"
        },
    )
    repo.tag("v1")
    repo.commit("MAINT: a (#1)", author=("amotzop", "you@example.com"))
    repo.commit("DOC: b (#2)", author=("8bitmp3", "19637339+8bitmp3@users.noreply.github.com"))
    repo.commit("BUG: c (#3)", author=("root", "root@localhost"))
    findings = check_mailmap(read_history(repo.path, "v1..HEAD"))
    assert [(f.code, f.identity) for f in findings] == [("placeholder", "root <root@localhost>")]


def test_mailmap_check_placeholder_address_of_a_real_name(tmp_path: Path) -> None:
    """NumPy's history has real names with a laptop's `.local` address: the proposal maps the address only."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("start")
    repo.tag("v1")
    repo.commit("a (#1)", author=("Amy Lee", "amy@Amys-MacBook-Pro.local"))
    repo.commit("b (#2)", author=("Amy Lee", "amy@example.org"))
    repo.commit("c (#3)", author=("Kim Ray", "kim@Kims-Air.local"))
    findings = {(f.code, f.identity): f.proposal for f in check_mailmap(read_history(repo.path, "v1..HEAD"))}
    assert findings[("placeholder", "Amy Lee <amy@Amys-MacBook-Pro.local>")] == (
        "Amy Lee <amy@example.org> <amy@Amys-MacBook-Pro.local>"
    )
    assert (
        findings[("placeholder", "Kim Ray <kim@Kims-Air.local>")]
        == "Kim Ray <real@address> <kim@Kims-Air.local>"
    )
