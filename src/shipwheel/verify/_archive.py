"""Archive-level checks shared by wheels (zip) and sdists (tar.gz): member paths, links, duplicates, CRCs, bombs.

Each archive is read from memory, once: the iterators below yield every regular member's content after the
checks, so that the wheel and sdist checks hash and parse it without a second pass.
"""

from __future__ import annotations

import io
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from tarfile import DIRTYPE

from ._model import FileResult

__all__ = ["MAX_DEPTH", "Limits", "iter_tar", "iter_zip", "member_name_problem"]

#: Folder levels of a member at most. Real releases stay far below (about 15 for the deepest data trees); a
#: member thousands of levels deep is made to break extractors and the tools that walk the tree afterwards.
MAX_DEPTH = 64
#: One path component, and a whole path, at most (in UTF-8 bytes): Linux's NAME_MAX and PATH_MAX less the NUL.
_NAME_MAX = 255
_PATH_MAX = 4095
#: C0 and C1 controls and DEL (a newline in a name forges RECORD rows and terminal lines), and the bidi controls
#: that show a name other than it is.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _short(name: str) -> str:
    """A member name for a message: quoted, and cut when it is very long (the name may be 4 KiB of ``d/``)."""
    return repr(name) if len(name) <= 120 else repr(name[:60]) + f" … ({len(name):,} characters)"


#: Links followed while resolving one path, as Linux does (ELOOP past 40).
_MAX_LINK_HOPS = 40

#: Members smaller than this are never called bombs, whatever their ratio: they unpack to little whatever it is,
#: and real ones compress very well (Pillow 13's wheels graft a 2 MiB libXau, mostly the zero padding of its
#: page-aligned segments, that expands 224 times).
_RATIO_MIN_SIZE = 16 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """The size limits of ``[tool.shipwheel.verify]``."""

    max_file_size: int = 100 * 1024 * 1024
    max_uncompressed_size: int = 4 * 1024**3
    max_compression_ratio: float = 200.0


def member_name_problem(name: str, seen: set[str], *, repeat_ok: bool = False) -> tuple[str, str] | None:
    """The problem code and message for a member name that stands twice in the archive (``seen`` holds the names
    before it; this one is added) or is an unsafe path; ``None`` when it is fine. ``repeat_ok``: a tar may name a
    folder again.

    The one rule set of member names, for wheels (zip) and sdists (tar) alike: a name is refused when it holds a
    control character, is not valid UTF-8, is deeper or longer than a file system takes, or leaves the install
    folder. A name that cannot be judged is refused, never passed.
    """
    if name in seen and not repeat_ok:
        return "archive-duplicate", f"member {_short(name)} appears more than once"
    seen.add(name)
    if _SURROGATE.search(name):  # tarfile decodes bytes that are not UTF-8 as lone surrogates
        return "archive-name-encoding", f"member {_short(name)} has a name that is not valid UTF-8"
    if _CONTROL.search(name):
        return "archive-control-character", f"member {_short(name)} has a control character in its name"
    parts = name.rstrip("/").split("/")
    if len(parts) > MAX_DEPTH:
        return (
            "archive-path-too-deep",
            f"member {_short(name)} is {len(parts):,} levels deep (at most {MAX_DEPTH})",
        )
    longest = max(len(p.encode("utf-8", "surrogatepass")) for p in parts)
    if longest > _NAME_MAX or len(name.encode("utf-8", "surrogatepass")) > _PATH_MAX:
        return (
            "archive-path-too-deep",
            f"member {_short(name)} has a name of {len(name):,} characters, longer than file systems take",
        )
    if "\\" in name:
        return "archive-backslash", f"member {_short(name)} has a backslash in its path"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "archive-absolute-path", f"member {_short(name)} has an absolute path"
    if ".." in name.split("/"):
        return "archive-path-traversal", f"member {_short(name)} escapes the install folder with '..'"
    return None


def _resolve(path: str, links: dict[str, str], *, follow_last: bool) -> list[str] | None:
    """Where ``path`` lands when the archive is extracted, following the links extracted before it as the OS
    does (a link's ``..`` applies to where the link points, not to its own name), or ``None`` when it climbs above
    the extraction folder, goes through an absolute link or loops. Returns path components."""
    todo = [p for p in reversed(path.split("/"))]  # a stack: the next component is last
    out: list[str] = []
    hops = 0
    while todo:
        part = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                return None
            out.pop()
            continue
        here = "/".join([*out, part])
        if here in links and (todo or follow_last):
            hops += 1
            target = links[here]
            if hops > _MAX_LINK_HOPS or target.startswith("/"):
                return None
            todo.extend(reversed(target.split("/")))
            continue
        out.append(part)
    return out


class _LinkTracker:
    """The links of a tar as they are extracted: flags a member that lands outside its own top folder once the
    links before it are followed (``l1 -> ..``, ``l2 -> l1/..``, ``l2/pwned.txt``), like tarfile's ``data`` filter
    and an extracting tar, which both follow links already on disk."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}

    def escape(self, member: tarfile.TarInfo) -> str | None:
        """Why ``member`` leaves its top folder (and record it when it is a link), or ``None``."""
        name = member.name.rstrip("/")
        top = name.split("/", 1)[0]
        where = _resolve(name, self.links, follow_last=False)
        if not where or where[0] != top:
            return f"member {name!r} is written outside the {top}/ folder through a link"
        if member.issym():
            self.links["/".join(where)] = member.linkname
            target = _resolve("/".join(where), self.links, follow_last=True)
        elif member.islnk():  # a hard link names its target from the archive's root
            target = (
                None
                if member.linkname.startswith("/")
                else _resolve(member.linkname, self.links, follow_last=True)
            )
        else:
            return None
        if not target or target[0] != top:
            return f"member {name!r} links outside the {top}/ folder, to {member.linkname!r}"
        return None


def iter_zip(data: bytes, result: FileResult, limits: Limits) -> Iterator[tuple[str, bytes]]:
    """Check the zip in ``data`` member by member; yield ``(name, content)`` of each regular, readable member.

    Problems go to ``result``. A file that is no zip at all gives one ``archive-invalid`` and yields nothing.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        result.add("archive-invalid", f"not a valid zip archive: {exc}")
        return
    result.members = len(infos)
    seen: set[str] = set()
    total = sum(i.file_size for i in infos)
    result.uncompressed_size = total
    if total > limits.max_uncompressed_size:
        result.add(
            "archive-too-large",
            f"the archive unpacks to {total:,} bytes, over the limit of {limits.max_uncompressed_size:,}",
        )
        return
    for info in infos:
        name = info.filename
        if bad := member_name_problem(name, seen):
            result.add(*bad)
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            result.add("archive-link", f"member {name!r} is a symbolic link")
            continue
        if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            # Unix modes are only meant when the zip says it was made on Unix; a FIFO or device as a member is
            # refused as it is in an sdist.
            result.add("archive-special-file", f"member {name!r} is a device, fifo or other special file")
            continue
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            result.add("archive-encrypted", f"member {name!r} is encrypted")
            continue
        if info.file_size >= _RATIO_MIN_SIZE and info.file_size > limits.max_compression_ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            result.add(
                "archive-compression-ratio",
                f"member {name!r} expands {ratio:,.0f} times ({info.compress_size:,} -> {info.file_size:,} bytes)",
            )
            continue
        try:
            with zf.open(info) as fh:
                # Read at most one byte more than declared: a member that lies about its size stops there.
                content = fh.read(info.file_size + 1)
        except zipfile.BadZipFile as exc:
            code = "archive-crc" if "CRC" in str(exc) else "archive-invalid"
            result.add(code, f"member {name!r}: {exc}")
            continue
        except (zlib.error, OSError, EOFError, NotImplementedError, ValueError) as exc:
            result.add("archive-invalid", f"member {name!r} cannot be decompressed: {exc}")
            continue
        yield name, content


def iter_tar(data: bytes, result: FileResult, limits: Limits) -> Iterator[tuple[str, bytes]]:
    """Check the gzip'd tar in ``data`` member by member; yield ``(name, content)`` of each regular member.

    Relative links that stay inside the member's top folder are allowed (source trees have them); a link that
    leaves it, or a member that would be written outside it through earlier links, is not. The gzip CRC of the whole stream is checked when the stream ends.
    """
    seen: set[str] = set()
    total = 0
    links = _LinkTracker()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
            while (member := tf.next()) is not None:
                result.members += 1
                name = member.name
                if bad := member_name_problem(name, seen, repeat_ok=member.type == DIRTYPE):
                    result.add(*bad)
                    continue
                if escape := links.escape(member):
                    result.add("archive-link", escape)
                    continue
                if member.issym() or member.islnk():
                    continue
                if member.isdir():
                    continue
                if not member.isfile():
                    result.add(
                        "archive-special-file", f"member {name!r} is a device, fifo or other special file"
                    )
                    continue
                total += member.size
                if total > limits.max_uncompressed_size:
                    result.add(
                        "archive-too-large",
                        f"the archive unpacks to more than {limits.max_uncompressed_size:,} bytes",
                    )
                    return
                # A tar.gz compresses as one stream, so the ratio is the whole archive's: a bomb member is caught
                # from its declared size, before it is read.
                if total >= _RATIO_MIN_SIZE and total > limits.max_compression_ratio * max(len(data), 1):
                    result.add(
                        "archive-compression-ratio",
                        f"the archive expands more than {total / max(len(data), 1):,.0f} times "
                        f"({len(data):,} -> {total:,} bytes by member {name!r})",
                    )
                    return
                fh = tf.extractfile(member)
                content = fh.read() if fh is not None else b""
                yield name, content
            # Drain the stream so that gzip verifies its CRC and length trailer.
            while tf.fileobj is not None and tf.fileobj.read(1 << 20):
                pass
    except (tarfile.TarError, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        code = "archive-crc" if "CRC" in str(exc) else "archive-invalid"
        result.add(code, f"not a valid .tar.gz archive: {exc}")
    finally:
        result.uncompressed_size = total
