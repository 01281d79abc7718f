"""Optional look-up of the current pull-request titles on GitHub (off unless asked for, needs a token).

Titles found in git are the titles at merge time; a maintainer who edits titles afterwards can fetch the current
ones with this, or write them into a titles file. Never needed for a correct list. The same answers say which
pull requests a bot account opened (``user.type`` is ``Bot``): :func:`fetch_pulls` returns that too, and the
changelog leaves those accounts out of the contributors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import AuthenticationError, RemoteError, UsageError

__all__ = ["API_ROOT", "GithubPull", "fetch_pulls", "fetch_titles", "pull_api_url"]

API_ROOT = "https://api.github.com"
_PR_URL = re.compile(r"^https?://github\.com/([^/]+)/([^/]+)/pull/\{number\}$")


def pull_api_url(pr_url: str, number: int, *, api_root: str = API_ROOT) -> str:
    """The REST URL of pull request ``number`` for a ``https://github.com/OWNER/REPO/pull/{number}`` template."""
    m = _PR_URL.match(pr_url)
    if m is None:
        raise UsageError(
            f"cannot ask GitHub for titles with the pull-request URL {pr_url!r}",
            hint="use --pr-url https://github.com/OWNER/REPO/pull/{number} with --github-titles",
        )
    return f"{api_root.rstrip('/')}/repos/{m.group(1)}/{m.group(2)}/pulls/{number}"


@dataclass(frozen=True, slots=True)
class GithubPull:
    """What GitHub says of one pull request: its current title, and who opened it."""

    title: str
    login: str
    bot: bool
    """The account that opened it is of GitHub's type ``Bot`` (a GitHub App such as dependabot)."""


def _pull(body: bytes, number: int) -> GithubPull:
    """The pull request's JSON; whatever else the server sent is a one-line error."""
    hint = "check --pr-url (GitHub's REST API answers a JSON object) or drop --github-titles"
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's recursion limit
        raise RemoteError(
            f"GitHub API: the answer for pull request #{number} is not JSON", hint=hint
        ) from None
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str):
        raise RemoteError(f"GitHub API: the answer for pull request #{number} has no title", hint=hint)
    user = data.get("user") if isinstance(data, dict) else None
    login = user.get("login") if isinstance(user, dict) else None
    kind = user.get("type") if isinstance(user, dict) else None
    login = login if isinstance(login, str) else ""
    return GithubPull(title=title, login=login, bot=kind == "Bot" and bool(login))


def fetch_titles(
    pr_url: str,
    numbers: Iterable[int],
    token: str,
    *,
    api_root: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[int, str]:
    """The current titles of ``numbers`` from the GitHub REST API (see :func:`fetch_pulls`)."""
    pulls = fetch_pulls(pr_url, numbers, token, api_root=api_root, progress=progress)
    return {n: p.title for n, p in pulls.items() if p.title}


def fetch_pulls(
    pr_url: str,
    numbers: Iterable[int],
    token: str,
    *,
    api_root: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[int, GithubPull]:
    """The pull requests ``numbers`` from the GitHub REST API (``api_root``, else ``GITHUB_API_URL`` as GitHub
    Actions and GitHub Enterprise set it, else api.github.com); the token is sent as a header only."""
    api_root = api_root or os.environ.get("GITHUB_API_URL") or API_ROOT
    # Imported here: the look-up is off by default, and httpx is the heaviest import of this package.
    import httpx

    from .._http import make_client

    wanted = sorted(set(numbers))
    urls = {n: pull_api_url(pr_url, n, api_root=api_root) for n in wanted}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    if progress:
        progress(f"asking GitHub for {len(wanted)} pull requests")
    with make_client(timeout=30.0, headers=headers) as client:

        def one(n: int) -> tuple[int, GithubPull]:
            try:
                resp = client.get(urls[n])
            except httpx.HTTPError as exc:
                raise RemoteError(
                    f"GitHub API: {type(exc).__name__}", hint="check the network or drop --github-titles"
                ) from None
            if resp.status_code in (401, 403):
                raise AuthenticationError(
                    f"GitHub refused the token (HTTP {resp.status_code})",
                    hint="set GITHUB_TOKEN to a valid token or drop --github-titles",
                )
            if resp.status_code != 200:
                raise RemoteError(
                    f"GitHub API answered HTTP {resp.status_code} for pull request #{n}",
                    hint="check --pr-url or drop --github-titles",
                )
            pull = _pull(resp.content, n)
            if (
                token
            ):  # a server that echoes the token back (a proxy, a hostile API) never gets it into the notes
                pull = GithubPull(
                    pull.title.replace(token, "***"), pull.login.replace(token, "***"), pull.bot
                )
            return n, pull

        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(pool.map(one, wanted))
