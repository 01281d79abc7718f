"""Safe parsing of listings: HTML pages of links, PEP 503/691 simple indexes, S3-style XML bucket listings.

A listed name becomes an :class:`~shipwheel.containers.Entry` only when the last segment of its URL path,
percent-decoded, is a valid distribution filename (no ``/``, ``\\``, ``..``, no control characters), and when the
link stays on the container's own host (or one the user allowed) over http(s). Everything else that looks like a
release file is recorded as :class:`~shipwheel.containers.Rejected` with a reason; navigation links (sorting,
parent folder) are ignored silently.
"""

from __future__ import annotations

import html.parser
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urldefrag, urlencode, urljoin, urlsplit
from xml.etree import ElementTree

from .._http import redact as _redact
from ..distfiles import DistFile
from . import Entry, Rejected, TransferError

__all__ = ["Link", "Page", "accept_link", "parse_html", "parse_json", "parse_link_header", "parse_s3_xml"]

_DIST_SUFFIX = re.compile(r"\.(whl|tar\.gz|zip)$", re.IGNORECASE)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a listing, before it is judged: the target (absolute), and what the listing says about it."""

    url: str
    name: str | None = None
    size: int | None = None
    sha256: str | None = None
    rel: str = ""
    #: PEP 700 ``upload-time`` of a PEP 691 file, as the page wrote it.
    upload_time: str | None = None


@dataclass(slots=True)
class Page:
    """One parsed page: its links, the URL of the next page if it is paginated, and the manifest link."""

    links: list[Link]
    next_url: str | None = None
    kind: str = "html"
    projects: list[str] | None = None


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str], str]] = []
        self.base: str | None = None
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"]
        elif tag == "link" and "next" in a.get("rel", "").lower().split() and a.get("href"):
            self.anchors.append((a, ""))
        elif tag == "a":
            self._finish()
            self._open, self._text = a, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._finish()

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def _finish(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None

    def close(self) -> None:
        super().close()
        self._finish()


def _fragment_sha256(url: str) -> tuple[str, str | None]:
    clean, frag = urldefrag(url)
    algo, _, value = frag.partition("=")
    if algo.lower() == "sha256" and _SHA256.match(value):
        return clean, value.lower()
    return clean, None


def parse_html(text: str, page_url: str) -> Page:
    """Links of an HTML page (directory listing or PEP 503 page), made absolute against ``page_url`` or its
    ``<base href>``; ``#sha256=`` fragments become hashes; ``rel="next"`` links become the next page."""
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links: list[Link] = []
    next_url: str | None = None
    for attrs, label in parser.anchors:
        href = attrs.get("href", "").strip()
        if not href:
            continue
        rel = attrs.get("rel", "").lower()
        absolute = urljoin(base, href)
        if "next" in rel.split():
            next_url = next_url or urldefrag(absolute)[0]
            continue
        clean, digest = _fragment_sha256(absolute)
        links.append(Link(clean, name=label or None, sha256=digest, rel=rel))
    return Page(links, next_url, "html")


def parse_json(data: Any, page_url: str) -> Page:
    """Links of a PEP 691 JSON page (``files`` with ``filename``, ``url``, ``hashes``, ``size``); a top-level or
    ``meta`` ``next`` URL continues the listing."""
    if not isinstance(data, dict):
        return Page([], None, "json")
    links: list[Link] = []
    for item in data.get("files") or []:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        hashes: dict[str, Any] = item["hashes"] if isinstance(item.get("hashes"), dict) else {}
        digest = hashes.get("sha256") if isinstance(hashes.get("sha256"), str) else None
        clean, frag_digest = _fragment_sha256(urljoin(page_url, item["url"]))
        digest = digest.lower() if digest and _SHA256.match(digest) else frag_digest
        size = item.get("size") if isinstance(item.get("size"), int) and item["size"] >= 0 else None
        name = item.get("filename") if isinstance(item.get("filename"), str) else None
        uploaded = item.get("upload-time") if isinstance(item.get("upload-time"), str) else None
        links.append(Link(clean, name=name, size=size, sha256=digest, upload_time=uploaded))
    meta: dict[str, Any] = data["meta"] if isinstance(data.get("meta"), dict) else {}
    nxt = data.get("next") or meta.get("next")
    projects = None
    if isinstance(data.get("projects"), list):
        projects = [
            p["name"] for p in data["projects"] if isinstance(p, dict) and isinstance(p.get("name"), str)
        ]
    return Page(links, urljoin(page_url, nxt) if isinstance(nxt, str) else None, "json", projects)


def parse_s3_xml(text: str, page_url: str) -> Page:
    """Keys of an S3 ``ListBucketResult`` (v1 or v2) served over plain HTTP; a truncated result continues with
    ``continuation-token`` (v2) or ``marker`` (v1)."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # S3 never sends a DTD; entities only serve attacks
        return Page([], None, "s3-xml")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return Page([], None, "s3-xml")
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


def accept_link(link: Link, container_url: str, allow_hosts: Sequence[str]) -> Entry | Rejected | None:
    """Judge one link: an :class:`Entry`, a :class:`Rejected` (looks like a release file but is unsafe), or
    ``None`` (navigation, other files)."""
    parts = urlsplit(link.url)
    raw_segment = parts.path.rsplit("/", 1)[-1]
    name = unquote(raw_segment)
    label = link.name or name
    looks_like_dist = bool(_DIST_SUFFIX.search(name) or _DIST_SUFFIX.search(label))
    if name == "SHA256SUMS":
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
    if not host_allowed(link.url, container_url, allow_hosts):
        if parts.scheme == "http" and urlsplit(container_url).scheme == "https":
            return Rejected(label, "insecure: an http:// link on an https:// container", link.url)
        return Rejected(label, f"other-host: {parts.hostname} (allow it with --allow-host)", link.url)
    return Entry(dist, link.url, link.size, link.sha256)


def judge(
    links: Iterable[Link], container_url: str, allow_hosts: Sequence[str]
) -> tuple[list[Entry], list[Rejected]]:
    """:func:`accept_link` over ``links``."""
    entries: list[Entry] = []
    rejected: list[Rejected] = []
    for link in links:
        verdict = accept_link(link, container_url, allow_hosts)
        if isinstance(verdict, Entry):
            entries.append(verdict)
        elif isinstance(verdict, Rejected):
            rejected.append(verdict)
    return entries, rejected


def manifest_link(links: Iterable[Link], container_url: str) -> str | None:
    """The URL of a ``SHA256SUMS`` link on the container's own host, if the page has one."""
    for link in links:
        if unquote(urlsplit(link.url).path.rsplit("/", 1)[-1]) == "SHA256SUMS" and host_allowed(
            link.url, container_url, ()
        ):
            return link.url
    return None


__all__ += ["host_allowed", "judge", "manifest_link"]


def parse_json_bytes(body: bytes, page_url: str) -> Page:
    """:func:`parse_json` over raw bytes (invalid JSON gives an empty page); JSON nested too deeply for Python's
    parser is a :class:`~shipwheel.containers.TransferError`, never a ``RecursionError``."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Page([], None, "json")
    except RecursionError:
        raise TransferError(
            f"{_redact(page_url)} sent a JSON page nested too deeply to be a PEP 691 page",
            hint="check the container URL; the server misbehaves",
        ) from None
    return parse_json(data, page_url)


__all__ += ["parse_json_bytes"]
