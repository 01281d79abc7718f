"""``shipwheel changelog`` / ``notes`` / ``mailmap-check`` on awkward real input: backports, reversed ranges,
bad versions, hostile titles files, control characters in names and titles (issues 9 and 10)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from fixtures.git_history import GitRepo
from shipwheel.notes import find_pull_requests, read_history

URL = "https://github.com/example/project/pull/{number}"
NUMPY_SQUASH = r"^.*\((\#|gh-|gh-\#)(\d+)\)$"  # numpy/numpy tools/changelog.py, get_pull_requests()


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        cwd=cwd, capture_output=True, check=False, timeout=120, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert "; " in lines[0]  # a hint follows the message
    return lines[0]


@pytest.fixture(scope="module")
def backports(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """A maintenance branch whose squash merges are backports: `title (#A) (#B)`, as on NumPy's 2.0.x."""
    repo = GitRepo(tmp_path_factory.mktemp("backports") / "p", branch="maintenance/2.0.x")
    repo.commit("REL: 2.0.0")
    repo.tag("v2.0.0")
    repo.commit("BUG: fix the thing (#26400) (#26512)", author=("Ann Lee", "ann@example.org"))
    repo.commit("MAINT: two backports at once (#26401) (gh-26402) (#26513)")
    repo.commit("DOC: a plain squash merge (#26514)")
    repo.commit("TST: numbers in the middle (#1) stay in the title (gh-26515)")
    repo.commit("REL: 2.0.1")
    repo.tag("v2.0.1")
    return repo


def test_backport_subject_yields_only_the_last_number(backports: GitRepo) -> None:
    """NumPy's pattern on `git log --oneline --no-merges --first-parent` finds #B only; so does shipwheel."""
    log = backports.git("log", "--oneline", "--no-merges", "--first-parent", "v2.0.0..v2.0.1")
    numpy_numbers = sorted(int(m[1]) for m in re.findall(NUMPY_SQUASH, log, re.M))
    pulls = find_pull_requests(read_history(backports.path, "v2.0.0..v2.0.1"))
    assert [p.number for p in pulls] == numpy_numbers == [26512, 26513, 26514, 26515]
    assert {p.number: p.title for p in pulls} == {
        26512: "BUG: fix the thing",
        26513: "MAINT: two backports at once",
        26514: "DOC: a plain squash merge",
        26515: "TST: numbers in the middle (#1) stay in the title",
    }
    proc = _cli(backports.path, "changelog", "v2.0.0..v2.0.1", "--pr-url", URL)
    assert proc.returncode == 0, proc.stderr
    assert "26400" not in proc.stdout and "26401" not in proc.stdout and "26402" not in proc.stdout
    assert "* `#26512 <https://github.com/example/project/pull/26512>`__: BUG: fix the thing\n" in proc.stdout


@pytest.mark.parametrize("command", ["changelog", "mailmap-check"])
def test_reversed_range_is_an_error_with_a_hint(backports: GitRepo, command: str) -> None:
    line = _one_line_error(_cli(backports.path, command, "v2.0.1..v2.0.0"), 2)
    assert "reversed" in line and "v2.0.0..v2.0.1" in line
    # An empty range that is not reversed stays an empty changelog.
    assert _cli(backports.path, "changelog", "v2.0.1..v2.0.1", "--pr-url", URL).returncode == 0


def test_notes_with_a_reversed_range(backports: GitRepo) -> None:
    line = _one_line_error(_cli(backports.path, "notes", "2.0.1", "--range", "v2.0.1..v2.0.0"), 2)
    assert "reversed" in line


@pytest.mark.parametrize("version", ["not a version", "2.0.1-final-final", "1..2", "v"])
def test_notes_refuses_a_version_that_does_not_parse(backports: GitRepo, version: str) -> None:
    line = _one_line_error(_cli(backports.path, "notes", version, "--range", "none"), 2)
    assert "PEP 440" in line


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"1": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"12": {"title": "x"}}', "not a string"),
        ('{"12": 5}', "not a string"),
        ('{"12": null}', "not a string"),
        ('{"twelve": "x"}', "not a number"),
        ('["12: x"]', "not an object"),
        ("{", "not valid JSON"),
    ],
)
def test_titles_file_hostile_json_is_one_line(
    backports: GitRepo, tmp_path: Path, content: str, why: str
) -> None:
    titles = tmp_path / "titles.json"
    titles.write_text(content, encoding="utf-8")
    proc = _cli(backports.path, "changelog", "v2.0.0..v2.0.1", "--pr-url", URL, "--titles", str(titles))
    assert why in _one_line_error(proc, 4)


CONTROLS = {"CR": "\r", "NEL": "\u0085", "LS": "\u2028", "RLO": "\u202e", "US": "\u001f"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """Real commits whose author names, co-author trailers, subjects and merge bodies hold control characters."""
    repo = GitRepo(tmp_path_factory.mktemp("hostile") / "p")
    repo.commit("start")
    repo.tag("v1")
    for i, (label, ch) in enumerate(CONTROLS.items(), start=1):
        name = f"Eve{ch}{label}"
        repo.commit(f"BUG: {label}{ch}fix (#{i})", author=(name, f"{label.lower()}@example.org"))
        # The same person again, as a co-author of someone else's commit.
        repo.commit(
            f"ENH: with {label} (#{i + 10})",
            author=("Ann Lee", "ann@example.org"),
            coauthors=[f"{name} <{label.lower()}@example.org>", f"Co{ch}Author {label} <co@example.org>"],
        )
    repo.git("branch", "topic")
    repo.checkout("topic")
    repo.commit("topic work", author=("Bob Ray", "bob@example.org"))
    repo.checkout("main")
    repo.merge(
        "topic", "Merge pull request #30 from bob/topic", body="MAINT: merge body\rwith\u202e controls"
    )
    repo.tag("v2")
    return repo


def _raw_controls(text: str) -> list[str]:
    return [
        f"U+{ord(c):04X}" for c in text if c != "\n" and (unicodedata.category(c) in ("Cc", "Zl", "Zp") or c == "\u202e")
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["rst", "md", "json"])
def test_control_characters_never_reach_the_output_raw(hostile: GitRepo, fmt: str) -> None:
    args = ["--json"] if fmt == "json" else ["--format", fmt]
    proc = _cli(hostile.path, "changelog", "v1..v2", "--pr-url", URL, *args)
    assert proc.returncode == 0, proc.stderr
    out = json.dumps(json.loads(proc.stdout), ensure_ascii=False) if fmt == "json" else proc.stdout
    assert _raw_controls(out) == []
    assert _raw_controls(proc.stderr) == []


def test_control_characters_never_split_one_person(hostile: GitRepo) -> None:
    proc = _cli(hostile.path, "changelog", "v1..v2", "--pr-url", URL, "--json")
    assert proc.returncode == 0, proc.stderr
    people = {c["name"]: c["commits"] for c in json.loads(proc.stdout)["contributors"]}
    # Each Eve is one person: her own commit and her co-authored one; each co-author is one person, not two.
    assert people == {
        "Ann Lee": 5,
        "Bob Ray": 1,
        "Old Timer": 1,
        # Line breaks and other controls become a space; a bidi override is dropped.
        **{f"Eve{'' if label == 'RLO' else ' '}{label}": 2 for label in CONTROLS},
        **{f"Co{'' if label == 'RLO' else ' '}Author {label}": 1 for label in CONTROLS},
    }
    pulls = {p["number"]: p["title"] for p in json.loads(proc.stdout)["pull_requests"]}
    assert (
        pulls[1] == "BUG: CR fix"
        and pulls[4] == "BUG: RLOfix"
        and pulls[30] == "MAINT: merge body with controls"
    )


def test_mailmap_check_shows_no_raw_control_characters(hostile: GitRepo) -> None:
    for args in (["--json"], []):
        proc = _cli(hostile.path, "mailmap-check", "v1..v2", *args)
        assert proc.returncode in (0, 1), proc.stderr
        assert _raw_controls(proc.stdout) == [] and _raw_controls(proc.stderr) == []


def test_titles_file_with_line_separators_inside_titles(backports: GitRepo, tmp_path: Path) -> None:
    """Only a line feed ends a line of a titles file; U+2028 or U+0085 inside a title is cleaned, not a line."""
    titles = tmp_path / "titles.txt"
    titles.write_bytes("26512: BUG: fixed\u2028the thing\r\n26513: two\u0085backports\u202e\n".encode())
    proc = _cli(
        backports.path, "changelog", "v2.0.0..v2.0.1", "--pr-url", URL, "--titles", str(titles), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    pulls = {p["number"]: p["title"] for p in json.loads(proc.stdout)["pull_requests"]}
    assert pulls[26512] == "BUG: fixed the thing" and pulls[26513] == "two backports"
