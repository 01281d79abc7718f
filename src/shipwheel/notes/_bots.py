"""Which authors are bots: the one test the changelog and ``mailmap-check`` share.

A bot is left out of the contributors (and so is never a first-time contributor). It is found by:

- GitHub's bot accounts: GitHub Apps act as ``NAME[bot]`` (the account type ``Bot`` in GitHub's API), and commit
  as ``NAME[bot]`` with the address ``ID+NAME[bot]@users.noreply.github.com``, so the name or that address says it
  even when the name was changed (``Copilot Autofix powered by AI <…+github-advanced-security[bot]@…>``);
- a name that says it: ending in `` bot`` or ``-bot`` (``aio-libs bot``, ``pyup-bot``);
- the GitHub logins whose account type the API reported as ``Bot`` (with ``--github-titles``), matched against
  the author's name and GitHub address;
- the names configured in ``changelog.bots`` (``Homu``, whose name says nothing).
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["github_login", "is_bot"]

_NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@\s]+)@users\.noreply\.github\.com$", re.IGNORECASE)
_SUFFIXES = ("[bot]", " bot", "-bot")


def github_login(email: str) -> str | None:
    """The GitHub login of a ``[ID+]LOGIN@users.noreply.github.com`` address, else ``None``."""
    m = _NOREPLY.match(email.strip())
    return m.group("login") if m else None


def is_bot(name: str, emails: Collection[str] = (), *, bot_logins: Collection[str] = ()) -> bool:
    """Whether the author ``name`` (with these addresses) is a bot by its name, its GitHub address, or a login
    that GitHub reported as a ``Bot`` account (``bot_logins``, lower case)."""
    lowered = name.strip().lower()
    if lowered.endswith(_SUFFIXES) or lowered in bot_logins:
        return True
    for email in emails:
        if email.partition("@")[0].lower().endswith("[bot]"):
            return True  # GitHub's ID+NAME[bot]@users.noreply.github.com, and the same form elsewhere
        login = github_login(email)
        if login is not None and login.lower() in bot_logins:
            return True
    return False
