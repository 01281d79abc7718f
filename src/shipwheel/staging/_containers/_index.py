"""The manifest of any container (:func:`read_container_manifest`), and static simple indexes (PEP 503 HTML +
PEP 691 JSON) for a container whose release files sit at its top level.

Layout, relative to the container's root (a folder, or an S3 prefix served over HTTP)::

    numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.whl   release files, flat
    SHA256SUMS                                          the manifest
    simple/index.html   simple/index.json               project list
    simple/numpy/index.html   simple/numpy/index.json   files of numpy, linked as ../../<file>#sha256=<hex>

``pip install --index-url <root>/simple/ numpy==2.4.6`` works over ``file://`` and over any static HTTP server
(it serves ``index.html`` for the folder). Static hosting cannot negotiate content types, so the JSON form sits
beside the HTML one as ``index.json``; shipwheel's own ``fetch`` reads either. The pages are rendered by
:func:`shipwheel.simple_index.render_index`, the manifest by :mod:`shipwheel.manifest`.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name

from ..._retry import RetryPolicy
from ...distfiles import DistFile, file_digests
from ...manifest import MANIFEST, format_manifest, parse_manifest, read_manifest
from ...simple_index import IndexFile, render_index
from ._base import Container, Listing, TransferError

__all__ = ["read_container_manifest", "write_static_index"]


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
    manifest = read_manifest(root / MANIFEST)
    manifest.update(known or {})
    files: list[IndexFile] = []
    digests: dict[str, str] = {}
    for path in sorted(root.iterdir()):
        if not path.is_file() or DistFile.parse(path.name) is None:
            continue
        digest = manifest.get(path.name) or file_digests(path)["sha256"]
        digests[path.name] = digest
        files.append(IndexFile(path.name, sha256=digest, size=path.stat().st_size))
    written: list[Path] = []
    container.put_bytes(MANIFEST, format_manifest(digests).encode())
    written.append(root / MANIFEST)
    wanted = canonicalize_name(project) if project else None
    for rel, data in render_index(files).items():
        parts = rel.split("/")
        if wanted is not None and len(parts) == 3 and parts[1] != wanted:
            continue
        container.put_bytes(rel, data)
        written.append(root / rel)
    return written


def read_container_manifest(
    container: Container,
    listing: Listing,
    policy: RetryPolicy,
    verify_manifest: Callable[[Path], None] | None = None,
    *,
    require_manifest: bool = False,
) -> dict[str, str]:
    """The container's ``SHA256SUMS`` as ``{filename: sha256}`` (``{}`` when it has none), checked by
    ``verify_manifest`` when given (it receives the manifest's path, with ``SHA256SUMS.asc`` beside it).
    A container without ``SHA256SUMS`` is refused only with ``require_manifest``."""
    if listing.manifest is None:
        if require_manifest:
            raise TransferError(
                f"{container.display} has no SHA256SUMS to verify",
                hint="stage the release with shipwheel stage, or fetch without signature verification",
            )
        return {}
    manifest = listing.manifest
    data = policy.run(lambda: container.read_small(manifest))
    if verify_manifest is not None:
        with tempfile.TemporaryDirectory(prefix="shipwheel-manifest-") as tmp:
            path = Path(tmp) / MANIFEST
            path.write_bytes(data)
            # No signature file: the hook decides whether that is acceptable.
            with contextlib.suppress(TransferError):
                signature = container.read_small(listing.manifest + ".asc", 1 << 20)
                path.with_name(f"{MANIFEST}.asc").write_bytes(signature)
            verify_manifest(path)
    return parse_manifest(data.decode("utf-8", "replace"))
