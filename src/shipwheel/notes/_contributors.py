"""Contributors of a release: authors and co-authors, mailmapped, bots left out, first-timers marked.

This follows NumPy's ``tools/changelog.py``, which takes the names ``git shortlog -s --group=author
--group=trailer:co-authored-by`` prints for the range and for everything before it (merge commits included),
drops its bots, appends ``" +"`` to the names not seen before and sorts the resulting strings with Python's
default (code point) order. Bots are the configured names and, unless ``detect_bots`` is off, those
:func:`._bots.is_bot` finds (NumPy's script drops only ``Homu`` and ``dependabot-preview``: its exact lists need
``detect_bots=False``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ._bots import is_bot
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


def find_contributors(
    history: History,
    *,
    bots: Iterable[str] = (),
    detect_bots: bool = False,
    bot_logins: Collection[str] = (),
) -> list[Contributor]:
    """The contributors of ``history``, sorted the way NumPy's script sorts them (by the displayed string).

    :param bots: names left out.
    :param detect_bots: also leave out the bots :func:`._bots.is_bot` finds by name and GitHub address.
    :param bot_logins: GitHub logins the API reported as bot accounts (lower case).
    """
    counts: dict[str, int] = {}
    emails: dict[str, set[str]] = {}
    get = counts.get
    for commit in history.commits:
        if detect_bots:
            emails.setdefault(commit.author, set()).update((commit.email, commit.raw_email))
        if not commit.coauthors:
            counts[commit.author] = get(commit.author, 0) + 1
            continue
        names = {commit.author}
        for value in commit.coauthors:
            ident = history.coauthor_idents.get(value)
            name = history.coauthor_name(value)
            names.add(name)
            if detect_bots and ident is not None:
                emails.setdefault(name, set()).add(ident[1])
        for name in names:
            counts[name] = get(name, 0) + 1
    left_out = set(bots) | {""}
    logins = {login.lower() for login in bot_logins}
    people = [
        Contributor(name=name, first_time=name not in history.previous_names, commits=n)
        for name, n in counts.items()
        if name not in left_out
        and not (detect_bots and is_bot(name, emails.get(name, ()), bot_logins=logins))
    ]
    people.sort(key=lambda c: c.display)
    return people
