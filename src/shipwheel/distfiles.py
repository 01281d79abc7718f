"""Release file names: what a wheel or sdist filename says, parsed once, the same way for every command.

Every command that takes files from a folder, a listing or an index (verify, stage, fetch, sign, publish) asks
this module whether a name is a distribution of one project and version. Exact matching on normalized names and
parsed versions: ``numpy 2.4.6`` never takes ``numpy-2.4.60`` or ``numpy_quaternion-2.4.6``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import UsageError
from .matrix import Identifier, wheel_identifiers

__all__ = [
    "FAMILIES",
    "DigestMemo",
    "DistFile",
    "FileStamp",
    "Hasher",
    "active_digests",
    "collect_release_files",
    "continue_hash",
    "digests_once",
    "file_digests",
    "file_stamp",
    "hash_chunks",
    "is_dist_filename",
    "new_hasher",
    "select",
]

#: Platform families of the old wheel-uploader's ``-t`` option.
FAMILIES: tuple[str, ...] = ("all", "win", "macosx", "manylinux", "musllinux", "linux")

_SDIST_SUFFIXES = (".tar.gz", ".zip")
_DIST_SUFFIXES = (".whl", *_SDIST_SUFFIXES)
# Files that travel beside distributions; a shell glob (dist/*) names them too, and they are not release files.
_SIDE_FILES = (".asc", ".sig", ".attestation", ".sha256", ".part")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")


@dataclass(frozen=True, slots=True)
class DistFile:
    """A parsed distribution filename."""

    filename: str
    kind: Literal["wheel", "sdist"]
    name: NormalizedName
    version: Version
    tags: frozenset[Tag] = frozenset()
    build: tuple[int, str] | tuple[()] = ()

    @classmethod
    def parse(cls, filename: str) -> DistFile | None:
        """Parse ``filename``; ``None`` when it is not a valid wheel or sdist name (or holds a path separator)."""
        if not _SAFE_NAME.match(filename) or filename in {".", ".."} or ".." in filename.split("/"):
            return None
        if filename.endswith(".whl"):
            try:
                name, version, build, tags = parse_wheel_filename(filename)
            except (InvalidWheelFilename, InvalidVersion):
                return None
            return cls(filename, "wheel", name, version, tags, build)
        if filename.endswith(_SDIST_SUFFIXES):
            try:
                name, version = parse_sdist_filename(filename)
            except (InvalidSdistFilename, InvalidVersion):
                return None
            return cls(filename, "sdist", name, version)
        return None

    @property
    def is_zip_sdist(self) -> bool:
        """A ``.zip`` sdist: PyPI refuses these (PEP 625)."""
        return self.kind == "sdist" and self.filename.endswith(".zip")

    @property
    def pep625_name(self) -> str | None:
        """For an sdist, the name PEP 625 prescribes: ``{normalized_name}-{version}.tar.gz``."""
        if self.kind != "sdist":
            return None
        return f"{self.name.replace('-', '_')}-{self.version}.tar.gz"

    @property
    def identifiers(self) -> list[Identifier]:
        """The build identifiers of a wheel (``[]`` for sdists and pure wheels)."""
        return wheel_identifiers(self.filename) if self.kind == "wheel" else []

    @property
    def platforms(self) -> frozenset[str]:
        """The platform tags of a wheel (``any`` for pure ones); empty for sdists."""
        return frozenset(t.platform for t in self.tags)

    def family(self) -> str:
        """The wheel-uploader family: ``win``, ``macosx``, ``manylinux``, ``musllinux``, ``linux``, ``any`` or
        ``sdist``."""
        if self.kind == "sdist":
            return "sdist"
        plats = self.platforms
        for prefix, family in (
            ("win", "win"),
            ("macosx", "macosx"),
            ("manylinux", "manylinux"),
            ("musllinux", "musllinux"),
            ("linux", "linux"),
        ):
            if any(p.startswith(prefix) for p in plats):
                return family
        return "any"

    def in_family(self, family: str) -> bool:
        """Whether this file belongs to ``family`` (``-t``): ``all`` takes everything; ``linux`` takes manylinux,
        musllinux and plain linux wheels; pure wheels and sdists belong to every family."""
        own = self.family()
        if family == "all" or own in {"any", "sdist"}:
            return True
        if family == "linux":
            return own in {"manylinux", "musllinux", "linux"}
        return own == family

    def matches(self, project: str, version: str | Version) -> bool:
        """Whether this is a file of ``project`` at exactly ``version`` (normalized name, parsed version)."""
        try:
            want = version if isinstance(version, Version) else Version(version)
        except InvalidVersion:
            return False
        return self.name == canonicalize_name(project) and self.version == want


def is_dist_filename(name: str) -> bool:
    """Whether ``name`` is a valid wheel or sdist filename without any path part."""
    return DistFile.parse(name) is not None


def select(filenames: Iterable[str], project: str, version: str) -> list[DistFile]:
    """The distribution files of ``project`` ``version`` among ``filenames``, wheels first, then sdists."""
    out = [d for d in (DistFile.parse(f) for f in filenames) if d is not None and d.matches(project, version)]
    return sorted(out, key=lambda d: (d.kind == "sdist", d.filename))


class Hasher(Protocol):
    """A running digest, as :mod:`hashlib` makes them: what :func:`new_hasher` and :func:`continue_hash` return."""

    def update(self, data: bytes, /) -> None:
        """Add ``data`` to what is hashed."""

    def hexdigest(self) -> str:
        """The digest of everything added so far, in lower-case hex."""


def new_hasher(algorithm: str = "sha256") -> Hasher:
    """A fresh hasher for ``algorithm``: a :mod:`hashlib` name, or ``blake2b-256``."""
    # PyPI's upload form wants blake2b with a 32-byte digest, which hashlib.new cannot name.
    if algorithm == "blake2b-256":
        return hashlib.blake2b(digest_size=32)
    return hashlib.new(algorithm)


def _feed(hashers: Iterable[Hasher], chunks: Iterable[bytes]) -> int:
    # The one hashing loop: every stream of bytes the package hashes (files, parts, response bodies) passes here.
    size = 0
    targets = tuple(hashers)
    for block in chunks:
        for h in targets:
            h.update(block)
        size += len(block)
    return size


def _blocks(path: Path, chunk: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            yield block


def hash_chunks(
    chunks: Iterable[bytes], algorithms: tuple[str, ...] = ("sha256",)
) -> tuple[dict[str, str], int]:
    """Hex digests of a stream of byte chunks (a response body, a remote file) and how many bytes it held.

    The one stream-hashing helper: :func:`file_digests` and :func:`continue_hash` are built on the same loop.
    """
    hashers = {a: new_hasher(a) for a in algorithms}
    size = _feed(hashers.values(), chunks)
    return {a: h.hexdigest() for a, h in hashers.items()}, size


def continue_hash(path: Path, algorithm: str = "sha256", chunk: int = 1 << 20) -> tuple[Hasher, int]:
    """A hasher that has read the file at ``path`` (the part of a download already on disk), and the number of
    bytes it read: feed it with ``update`` what is appended next, so that a resumed download hashes while it
    writes and never reads the whole file again."""
    hasher = new_hasher(algorithm)
    return hasher, _feed((hasher,), _blocks(path, chunk))


def file_digests(
    path: Path, algorithms: tuple[str, ...] = ("sha256",), chunk: int = 1 << 20
) -> dict[str, str]:
    """Hex digests of the file at ``path``, reading it once: the one file-hashing helper (``sign``, ``stage``,
    ``publish``, the verified download). ``algorithms`` are :mod:`hashlib` names, or ``blake2b-256``.

    Inside :func:`digests_once` (a release run) the sha256 of a file already hashed is taken from there while the
    file's :func:`file_stamp` is unchanged."""
    memo = _memo
    if memo is None or algorithms != ("sha256",):
        return hash_chunks(_blocks(path, chunk), algorithms)[0]
    known = memo.get(path)
    if known is not None:
        return {"sha256": known}
    stamp = file_stamp(path)
    digest = hash_chunks(_blocks(path, chunk), algorithms)[0]
    memo.put(path, digest["sha256"], stamp)
    return digest


#: A file's size, mtime, ctime (in nanoseconds), inode and device: see :func:`file_stamp`.
FileStamp = tuple[int, int, int, int, int]


def file_stamp(path: Path) -> FileStamp:
    """What identifies a file's bytes without reading them: size, mtime, ctime, inode and device (a rewrite, a
    rename onto it or a ``touch`` changes it). Digests are reused only while it holds."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class DigestMemo:
    """The sha256 of files hashed once, each kept with the :func:`file_stamp` the file had before it was read."""

    def __init__(self) -> None:
        self._known: dict[Path, tuple[FileStamp, str]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> str | None:
        """The sha256 recorded for ``path``, when the file still has the stamp it had then."""
        key = path.resolve()
        with self._lock:
            entry = self._known.get(key)
        if entry is None:
            return None
        try:
            return entry[1] if file_stamp(path) == entry[0] else None
        except OSError:
            return None

    def put(self, path: Path, sha256: str, stamp: FileStamp) -> None:
        """Record ``sha256`` of ``path``, read while it had ``stamp`` (kept only if it still has it)."""
        try:
            if file_stamp(path) != stamp:
                return  # changed while it was read: the digest may be of neither version
        except OSError:
            return
        with self._lock:
            self._known[path.resolve()] = (stamp, sha256)


_memo: DigestMemo | None = None


@contextlib.contextmanager
def digests_once() -> Iterator[DigestMemo]:
    """Within the block, each file's sha256 is computed once (by :func:`file_digests`, or recorded through the
    memo yielded) and reused while the file is unchanged: what one release run does, whose steps would otherwise
    hash the same wheelhouse again each. Outside it every call hashes (a standalone command trusts no memo)."""
    global _memo
    outer = _memo
    memo = outer or DigestMemo()
    _memo = memo
    try:
        yield memo
    finally:
        _memo = outer


def active_digests() -> DigestMemo | None:
    """The memo of the enclosing :func:`digests_once` block, if any."""
    return _memo


def collect_release_files(paths: Sequence[Path], *, lenient: bool = False) -> list[Path]:
    """The release files that ``paths`` name: what every command that takes ``FILES|WHEELHOUSE`` works on.

    - a folder gives its top-level wheels and sdists;
    - a file must have a valid distribution filename; signatures, attestations and manifests that a shell glob
      names as well are passed over;
    - the same file named twice is taken once.

    ``lenient`` is for checkers (``shipwheel verify``), which report what is wrong instead of refusing it: every
    ``*.whl``, ``*.tar.gz`` and ``*.zip`` is taken whatever its name, and an empty folder, or two different files
    with one name, are left for the checker to report.

    :raises UsageError: a path that does not exist; unless ``lenient``: a folder without release files, a file that
        is not a distribution, two different files with one name, or nothing at all.
    """

    def wanted(name: str) -> bool:
        return name.endswith(_DIST_SUFFIXES) if lenient else DistFile.parse(name) is not None

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            items = sorted(p for p in path.iterdir() if p.is_file() and wanted(p.name))
            if not items and not lenient:
                raise UsageError(
                    f"{path} holds no wheel or sdist", hint="build the release first, or name its files"
                )
        elif path.is_file():
            if path.name.endswith(_SIDE_FILES) or path.name.startswith("SHA256SUMS"):
                continue
            if not wanted(path.name) and not lenient:
                raise UsageError(
                    f"{path.name!r} is not a wheel or sdist filename",
                    hint="pass .whl, .tar.gz or a wheelhouse folder",
                )
            items = [path]
        else:
            raise UsageError(
                f"{path} does not exist", hint="pass wheel/sdist files or the folder holding them"
            )
        found += items
    unique: dict[Path, Path] = {}
    for item in found:
        unique.setdefault(item.resolve(), item)
    files = sorted(unique.values(), key=lambda p: (p.name, str(p)))
    if lenient:
        return files
    names = [p.name for p in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"two different files are named {twice[0]}", hint="pass only one of them")
    if not files:
        where = ", ".join(str(p) for p in paths) or "."
        raise UsageError(
            f"no wheel or sdist in {where}", hint="build them first (shipwheel build) or pass their paths"
        )
    return files
