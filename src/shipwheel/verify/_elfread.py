"""A small, fast reader of the ELF parts the platform audit needs, straight from the bytes with ``struct``.

pyelftools builds Python objects for every section and entry; on the 26 Linux wheels of a numpy release that was
most of the time verify spent beyond decompressing and hashing. This reader only walks the section headers, the
dynamic section (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH), the GNU version-needed table and the GNU property
note (x86 ISA level). Symbol tables, needed only for blacklists and abi3, are still read with pyelftools.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["ElfHeaders", "parse_headers"]

_MACHINES = {3: "EM_386", 62: "EM_X86_64", 183: "EM_AARCH64", 21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM", 243: "EM_RISCV", 258: "EM_LOONGARCH"}  # fmt: skip
_SHT_DYNAMIC, _SHT_NOTE, _SHT_VERNEED = 6, 7, 0x6FFFFFFE
_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 1, 14, 15, 29
_NT_GNU_PROPERTY_TYPE_0 = 5
_GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002


@dataclass(slots=True)
class ElfHeaders:
    """What :func:`parse_headers` found."""

    machine: str
    elfclass: int
    little_endian: bool
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpaths: list[str] = field(default_factory=list)
    versions: dict[str, set[str]] = field(default_factory=dict)
    isa_needed: int = 0
    dynstr: bytes = b""


def _cstr(blob: bytes, offset: int) -> str:
    end = blob.index(b"\0", offset)
    return blob[offset:end].decode("utf-8", "replace")


def parse_headers(data: bytes) -> ElfHeaders:
    """Parse ``data``; raise ValueError (or struct.error/IndexError, which the caller maps) when it is not ELF."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ValueError("not an ELF file")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    machine = struct.unpack_from(end + "H", data, 18)[0]
    if is64:
        (shoff,) = struct.unpack_from(end + "Q", data, 40)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 58)
        shfmt, entfmt = end + "IIQQQQIIQQ", end + "qQ"
    else:
        (shoff,) = struct.unpack_from(end + "I", data, 32)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 46)
        shfmt, entfmt = end + "IIIIIIIIII", end + "iI"
    out = ElfHeaders(_MACHINES.get(machine, str(machine)), 64 if is64 else 32, end == "<")
    if shoff == 0 or shnum == 0:
        return out
    # (type, offset, size, link) of every section
    sections = []
    for i in range(shnum):
        fields = struct.unpack_from(shfmt, data, shoff + i * shentsize)
        sh_type, sh_offset, sh_size, sh_link = fields[1], fields[4], fields[5], fields[6]
        sections.append((sh_type, sh_offset, sh_size, sh_link))

    def strtab(index: int) -> bytes:
        _, off, size, _ = sections[index]
        return data[off : off + size]

    entsize = struct.calcsize(entfmt)
    for sh_type, off, size, link in sections:
        if sh_type == _SHT_DYNAMIC:
            strings = strtab(link)
            out.dynstr = strings
            for pos in range(off, off + size - entsize + 1, entsize):
                tag, value = struct.unpack_from(entfmt, data, pos)
                if tag == 0:
                    break
                if tag == _DT_NEEDED:
                    out.needed.append(_cstr(strings, value))
                elif tag == _DT_SONAME:
                    out.soname = _cstr(strings, value)
                elif tag in (_DT_RPATH, _DT_RUNPATH):
                    out.rpaths.extend(p for p in _cstr(strings, value).split(":") if p)
        elif sh_type == _SHT_VERNEED:
            strings = strtab(link)
            pos = off
            while True:
                _, cnt, file_, aux, nxt = struct.unpack_from(end + "HHIII", data, pos)
                names = out.versions.setdefault(_cstr(strings, file_), set())
                apos = pos + aux
                for _ in range(cnt):
                    _, _, _, name, anext = struct.unpack_from(end + "IHHII", data, apos)
                    names.add(_cstr(strings, name))
                    if not anext:
                        break
                    apos += anext
                if not nxt:
                    break
                pos += nxt
        elif sh_type == _SHT_NOTE:
            pos, stop = off, off + size
            align = 8 if is64 else 4
            while pos + 12 <= stop:
                namesz, descsz, ntype = struct.unpack_from(end + "III", data, pos)
                name = data[pos + 12 : pos + 12 + namesz]
                desc = pos + 12 + ((namesz + 3) & ~3)
                if ntype == _NT_GNU_PROPERTY_TYPE_0 and name == b"GNU\0":
                    ppos = desc
                    while ppos + 8 <= desc + descsz:
                        pr_type, pr_size = struct.unpack_from(end + "II", data, ppos)
                        if pr_type == _GNU_PROPERTY_X86_ISA_1_NEEDED and pr_size == 4:
                            (out.isa_needed,) = struct.unpack_from(end + "I", data, ppos + 8)
                        ppos += 8 + ((pr_size + align - 1) & ~(align - 1))
                pos = (
                    desc + ((descsz + align - 1) & ~(align - 1))
                    if ntype == _NT_GNU_PROPERTY_TYPE_0
                    else desc + ((descsz + 3) & ~3)
                )
    return out
