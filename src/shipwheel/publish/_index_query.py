"""What an index already holds for a project: PEP 691 JSON when it speaks it, else the PEP 503 HTML page.

One GET per query, with ``Accept`` asking for JSON first. The page is parsed by the package's one simple-index
parser (:func:`shipwheel.containers.parse_json` / :func:`~shipwheel.containers.parse_html`), read with the same
limit as ``fetch`` (:data:`MAX_PAGE_BYTES`, counted after decompression, so a small gzip page that inflates to
gigabytes stops at the limit with bounded memory). Hashes are lower-cased by that parser; PEP 700's
``upload-time`` is kept when the index gives it (PyPI's rule on old releases needs it).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from .._http import redact
from ..containers import Entry, accept_link, parse_html, parse_json
from ..errors import AuthenticationError, RemoteError

__all__ = [
    "ACCEPT",
    "MAX_PAGE_BYTES",
    "IndexBusyError",
    "IndexFile",
    "IndexListing",
    "NotAnIndexError",
    "digest_of_remote",
    "parse_listing",
    "query_project",
]

ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
#: The most a project page may hold once decompressed: the limit ``fetch`` applies to a listing page.
MAX_PAGE_BYTES = 64 << 20
_ANY_HOST = (
    "*",
)  # PyPI serves files from another host; publish only compares names and hashes, never fetches


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


class NotAnIndexError(ValueError):
    """The page is not a simple-index page (JSON that does not parse, nested too deeply, ...)."""


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError as exc:  # deeply nested arrays: the C decoder gives up, cleanly
        raise NotAnIndexError("the JSON page is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotAnIndexError("the JSON page does not parse") from exc


def parse_listing(url: str, content_type: str, body: bytes) -> dict[str, IndexFile]:
    """The release files of a simple-index project page, JSON (PEP 691) or HTML (PEP 503), by filename.

    :raises NotAnIndexError: a JSON page that does not parse or is not a PEP 691 object.
    """
    times: dict[str, datetime] = {}
    if "json" in content_type:
        data = _load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
            raise NotAnIndexError("the JSON page is not a PEP 691 project page")
        page = parse_json(data, url)
        # PEP 700's upload-time, which the shared parser does not keep (fetch has no use for it).
        for item in data.get("files") or ():
            if isinstance(item, dict) and isinstance(item.get("filename"), str):
                when = _parse_time(item.get("upload-time"))
                if when is not None:
                    times[item["filename"]] = when
    else:
        page = parse_html(body.decode("utf-8", errors="replace"), url)
    files: dict[str, IndexFile] = {}
    for link in page.links:
        verdict = accept_link(link, url, _ANY_HOST)
        if isinstance(verdict, Entry):
            name = verdict.filename
            old = files.get(name)
            if old is None or (old.sha256 is None and verdict.sha256 is not None):
                files[name] = IndexFile(name, verdict.location, verdict.sha256, times.get(name))
    return files


class IndexBusyError(RemoteError):
    """The index answered 429 or 5xx: worth asking again."""


def read_page(response: httpx.Response, url: str) -> bytes:
    """The body of ``response``, decompressed here with a bound on the output.

    Hand-written because httpx inflates each network chunk without an output limit (one 64 KiB gzip chunk can
    become 64 MiB at once); ``zlib``'s ``max_length`` keeps every step within :data:`MAX_PAGE_BYTES`.
    """
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflate = None
    if encoding in {"gzip", "x-gzip", "deflate"}:
        inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    elif encoding not in {"", "identity"}:
        raise RemoteError(
            f"{redact(url)} sent its page in an unsupported encoding ({encoding[:40]!r})",
            hint="check --index-url",
        )
    body = bytearray()
    for raw in response.iter_raw(1 << 16):
        data = raw
        while data and len(body) <= MAX_PAGE_BYTES:
            if inflate is None:
                body += data
                break
            try:
                body += inflate.decompress(data, MAX_PAGE_BYTES + 1 - len(body))
            except zlib.error as exc:
                raise RemoteError(
                    f"{redact(url)} sent a corrupt compressed page", hint="retry later"
                ) from exc
            data = inflate.unconsumed_tail
        if len(body) > MAX_PAGE_BYTES:
            raise RemoteError(
                f"the page {redact(url)} is larger than {MAX_PAGE_BYTES >> 20} MiB",
                hint="check --index-url; a project page is never that large",
            )
    return bytes(body)


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
    :raises RemoteError: the index cannot be reached, answers with another error or sends no index page.
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
        body = read_page(response, url)
        content_type = response.headers.get("content-type", "")
        final = str(response.url)
    try:
        files = parse_listing(final, content_type, body)
    except NotAnIndexError as exc:
        raise RemoteError(
            f"{redact(url)} sent a page that is not a simple index ({exc})", hint="check --index-url"
        ) from None
    return IndexListing(url=url, files=files)


def digest_of_remote(client: httpx.Client, url: str, *, auth: httpx.Auth | None = None) -> str:
    """The sha256 of a file on an index whose listing gave no hash (downloads it once; the caller makes sure it
    is on the index's own host)."""
    hasher = hashlib.sha256()
    with client.stream("GET", url, auth=auth) as response:
        if response.status_code >= 400:
            raise RemoteError(f"{redact(url)} answered HTTP {response.status_code}", hint="retry later")
        for block in response.iter_bytes(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()
