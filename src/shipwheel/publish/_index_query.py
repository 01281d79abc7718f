"""What an index already holds for a project: PEP 691 JSON when it speaks it, else the PEP 503 HTML page.

One GET per query, with ``Accept`` asking for JSON first. Hashes come from the JSON ``hashes`` or the HTML link
fragments (``#sha256=…``); PEP 700's ``upload-time`` is kept when the index gives it.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import httpx

from .._http import redact
from ..errors import AuthenticationError, RemoteError

__all__ = [
    "ACCEPT",
    "IndexBusyError",
    "IndexFile",
    "IndexListing",
    "digest_of_remote",
    "parse_listing",
    "query_project",
]

ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One file of a project on an index."""

    filename: str
    url: str
    sha256: str | None
    upload_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexListing:
    """The files of one project on an index (``files`` by filename); ``found`` is false for a 404."""

    url: str
    files: Mapping[str, IndexFile]
    found: bool = True


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_listing(url: str, content_type: str, body: bytes) -> dict[str, IndexFile]:
    """The files of a simple-index project page, JSON (PEP 691) or HTML (PEP 503)."""
    files: dict[str, IndexFile] = {}
    if "json" in content_type:
        data = json.loads(body)
        for entry in data.get("files", []):
            name = entry.get("filename")
            if not isinstance(name, str):
                continue
            hashes = entry.get("hashes") or {}
            files[name] = IndexFile(
                filename=name,
                url=urljoin(url, str(entry.get("url", name))),
                sha256=hashes.get("sha256"),
                upload_time=_parse_time(entry.get("upload-time")),
            )
        return files
    parser = _Anchors()
    parser.feed(body.decode("utf-8", errors="replace"))
    for href in parser.hrefs:
        link, fragment = urldefrag(urljoin(url, href))
        name = unquote(urlsplit(link).path.rsplit("/", 1)[-1])
        algo, _, value = fragment.partition("=")
        files[name] = IndexFile(
            filename=name, url=link, sha256=value.lower() if algo == "sha256" and value else None
        )
    return files


class IndexBusyError(RemoteError):
    """The index answered 429 or 5xx: worth asking again."""


def query_project(
    client: httpx.Client, index_url: str, project: str, *, auth: httpx.Auth | None = None
) -> IndexListing:
    """What ``index_url`` holds for ``project`` (normalized name).

    :raises AuthenticationError: the index refuses to list without (other) credentials.
    :raises RemoteError: the index cannot be reached or answers with another error.
    :raises IndexBusyError: 429 or 5xx, for the caller's retry loop (as is :class:`httpx.TransportError`).
    """
    url = f"{index_url}{project}/"
    response = client.get(url, headers={"Accept": ACCEPT}, auth=auth)
    if response.status_code in {404, 410} or response.is_redirect:
        # A redirect is an index's fallback to another index (pypiserver -> PyPI): nothing here.
        return IndexListing(url=url, files={}, found=False)
    if response.status_code in {401, 403}:
        raise AuthenticationError(
            f"{redact(index_url)} refused to list {project} (HTTP {response.status_code})",
            hint="check the user name and password or token for this index",
        )
    if response.status_code == 429 or response.status_code >= 500:
        raise IndexBusyError(f"{redact(url)} answered HTTP {response.status_code}", hint="retry later")
    if response.status_code >= 400:
        raise RemoteError(
            f"{redact(url)} answered HTTP {response.status_code}",
            hint="check the repository URL, or retry later if the index is down",
        )
    content_type = response.headers.get("content-type", "")
    try:
        files = parse_listing(str(response.url), content_type, response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RemoteError(
            f"{redact(url)} sent a page that is not a simple index", hint="check --index-url"
        ) from exc
    return IndexListing(url=url, files=files)


def digest_of_remote(client: httpx.Client, url: str) -> str:
    """The sha256 of a file on an index whose listing gave no hash (downloads it once)."""
    hasher = hashlib.sha256()
    with client.stream("GET", url) as response:
        if response.status_code >= 400:
            raise RemoteError(f"{redact(url)} answered HTTP {response.status_code}", hint="retry later")
        for block in response.iter_bytes(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()
