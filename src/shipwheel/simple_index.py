"""PEP 503 (HTML) and PEP 691 (JSON) simple-index pages: the one parser and the one renderer.

:func:`parse_html` and :func:`parse_json` turn a page into :class:`Link` objects (absolute URLs, ``<base href>``
honoured, ``#sha256=`` fragments and PEP 691 hashes lower-cased, PEP 700 ``upload-time`` kept, the next page of a
paginated listing noted); what a link may become is judged by the caller (the staging containers' listing code
follows pagination and checks hosts). :func:`parse_project_page` is the whole job for one project page, with the
limits ``fetch`` applies: read the body with :func:`shipwheel._http.read_body` and :data:`MAX_PAGE_BYTES` (counted
after decompression), JSON nested too deeply for Python's parser is a :class:`~shipwheel.errors.TransferError`.
:func:`render_index` writes the static pages ``stage`` and ``publish``'s ``file:`` targets serve.
"""

from __future__ import annotations

import html
import html.parser
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from ._http import redact
from .distfiles import DistFile
from .errors import TransferError

__all__ = [
    "ACCEPT",
    "MAX_PAGE_BYTES",
    "IndexFile",
    "Link",
    "Page",
    "parse_html",
    "parse_json",
    "parse_json_bytes",
    "parse_json_page",
    "parse_project_page",
    "render_index",
]

#: The ``Accept`` header of a project-page query: PEP 691 JSON first, then HTML.
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
#: Bytes of one listing or project page at most (decompressed).
MAX_PAGE_BYTES = 64 << 20

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_API_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One release file of a simple-index project page, as read (:func:`parse_project_page`) or to be written
    (:func:`render_index`).

    ``filename`` is the last segment of ``url`` (never the link text nor a PEP 691 ``filename`` that differs
    from it), ``sha256`` is lower-case hex or ``None``, ``upload_time`` is PEP 700's, when the page gives it.
    """

    filename: str
    url: str = ""
    sha256: str | None = None
    size: int | None = None
    upload_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a page, before it is judged: the target (absolute), and what the page says about it."""

    url: str
    name: str | None = None
    size: int | None = None
    sha256: str | None = None
    rel: str = ""
    #: PEP 700 ``upload-time`` of a PEP 691 file, as the page wrote it.
    upload_time: str | None = None


@dataclass(slots=True)
class Page:
    """One parsed page: its links, the URL of the next page if it is paginated, its kind, and (for a PEP 691
    project list) the project names."""

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
    items = data.get("files")
    for item in items if isinstance(items, list) else []:
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


def _not_an_index(page_url: str, why: str) -> TransferError:
    return TransferError(
        f"{redact(page_url)} sent a page that is not a simple index ({why})",
        hint="check the index or container URL; the server misbehaves",
    )


def _load_json(body: bytes, page_url: str, *, strict: bool) -> Any:
    try:
        return json.loads(body)
    except RecursionError:  # deeply nested arrays: the decoder gives up, cleanly
        raise _not_an_index(page_url, "the JSON page is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        if strict:
            raise _not_an_index(page_url, "the JSON page does not parse") from None
        return None


def parse_json_bytes(body: bytes, page_url: str) -> Page:
    """:func:`parse_json` over raw bytes, for listings that may be anything (invalid JSON gives an empty page);
    JSON nested too deeply for Python's parser is a :class:`TransferError`, never a ``RecursionError``."""
    return parse_json(_load_json(body, page_url, strict=False), page_url)


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _check_json_page(data: Any, url: str, *, project: bool) -> None:
    """Fail closed: a JSON answer is a PEP 691 page, or it is refused. A project page has ``files``, a list of
    objects each with a string ``filename`` and ``url`` and a ``hashes`` object; an index root (``project``
    false) may have ``projects`` instead. A check that reads "no file of this version" from a page it could not
    understand would pass when it cannot decide."""
    if not isinstance(data, dict):
        raise _not_an_index(url, "the JSON page is not a PEP 691 page: not an object")
    meta = data.get("meta", {})
    if not isinstance(meta, dict) or not isinstance(meta.get("api-version", ""), str):
        raise _not_an_index(url, "the JSON page's meta is not PEP 691's")
    if not project and "files" not in data:
        projects = data.get("projects")
        if isinstance(projects, list) and all(
            isinstance(p, dict) and isinstance(p.get("name"), str) for p in projects
        ):
            return
        raise _not_an_index(url, "the JSON page is not a PEP 691 page: no files nor projects list")
    if not isinstance(data.get("files"), list):
        raise _not_an_index(url, "the JSON page is not a PEP 691 project page: no files list")
    for item in data["files"]:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("filename"), str)
            and isinstance(item.get("url"), str)
            and isinstance(item.get("hashes", {}), dict)
        ):
            raise _not_an_index(url, "a file of the JSON page lacks its filename, url or hashes")


def parse_json_page(body: bytes, page_url: str) -> Page:
    """:func:`parse_json` of a page that says it is JSON (its content type), failing closed: JSON that does not
    parse, is nested too deeply or is not a PEP 691 page is a :class:`TransferError`, never an empty page."""
    data = _load_json(body, page_url, strict=True)
    _check_json_page(data, page_url, project=False)
    return parse_json(data, page_url)


def parse_project_page(body: bytes, content_type: str, url: str) -> list[IndexFile]:
    """The release files of a PEP 691 (``content_type`` holding ``json``) or PEP 503 (HTML) project page at
    ``url`` (the URL the page was finally read from), one per file name (the link that publishes a hash wins).

    Links whose URL is not http(s) or does not end in a valid wheel or sdist filename are left out; links to other
    hosts are kept (PyPI's files live on ``files.pythonhosted.org``): the caller decides what it fetches.

    :raises TransferError: the body is over :data:`MAX_PAGE_BYTES`; JSON that does not parse, is nested too
        deeply, or is not a PEP 691 project object.
    """
    if len(body) > MAX_PAGE_BYTES:
        raise TransferError(
            f"the page {redact(url)} is larger than {MAX_PAGE_BYTES >> 20} MiB", hint="check the index URL"
        )
    if "json" in content_type.lower():
        data = _load_json(body, url, strict=True)
        _check_json_page(data, url, project=True)
        page = parse_json(data, url)
    else:
        page = parse_html(body.decode("utf-8", "replace"), url)
    files: dict[str, IndexFile] = {}
    for link in page.links:
        parts = urlsplit(link.url)
        name = unquote(parts.path.rsplit("/", 1)[-1])
        if parts.scheme not in {"http", "https"} or DistFile.parse(name) is None:
            continue
        old = files.get(name)
        if old is None or (old.sha256 is None and link.sha256 is not None):
            files[name] = IndexFile(name, link.url, link.sha256, link.size, _parse_time(link.upload_time))
    return list(files.values())


def _html_page(title: str, links: Iterable[tuple[str, str]]) -> bytes:
    body = "\n".join(
        f'    <a href="{html.escape(href, quote=True)}">{html.escape(text)}</a><br/>' for href, text in links
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{_API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    ).encode()


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=1) + "\n").encode()


def render_index(files: Iterable[IndexFile]) -> dict[str, bytes]:
    """The static index pages for release files that sit two folders above the project pages:
    ``{relative path: content}`` (``simple/index.html`` and ``.json``, ``simple/<project>/index.html`` and
    ``.json``), files linked as ``../../<file>#sha256=<hex>``. ``url`` of ``files`` is not used."""
    by_project: dict[str, list[tuple[IndexFile, DistFile]]] = defaultdict(list)
    for f in files:
        dist = DistFile.parse(f.filename)
        if dist is not None:
            by_project[dist.name].append((f, dist))
    pages: dict[str, bytes] = {}
    projects = sorted(by_project)
    pages["simple/index.html"] = _html_page("Simple index", [(f"{quote(p)}/", p) for p in projects])
    pages["simple/index.json"] = _json(
        {"meta": {"api-version": _API_VERSION}, "projects": [{"name": p} for p in projects]}
    )
    for project in projects:
        items = sorted(
            by_project[project], key=lambda fd: (fd[1].version, fd[1].kind == "sdist", fd[0].filename)
        )
        href = {f.filename: f"../../{quote(f.filename)}#sha256={f.sha256}" for f, _ in items}
        pages[f"simple/{project}/index.html"] = _html_page(
            f"Links for {project}", [(href[f.filename], f.filename) for f, _ in items]
        )
        pages[f"simple/{project}/index.json"] = _json(
            {
                "meta": {"api-version": _API_VERSION},
                "name": project,
                "versions": [str(v) for v in sorted({d.version for _, d in items})],
                "files": [
                    {
                        "filename": f.filename,
                        "url": href[f.filename].split("#", 1)[0],
                        "hashes": {"sha256": f.sha256},
                        "size": f.size,
                    }
                    for f, _ in items
                ],
            }
        )
    return pages
