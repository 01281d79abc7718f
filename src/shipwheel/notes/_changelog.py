"""The contributor and pull-request lists of a release, as reStructuredText or Markdown.

The reStructuredText is byte-compatible with NumPy's ``tools/changelog.py`` (numpy/numpy tools/changelog.py) for
the same names, numbers, links and titles. Its formatting strings, quoted::

    author_msg = '''
    A total of %d people contributed to this release.  People with a "+" by their
    names contributed a patch for the first time.
    '''
    pull_request_msg = '''
    A total of %d pull requests were merged for this release.
    '''
    heading = "Contributors"; print(); print(heading); print("=" * len(heading)); print(author_msg % n)
    for s in authors: print('* ' + s)
    heading = "Pull requests merged"; ...; print(pull_request_msg % n)
    pull_msg = "* `#{0} <{1}>`__: {2}"

and its title clean-up is :func:`clean_title_rst`, line for line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ._contributors import Contributor
from ._pulls import PullRequest

__all__ = [
    "Changelog",
    "clean_title_md",
    "clean_title_rst",
    "github_owner",
    "pr_url_from_remote",
    "render",
]

AUTHOR_MSG = """
A total of %d people contributed to this release.  People with a "+" by their
names contributed a patch for the first time.
"""

PULL_REQUEST_MSG = """
A total of %d pull requests were merged for this release.
"""

_REMOTE = re.compile(
    r"^(?:https?://(?:[^@/]+@)?|ssh://(?:[^@/]+@)?|git@)github\.com[:/]([^/]+)/([^/]+?)(?:\.git)?/?$"
)
_PR_URL_OWNER = re.compile(r"^https?://github\.com/([^/]+)/[^/]+/")


@dataclass(frozen=True, slots=True)
class Changelog:
    """The lists of one release: who contributed, which pull requests were merged, and their links."""

    contributors: Sequence[Contributor]
    pull_requests: Sequence[PullRequest]
    pr_url: str
    """Template of pull-request links with ``{number}``."""

    def url(self, number: int) -> str:
        """The link of pull request ``number``."""
        return self.pr_url.replace("{number}", str(number))


def pr_url_from_remote(remote_url: str) -> str | None:
    """``https://github.com/OWNER/REPO/pull/{number}`` for a GitHub remote URL (https, ssh or scp form)."""
    m = _REMOTE.match(remote_url.strip())
    if m is None:
        return None
    return f"https://github.com/{m.group(1)}/{m.group(2)}/pull/{{number}}"


def github_owner(pr_url: str) -> str | None:
    """The owner part of a GitHub pull-request URL template, or ``None`` for other hosts."""
    m = _PR_URL_OWNER.match(pr_url)
    return m.group(1) if m else None


def _backtick_repl(matchobj: re.Match[str]) -> str:
    """repl to add an escaped space following a code block if needed"""
    if matchobj.group(2) != " ":  # noqa: SIM108 - kept as NumPy wrote it, to compare line by line
        post = r"\ " + matchobj.group(2)
    else:
        post = matchobj.group(2)
    return "``" + matchobj.group(1) + "``" + post


_WHITESPACE = re.compile(r"\s+")
_SINGLE_BACKTICK = re.compile(r"(?P<pre>(?:^|(?<=[^`])))`(?P<post>(?=[^`]|$))")
_CODE_BLOCK = re.compile(r"``(.*?)``(.)")
_FROM_SPACE = re.compile(r"\s.*$")


def clean_title_rst(title: str) -> str:
    """NumPy's clean-up of a pull-request title for reStructuredText, unchanged (patterns compiled once)."""
    # sanitize whitespace
    title = _WHITESPACE.sub(" ", title.strip())
    # substitute any single backtick not adjacent to a backtick for a double backtick
    if "`" in title:
        title = _SINGLE_BACKTICK.sub(r"\g<pre>``\g<post>", title)
        # add an escaped space if code block is not followed by a space
        title = _CODE_BLOCK.sub(_backtick_repl, title)
    # sanitize asterisks
    title = title.replace("*", "\\*")
    if len(title) > 60:
        remainder = _FROM_SPACE.sub("...", title[60:])
        if len(remainder) > 20:  # noqa: SIM108 - kept as NumPy wrote it
            # just use the first 80 characters, with ellipses.
            title = title[:80] + "..."
        else:
            # use the first 60 characters and the next word
            title = title[:60] + remainder
        if title.count("`") % 4 != 0:
            # ellipses have cut in the middle of a code block, so finish the code block before the ellipses
            title = title[:-3] + "``..."
    return title


_MD_SPECIAL = re.compile(r"([\\*_\[\]<>])")


def clean_title_md(title: str) -> str:
    """A pull-request title for Markdown: whitespace collapsed, emphasis, link and HTML characters escaped.

    Backticks are kept (they make code spans in Markdown too) and nothing is cut: a GitHub release body has room.
    """
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", title.strip()))


def _render_rst(log: Changelog) -> str:
    out: list[str] = []
    heading = "Contributors"
    out += ["\n", heading + "\n", "=" * len(heading) + "\n", AUTHOR_MSG % len(log.contributors) + "\n"]
    out += [f"* {c.display}\n" for c in log.contributors]
    heading = "Pull requests merged"
    out += ["\n", heading + "\n", "=" * len(heading) + "\n", PULL_REQUEST_MSG % len(log.pull_requests) + "\n"]
    out += [
        f"* `#{pr.number} <{log.url(pr.number)}>`__: {clean_title_rst(pr.title)}\n"
        for pr in log.pull_requests
    ]
    return "".join(out)


def _render_md(log: Changelog) -> str:
    out = ["## Contributors\n", AUTHOR_MSG % len(log.contributors) + "\n"]
    out += [f"* {clean_title_md(c.display)}\n" for c in log.contributors]
    out += ["\n## Pull requests merged\n", PULL_REQUEST_MSG % len(log.pull_requests) + "\n"]
    out += [
        f"* [#{pr.number}]({log.url(pr.number)}): {clean_title_md(pr.title)}\n" for pr in log.pull_requests
    ]
    return "".join(out)


_RENDERERS: dict[str, Callable[[Changelog], str]] = {"rst": _render_rst, "md": _render_md}


def render(log: Changelog, fmt: str = "rst") -> str:
    """The changelog text in ``fmt`` (``rst``: NumPy's format, byte for byte; ``md``: for GitHub releases)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise UsageError(f"unknown changelog format {fmt!r}", hint="use rst or md") from None
    return renderer(log)
