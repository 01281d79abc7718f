"""One release file, read once: its name, size and sha256, then the wheel or sdist checks on the bytes in memory."""

from __future__ import annotations

import errno
import hashlib
import re
from pathlib import Path

from packaging.utils import canonicalize_name

from ..distfiles import DistFile, file_digests
from ._archive import Limits
from ._model import FileResult
from ._sdist import check_sdist
from ._wheel import check_wheel

__all__ = ["check_file", "pypi_accepts_platform"]

#: Files larger than this (and over the size limit) are hashed in chunks instead of being read into memory.
_IN_MEMORY = 1 << 30
_JOINT_ARCHES = {"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64", "loongarch64"}
_ALLOWED = {
    "any", "win32", "win_arm64", "win_amd64", "win_ia64",
    "manylinux1_x86_64", "manylinux1_i686", "manylinux2010_x86_64", "manylinux2010_i686",
    "manylinux2014_x86_64", "manylinux2014_i686", "manylinux2014_aarch64", "manylinux2014_armv7l",
    "manylinux2014_ppc64", "manylinux2014_ppc64le", "manylinux2014_s390x",
    "linux_armv6l", "linux_armv7l",
}  # fmt: skip
_MACOS_ARCHES = {
    "ppc",
    "ppc64",
    "i386",
    "x86_64",
    "arm64",
    "intel",
    "fat",
    "fat3",
    "fat64",
    "universal",
    "universal2",
}


def pypi_accepts_platform(tag: str) -> bool:
    """Whether PyPI takes wheels with platform tag ``tag`` (its upload rules, as of 2026)."""
    if tag in _ALLOWED:
        return True
    if m := re.match(r"^macosx_(\d+)_(\d+)_(.+)$", tag):
        return (int(m[1]) >= 11 or m[1] == "10") and m[3] in _MACOS_ARCHES
    if m := re.match(r"^manylinux_(\d+)_(\d+)_(.+)$", tag):
        return m[3] in _JOINT_ARCHES | {"ppc64", "armv7l"}
    if m := re.match(r"^musllinux_(\d+)_(\d+)_(.+)$", tag):
        return m[3] in _JOINT_ARCHES
    if re.match(r"^ios_\d+_\d+_(arm64|x86_64)_(iphoneos|iphonesimulator)$", tag):
        return True
    if re.match(r"^pyemscripten_\d+_\d+_wasm32$", tag):  # PEP 783 (pandas 3.1 ships one)
        return True
    return bool(re.match(r"^android_\d+_(arm64_v8a|x86_64|armeabi_v7a|x86)$", tag))


def _name_checks(dist: DistFile, result: FileResult) -> None:
    head = result.filename.split("-", 2)
    if dist.kind == "wheel":
        want = canonicalize_name(dist.name).replace("-", "_")
        if head[0] != want:
            result.add(
                "name-not-normalized", f"the wheel's name part is {head[0]!r}; normalized it is {want!r}"
            )
        if head[1] != str(dist.version):
            result.add("version-not-normalized", f"the version {head[1]!r} is {dist.version} once normalized")
        for platform in sorted(dist.platforms):
            if not pypi_accepts_platform(platform):
                result.add("platform-tag-unsupported", f"PyPI refuses the platform tag {platform!r}")
    elif not dist.is_zip_sdist and result.filename != dist.pep625_name:
        result.add(
            "sdist-name-pep625",
            f"the sdist should be named {dist.pep625_name} (PEP 625); PyPI warns now and will refuse such names",
        )
    if dist.version.local is not None:
        result.add("version-local", f"the version {dist.version} has a local part '+{dist.version.local}'")


def _read(p: Path, limits: Limits, result: FileResult) -> bytes | None:
    """The file's bytes, or ``None`` when it is far over the size limit (then only hashed, in chunks)."""
    if not p.is_file():  # a FIFO would block the read forever; a folder named like a wheel cannot be read
        raise OSError(errno.EISDIR if p.is_dir() else errno.EINVAL, "not a regular file")
    size = p.stat().st_size
    if size > limits.max_file_size and size > _IN_MEMORY:
        # Far over the upload limit: hash it in chunks and do not load it; PyPI would refuse it anyway.
        result.size, result.sha256 = size, file_digests(p)["sha256"]
        result.add(
            "file-too-large",
            f"the file is {size:,} bytes, over the limit of {limits.max_file_size:,}; its content was not checked",
        )
        dist = DistFile.parse(p.name)
        result.kind = dist.kind if dist else "unknown"
        return None
    return p.read_bytes()


def check_file(path: str, limits: Limits, sha256: str | None = None) -> FileResult:
    """Check one file completely; never raises for bad content (that becomes problems). ``sha256``: the file's,
    already computed for these bytes (a release hashes each file once), instead of hashing it again."""
    p = Path(path)
    result = FileResult(filename=p.name, path=str(p))
    try:
        data = _read(p, limits, result)
    except OSError as exc:  # no permission, removed meanwhile, a folder or special file given by name
        result.add("file-unreadable", f"{p} cannot be read: {exc.strerror or exc}")
        dist = DistFile.parse(p.name)
        result.kind = dist.kind if dist else "unknown"
        return result
    if data is None:
        return result
    result.size = len(data)
    result.sha256 = sha256 or hashlib.sha256(data).hexdigest()
    dist = DistFile.parse(p.name)
    if dist is None:
        result.add("name-invalid", f"{p.name!r} is not a valid wheel or sdist filename")
        return result
    result.kind = dist.kind
    result.project = dist.name
    result.version = str(dist.version)
    result.tags = sorted(str(t) for t in dist.tags)
    result.identifiers = [str(i) for i in dist.identifiers]
    if result.size > limits.max_file_size:
        result.add(
            "file-too-large", f"the file is {result.size:,} bytes, over the limit of {limits.max_file_size:,}"
        )
    if result.size == 0:
        result.add("file-empty", "the file is empty")
        return result
    _name_checks(dist, result)
    if dist.kind == "wheel":
        check_wheel(data, dist, result, limits)
    else:
        check_sdist(data, dist, result, limits)
    return result
