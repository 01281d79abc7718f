"""Identities of a release range that look unmapped, with the ``.mailmap`` lines that would fix them.

The checks run on identities *after* the current ``.mailmap``: what is left is what the changelog would show.
A name mapped to ``!handle`` (NumPy's ``.mailmap`` convention for someone known only by a handle) counts as
mapped: it is not reported as a handle or a placeholder.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._bots import is_bot
from ._history import History

__all__ = ["MailmapFinding", "check_mailmap"]

_PLACEHOLDER_NAMES = {
    "root", "user", "admin", "administrator", "unknown", "ubuntu", "your name", "name", "none", "(none)",
    "no author", "(no author)", "test", "nobody", "localhost", "me",
}  # fmt: skip
_PLACEHOLDER_EMAIL = re.compile(
    r"(@localhost(\.localdomain)?$|\.local$|\.\(none\)$|^you@example\.com$|^root@|^$|^[^@]*$)", re.IGNORECASE
)
_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class MailmapFinding:
    """One identity problem: a stable ``code``, the identity, why it looks wrong and the proposed fix."""

    code: str
    identity: str
    message: str
    proposal: str
    """A ``.mailmap`` line (or, for bots, what to add to ``changelog.bots``)."""


def _best_name(names: Counter[str], overall: Counter[str]) -> str:
    # A full name (with a space) over a handle, then the most used (here, then anywhere), then the longest.
    return sorted(names, key=lambda n: (" " not in n.strip(), -names[n], -overall[n], -len(n), n))[0]


def _best_email(emails: Counter[str]) -> str:
    return sorted(emails, key=lambda e: ("noreply" in e.lower(), -emails[e], e))[0]


def _identities(history: History) -> Counter[tuple[str, str]]:
    seen: Counter[tuple[str, str]] = Counter()
    for commit in history.commits:
        seen[(commit.author, commit.email)] += 1
        for value in commit.coauthors:
            ident = history.coauthor_idents.get(value)
            if ident is not None:
                seen[ident] += 1
    return seen


def check_mailmap(
    history: History, *, bots: Iterable[str] = (), detect_bots: bool = False
) -> list[MailmapFinding]:
    """Every identity of ``history`` that looks unmapped, sorted by code and identity.

    A bot is never a mapping problem; one that the changelog would list (not in ``bots``, and ``detect_bots``
    off) is reported as ``bot``.
    """
    known_bots = set(bots)
    idents = _identities(history)
    findings: list[MailmapFinding] = []
    by_email: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_name: defaultdict[str, Counter[str]] = defaultdict(Counter)
    placeholder_emails: list[tuple[str, str]] = []
    for (name, email), n in idents.items():
        if name in known_bots or is_bot(name, (email,)):
            if name not in known_bots and not detect_bots:
                findings.append(
                    MailmapFinding(
                        "bot",
                        f"{name} <{email}>",
                        "looks like a bot but is not in changelog.bots, so it is listed as a contributor",
                        f'add "{name}" to [tool.shipwheel.changelog] bots',
                    )
                )
            continue
        by_email[email.lower()][name] += n
        by_name[name][email] += n
        if name.startswith("!"):
            # NumPy's .mailmap marks a contributor known only by a handle as "!handle": already decided.
            continue
        if name.strip().lower() in _PLACEHOLDER_NAMES:
            findings.append(
                MailmapFinding(
                    "placeholder",
                    f"{name} <{email}>",
                    "a placeholder name or address from an unconfigured git",
                    f"Real Name <real@address> {name} <{email}>",
                )
            )
        elif _PLACEHOLDER_EMAIL.search(email):
            # The name is real (NumPy's history has "Name <user@Laptop.local>"): only the address needs a line.
            placeholder_emails.append((name, email))
        elif _HANDLE.match(name) and " " not in name:
            findings.append(
                MailmapFinding(
                    "handle-only",
                    f"{name} <{email}>",
                    "a handle, not a full name",
                    f"Real Name <{email}>  # the real name of {name}",
                )
            )
    for name, email in placeholder_emails:
        real = Counter({e: k for e, k in by_name[name].items() if not _PLACEHOLDER_EMAIL.search(e)})
        findings.append(
            MailmapFinding(
                "placeholder",
                f"{name} <{email}>",
                "a placeholder address from an unconfigured git",
                f"{name} <{_best_email(real) if real else 'real@address'}> <{email}>",
            )
        )
    findings += _several(by_email, by_name)
    findings.sort(key=lambda f: (f.code, f.identity))
    return findings


def _several(
    by_email: Mapping[str, Counter[str]], by_name: Mapping[str, Counter[str]]
) -> list[MailmapFinding]:
    """One address under several names, one name under several addresses: the lines that join them."""
    findings: list[MailmapFinding] = []
    overall: Counter[str] = Counter()
    for name, emails in by_name.items():
        overall[name] = sum(emails.values())
    for email, names in by_email.items():
        if len(names) > 1:
            best = _best_name(names, overall)
            findings.extend(
                MailmapFinding(
                    "email-several-names",
                    f"{other} <{email}>",
                    f"the address {email} is used under {len(names)} names",
                    f"{best} <{email}> {other} <{email}>",
                )
                for other in sorted(names)
                if other != best
            )
    for name, emails in by_name.items():
        if len(emails) > 1:
            best = _best_email(emails)
            findings.extend(
                MailmapFinding(
                    "name-several-emails",
                    f"{name} <{other}>",
                    f"{name} commits under {len(emails)} addresses",
                    f"{name} <{best}> <{other}>",
                )
                for other in sorted(emails)
                if other != best
            )
    return findings
