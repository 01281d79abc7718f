"""Reproducible archives: rewrite an sdist or a wheel canonically so the same inputs give the same bytes.

Backends and auditwheel mostly honour ``SOURCE_DATE_EPOCH``, but not all of them for every field (tar owners and
modes, gzip header times, zip member order and permissions). Rather than trust each one, shipwheel rewrites every
archive it produces: members in a canonical order, every time stamp from ``SOURCE_DATE_EPOCH``, owners and modes
normalized, compression settings fixed. Member contents are never changed, so a wheel's RECORD stays valid.
(Hand-written: no library does this for both formats; ``repro-zipfile`` covers zips only.)
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import zipfile
from pathlib import Path

__all__ = ["normalize_sdist", "normalize_wheel", "sdist_to_zip"]

_ZIP_EPOCH_MIN = 315532800  # 1980-01-01, the earliest time a zip can hold


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    t = time.gmtime(max(epoch, _ZIP_EPOCH_MIN))
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _wheel_order(name: str) -> tuple[int, str]:
    # Package files first, then .dist-info with RECORD last: the order wheel builders use and installers expect.
    top = name.split("/", 1)[0]
    if top.endswith(".dist-info"):
        return (2 if name.endswith("/RECORD") else 1, name)
    return (0, name)


def _replace(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)


def normalize_wheel(path: Path, epoch: int) -> None:
    """Rewrite the wheel at ``path`` in place, canonically."""
    date_time = _zip_time(epoch)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for info in sorted(src.infolist(), key=lambda i: _wheel_order(i.filename)):
            if info.is_dir():
                continue
            mode = (info.external_attr >> 16) & 0o777
            out = zipfile.ZipInfo(info.filename, date_time=date_time)
            out.external_attr = ((0o755 if mode & 0o111 else 0o644) | 0o100000) << 16
            out.compress_type = zipfile.ZIP_DEFLATED
            out.create_system = 3  # Unix, so the modes above are honoured
            dst.writestr(out, src.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    _replace(tmp, path)


def _read_tar_members(path: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(path, "r:*") as tar:
        for info in tar.getmembers():
            data = None
            if info.isfile():
                fh = tar.extractfile(info)
                data = fh.read() if fh is not None else b""
            members.append((info, data))
    return members


def normalize_sdist(path: Path, epoch: int) -> None:
    """Rewrite the ``.tar.gz`` sdist at ``path`` in place, canonically (PAX format, gzip without name or time)."""
    members = _read_tar_members(path)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in sorted(members, key=lambda m: m[0].name):
            if not (info.isfile() or info.isdir()):
                continue  # links and devices have no place in an sdist
            out = tarfile.TarInfo(info.name)
            out.mtime = epoch
            out.uid = out.gid = 0
            out.uname = out.gname = ""
            if info.isdir():
                out.type = tarfile.DIRTYPE
                out.mode = 0o755
                tar.addfile(out)
            else:
                out.mode = 0o755 if info.mode & 0o111 else 0o644
                out.size = len(data or b"")
                tar.addfile(out, io.BytesIO(data or b""))
    tmp = path.with_name(path.name + ".tmp")
    with (
        tmp.open("wb") as fh,
        gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=epoch, compresslevel=9) as gz,
    ):
        gz.write(raw.getvalue())
    _replace(tmp, path)


def sdist_to_zip(sdist: Path, dest: Path, epoch: int) -> Path:
    """Write a ``.zip`` sdist with the same members as the ``.tar.gz`` one (for projects that still ship one)."""
    date_time = _zip_time(epoch)
    with zipfile.ZipFile(dest, "w") as out:
        for info, data in sorted(_read_tar_members(sdist), key=lambda m: m[0].name):
            if not info.isfile():
                continue
            zi = zipfile.ZipInfo(info.name, date_time=date_time)
            zi.external_attr = ((0o755 if info.mode & 0o111 else 0o644) | 0o100000) << 16
            zi.create_system = 3
            out.writestr(zi, data or b"", compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return dest
