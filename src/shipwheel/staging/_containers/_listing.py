"""Safe judging of listings: which links of a page become release files; S3-style XML bucket listings and
``Link`` headers. HTML and PEP 691 pages are parsed by :mod:`shipwheel.simple_index`.

A listed name becomes an :class:`~shipwheel.staging.Entry` only when the last segment of its URL path,
percent-decoded, is a valid distribution filename (no ``/``, ``\\``, ``..``, no control characters), and when the
link stays on the container's own host (or one the user allowed) over http(s). Everything else that looks like a
release file is recorded as :class:`~shipwheel.staging.Rejected` with a reason; navigation links (sorting,
parent folder) are ignored silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused_etree

from ..._http import redact
from ...distfiles import DistFile
from ...manifest import MANIFEST
from ...simple_index import Link, Page
from ._base import Entry, Rejected, TransferError

__all__ = ["accept_link", "parse_link_header", "parse_s3_xml"]

_DIST_SUFFIX = re.compile(r"\.(whl|tar\.gz|zip)$", re.IGNORECASE)


def parse_s3_xml(text: str, page_url: str) -> Page:
    """Keys of an S3 ``ListBucketResult`` (v1 or v2) served over plain HTTP; a truncated result continues with
    ``continuation-token`` (v2) or ``marker`` (v1).

    The page comes from a server nobody vouched for: it is parsed with defusedxml, which refuses DTDs, entity
    declarations (the billion laughs, quadratic blow-up) and external references before expanding anything. A page
    that is refused or does not parse is a :class:`TransferError`: a listing that cannot be read lists nothing.
    """
    redacted = redact(page_url)
    try:
        root = defused_etree.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:  # S3 never sends a DTD or entities; they only serve attacks
        raise TransferError(
            f"the S3 listing {redacted} was refused: {type(exc).__name__} (S3 never sends one)",
            hint="point --from at the bucket's real endpoint",
        ) from exc
    except ParseError as exc:
        raise TransferError(
            f"the S3 listing {redacted} is not valid XML: {exc}", hint="check the container URL"
        ) from exc
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    split = urlsplit(page_url)
    bucket_url = f"{split.scheme}://{split.netloc}{split.path}"
    if not bucket_url.endswith("/"):
        bucket_url += "/"
    links: list[Link] = []
    last_key = ""
    for contents in root.iter(f"{ns}Contents"):
        key = contents.findtext(f"{ns}Key") or ""
        size_text = contents.findtext(f"{ns}Size") or ""
        last_key = key
        links.append(
            Link(
                urljoin(bucket_url, _quote_key(key)),
                name=key.rsplit("/", 1)[-1],
                size=int(size_text) if size_text.isdigit() else None,
            )
        )
    next_url = None
    if (root.findtext(f"{ns}IsTruncated") or "").strip().lower() == "true":
        query = dict(parse_qsl(split.query))
        token = root.findtext(f"{ns}NextContinuationToken")
        if token:
            query["continuation-token"] = token
        else:
            query["marker"] = root.findtext(f"{ns}NextMarker") or last_key
        next_url = f"{split.scheme}://{split.netloc}{split.path}?{urlencode(query)}"
    return Page(links, next_url, "s3-xml")


def _quote_key(key: str) -> str:
    return quote(key, safe="/")


_LINK_HEADER = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def parse_link_header(value: str, page_url: str) -> str | None:
    """The ``rel="next"`` target of an HTTP ``Link`` header (RFC 8288), absolute."""
    for m in _LINK_HEADER.finditer(value):
        params = m.group(2).lower()
        if re.search(r'rel\s*=\s*"?[^";]*\bnext\b', params):
            return str(urljoin(page_url, m.group(1).strip()))
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port out of range: matches no host
        return parts.scheme, "", -1
    return parts.scheme, (parts.hostname or "").lower(), port


def host_allowed(url: str, container_url: str, allow_hosts: Sequence[str]) -> bool:
    """Whether ``url`` is on the container's own host and port, or on a host the user allowed."""
    scheme, host, port = _origin(url)
    own_scheme, own_host, own_port = _origin(container_url)
    if (host, port) == (own_host, own_port) and (scheme == own_scheme or scheme == "https"):
        return True
    if own_scheme == "https" and scheme != "https":
        return False  # never downgrade, not even to an allowed host
    allowed = {h.lower() for h in allow_hosts}
    return host in allowed or f"{host}:{port}" in allowed or "*" in allowed


def index_file_host(link: Link, container_url: str) -> bool:
    """Whether an index page's link may be followed to a host of its own: the index (PyPI, TestPyPI, a devpi) was
    reached over HTTPS, the file is served over HTTPS, and the page pins its sha256, which the download is checked
    against. That is PyPI's own arrangement (``pypi.org/simple/`` -> ``files.pythonhosted.org``); a page that only
    looks like a listing, or a link without a hash, gets no such trust."""
    return (
        urlsplit(container_url).scheme == "https"
        and urlsplit(link.url).scheme == "https"
        and bool(urlsplit(link.url).hostname)
        and link.sha256 is not None
    )


def accept_link(
    link: Link, container_url: str, allow_hosts: Sequence[str], *, index_page: bool = False
) -> Entry | Rejected | None:
    """Judge one link: an :class:`Entry`, a :class:`Rejected` (looks like a release file but is unsafe), or
    ``None`` (navigation, other files). ``index_page``: the page is a simple index's (PEP 691 JSON, or PEP 503
    HTML that declares ``pypi:repository-version``), whose file host is allowed by :func:`index_file_host`."""
    parts = urlsplit(link.url)
    raw_segment = parts.path.rsplit("/", 1)[-1]
    name = unquote(raw_segment)
    label = link.name or name
    looks_like_dist = bool(_DIST_SUFFIX.search(name) or _DIST_SUFFIX.search(label))
    if name == MANIFEST:
        return None
    if not looks_like_dist:
        return None
    if parts.scheme not in {"http", "https"}:
        return Rejected(label, f"bad-scheme: {parts.scheme or 'none'}", link.url)
    # The file is named by the last segment of its URL only: never by the link text or a PEP 691 ``filename``,
    # which a hostile page can set to a wheel's name while the URL serves something else.
    dist = DistFile.parse(name)
    if dist is None:
        return Rejected(
            label, "bad-name: not a valid wheel or sdist filename (or holds a path part)", link.url
        )
    if not host_allowed(link.url, container_url, allow_hosts) and not (
        index_page and index_file_host(link, container_url)
    ):
        if parts.scheme == "http" and urlsplit(container_url).scheme == "https":
            return Rejected(label, "insecure: an http:// link on an https:// container", link.url)
        why = " without a sha256 on the index page" if index_page and link.sha256 is None else ""
        return Rejected(label, f"other-host: {parts.hostname}{why} (allow it with --allow-host)", link.url)
    return Entry(dist, link.url, link.size, link.sha256)


def judge(
    links: Iterable[Link], container_url: str, allow_hosts: Sequence[str], *, index_page: bool = False
) -> tuple[list[Entry], list[Rejected]]:
    """:func:`accept_link` over ``links``."""
    entries: list[Entry] = []
    rejected: list[Rejected] = []
    for link in links:
        verdict = accept_link(link, container_url, allow_hosts, index_page=index_page)
        if isinstance(verdict, Entry):
            entries.append(verdict)
        elif isinstance(verdict, Rejected):
            rejected.append(verdict)
    return entries, rejected


def manifest_link(links: Iterable[Link], container_url: str) -> str | None:
    """The URL of a ``SHA256SUMS`` link on the container's own host, if the page has one."""
    for link in links:
        if unquote(urlsplit(link.url).path.rsplit("/", 1)[-1]) == MANIFEST and host_allowed(
            link.url, container_url, ()
        ):
            return link.url
    return None


__all__ += ["host_allowed", "index_file_host", "judge", "manifest_link"]
