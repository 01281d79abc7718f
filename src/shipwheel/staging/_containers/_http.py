"""An HTTP(S) container: a page of links (directory listings, static bucket listings) or a simple index.

The page is asked for PEP 691 JSON first and HTML otherwise; S3-style XML bucket listings are understood too.
Pagination follows ``rel="next"`` links, ``Link: <…>; rel="next"`` headers, a JSON ``next`` and S3 continuation
tokens, up to :data:`MAX_PAGES` pages of at most :data:`MAX_PAGE_BYTES` each. When the page lists no file of
the project, the PEP 503 project page ``<url>/<normalized-name>/`` is tried. Redirects are followed up to five
times and only to the container's host (or an allowed one).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from packaging.utils import canonicalize_name

from ..._http import OriginAuth, make_client, netrc_credentials, origin, read_body, redact
from ..._retry import is_retryable_status
from ...errors import AuthenticationError
from ...simple_index import MAX_PAGE_BYTES, Page, parse_html, parse_json_page
from ._base import Entry, Listing, Opened, TransferError
from ._listing import host_allowed, judge, manifest_link, parse_link_header, parse_s3_xml

__all__ = ["MAX_PAGES", "MAX_PAGE_BYTES", "HttpContainer"]

#: Pages of one listing at most (a loop or an endless listing stops here with an error).
MAX_PAGES = 2000

#: PEP 629's declaration, which index software (PyPI, devpi, pypiserver) puts in its PEP 503 pages.
_REPOSITORY_VERSION = re.compile(rb"<meta\s+name=[\"']pypi:repository-version[\"']", re.IGNORECASE)

_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1, application/xml;q=0.05, */*;q=0.01"
)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


class HttpContainer:
    """A container reached over HTTP(S); credentials in the URL (or ``~/.netrc`` for its host) are moved to the
    client, never shown, and sent only to the container's own origin (scheme, host, port)."""

    def __init__(
        self, url: str, *, allow_hosts: Sequence[str] = (), timeout: float = 60.0, max_connections: int = 16
    ) -> None:
        parts = urlsplit(url)
        creds = (
            (unquote(parts.username or ""), unquote(parts.password or ""))
            if parts.username or parts.password
            else netrc_credentials(url)
        )
        self.url = redact(url)
        auth = OriginAuth(self.url, *creds) if creds else None
        self.display = self.url
        self.allow_hosts = tuple(allow_hosts)
        #: ``(host, port)`` of the HTTPS file hosts an index page linked with hashes (:func:`index_file_host`).
        self.index_hosts: set[tuple[str, int | None]] = set()
        self.client = make_client(
            timeout=timeout,
            max_connections=max_connections,
            auth=auth,
            follow_redirects=True,
            max_redirects=5,
        )
        self.client.event_hooks = {"request": [self._check_host]}
        self.client.headers["Accept-Encoding"] = "identity"

    def _check_host(self, request: httpx.Request) -> None:
        if host_allowed(str(request.url), self.url, self.allow_hosts):
            return
        if request.url.scheme == "https" and (request.url.host, request.url.port or 443) in self.index_hosts:
            return
        if request.url.scheme not in {"http", "https"}:
            raise _unsupported(self.display)
        own, there = origin(self.url), origin(request.url)
        if own[0] != there[0] and (
            own[1] == there[1] or host_allowed(f"https://{there[1]}/", self.url, self.allow_hosts)
        ):
            raise TransferError(
                f"{self.display} redirects from {own[0]} to {there[0]}, which fetch does not follow",
                hint=f"use the {there[0]}:// URL of the container if you trust it",
            )
        raise TransferError(
            f"{self.display} redirects to another host, {request.url.host}",
            hint="allow that host with --allow-host if you trust it",
        )

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()

    @contextlib.contextmanager
    def _errors(self, url: str, failure: str, hint: str) -> Iterator[None]:
        """httpx's exceptions as :class:`TransferError`: a network failure is ``failure: <why>`` (retryable)."""
        try:
            yield
        except httpx.TooManyRedirects as exc:
            raise TransferError(f"{redact(url)} redirects too often", hint="check the container URL") from exc
        except httpx.UnsupportedProtocol as exc:
            raise _unsupported(self.display) from exc
        except httpx.TransportError as exc:
            raise TransferError(f"{failure}: {exc or type(exc).__name__}", hint=hint, retryable=True) from exc

    # -- listing -------------------------------------------------------------------------------------------

    def _get_page(self, url: str) -> tuple[Page, httpx.Response, bool]:
        """The page at ``url``, the response, and whether the page is a simple index's (PEP 691 content type, or
        PEP 503/629 HTML declaring ``pypi:repository-version``)."""
        with (
            self._errors(url, f"cannot read {redact(url)}", "check the URL and the network"),
            self.client.stream("GET", url, headers={"Accept": _ACCEPT}) as response,
        ):
            self._raise_for_status(response, url)
            body = read_body(
                response,
                MAX_PAGE_BYTES,
                f"listing page {redact(url)}",
                hint="point --from at the project's own page or folder",
            )
        final = str(response.url)
        ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        head = bytes(body[:512]).lstrip()
        if "json" in ctype:  # a page that says it is JSON is PEP 691's, or refused: never read as empty
            page = parse_json_page(bytes(body), final)
        elif ("xml" in ctype and b"ListBucketResult" in body[:4096]) or (
            head.startswith(b"<?xml") and b"ListBucketResult" in body[:4096]
        ):
            page = parse_s3_xml(body.decode("utf-8", "replace"), final)
        else:
            page = parse_html(_decode(bytes(body), response), final)
        if page.next_url is None and "link" in response.headers:
            page.next_url = parse_link_header(response.headers["link"], final)
        index = ctype.startswith("application/vnd.pypi.simple.") or (
            page.kind == "html" and _REPOSITORY_VERSION.search(bytes(body[:8192])) is not None
        )
        return page, response, index

    def _walk(self, start: str, listing: Listing) -> bool:
        """Read ``start`` and the pages after it into ``listing``; whether the first page existed."""
        seen: set[str] = set()
        url: str | None = start
        while url is not None:
            if url in seen:
                break  # a listing whose "next" loops back: everything was read once
            if len(seen) >= MAX_PAGES:
                raise TransferError(
                    f"listing of {self.display} has more than {MAX_PAGES} pages",
                    hint="point --from at the project's own page or folder",
                )
            seen.add(url)
            try:
                page, _, index = self._get_page(url)
            except TransferError as exc:
                if len(seen) == 1 and exc.status == 404:
                    return False
                raise
            listing.pages += 1
            entries, rejected = judge(page.links, self.url, self.allow_hosts, index_page=index)
            for entry in entries:
                listing.add(entry)
                there = urlsplit(entry.location)
                if index and not host_allowed(entry.location, self.url, self.allow_hosts) and there.hostname:
                    self.index_hosts.add((there.hostname.lower(), there.port or 443))
            listing.rejected += rejected
            listing.manifest = listing.manifest or manifest_link(page.links, self.url)
            if page.next_url is not None and not host_allowed(page.next_url, self.url, self.allow_hosts):
                raise TransferError(
                    f"the listing of {self.display} continues on another host",
                    hint="allow that host with --allow-host if you trust it",
                )
            url = page.next_url
        return True

    def _project_page(self, project: str) -> str | None:
        parts = urlsplit(self.url)
        if parts.query:
            return None
        base = self.url if self.url.endswith("/") else self.url + "/"
        return urljoin(base, f"{canonicalize_name(project)}/")

    def listing(self, project: str | None = None) -> Listing:
        """Every release file the page (and its following pages) links to; for a simple index root, the
        project's page.

        A URL ending in ``/simple/`` or ``/+simple/`` is taken for an index root: its project page is read first
        (an index root such as PyPI's lists every project and is large). Any other URL is read first, and the
        project page only when it lists no file of the project.
        """
        sub = self._project_page(project) if project is not None else None
        root_like = urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1] in {"simple", "+simple"}
        if sub is not None and root_like:
            first = Listing()
            if self._walk(sub, first):
                return first
        listing = Listing()
        if not self._walk(self.url, listing):
            raise TransferError(
                f"{self.display} does not exist (HTTP 404)", hint="check the container URL", status=404
            )
        wanted = canonicalize_name(project) if project is not None else None
        if (
            sub is not None
            and not root_like
            and not any(e.dist.name == wanted for e in listing.entries.values())
        ):
            project_listing = Listing()
            if self._walk(sub, project_listing):
                project_listing.pages += listing.pages
                project_listing.manifest = project_listing.manifest or listing.manifest
                project_listing.rejected = listing.rejected + project_listing.rejected
                return project_listing
        return listing

    # -- files ---------------------------------------------------------------------------------------------

    def _raise_for_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        where = redact(url)
        if status in {401, 403}:
            raise AuthenticationError(
                f"{where} refused access (HTTP {status})",
                hint="put credentials in ~/.netrc or in the URL (user:password@host)",
            )
        raise TransferError(
            f"{where} answered HTTP {status}",
            hint="try again later" if is_retryable_status(status) else "check the container URL",
            retryable=is_retryable_status(status),
            retry_after=_retry_after(response),
            status=status,
        )

    @contextlib.contextmanager
    def stream(self, entry: Entry, offset: int = 0, end: int | None = None) -> Iterator[Opened]:
        """GET the file, from ``offset`` (to ``end``) with a Range request; raw bytes, no content decoding."""
        headers = {}
        if offset or end is not None:
            headers["Range"] = f"bytes={offset}-{end - 1 if end is not None else ''}"
        failure, hint = f"connection failed for {entry.filename}", "check the network; run again to resume"
        with (
            self._errors(entry.location, failure, hint),
            self.client.stream("GET", entry.location, headers=headers) as response,
        ):
            if response.status_code == 416 and offset:
                # The partial file is not a prefix of this one (it is as long or longer): start over.
                response.close()
                with self.stream(entry, 0, end) as opened:
                    yield opened
                return
            self._raise_for_status(response, entry.location)
            start, total = 0, None
            length = response.headers.get("Content-Length", "")
            if response.status_code == 206:
                start, total = _content_range(response.headers.get("Content-Range", ""))
            elif length.isdigit():
                total = int(length)
            if response.status_code == 206 and start != offset:
                raise TransferError(
                    f"{redact(entry.location)} answered a range request with the wrong range",
                    hint="try again; the server may not support resuming",
                    retryable=True,
                )
            ranges = response.status_code == 206 or response.headers.get("Accept-Ranges", "") == "bytes"
            yield Opened(start, total, self._chunks(response, entry), ranges)

    @staticmethod
    def _chunks(response: httpx.Response, entry: Entry) -> Iterator[bytes]:
        try:
            yield from response.iter_raw()
        except httpx.TransportError as exc:
            raise TransferError(
                f"download of {entry.filename} broke off: {exc or type(exc).__name__}",
                hint="check the network; run again to resume",
                retryable=True,
            ) from exc

    def read_small(self, location: str, limit: int = 16 << 20) -> bytes:
        """GET a small file (the manifest)."""
        with (
            self._errors(location, f"cannot read {redact(location)}", "check the network"),
            self.client.stream("GET", location) as response,
        ):
            self._raise_for_status(response, location)
            body = bytearray()
            for block in response.iter_raw():
                body += block
                if len(body) > limit:
                    raise TransferError(f"{redact(location)} is too large", hint="check the container")
            return bytes(body)


def _content_range(value: str) -> tuple[int, int | None]:
    """``bytes 100-199/200`` -> ``(100, 200)``; ``(-1, None)`` when unreadable."""
    unit, _, rest = value.partition(" ")
    span, _, total = rest.partition("/")
    first = span.partition("-")[0]
    if unit.strip().lower() != "bytes" or not first.isdigit():
        return -1, None
    return int(first), int(total) if total.isdigit() else None


def _unsupported(display: str) -> TransferError:
    return TransferError(
        f"{display} redirects to a URL that is not http(s), which fetch does not follow",
        hint="point the container URL at where the files really are",
    )


def _decode(body: bytes, response: httpx.Response) -> str:
    """The page's text in its declared charset; UTF-8 when the charset is unknown (``charset=bogus``)."""
    try:
        return body.decode(response.encoding or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")
