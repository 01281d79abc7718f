"""Pull requests of a release, found in git: merge commits, homu merges, squash and rebase merges.

NumPy's ``tools/changelog.py`` finds them with three regular expressions, kept here: ``Merge pull request
\\#(\\d*)`` and ``Auto merge of \\#(\\d*)`` in the subjects of merge commits, and ``^.*\\((\\#|gh-|gh-\\#)(\\d+)\\)$``
in the subjects of the other commits of the first-parent line. It then asks GitHub for each title. Here the
title comes from git: the first line of the merge commit's body (GitHub and homu put the pull request's title
there), else the subject of the pull request's first commit; for squash merges the subject without ``(#N)``.
A backport squashed onto a maintenance branch reads ``title (#A) (#B)``: like NumPy's pattern (greedy ``.*``),
only the last number, ``#B``, is the pull request; its title is ``title`` (the backport's own title, as
GitHub's squash subject is the title plus `` (#B)``). Titles are made printable (:func:`._text.clean_text`).

The history is walked as NumPy's script walks it: squash and rebase merges (``title (#N)``) only on the
first-parent line of the release (its ``git log --no-merges --first-parent A..B``), so a squash commit that a
plain merge brings in is not counted (NumPy 2.4.6: ``(#31456) (#31460)`` merged the squash commit of #31456 onto
the maintenance branch, and its changelog lists neither); GitHub and homu merge commits wherever they are in the
range (its ``git log --merges A..B``), but only on the *project's lines*: the first-parent line of the release,
and the first-parent lines brought in by merges that are not pull requests (a maintenance branch merged back, a
``git pull``) or by pull requests whose branch belongs to the project itself. Inside the branch of a pull
request from a fork, a ``Merge pull request #1`` is the fork's own pull request #1 and is left out (NumPy's
published changelogs leave them out by hand); one whose number is more than half the enclosing pull request's
is the project's (a branch made from a maintenance branch brings its merges), and the line it sits on counts
from there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._fs import read_limited
from ..errors import ProjectError
from ._history import Commit, History
from ._text import clean_text

__all__ = ["PullRequest", "find_pull_requests", "read_titles_file"]

_GITHUB_MERGE = re.compile(r"Merge pull request \#(\d*)")
_HOMU_MERGE = re.compile(r"Auto merge of \#(\d*)")
_SQUASH = re.compile(r"^.*\((\#|gh-|gh-\#)(\d+)\)$")
# The numbers of the pull requests a backport was made from, left at the end of its title.
_TRAILING_NUMBERS = re.compile(r"(?:\s*\((?:\#|gh-|gh-\#)\d+\))+$")
# The head of the merged branch: "from OWNER/branch" (GitHub), "#N - OWNER:branch" (homu).
_GITHUB_HEAD = re.compile(r"Merge pull request #\d+ from ([^/\s]+)/")
_HOMU_HEAD = re.compile(r"Auto merge of #\d+ - ([^:\s]+):")


@dataclass(frozen=True, slots=True)
class PullRequest:
    """One pull request merged in the range."""

    number: int
    title: str
    commit: str
    kind: str
    """``merge`` (GitHub merge commit), ``homu``, or ``squash`` (squash or rebase merge)."""


def _pr_merge_number(commit: Commit) -> int | None:
    if len(commit.parents) < 2 or "erge" not in commit.subject:
        return None
    for pattern in (_GITHUB_MERGE, _HOMU_MERGE):
        for digits in pattern.findall(commit.subject):
            if digits:
                return int(digits)
    return None


def _head_owner(commit: Commit) -> str | None:
    for pattern in (_GITHUB_HEAD, _HOMU_HEAD):
        m = pattern.search(commit.subject)
        if m:
            return m.group(1)
    return None


def _project_merges_in_branch(history: History, merge: Commit, lines: set[str], seen: set[str]) -> list[str]:
    """Pull-request merges of the project found on the first-parent line of a fork's merged branch.

    A fork's own pull requests are numbered from 1 in the fork; the project's are far along its own series. A
    ``Merge pull request #N`` in the branch with ``N`` more than half the enclosing number is the project's:
    NumPy's main holds #23840 (the 1.25.0rc1 preparation, merged into the maintenance branch) inside
    ``#23878 from charris/backport-23846``, a backport branch made from the maintenance branch.
    """
    enclosing = _pr_merge_number(merge) or 0
    found: list[str] = []
    sha: str | None = merge.parents[1]
    by_sha = history.by_sha
    while sha is not None and sha in by_sha and sha not in lines and sha not in seen:
        seen.add(sha)
        commit = by_sha[sha]
        number = _pr_merge_number(commit)
        if number is not None and 2 * number > enclosing:
            found.append(sha)  # walked as a project line from here on
            break
        sha = commit.parents[0] if commit.parents else None
    return found


def project_lines(history: History, owner: str | None) -> tuple[set[str], dict[str, int]]:
    """Commits on the project's own lines (see the module docstring), and the pull-request merges among them."""
    lines: set[str] = set()
    merges: dict[str, int] = {}
    stack = [history.end_commit]
    by_sha = history.by_sha
    owner_key = owner.lower() if owner is not None else None
    # Branches of forks are looked into once the project's lines are known, so that each walk stops at its base.
    forks: list[Commit] = []
    seen_in_forks: set[str] = set()
    while stack or forks:
        if not stack:
            merge = forks.pop()
            stack.extend(_project_merges_in_branch(history, merge, lines, seen_in_forks))
            continue
        sha: str | None = stack.pop()
        while sha is not None and sha not in lines and sha in by_sha:
            lines.add(sha)
            commit = by_sha[sha]
            parents = commit.parents
            if len(parents) > 1:
                number = _pr_merge_number(commit)
                if number is not None:
                    merges[sha] = number
                    head = _head_owner(commit)
                    if owner_key is not None and head is not None and head.lower() == owner_key:
                        stack.extend(parents[1:])
                    else:
                        forks.append(commit)
                else:
                    stack.extend(parents[1:])
            sha = parents[0] if parents else None
    return lines, merges


def first_parent_line(history: History) -> set[str]:
    """The commits of ``git log --first-parent START..END``: the release line itself."""
    line: set[str] = set()
    sha: str | None = history.end_commit
    by_sha = history.by_sha
    while sha is not None and sha in by_sha and sha not in line:
        line.add(sha)
        parents = by_sha[sha].parents
        sha = parents[0] if parents else None
    return line


def _first_line(text: str) -> str:
    # git's lines end at a line feed only; a CR or U+2028 inside is part of the line (clean_text handles it).
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return ""


def _first_commit_subject(history: History, merge: Commit, lines: set[str]) -> str:
    """The subject of the oldest commit on the first-parent line of the merged branch."""
    by_sha = history.by_sha
    sha: str | None = merge.parents[1]
    first: Commit | None = None
    seen: set[str] = set()
    while sha is not None and sha in by_sha and sha not in lines and sha not in seen:
        seen.add(sha)
        first = by_sha[sha]
        sha = first.parents[0] if first.parents else None
    return first.subject if first is not None else merge.subject


def find_pull_requests(
    history: History, *, owner: str | None = None, titles: Mapping[int, str] | None = None
) -> list[PullRequest]:
    """The pull requests merged in ``history``, each number once, sorted by number.

    :param owner: the GitHub owner of the project (from the pull-request URL); branches of this owner are the
        project's own, so pull requests merged into them count.
    :param titles: titles that replace those found in git (edited after the merge).
    """
    lines, merges = project_lines(history, owner)
    first_parent = first_parent_line(history)
    found: dict[int, PullRequest] = {}
    for commit in history.commits:
        sha = commit.sha
        if sha not in lines:
            continue
        if len(commit.parents) > 1:
            number = merges.get(sha)
            if number is None or number in found:
                continue
            title = _first_line(commit.body) or _first_commit_subject(history, commit, lines)
            kind = "homu" if _HOMU_MERGE.search(commit.subject) else "merge"
        else:
            if sha not in first_parent:
                continue  # NumPy's script looks for squash merges with git log --first-parent only
            # The pattern needs a closing parenthesis at the end: test that first, it is much cheaper.
            m = _SQUASH.match(commit.subject) if commit.subject.endswith(")") else None
            if m is None:
                continue
            number = int(m.group(2))
            if number in found:
                continue
            title = _TRAILING_NUMBERS.sub("", commit.subject[: m.start(1) - 1].rstrip())
            kind = "squash"
        found[number] = PullRequest(number=number, title=clean_text(title), commit=sha, kind=kind)
    if titles:
        for number, title in titles.items():
            if number in found:
                pr = found[number]
                found[number] = PullRequest(
                    number=number, title=clean_text(title), commit=pr.commit, kind=pr.kind
                )
    return [found[n] for n in sorted(found)]


def _titles_from_json(path: Path, text: str) -> dict[int, str]:
    hint = 'write it as {"123": "title", ...}'
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProjectError(f"the titles file {path} is not valid JSON: {exc}", hint=hint) from None
    except RecursionError:
        # json's C parser recurses once per nesting level and gives up past Python's recursion limit.
        raise ProjectError(f"the titles file {path} is nested too deeply to read", hint=hint) from None
    if not isinstance(data, dict):
        raise ProjectError(
            f"the titles file {path} holds a JSON {type(data).__name__}, not an object", hint=hint
        )
    titles: dict[int, str] = {}
    for key, value in data.items():
        number = key[1:] if key.startswith("#") else key
        if not (number.isascii() and number.isdigit()):
            raise ProjectError(f"the titles file {path} has the key {key[:40]!r}, not a number", hint=hint)
        if not isinstance(value, str):
            raise ProjectError(
                f"the titles file {path} gives #{number} a JSON {type(value).__name__}, not a string",
                hint=hint,
            )
        titles[int(number)] = value
    return titles


_TITLE_LINE = re.compile(r"^#?(\d+)\s*[:\t ]\s*(.*\S)\s*$")


def read_titles_file(path: Path) -> dict[int, str]:
    """Pull-request titles by number from ``path``.

    A ``.json`` file holds an object ``{"123": "title"}``; any other file one title per line, ``123: title``
    (``#123`` and a tab or space instead of the colon work too). Blank lines are skipped.
    """
    try:
        text = read_limited(path, 64 << 20).decode("utf-8")  # never /dev/zero into memory
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(
            f"cannot read the titles file {path}: {exc}", hint="pass an existing UTF-8 file"
        ) from None
    if path.suffix == ".json":
        return _titles_from_json(path, text)
    titles: dict[int, str] = {}
    # Lines end at a line feed only: a U+2028 or U+0085 inside a title is part of it (cleaned later).
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        m = _TITLE_LINE.match(line)
        if m is None:
            raise ProjectError(
                f"{path}:{lineno}: expected 'NUMBER: title', got {line.strip()[:60]!r}",
                hint="write one title per line as '123: the title'",
            )
        titles[int(m.group(1))] = m.group(2)
    return titles
