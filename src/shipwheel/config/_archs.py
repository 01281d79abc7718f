"""cibuildwheel's ``archs`` in two readings: on a given host, and for a whole release.

On a host (``cibuildwheel --print-build-identifiers --platform P`` there), ``auto`` is the host's own machine named
as platform P names it, plus 32-bit Windows beside AMD64; ``native`` the machine alone; ``auto64``/``auto32`` its
64/32-bit half (cibuildwheel's ``architecture.py``). For the release, which GitHub's hosted runners build one
machine each, ``auto``, ``native`` and ``auto64`` mean every native runner of that system (shipwheel's default
platforms), and ``auto32`` the 32-bit machines beside them.
"""

from __future__ import annotations

import platform as _platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["ARCHS", "Host", "host_platforms", "release_platforms", "runner_host"]

#: Every architecture cibuildwheel knows per system (``Architecture.all_archs``).
ARCHS: dict[str, tuple[str, ...]] = {
    "linux": ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64"),
    "macos": ("x86_64", "arm64", "universal2"),
    "windows": ("x86", "AMD64", "ARM64"),
}
#: Architectures of other cibuildwheel platforms (Pyodide, Android, iOS): valid words, no identifier here.
_OTHER = ("wasm32", "arm64_v8a", "arm64_iphoneos", "arm64_iphonesimulator", "x86_64_iphonesimulator")
#: The same machine under each system's name (cibuildwheel's ``ARCH_SYNONYMS``); None: no such build.
_SYNONYMS: tuple[dict[str, str | None], ...] = (
    {"linux": "x86_64", "macos": "x86_64", "windows": "AMD64"},
    {"linux": "i686", "macos": None, "windows": "x86"},
    {"linux": "aarch64", "macos": "arm64", "windows": "ARM64"},
)
_TO_32 = {"x86_64": "i686", "AMD64": "x86", "aarch64": "armv7l"}
_WINDOWS = {"x86": "win32", "AMD64": "win_amd64", "ARM64": "win_arm64"}


@dataclass(frozen=True, slots=True)
class Host:
    """The machine ``--print-build-identifiers`` answers for: its system and ``platform.machine()``."""

    system: str
    machine: str
    #: whether 32-bit ARM programs run on this aarch64 Linux (``linux32 uname -m``)
    runs_armv7l: bool = False

    @classmethod
    def here(cls) -> Host:
        """This machine."""
        system = (
            "windows" if sys.platform.startswith("win") else "macos" if sys.platform == "darwin" else "linux"
        )
        return cls(system, _platform.machine())


def runner_host(label: str | None) -> Host | None:
    """The machine of a GitHub-hosted runner label (``ubuntu-24.04-arm``, ``windows-latest``, ``macos-15-intel``);
    None for a label that names no hosted runner (self-hosted, an expression)."""
    name = (label or "").lower()
    arm = "arm" in name.replace("macos", "")
    if name.startswith("ubuntu"):
        return Host("linux", "aarch64" if arm else "x86_64")
    if name.startswith("windows"):
        return Host("windows", "ARM64" if arm else "AMD64")
    if name.startswith("macos"):
        old = re.match(r"macos-1[0-3]\b", name) is not None
        return Host("macos", "x86_64" if "intel" in name or old else "arm64")
    return None


def platforms_of(arch: str, os_name: str) -> list[str]:
    """The identifier platforms of one architecture on one system."""
    if os_name == "linux":
        return [f"manylinux_{arch}", f"musllinux_{arch}"]
    if os_name == "macos":
        return [f"macosx_{arch}"]
    return [_WINDOWS[arch]]


def _native(host: Host, os_name: str) -> str | None:
    machine = host.machine
    if host.system != os_name:
        for names in _SYNONYMS:
            if names.get(host.system) == machine:
                return names.get(os_name, machine)
    return machine


def _word(word: str, os_name: str, *, any_case: bool) -> str | None:
    """An explicit architecture name, as cibuildwheel parses it (4.x ignores case, preferring the system's
    own spelling); None for a valid name of another platform; a ConfigError for an unknown one."""
    for arch in (*ARCHS[os_name], *(a for o in ARCHS.values() for a in o), *_OTHER):
        if arch == word or (any_case and arch.lower() == word.lower()):
            return arch if arch in ARCHS[os_name] else None
    raise ConfigError(
        f"'archs' of cibuildwheel: unknown architecture {word!r}",
        hint="use auto, native, all, auto64, auto32 or x86_64, i686, aarch64, arm64, universal2, AMD64, x86, ARM64",
    )


def host_platforms(archs: str, os_name: str, host: Host, *, any_case: bool) -> list[str]:
    """The identifier platforms ``archs`` selects for system ``os_name`` when cibuildwheel runs on ``host``."""
    native = _native(host, os_name)
    chosen: list[str] = []
    for word in (w for w in re.split(r"[\s,]+", archs) if w):
        if word in {"auto", "native"}:
            chosen += [native] if native else []
            if word == "auto" and os_name == "windows" and native == "AMD64":
                chosen.append("x86")
        elif word == "all":
            chosen += ARCHS[os_name]
        elif word == "auto64":
            chosen += [native] if native and native not in _TO_32.values() else []
        elif word == "auto32":
            chosen += _auto32(native, os_name, host)
        else:
            arch = _word(word, os_name, any_case=any_case)
            chosen += [arch] if arch else []
    known = [a for a in dict.fromkeys(chosen) if a in ARCHS[os_name]]
    return [p for a in known for p in platforms_of(a, os_name)]


def _auto32(native: str | None, os_name: str, host: Host) -> list[str]:
    if native is None:
        return []
    if native in _TO_32.values():
        return [native]
    if native in _TO_32 and os_name in {"linux", "windows"}:
        if native == "aarch64" and not (host.system == "linux" and host.runs_armv7l):
            return []
        return [_TO_32[native]]
    return []


def release_platforms(archs: str, os_name: str, defaults: Sequence[str], *, any_case: bool) -> list[str]:
    """The identifier platforms ``archs`` means for a whole release of system ``os_name``: ``auto``, ``native``
    and ``auto64`` are the native runners' platforms in ``defaults``; ``auto32`` their 32-bit neighbours."""
    own = [p for p in defaults if _os_of(p) == os_name]
    out: list[str] = []
    for word in (w for w in re.split(r"[\s,]+", archs) if w):
        if word in {"auto", "native", "auto64"}:
            out += own
        elif word == "all":
            out += [p for a in ARCHS[os_name] for p in platforms_of(a, os_name)]
        elif word == "auto32":
            out += [p for a in ARCHS[os_name] if a in _TO_32.values() for p in platforms_of(a, os_name)]
        else:
            arch = _word(word, os_name, any_case=any_case)
            out += platforms_of(arch, os_name) if arch else []
    return list(dict.fromkeys(out))


def _os_of(platform: str) -> str:
    if platform.startswith(("manylinux", "musllinux")):
        return "linux"
    return "macos" if platform.startswith("macosx") else "windows"
