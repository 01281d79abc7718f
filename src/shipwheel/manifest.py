"""``SHA256SUMS``: the checksum manifest beside a release's files, in ``sha256sum`` format.

One name (:data:`MANIFEST`), one parser (:func:`parse_manifest`), one writer (:func:`format_manifest`,
:func:`write_manifest`), used by ``stage``, ``fetch``, ``sign``, ``publish`` and the static indexes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ._fs import read_limited, write_file
from .distfiles import DistFile

#: The largest SHA256SUMS read: 64 MiB is hundreds of thousands of lines.
MAX_MANIFEST_BYTES = 64 << 20

__all__ = ["MANIFEST", "format_manifest", "parse_manifest", "read_manifest", "write_manifest"]

#: The file name of the manifest.
MANIFEST = "SHA256SUMS"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def parse_manifest(text: str) -> dict[str, str]:
    """``{filename: sha256}`` from ``sha256sum`` output (``<hex>  <name>`` or ``<hex> *<name>``), digests in
    lower case. Lines whose digest is not 64 hex digits are ignored, and so are names that are not plain wheel or
    sdist filenames (a name with a path part never reaches the file system)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        digest = digest.lower()
        if _HEX64.match(digest) and DistFile.parse(name) is not None:
            out[name] = digest
    return out


def format_manifest(digests: Mapping[str, str]) -> str:
    """The ``sha256sum`` text of ``digests``, sorted by name (what ``sha256sum --check`` reads)."""
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def read_manifest(path: Path) -> dict[str, str]:
    """The manifest at ``path`` parsed, ``{}`` when there is no such file.

    :raises OSError: the file exists but cannot be read.
    """
    if not path.is_file():
        return {}
    # bounded: a release's SHA256SUMS lists a few hundred files, not gigabytes
    return parse_manifest(read_limited(path, MAX_MANIFEST_BYTES).decode("utf-8", errors="replace"))


def write_manifest(path: Path, digests: Mapping[str, str]) -> Path:
    """Write ``digests`` to ``path`` atomically (readers never see half a manifest); a link planted at ``path``
    is replaced, never written through; return ``path``."""
    write_file(path, format_manifest(digests))
    return path
