"""Contributors of a release: authors and co-authors, mailmapped, bots left out, first-timers marked.

This follows NumPy's ``tools/changelog.py``, which takes the names ``git shortlog -s --group=author
--group=trailer:co-authored-by`` prints for the range and for everything before it (merge commits included),
drops its bots, appends ``" +"`` to the names not seen before and sorts the resulting strings with Python's
default (code point) order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._history import History

__all__ = ["Contributor", "find_contributors"]


@dataclass(frozen=True, slots=True)
class Contributor:
    """One person (a mailmapped name) who wrote or co-wrote a commit of the range."""

    name: str
    first_time: bool
    commits: int

    @property
    def display(self) -> str:
        """The name as listed: ``"Name +"`` for a first-time contributor."""
        return f"{self.name} +" if self.first_time else self.name


def find_contributors(history: History, *, bots: Iterable[str] = ()) -> list[Contributor]:
    """The contributors of ``history``, sorted the way NumPy's script sorts them (by the displayed string)."""
    counts: dict[str, int] = {}
    get = counts.get
    for commit in history.commits:
        if not commit.coauthors:
            counts[commit.author] = get(commit.author, 0) + 1
            continue
        for name in {commit.author, *(history.coauthor_name(v) for v in commit.coauthors)}:
            counts[name] = get(name, 0) + 1
    left_out = set(bots) | {""}
    people = [
        Contributor(name=name, first_time=name not in history.previous_names, commits=n)
        for name, n in counts.items()
        if name not in left_out
    ]
    people.sort(key=lambda c: c.display)
    return people
