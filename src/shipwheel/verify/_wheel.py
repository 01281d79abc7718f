"""Wheel contents: RECORD hashes and sizes, the .dist-info folder, WHEEL, METADATA, compiled code."""

from __future__ import annotations

import base64
import configparser
import csv
import dataclasses
import hashlib
import io
import re
import struct
import zipfile
from email.parser import HeaderParser

from packaging.tags import Tag, parse_tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..distfiles import DistFile
from ._archive import Limits, iter_zip
from ._claims import (
    MAX_TEXT,
    check_grafted_licences,
    check_module_versions,
    is_licence_file,
    is_version_module,
)
from ._elf import ELF_MAGIC, ElfInfo, audit_linux_wheel, check_abi3, read_elf, resolve_bundled
from ._metadata import check_metadata
from ._model import FileResult
from ._native import MachO, check_macos, check_windows, is_macho, pe_machine, read_macho

__all__ = ["check_wheel"]

_WEAK = {"md5", "sha1", "sha224"}
_DATA_DIRS = {"purelib", "platlib", "scripts", "headers", "data"}
_BINARY_SUFFIX = re.compile(r"\.(so(\.\d+)*|pyd|dylib|dll)$")
_SIGNATURES = {"RECORD.jws", "RECORD.p7s"}


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _parse_record(text: str, result: FileResult, where: str) -> dict[str, tuple[str, str, str]] | None:
    entries: dict[str, tuple[str, str, str]] = {}
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:  # a bare CR inside a field, a NUL: installers cannot read it either
        result.add("record-invalid", f"{where} line {reader.line_num} is not valid CSV: {exc}")
        return None
    for lineno, row in enumerate(rows, 1):
        if not row:
            continue
        if len(row) != 3:
            result.add("record-invalid", f"{where} line {lineno} has {len(row)} fields, not 3: {row!r}")
            continue
        path, hash_, size = row
        if path in entries:
            result.add("record-invalid", f"{where} lists {path!r} twice")
        entries[path] = (path, hash_, size)
    return entries


def _dist_info(names: list[str], dist: DistFile, result: FileResult) -> str | None:
    tops = sorted(
        {n.split("/", 1)[0] for n in names if "/" in n and n.split("/", 1)[0].endswith(".dist-info")}
    )
    if not tops:
        result.add("dist-info-missing", "the wheel has no .dist-info folder")
        return None
    if len(tops) > 1:
        result.add("dist-info-multiple", f"the wheel has {len(tops)} .dist-info folders: {', '.join(tops)}")
    top = tops[0]
    stem = top[: -len(".dist-info")]
    name, _, version = stem.rpartition("-")
    try:
        same = canonicalize_name(name) == dist.name and Version(version) == dist.version
    except InvalidVersion:
        same = False
    if not same:
        result.add(
            "dist-info-mismatch", f"the .dist-info folder {top!r} does not match {dist.name} {dist.version}"
        )
    return top


def _check_wheel_file(content: bytes | None, dist: DistFile, result: FileResult, where: str) -> bool | None:
    """Check WHEEL; return Root-Is-Purelib (``None`` when unknown)."""
    if content is None:
        result.add("wheel-file-missing", f"{where} is missing")
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.add("wheel-file-invalid", f"{where} is not UTF-8: {exc}")
        text = content.decode("utf-8", errors="replace")
    msg = HeaderParser().parsestr(text)

    def field(name: str) -> str:
        # str(): the email parser returns Header objects, not str, for some malformed values
        return str(msg.get(name) or "")

    version = field("Wheel-Version")
    if not re.match(r"^1\.\d+$", version.strip()):
        result.add("wheel-file-invalid", f"{where}: Wheel-Version is {version!r}, not 1.x")
    purelib_text = field("Root-Is-Purelib").strip().lower()
    purelib: bool | None = None
    if purelib_text not in {"true", "false"}:
        result.add("wheel-file-invalid", f"{where}: Root-Is-Purelib is {purelib_text!r}, not true or false")
    else:
        purelib = purelib_text == "true"
    tags: set[Tag] = set()
    for line in map(str, msg.get_all("Tag") or []):
        try:
            tags.update(parse_tag(line.strip()))
        except ValueError:
            result.add("wheel-file-invalid", f"{where}: Tag {line!r} does not parse")
    if not tags:
        result.add("wheel-file-invalid", f"{where} has no Tag lines")
    elif tags != set(dist.tags):
        only_file = sorted(str(t) for t in set(dist.tags) - tags)
        only_wheel = sorted(str(t) for t in tags - set(dist.tags))
        result.add(
            "wheel-tags-mismatch",
            f"the filename's tags and {where}'s differ: only in the filename {only_file or '-'}, "
            f"only in WHEEL {only_wheel or '-'}",
        )
    build = field("Build").strip()
    file_build = f"{dist.build[0]}{dist.build[1]}" if dist.build else ""
    if build != file_build:
        result.add(
            "wheel-build-mismatch",
            f"{where} says Build {build or '(none)'}, the filename {file_build or '(none)'}",
        )
    return purelib


@dataclasses.dataclass
class _Members:
    """What one pass over a wheel's members found: every name and digest, the files checked by content, and
    the compiled files by format."""

    names: list[str] = dataclasses.field(default_factory=list)
    digests: dict[str, tuple[str, int]] = dataclasses.field(
        default_factory=dict
    )  # name -> (sha256 b64, size)
    contents: dict[str, bytes] = dataclasses.field(
        default_factory=dict
    )  # RECORD, WHEEL, METADATA, entry points
    modules: dict[str, bytes] = dataclasses.field(default_factory=dict)  # the modules that may say a version
    licences: dict[str, bytes] = dataclasses.field(default_factory=dict)
    binaries: list[str] = dataclasses.field(default_factory=list)
    elfs: list[ElfInfo] = dataclasses.field(default_factory=list)
    machos: dict[str, list[MachO]] = dataclasses.field(default_factory=dict)
    pes: dict[str, str] = dataclasses.field(default_factory=dict)


def _read_members(data: bytes, result: FileResult, limits: Limits, *, need_symbols: bool) -> _Members:
    found = _Members()
    for name, content in iter_zip(data, result, limits):
        found.names.append(name)
        if len(content) <= MAX_TEXT:
            if is_version_module(name):
                found.modules[name] = content
            elif is_licence_file(name):
                found.licences[name] = content
        found.digests[name] = (_b64(hashlib.sha256(content).digest()), len(content))
        base = name.rsplit("/", 1)[-1]
        if (
            name.count("/") == 1
            and name.split("/", 1)[0].endswith(".dist-info")
            and base in {"RECORD", "WHEEL", "METADATA", "entry_points.txt"}
        ):
            found.contents[name] = content
        _read_binary(name, base, content, found, result, need_symbols)
    return found


def _read_binary(
    name: str, base: str, content: bytes, found: _Members, result: FileResult, need_symbols: bool
) -> None:
    if content[:4] == ELF_MAGIC:
        found.binaries.append(name)
        try:
            found.elfs.append(read_elf(name, content, need_symbols=need_symbols))
        except ValueError as exc:
            result.add("elf-invalid", f"{name} does not parse as ELF: {exc}")
    elif is_macho(content):
        found.binaries.append(name)
        try:
            found.machos[name] = read_macho(content)
        except (ValueError, struct.error, IndexError) as exc:
            result.add("binary-invalid", f"{name} looks like Mach-O but does not parse: {exc}")
    elif (machine := pe_machine(content)) is not None:
        found.binaries.append(name)
        found.pes[name] = machine
    elif _BINARY_SUFFIX.search(base) or content[:2] == b"MZ":
        found.binaries.append(name)


def check_wheel(data: bytes, dist: DistFile, result: FileResult, limits: Limits) -> None:
    """Check the wheel in ``data`` (read once) and record what was found in ``result``."""
    platforms = {t.platform for t in dist.tags}
    is_abi3 = any(t.abi == "abi3" for t in dist.tags)
    found = _read_members(data, result, limits, need_symbols=is_abi3)
    names = found.names
    if not names and result.problems:
        return
    top = _dist_info(names, dist, result)
    if top is None:
        return
    _check_record(found.contents.get(f"{top}/RECORD"), found.digests, top, result, data)
    purelib = _check_wheel_file(found.contents.get(f"{top}/WHEEL"), dist, result, f"{top}/WHEEL")
    metadata = found.contents.get(f"{top}/METADATA")
    if metadata is None:
        result.add("metadata-missing", f"{top}/METADATA is missing")
    else:
        check_metadata(metadata, result, f"{top}/METADATA", dist.name, dist.version)
    if (entry_points := found.contents.get(f"{top}/entry_points.txt")) is not None:
        _check_entry_points(entry_points, result, f"{top}/entry_points.txt")
    for name in names:
        parts = name.split("/")
        if len(parts) > 2 and parts[0].endswith(".data") and parts[1] not in _DATA_DIRS:
            result.add("wheel-data-unknown", f"{name} is in an unknown .data folder {parts[1]!r}")
            break
    _check_compiled_placement(found.binaries, dist, platforms, purelib, result)
    check_module_versions(result, found.modules, dist.version)
    needs: dict[str, list[str]] = {}
    for elf in found.elfs:
        needs.setdefault(elf.path.rsplit("/", 1)[-1], []).extend(elf.needed)
    for path, slices in found.machos.items():
        needs.setdefault(path.rsplit("/", 1)[-1], []).extend(d for m in slices for d in m.dylibs)
    check_grafted_licences(result, names, found.licences, metadata, needs, dist.name)
    result.elf_files = len(found.elfs)
    if any(p.startswith(("manylinux", "musllinux", "linux")) for p in platforms):
        resolve_bundled(found.elfs, set(names))
        audit_linux_wheel(result, platforms, found.elfs, set())
    check_macos(result, platforms, found.machos, set(names))
    check_windows(result, platforms, found.pes)
    if is_abi3:
        check_abi3(result, found.elfs, _abi3_minimum(dist))


def _check_compiled_placement(
    binaries: list[str], dist: DistFile, platforms: set[str], purelib: bool | None, result: FileResult
) -> None:
    """Compiled code where the tags and WHEEL say there is none, or none where they say there is."""
    pure_tag = platforms == {"any"}
    # Extension modules and shared libraries only: pure wheels may carry executables (pip's and setuptools'
    # Windows launchers are .exe files in py3-none-any wheels).
    libraries = [n for n in binaries if _BINARY_SUFFIX.search(n.rsplit("/", 1)[-1])]
    if pure_tag and libraries:
        result.add(
            "wheel-binary-in-pure",
            f"the {', '.join(sorted({str(t) for t in dist.tags}))} wheel holds compiled code: {libraries[0]}",
        )
    elif purelib and libraries:
        result.add(
            "wheel-purelib-mismatch",
            f"WHEEL says Root-Is-Purelib: true but the wheel holds compiled code ({libraries[0]})",
        )
    if not pure_tag and not binaries:
        result.add(
            "wheel-no-binary",
            f"the wheel is tagged {', '.join(sorted(platforms))} but holds no compiled code",
        )


def _abi3_minimum(dist: DistFile) -> tuple[int, int]:
    """The oldest Python an abi3 wheel's tags claim (cp39-abi3: 3.9)."""
    return min(
        (
            (int(m[1]), int(m[2]))
            for t in dist.tags
            if t.abi == "abi3" and (m := re.match(r"^cp(\d)(\d+)$", t.interpreter))
        ),
        default=(3, 2),
    )


class _CaseKeeping(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # entry point names are case-sensitive


# What an installer accepts for a script: "module:attr" (importlib.metadata's EntryPoint pattern, attr required).
_SCRIPT_TARGET = re.compile(r"[\w.]+\s*:\s*[\w.]+\s*(\[.*\])?\s*")


def _check_entry_points(content: bytes, result: FileResult, where: str) -> None:
    """Parse entry_points.txt as installers do (pypa/installer uses configparser with ``=`` only): a file they cannot
    read fails every install of the wheel, and a script without ``module:attr`` cannot be generated."""
    parser = _CaseKeeping(delimiters=("=",), interpolation=None)
    try:
        parser.read_string(content.decode("utf-8"), source=where)
    except (UnicodeDecodeError, configparser.Error) as exc:
        result.add("entry-points-invalid", f"{where}: {str(exc).splitlines()[0]}")
        return
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for script, target in parser.items(section):
            if not _SCRIPT_TARGET.fullmatch(target):
                result.add(
                    "entry-points-invalid",
                    f"{where}: [{section}] {script} = {target!r} is not 'module:function'",
                )


def _check_record(
    record: bytes | None, digests: dict[str, tuple[str, int]], top: str, result: FileResult, data: bytes
) -> None:
    where = f"{top}/RECORD"
    if record is None:
        result.add("record-missing", f"{where} is missing")
        return
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError:
        result.add("record-invalid", f"{where} is not UTF-8")
        return
    entries = _parse_record(text, result, where)
    if entries is None:  # unreadable as a whole, like a RECORD that is not UTF-8
        return
    reread: zipfile.ZipFile | None = None
    unsigned = {where} | {f"{top}/{s}" for s in _SIGNATURES}
    for path, hash_, size in entries.values():
        if path.endswith("/") and not hash_:
            continue
        if path not in digests:
            result.add("record-missing-file", f"{where} lists {path!r}, which the archive lacks")
            continue
        if path in unsigned:
            continue
        if not hash_:
            result.add("record-no-hash", f"{where} has no hash for {path!r}")
            continue
        algorithm, _, expected = hash_.partition("=")
        algorithm = algorithm.lower()
        if algorithm in _WEAK:
            result.add("record-weak-hash", f"{where} uses {algorithm} for {path!r}")
            continue
        b64, actual_size = digests[path]
        if algorithm == "sha256":
            actual = b64
        elif algorithm in hashlib.algorithms_guaranteed:
            if reread is None:  # RECORDs with sha384/sha512 (rare): read those members a second time
                reread = zipfile.ZipFile(io.BytesIO(data))
            actual = _b64(hashlib.new(algorithm, reread.read(path)).digest())
        else:
            result.add(
                "record-invalid", f"{where} uses the unknown hash algorithm {algorithm!r} for {path!r}"
            )
            continue
        if actual != expected:
            result.add("record-hash-mismatch", f"{path!r} does not match its hash in RECORD")
        elif size.strip() and size.strip() != str(actual_size):
            result.add("record-size-mismatch", f"{path!r} is {actual_size} bytes, RECORD says {size}")
    for path in digests:
        if path not in entries and path not in unsigned:
            result.add("record-unlisted", f"{path!r} is in the wheel but not in RECORD")
