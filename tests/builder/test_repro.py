"""Canonical archives: the same members in another order, with other times and owners, give the same bytes."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from pathlib import Path

from shipwheel.builder._repro import normalize_sdist, normalize_wheel, sdist_to_zip

MEMBERS = {
    "pkg/__init__.py": b"x = 1\n",
    "pkg/_ext.so": b"\x7fELF...",
    "pkg-1.0.dist-info/RECORD": b"...",
    "pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
}


def make_wheel(path: Path, order: list[str], when: tuple[int, int, int, int, int, int]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=when)
            info.external_attr = (0o775 if name.endswith(".so") else 0o664) << 16
            zf.writestr(info, MEMBERS[name])


def test_normalized_wheels_are_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.whl", tmp_path / "b.whl"
    make_wheel(a, list(MEMBERS), (2020, 1, 1, 0, 0, 0))
    make_wheel(b, list(reversed(MEMBERS)), (2024, 5, 6, 7, 8, 10))
    for p in (a, b):
        normalize_wheel(p, 1_700_000_000)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        names = zf.namelist()
        assert names[-1].endswith("/RECORD") and names[0].startswith("pkg/")
        assert zf.read("pkg/_ext.so") == MEMBERS["pkg/_ext.so"]
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        assert modes["pkg/_ext.so"] == 0o755 and modes["pkg/__init__.py"] == 0o644
        assert zf.getinfo("pkg/__init__.py").date_time == time.gmtime(1_700_000_000)[:6]


def make_sdist(path: Path, order: list[str], mtime: int, uid: int) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name in order:
            info = tarfile.TarInfo(f"pkg-1.0/{name}")
            info.size, info.mtime, info.uid, info.uname = len(MEMBERS[name]), mtime, uid, f"user{uid}"
            tar.addfile(info, io.BytesIO(MEMBERS[name]))


def test_normalized_sdists_are_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    make_sdist(a, list(MEMBERS), 1, 1000)
    make_sdist(b, list(reversed(MEMBERS)), 99999, 0)
    for p in (a, b):
        normalize_sdist(p, 1_700_000_000)
    assert a.read_bytes() == b.read_bytes()
    with tarfile.open(a) as tar:
        assert all(m.mtime == 1_700_000_000 and m.uid == 0 and m.uname == "" for m in tar.getmembers())
    z = sdist_to_zip(a, tmp_path / "pkg-1.0.zip", 1_700_000_000)
    with zipfile.ZipFile(z) as zf:
        assert sorted(zf.namelist()) == sorted(f"pkg-1.0/{n}" for n in MEMBERS)
