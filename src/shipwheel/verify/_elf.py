"""The platform audit of Linux wheels: which manylinux/musllinux tag the compiled code really satisfies.

This is our own ELF analysis, written on top of the policy data that auditwheel ships
(``auditwheel/policy/manylinux-policy.json`` and ``musllinux-policy.json``: per policy, the allowed symbol
versions per architecture, the whitelisted system libraries and the blacklisted symbols). auditwheel's Python
API is not a stable interface, so we only read its JSON files; the rules follow what ``auditwheel show`` does:

* every ELF file in the wheel counts (extension modules and bundled libraries alike);
* a needed library is fine when the policy whitelists it or when the wheel bundles it where the ELF's RPATH or
  RUNPATH (``$ORIGIN/...``) finds it, as the dynamic loader and auditwheel's lddtree do;
* the versioned symbols every ELF needs (``GLIBC_2.27`` from ``libm.so.6``) must all be in the policy;
* blacklisted symbols of whitelisted libraries must not be used;
* x86-64 code must not need ISA extensions (x86-64-v2 and above) according to its GNU property note.

The tag derived is the most compatible policy that satisfies all of them (``linux`` when none does). ELF files are
read from memory (headers with struct, symbol tables with pyelftools); nothing is extracted to disk.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import posixpath
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._elfread import parse_headers
from ._model import FileResult
from ._stable_abi import stable_abi

__all__ = [
    "ElfInfo",
    "Policy",
    "audit_linux_wheel",
    "blacklisted_names",
    "check_abi3",
    "derive_policy",
    "load_policies",
    "read_elf",
    "resolve_bundled",
]

ELF_MAGIC = b"\x7fELF"

_ARCHES: dict[tuple[str, int, bool], str] = {
    ("EM_X86_64", 64, True): "x86_64",
    ("EM_386", 32, True): "i686",
    ("EM_AARCH64", 64, True): "aarch64",
    ("EM_PPC64", 64, True): "ppc64le",
    ("EM_PPC64", 64, False): "ppc64",
    ("EM_S390", 64, False): "s390x",
    ("EM_ARM", 32, True): "armv7l",
    ("EM_RISCV", 64, True): "riscv64",
    ("EM_LOONGARCH", 64, True): "loongarch64",
}
_MUSL_LIBC = {
    "x86_64": "libc.musl-x86_64.so.1",
    "i686": "libc.musl-x86.so.1",
    "aarch64": "libc.musl-aarch64.so.1",
    "s390x": "libc.musl-s390x.so.1",
    "ppc64le": "libc.musl-ppc64le.so.1",
    "armv7l": "libc.musl-armv7.so.1",
    "riscv64": "libc.musl-riscv64.so.1",
    "loongarch64": "libc.musl-loongarch64.so.1",
}
_LOADERS = re.compile(r"^(ld-linux.*|ld64\.so\.[12]|ld-musl-.*)$")
_LINUX_TAG = re.compile(r"^(?P<family>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)$")
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@dataclass(slots=True)
class ElfInfo:
    """What the audit needs from one ELF file."""

    path: str
    arch: str | None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    #: needed library -> symbol versions required from it (``{"libc.so.6": {"GLIBC_2.17"}}``).
    versions: dict[str, set[str]] = field(default_factory=dict)
    #: undefined symbols, read only when a check needs them (blacklists, abi3).
    undefined: frozenset[str] | None = None
    is_extension: bool = False
    isa_level: int = 0  # x86-64-v2 = 2 …
    rpaths: tuple[str, ...] = ()
    #: needed libraries found inside the wheel through the RPATH/RUNPATH (filled by :func:`resolve_bundled`).
    bundled: frozenset[str] = frozenset()
    dynstr: bytes = b""


@dataclass(frozen=True, slots=True)
class Policy:
    """One manylinux/musllinux policy for one architecture."""

    name: str
    priority: int
    version: tuple[int, int]
    symbol_versions: dict[str, frozenset[str]]
    whitelist: frozenset[str]
    blacklist: dict[str, frozenset[str]]

    def tag(self, arch: str) -> str:
        """The platform tag of this policy on ``arch``."""
        return f"{self.name}_{arch}"


def _dyn_undefined(elf: object) -> frozenset[str]:
    from elftools.elf.sections import SymbolTableSection

    section = elf.get_section_by_name(".dynsym")  # type: ignore[attr-defined]
    if not isinstance(section, SymbolTableSection):
        return frozenset()
    return frozenset(
        sym.name for sym in section.iter_symbols() if sym.name and sym["st_shndx"] == "SHN_UNDEF"
    )


def read_elf(path: str, data: bytes, *, need_symbols: bool = False) -> ElfInfo:
    """Parse the ELF file ``data`` (a member ``path`` of a wheel) from memory.

    The headers come from :mod:`._elfread` (``struct``, fast); the undefined dynamic symbols, read only when
    ``need_symbols`` or when ``.dynstr`` names a blacklisted symbol, from pyelftools.

    :raises ValueError: when it does not parse.
    """
    try:
        h = parse_headers(data)
        arch = _ARCHES.get((h.machine, h.elfclass, h.little_endian))
        info = ElfInfo(path=path, arch=arch, needed=tuple(h.needed), soname=h.soname, rpaths=tuple(h.rpaths))
        info.versions = {lib: names for lib, names in h.versions.items() if not _LOADERS.match(lib)}
        if arch == "x86_64":
            bits = h.isa_needed & ~1
            info.isa_level = 4 if bits & 8 else 3 if bits & 4 else 2 if bits & 2 else 0
        info.dynstr = h.dynstr
        info.is_extension = b"\0PyInit_" in info.dynstr
        if need_symbols or any(name in info.dynstr for name in blacklisted_names()):
            from elftools.elf.elffile import ELFFile

            info.undefined = _dyn_undefined(ELFFile(io.BytesIO(data)))
        return info
    except (ValueError, KeyError, IndexError, TypeError, struct.error, UnicodeDecodeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc
    except Exception as exc:  # pyelftools raises bare construct errors on truncated files
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc


def _policy_dir() -> Path | None:
    spec = importlib.util.find_spec("auditwheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "policy"


@functools.lru_cache(maxsize=64)
def load_policies(family: str, arch: str) -> tuple[Policy, ...]:
    """The policies of ``family`` (``manylinux`` or ``musllinux``) for ``arch``, most compatible first, ``linux``
    last. Empty when auditwheel's policy data is not installed."""
    folder = _policy_dir()
    if folder is None:
        return ()
    path = folder / f"{family}-policy.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _parse_policies(raw, family, arch)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ()  # missing or of a layout we do not know: the caller reports the audit as skipped


def _parse_policies(raw: Any, family: str, arch: str) -> tuple[Policy, ...]:
    out: list[Policy] = []
    for p in raw:
        if p["name"] != "linux" and arch not in p["symbol_versions"]:
            continue
        whitelist = {(_MUSL_LIBC.get(arch, lib) if lib == "libc.so" else lib) for lib in p["lib_whitelist"]}
        m = re.match(r"^\w+?_(\d+)_(\d+)$", p["name"])
        out.append(
            Policy(
                name=p["name"],
                priority=int(p["priority"]),
                version=(int(m[1]), int(m[2])) if m else (0, 0),
                symbol_versions={
                    prefix: frozenset(f"{prefix}_{v}" for v in versions)
                    for prefix, versions in p["symbol_versions"].get(arch, {}).items()
                },
                whitelist=frozenset(whitelist),
                blacklist={lib: frozenset(syms) for lib, syms in p["blacklist"].items()},
            )
        )
    ordered = sorted(out, key=lambda p: -p.priority)
    if family == "musllinux":
        # musl has no symbol versioning, so the binary cannot tell musllinux_1_1 from _1_2; like `auditwheel
        # show` on a host without musl, take the newest known policy (and never blame a wheel for its musl minor).
        ordered = [max(ordered[:-1], key=lambda p: p.version), ordered[-1]] if len(ordered) > 1 else ordered
    return tuple(ordered)


@functools.lru_cache(maxsize=1)
def blacklisted_names() -> frozenset[bytes]:
    """Every symbol any policy blacklists, as ``\\0name\\0`` for a quick search of ``.dynstr``."""
    names: set[bytes] = set()
    for family in ("manylinux", "musllinux"):
        for policy in load_policies(family, "x86_64") + load_policies(family, "aarch64"):
            names.update(b"\0" + s.encode() + b"\0" for syms in policy.blacklist.values() for s in syms)
    return frozenset(names)


def _violations(policy: Policy, elfs: list[ElfInfo], bundled: set[str]) -> list[str]:
    """Why ``policy`` is not satisfied (empty when it is)."""
    if policy.name == "linux":
        return []
    why: list[str] = []
    # Once one ELF's RPATH has loaded a bundled library, every other ELF gets it by SONAME (auditwheel's lddtree
    # resolves each name once too): e.g. a bundled libstdc++ without RPATH needing the bundled libgcc_s.
    found = frozenset().union(*(elf.bundled for elf in elfs))
    required: dict[str, set[str]] = {}
    for elf in elfs:
        for symbols in elf.versions.values():
            for symbol in symbols:
                required.setdefault(symbol.partition("_")[0], set()).add(symbol)
    for prefix in sorted(set(required) & set(policy.symbol_versions)):
        extra = required[prefix] - policy.symbol_versions[prefix]
        if extra:
            why.append(f"needs {', '.join(sorted(extra, key=_version_key))}")
    external = sorted(
        {
            lib
            for elf in elfs
            for lib in elf.needed
            if lib not in policy.whitelist
            and lib not in bundled
            and lib not in found
            and not _LOADERS.match(lib)
        }
    )
    if external:
        why.append(f"links external libraries {', '.join(external)}")
    for elf in elfs:
        for lib in set(elf.needed) & set(policy.blacklist):
            used = (elf.undefined or frozenset()) & policy.blacklist[lib]
            if used:
                why.append(f"{elf.path} uses blacklisted symbols of {lib}: {', '.join(sorted(used))}")
    if any(elf.isa_level >= 2 for elf in elfs):
        level = max(elf.isa_level for elf in elfs)
        why.append(f"needs the x86-64-v{level} instruction set")
    return why


def _version_key(symbol: str) -> tuple[str, tuple[int, ...]]:
    prefix, _, version = symbol.partition("_")
    return prefix, tuple(int(x) for x in re.findall(r"\d+", version))


def _origin_dirs(elf: ElfInfo) -> list[str]:
    """The wheel folders an ELF's ``$ORIGIN``-relative RPATH/RUNPATH entries name (absolute ones leave the wheel)."""
    folder = posixpath.dirname(elf.path)
    out = []
    for rpath in elf.rpaths:
        if rpath.startswith(("$ORIGIN", "${ORIGIN}")):
            rel = rpath.replace("${ORIGIN}", "$ORIGIN")[len("$ORIGIN") :].lstrip("/")
            out.append(posixpath.normpath(posixpath.join(folder, rel)) if rel else folder)
    return out


def resolve_bundled(elfs: list[ElfInfo], members: set[str]) -> None:
    """Set each ELF's ``bundled``: the libraries of its dependency tree found inside the wheel.

    As the loader and auditwheel's lddtree do, the search path of every library in the tree is its own RPATH
    plus the RPATH/RUNPATH of the ELF at the root of the tree (a bundled libxcb without RPATH finds the bundled
    libXau through the extension module's ``$ORIGIN/../pillow.libs``).
    """
    by_path = {elf.path: elf for elf in elfs}
    for root in elfs:
        root_dirs = _origin_dirs(root)
        found: set[str] = set()
        todo, seen = [root], {root.path}
        while todo:
            elf = todo.pop()
            for lib in elf.needed:
                for folder in root_dirs + _origin_dirs(elf):
                    candidate = posixpath.normpath(posixpath.join(folder, lib))
                    if candidate in members:
                        found.add(lib)
                        if candidate in by_path and candidate not in seen:
                            seen.add(candidate)
                            todo.append(by_path[candidate])
                        break
        root.bundled = frozenset(found)


def derive_policy(policies: tuple[Policy, ...], elfs: list[ElfInfo], bundled: set[str]) -> Policy:
    """The most compatible policy all ``elfs`` satisfy (the ``linux`` one when none does)."""
    for policy in policies:
        if not _violations(policy, elfs, bundled):
            return policy
    return policies[-1]


def _claimed(tag: str) -> tuple[str, tuple[int, int], str] | None:
    """``manylinux_2_28_x86_64`` -> ``("manylinux", (2, 28), "x86_64")``; legacy aliases too."""
    m = _LINUX_TAG.match(tag)
    if m:
        return m["family"], (int(m["major"]), int(m["minor"])), m["arch"]
    legacy, _, arch = tag.partition("_")
    if legacy in _LEGACY:
        return "manylinux", _LEGACY[legacy], arch
    return None


def audit_linux_wheel(
    result: FileResult, platforms: Iterable[str], elfs: list[ElfInfo], bundled: set[str]
) -> None:
    """Compare the manylinux/musllinux tags a wheel claims with what its ELF files satisfy."""
    claims = [c for c in (_claimed(p) for p in sorted(platforms)) if c is not None]
    if not claims or not elfs:
        return
    family, _, arch = claims[0]
    mismatched = [e for e in elfs if e.arch is not None and e.arch != arch]
    for elf in mismatched:
        result.add("elf-arch-mismatch", f"{elf.path} is compiled for {elf.arch}, the wheel's tag says {arch}")
    own = [e for e in elfs if e.arch == arch]
    libcs = {lib for e in own for lib in e.needed if lib == "libc.so.6" or lib.startswith("libc.musl-")}
    if family == "musllinux" and "libc.so.6" in libcs:
        result.add(
            "elf-libc-mismatch", "the wheel claims musllinux but its compiled code links glibc (libc.so.6)"
        )
        return
    if family == "manylinux" and any(lib.startswith("libc.musl-") for lib in libcs):
        result.add("elf-libc-mismatch", "the wheel claims manylinux but its compiled code links musl libc")
        return
    policies = load_policies(family, arch)
    if not own:
        return
    if len(policies) < 2:  # no policy data at all, or only the catch-all "linux" one for this architecture
        result.add(
            "elf-audit-skipped",
            f"no {family} policy for {arch} could be loaded from auditwheel, so the compiled code was not audited",
        )
        return
    derived = derive_policy(policies, own, bundled)
    result.derived_platform = derived.tag(arch)
    for c_family, version, c_arch in claims:
        if c_family != family or c_arch != arch:
            continue
        if derived.name == "linux" or (family == "manylinux" and version < derived.version):
            claimed_policy = next((p for p in policies if p.version == version), None)
            reasons = _violations(claimed_policy, own, bundled) if claimed_policy else []
            if derived.name == "linux":
                reasons = reasons or _violations(policies[-2] if len(policies) > 1 else derived, own, bundled)
            external = [r for r in reasons if r.startswith("links external")]
            if derived.name == "linux" and external:
                result.add(
                    "elf-external-library",
                    f"the compiled code {external[0]}, which no {family} policy allows",
                )
            elif any("blacklisted" in r for r in reasons):
                result.add("elf-blacklisted-symbol", "; ".join(r for r in reasons if "blacklisted" in r))
            elif any("instruction set" in r for r in reasons):
                result.add("elf-isa-extension", "; ".join(r for r in reasons if "instruction set" in r))
            claimed_tag = f"{family}_{version[0]}_{version[1]}_{arch}"
            result.add(
                "elf-tag-unsatisfied",
                f"the wheel claims {claimed_tag} but its compiled code satisfies only {derived.tag(arch)}"
                + (f" ({'; '.join(reasons)})" if reasons else ""),
            )


def check_abi3(result: FileResult, elfs: list[ElfInfo], minimum: tuple[int, int]) -> None:
    """Every ``Py*`` symbol an abi3 extension module imports must be in the stable ABI of ``minimum``."""
    for elf in elfs:
        if not elf.is_extension or elf.undefined is None:
            continue
        python = [s for s in elf.undefined if s.startswith(("Py", "_Py"))]
        table = stable_abi()
        outside = sorted(s for s in python if s not in table)
        newer = sorted(s for s in python if s in table and table[s] > minimum)
        if outside:
            shown = ", ".join(outside[:8]) + (" …" if len(outside) > 8 else "")
            result.add(
                "abi3-violation", f"{elf.path} uses {len(outside)} symbols outside the stable ABI: {shown}"
            )
        if newer:
            shown = ", ".join(f"{s} ({table[s][0]}.{table[s][1]})" for s in newer[:8])
            result.add(
                "abi3-too-new",
                f"{elf.path} uses stable-ABI symbols newer than Python {minimum[0]}.{minimum[1]}: {shown}",
            )
