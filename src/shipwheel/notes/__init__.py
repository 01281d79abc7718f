"""Changelogs, contributor lists and release notes from git and towncrier fragments, offline.

:func:`make_changelog` reads a release range with a few git processes and returns a :class:`Changelog`;
:func:`render` writes it as reStructuredText (byte-compatible with NumPy's ``tools/changelog.py``) or Markdown.
:func:`check_mailmap` lists identities that look unmapped. :func:`release_notes` renders towncrier fragments,
the changelog and a checksums table into one document. :func:`find_towncrier` reads a project's towncrier setup
as towncrier does, :func:`render_section` renders a release's section as ``towncrier build`` does, and
:func:`notes_target` / :func:`prepare_notes` say where the release's notes go and what that file becomes
(the release's ``notes`` step writes it and removes the fragments it used).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..errors import CommandError, UsageError
from ._changelog import Changelog, clean_title_md, clean_title_rst, github_owner, pr_url_from_remote, render
from ._contributors import Contributor, find_contributors
from ._github import GithubPull, fetch_pulls, fetch_titles, pull_api_url
from ._history import Commit, History, open_repository, parse_range, read_history
from ._mailmap_check import check_mailmap
from ._newsfile import NotesTarget, NotesUpdate, insert_section, notes_present, notes_target, prepare_notes
from ._pulls import PullRequest, find_pull_requests, read_titles_file
from ._release_notes import Checksum, checksums, python_support, release_notes
from ._text import clean_text
from ._towncrier import Section, Towncrier, find_towncrier, render_section

__all__ = [
    "Changelog",
    "Checksum",
    "Commit",
    "Contributor",
    "GithubPull",
    "History",
    "NotesTarget",
    "NotesUpdate",
    "PullRequest",
    "Section",
    "Towncrier",
    "check_mailmap",
    "checksums",
    "clean_title_md",
    "clean_title_rst",
    "default_pr_url",
    "fetch_pulls",
    "fetch_titles",
    "find_contributors",
    "find_pull_requests",
    "find_towncrier",
    "insert_section",
    "make_changelog",
    "notes_present",
    "notes_target",
    "open_repository",
    "parse_range",
    "prepare_notes",
    "pull_api_url",
    "python_support",
    "read_history",
    "read_titles_file",
    "release_notes",
    "render",
    "render_section",
]


def default_pr_url(repo: Path) -> str | None:
    """The pull-request URL template derived from the ``origin`` remote, when it is on GitHub."""
    git = open_repository(repo)
    try:
        url = git.run("config", "--get", "remote.origin.url").strip()
    except CommandError:
        return None
    return pr_url_from_remote(url)


def make_changelog(
    repo: Path,
    revision_range: str,
    *,
    mailmap_from: str | None = None,
    pr_url: str | None = None,
    bots: Iterable[str] = (),
    detect_bots: bool = True,
    titles: Mapping[int, str] | None = None,
    github_token: str | None = None,
    progress: Callable[[str], None] | None = None,
    history: History | None = None,
) -> Changelog:
    """The contributors and pull requests of ``revision_range`` (``A..B``) in the repository at ``repo``.

    :param pr_url: link template with ``{number}`` (default: from the ``origin`` remote on GitHub).
    :param bots: names left out of the contributors.
    :param detect_bots: also leave out GitHub's bot accounts and names that say "bot" (see :mod:`._bots`);
        off for NumPy's exact lists.
    :param titles: titles that replace those found in git.
    :param github_token: when given, the current titles, and which pull requests bot accounts opened, are asked
        from the GitHub API (off by default).
    """
    url = pr_url or default_pr_url(repo)
    if url is not None and "{number}" not in url:
        raise UsageError(
            f"the pull-request URL {url!r} has no {{number}}",
            hint="pass it as https://github.com/OWNER/REPO/pull/{number}",
        )
    hist = history or read_history(repo, revision_range, mailmap_from=mailmap_from, progress=progress)
    pulls = find_pull_requests(hist, owner=github_owner(url) if url else None)
    if pulls and url is None:
        raise UsageError(
            "cannot link the pull requests: the origin remote is not on GitHub",
            hint="pass --pr-url https://github.com/OWNER/REPO/pull/{number} or set changelog.pr-url",
        )
    merged_titles: dict[int, str] = {}
    bot_logins: set[str] = set()
    if github_token and pulls and url is not None:
        found = fetch_pulls(url, (p.number for p in pulls), github_token, progress=progress)
        merged_titles.update({n: g.title for n, g in found.items() if g.title})
        bot_logins = {g.login.lower() for g in found.values() if g.bot}
    contributors = find_contributors(hist, bots=bots, detect_bots=detect_bots, bot_logins=bot_logins)
    merged_titles.update(titles or {})
    if merged_titles:
        pulls = [
            PullRequest(
                number=p.number,
                title=clean_text(merged_titles.get(p.number, p.title)),
                commit=p.commit,
                kind=p.kind,
            )
            for p in pulls
        ]
    return Changelog(contributors=tuple(contributors), pull_requests=tuple(pulls), pr_url=url or "")
