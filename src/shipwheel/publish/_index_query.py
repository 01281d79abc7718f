"""What an index already holds for a project: PEP 691 JSON when it speaks it, else the PEP 503 HTML page.

One GET per query, with ``Accept`` asking for JSON first. The page is read by :func:`shipwheel._http.read_body`
with the limit ``fetch`` applies (:data:`~shipwheel.simple_index.MAX_PAGE_BYTES`, counted after decompression)
and parsed by the package's one simple-index parser (:func:`shipwheel.simple_index.parse_project_page`), which
lower-cases hashes and keeps PEP 700's ``upload-time`` (PyPI's rule on old releases needs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from .._http import read_body, redact
from ..distfiles import hash_chunks
from ..errors import AuthenticationError, RemoteError
from ..simple_index import ACCEPT, MAX_PAGE_BYTES, IndexFile, parse_project_page

__all__ = [
    "IndexBusyError",
    "IndexListing",
    "digest_of_remote",
    "query_project",
]


@dataclass(frozen=True, slots=True)
class IndexListing:
    """The files of one project on an index (``files`` by filename); ``found`` is false for a 404."""

    url: str
    files: Mapping[str, IndexFile]
    found: bool = True


class IndexBusyError(RemoteError):
    """The index answered 429 or 5xx: worth asking again."""


def query_project(
    client: httpx.Client,
    index_url: str,
    project: str,
    *,
    auth: httpx.Auth | None = None,
    auth_hint: str = "check the user name and password or token for this index",
) -> IndexListing:
    """What ``index_url`` holds for ``project`` (normalized name).

    :raises AuthenticationError: the index refuses to list without (other) credentials.
    :raises RemoteError: the index cannot be reached, answers with another error or sends no index page
        (:class:`~shipwheel.errors.TransferError`).
    :raises IndexBusyError: 429 or 5xx, for the caller's retry loop (as is :class:`httpx.TransportError`).
    """
    url = f"{index_url}{project}/"
    headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip"}
    with client.stream("GET", url, headers=headers, auth=auth) as response:
        status = response.status_code
        if status in {404, 410} or response.is_redirect:
            # A redirect is an index's fallback to another index (pypiserver -> PyPI): nothing here.
            return IndexListing(url=url, files={}, found=False)
        if status in {401, 403}:
            raise AuthenticationError(
                f"{redact(index_url)} refused to list {project} (HTTP {status})", hint=auth_hint
            )
        if status == 429 or status >= 500:
            raise IndexBusyError(f"{redact(url)} answered HTTP {status}", hint="retry later")
        if status >= 400:
            raise RemoteError(
                f"{redact(url)} answered HTTP {status}",
                hint="check the repository URL, or retry later if the index is down",
            )
        body = read_body(
            response,
            MAX_PAGE_BYTES,
            f"the page {redact(url)}",
            hint="check --index-url; a project page is never that large",
        )
        content_type = response.headers.get("content-type", "")
        final = str(response.url)
    files = parse_project_page(body, content_type, final)
    return IndexListing(url=url, files={f.filename: f for f in files})


def digest_of_remote(client: httpx.Client, url: str, *, auth: httpx.Auth | None = None) -> str:
    """The sha256 of a file on an index whose listing gave no hash (downloads it once; the caller makes sure it
    is on the index's own host)."""
    with client.stream("GET", url, auth=auth) as response:
        if response.status_code >= 400:
            raise RemoteError(f"{redact(url)} answered HTTP {response.status_code}", hint="retry later")
        digests, _size = hash_chunks(response.iter_bytes(1 << 20))
    return digests["sha256"]
