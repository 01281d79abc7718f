"""macOS and Windows binaries: the architecture each is built for, and the oldest macOS it runs on.

A wheel tagged ``macosx_10_9_x86_64`` whose extension needs macOS 11 fails to import on 10.9 to 10.15 (the check
``delocate`` makes); a ``win_amd64`` wheel with an ARM64 DLL fails everywhere. Mach-O load commands
(``LC_BUILD_VERSION``, ``LC_VERSION_MIN_MACOSX``, fat headers) and the PE header are read with ``struct``.
"""

from __future__ import annotations

import posixpath
import re
import struct
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ._model import FileResult

__all__ = ["MachO", "check_macos", "check_windows", "is_macho", "pe_machine", "read_macho"]

_MH_MAGIC_64 = b"\xcf\xfa\xed\xfe"  # little-endian 64-bit
_MH_MAGIC = b"\xce\xfa\xed\xfe"  # little-endian 32-bit
_FAT_MAGIC = b"\xca\xfe\xba\xbe"
_LC_BUILD_VERSION, _LC_VERSION_MIN_MACOSX, _PLATFORM_MACOS = 0x32, 0x24, 1
_LC_DYLIBS = {0xC, 0x80000018, 0x8000001F}  # LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB
#: Where macOS itself keeps the libraries a wheel may load by absolute path.
_MACOS_SYSTEM = ("/usr/lib/", "/System/Library/")
_CPU = {0x01000007: "x86_64", 0x0100000C: "arm64", 7: "i386", 18: "ppc", 0x01000012: "ppc64"}
_PE_MACHINES = {0x8664: "AMD64", 0x14C: "x86", 0xAA64: "ARM64", 0x200: "IA64"}
_WIN_TAGS = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64", "win_ia64": "IA64"}
_MACOS_ARCHES = {
    "x86_64": {"x86_64"},
    "arm64": {"arm64"},
    "universal2": {"x86_64", "arm64"},
    "intel": {"x86_64", "i386"},
    "universal": {"x86_64", "i386", "ppc", "ppc64"},
}


def is_macho(data: bytes) -> bool:
    """Whether ``data`` starts like a (thin or fat) Mach-O file."""
    head = data[:4]
    return head in (_MH_MAGIC_64, _MH_MAGIC) or (
        head == _FAT_MAGIC and len(data) > 8 and struct.unpack_from(">I", data, 4)[0] < 32
    )


@dataclass(frozen=True, slots=True)
class MachO:
    """One slice of a Mach-O file: its architecture and the oldest macOS it declares."""

    arch: str
    minos: tuple[int, int] | None
    #: install names of the libraries it loads (LC_LOAD_DYLIB, weak and re-exported ones too)
    dylibs: tuple[str, ...] = ()


def _thin(data: bytes, offset: int) -> MachO:
    magic = data[offset : offset + 4]
    is64 = magic == _MH_MAGIC_64
    cputype, _, _, ncmds, _ = struct.unpack_from("<iiIII", data, offset + 4)
    pos = offset + (32 if is64 else 28)
    minos: tuple[int, int] | None = None
    dylibs: list[str] = []
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd in _LC_DYLIBS:
            (name_offset,) = struct.unpack_from("<I", data, pos + 8)
            start = pos + name_offset
            end = data.index(b"\0", start, pos + size) if b"\0" in data[start : pos + size] else pos + size
            dylibs.append(data[start:end].decode("utf-8", "replace"))
        elif cmd == _LC_BUILD_VERSION:
            platform, version = struct.unpack_from("<II", data, pos + 8)
            if platform == _PLATFORM_MACOS:
                minos = (version >> 16, (version >> 8) & 0xFF)
        elif cmd == _LC_VERSION_MIN_MACOSX:
            (version,) = struct.unpack_from("<I", data, pos + 8)
            minos = (version >> 16, (version >> 8) & 0xFF)
        if size < 8:
            raise ValueError("bad load command size")
        pos += size
    return MachO(_CPU.get(cputype & 0xFFFFFFFF, hex(cputype)), minos, tuple(dylibs))


def read_macho(data: bytes) -> list[MachO]:
    """Every slice of a thin or fat Mach-O file. Raises ValueError (or struct.error) on a malformed one."""
    if data[:4] == _FAT_MAGIC:
        (count,) = struct.unpack_from(">I", data, 4)
        slices = []
        for i in range(count):
            _, _, offset, _, _ = struct.unpack_from(">iiIII", data, 8 + 20 * i)
            slices.append(_thin(data, offset))
        return slices
    return [_thin(data, 0)]


def pe_machine(data: bytes) -> str | None:
    """The machine of a PE (DLL, .pyd, .exe) file, ``None`` when it is not one."""
    if data[:2] != b"MZ" or len(data) < 0x40:
        return None
    (offset,) = struct.unpack_from("<I", data, 0x3C)
    if data[offset : offset + 4] != b"PE\0\0" or len(data) < offset + 6:
        return None
    (machine,) = struct.unpack_from("<H", data, offset + 4)
    return _PE_MACHINES.get(machine, hex(machine))


def check_macos(
    result: FileResult, platforms: Iterable[str], binaries: dict[str, list[MachO]], members: AbstractSet[str]
) -> None:
    """Each Mach-O binary must hold the tag's architectures, need no newer macOS than the tag says, and load only
    system libraries or libraries the wheel holds (``@loader_path/...``)."""
    claims = [m for m in (re.match(r"^macosx_(\d+)_(\d+)_(.+)$", p) for p in platforms) if m]
    if not claims:
        return
    oldest = min((int(m[1]), int(m[2])) for m in claims)
    # From macOS 11 on, installers match the major version only (macosx_11_0 installs on 11.x).
    oldest_ok = (oldest[0], 99) if oldest[0] >= 11 else oldest
    wanted = set().union(*(_MACOS_ARCHES.get(m[3], {m[3]}) for m in claims))
    for name, slices in binaries.items():
        external = sorted(
            {d for s in slices for d in s.dylibs if d.startswith("/") and not d.startswith(_MACOS_SYSTEM)}
        )
        folder = posixpath.dirname(name)
        missing = sorted(
            {
                d
                for s in slices
                for d in s.dylibs
                if d.startswith("@loader_path/")
                and posixpath.normpath(posixpath.join(folder, d[len("@loader_path/") :])) not in members
            }
        )
        if external:
            result.add(
                "macho-external-library",
                f"{name} loads {', '.join(external)}, which exists only on the build machine",
            )
        if missing:
            result.add("macho-external-library", f"{name} loads {', '.join(missing)}, which the wheel lacks")
        arches = {s.arch for s in slices}
        if not wanted <= arches:
            result.add(
                "macho-arch-mismatch",
                f"{name} holds {', '.join(sorted(arches))}; the tag needs {', '.join(sorted(wanted))}",
            )
        for s in slices:
            if s.minos is None or s.arch not in wanted:
                continue
            # arm64 Macs start at macOS 11: a universal2 wheel tagged 10_9 may need 11.0 in its arm64 slice.
            limit = max(oldest_ok, (11, 99)) if s.arch == "arm64" else oldest_ok
            if s.minos > limit:
                result.add(
                    "macho-min-version",
                    f"{name} ({s.arch}) needs macOS {s.minos[0]}.{s.minos[1]}, "
                    f"the tag says macOS {oldest[0]}.{oldest[1]}",
                )
                break


def check_windows(result: FileResult, platforms: Iterable[str], binaries: dict[str, str]) -> None:
    """Each PE binary must be built for the machine the ``win*`` tag names."""
    wanted = {_WIN_TAGS[p] for p in platforms if p in _WIN_TAGS}
    if len(wanted) != 1:
        return
    (want,) = wanted
    for name, machine in binaries.items():
        if machine != want:
            result.add("pe-arch-mismatch", f"{name} is built for {machine}; the tag says {want}")
