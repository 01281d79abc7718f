"""Static simple indexes (PEP 503 HTML + PEP 691 JSON) for a container whose release files sit at its top level.

Layout, relative to the container's root (a folder, or an S3 prefix served over HTTP)::

    numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.whl   release files, flat
    SHA256SUMS                                          the manifest
    simple/index.html   simple/index.json               project list
    simple/numpy/index.html   simple/numpy/index.json   files of numpy, linked as ../../<file>#sha256=<hex>

``pip install --index-url <root>/simple/ numpy==2.4.6`` works over ``file://`` and over any static HTTP server
(it serves ``index.html`` for the folder). Static hosting cannot negotiate content types, so the JSON form sits
beside the HTML one as ``index.json``; shipwheel's own ``fetch`` reads either.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packaging.utils import canonicalize_name

from ..distfiles import DistFile, file_digests
from . import MANIFEST, format_sha256sums, parse_sha256sums

__all__ = ["IndexFile", "render_index", "write_static_index"]

_API_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One release file as the index shows it."""

    filename: str
    sha256: str
    size: int


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


def render_index(files: Iterable[IndexFile]) -> dict[str, bytes]:
    """The index pages for ``files``: ``{relative path: content}`` (``simple/…/index.html`` and ``.json``)."""
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


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=1) + "\n").encode()


def read_manifest(root: Path) -> dict[str, str]:
    """The ``SHA256SUMS`` of a folder container, ``{}`` when it has none."""
    path = root / MANIFEST
    return parse_sha256sums(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else {}


def write_static_index(
    root: Path, project: str | None = None, known: Mapping[str, str] | None = None
) -> list[Path]:
    """Regenerate ``SHA256SUMS`` and the static PEP 503/691 index of the folder ``root``; return the paths
    written.

    Release files are those at the top level of ``root``. Their digests come from ``known`` (just computed by
    the caller), then from the existing manifest, and are computed for files neither names. ``project`` limits
    the project pages rewritten to that one (the project list and manifest always cover every file). Files are
    replaced atomically; ``shipwheel stage`` and ``shipwheel publish``'s ``file:`` targets both call this.
    """
    from ._local import LocalContainer

    container = LocalContainer(root)
    manifest = read_manifest(root)
    manifest.update(known or {})
    files: list[IndexFile] = []
    digests: dict[str, str] = {}
    for path in sorted(root.iterdir()):
        if not path.is_file() or DistFile.parse(path.name) is None:
            continue
        digest = manifest.get(path.name) or file_digests(path)["sha256"]
        digests[path.name] = digest
        files.append(IndexFile(path.name, digest, path.stat().st_size))
    written: list[Path] = []
    container.put_bytes(MANIFEST, format_sha256sums(digests).encode())
    written.append(root / MANIFEST)
    wanted = canonicalize_name(project) if project else None
    for rel, data in render_index(files).items():
        parts = rel.split("/")
        if wanted is not None and len(parts) == 3 and parts[1] != wanted:
            continue
        container.put_bytes(rel, data)
        written.append(root / rel)
    return written


__all__ += ["read_manifest"]
