"""Verify's per-file results, remembered so that the same file is never checked twice.

A passing result is recorded under the file's sha256 and name and a *fingerprint* of everything else that can
change it: shipwheel's version, the versions of the libraries whose rules verify applies (auditwheel's policies,
packaging, readme_renderer, pyelftools), the size limits and the ignored codes. Release-level checks (one
project and version, completeness, the same metadata across files) are never cached: they always run over the
whole set, from the per-file results.

The records live in one JSON file in the state folder (``$XDG_STATE_HOME/shipwheel/verify-results.json``, beside
the publish journal), replaced atomically, bounded in entries and bytes (the least recently used go first). It is
only a cache: a record that does not parse is ignored (the file is checked again), and a file that cannot be read
or written costs a re-check, never a verify. Two runs writing at once may lose each other's new records, never
corrupt the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import _version
from .._fs import write_atomic
from .._records import RecordShapeError, load_record
from ..distfiles import file_digests
from ._archive import Limits
from ._model import FileResult, Problem, Severity

__all__ = ["VerifyCache", "default_cache_path", "fingerprint"]

_FORMAT = 1
#: The libraries whose data or rules decide a file's problems: a new version of one may judge a file otherwise.
_TOOLS = ("auditwheel", "packaging", "readme_renderer", "pyelftools")
_FIELDS = {f.name for f in fields(FileResult)}


def default_cache_path() -> Path:
    """``$XDG_STATE_HOME/shipwheel/verify-results.json`` (or the platform's equivalent)."""
    from platformdirs import user_state_path

    return user_state_path("shipwheel") / "verify-results.json"


def _tool_version(name: str) -> str:
    # find_spec, not only the metadata: a module hidden from import (sys.modules[name] = None) is not used
    try:
        if importlib.util.find_spec(name if name != "pyelftools" else "elftools") is None:
            return "absent"
        return importlib.metadata.version(name)
    except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
        return "absent"


def fingerprint(limits: Limits, ignored: Iterable[str], version: str | None = None) -> str:
    """A digest of every input of a file's verify result other than its bytes and name."""
    if version is None:
        version = _version.__version__  # read when called: a test can stand in for a new release
    data = {
        "format": _FORMAT,
        "shipwheel": version,
        "tools": {name: _tool_version(name) for name in _TOOLS},
        "limits": [limits.max_file_size, limits.max_uncompressed_size, limits.max_compression_ratio],
        "ignore": sorted(set(ignored)),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _key(fp: str, filename: str, sha256: str) -> str:
    return f"{fp}/{sha256}/{filename}"


def _to_record(result: FileResult) -> dict[str, Any]:
    data = asdict(result)
    data.pop("path")
    data.pop("verified_earlier", None)
    data["problems"] = [p.to_json() for p in result.problems]
    return data


def _from_record(record: Any, path: str, filename: str, sha256: str) -> FileResult | None:
    """The result a record holds, or ``None`` when it is not one (of the wrong shape, or of other bytes)."""
    try:
        data = dict(record)
        problems = [
            Problem(
                p["code"], Severity(p["severity"]), p["file"], p["message"], p["fix"], p.get("subject", "")
            )
            for p in data.pop("problems")
        ]
        if set(data) - _FIELDS or data.get("filename") != filename or data.get("sha256") != sha256:
            return None
        result = FileResult(**{**data, "path": path, "problems": problems, "verified_earlier": True})
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    ints = (result.size, result.members, result.uncompressed_size, result.elf_files)
    lists = (result.tags, result.identifiers)
    if not all(type(v) is int for v in ints) or not all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists
    ):
        return None
    fields = result.release_fields
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
    ):
        return None
    if not all(isinstance(getattr(p, a), str) for p in problems for a in ("code", "file", "message", "fix")):
        return None
    return result


@dataclass
class VerifyCache:
    """The recorded results in ``path``: at most ``max_entries`` records and about ``max_bytes`` on disk."""

    path: Path = field(default_factory=default_cache_path)
    max_entries: int = 20_000
    max_bytes: int = 32 << 20
    _entries: dict[str, dict[str, Any]] | None = None
    _dirty: bool = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            self._entries = {}
            # bounded: a file written by us stays near max_bytes; a larger or damaged one is set aside
            entries = (
                load_record(self.path, _entries_of, limit=2 * self.max_bytes, what="verify results") or {}
            )
            if isinstance(entries, dict):
                self._entries = {
                    k: v
                    for k, v in entries.items()
                    if isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("used"), (int, float))
                }
        return self._entries

    def known_digests(self, fp: str, filename: str) -> frozenset[str]:
        """The sha256s of files of this name with a passing record under ``fp``."""
        prefix, suffix = f"{fp}/", f"/{filename}"
        entries = self._load()
        found = {
            k[len(prefix) : -len(suffix)] for k in entries if k.startswith(prefix) and k.endswith(suffix)
        }
        # only records that parse: for the others the file is checked again
        return frozenset(
            d for d in found if _from_record(entries[_key(fp, filename, d)].get("result"), "", filename, d)
        )

    def reuse(self, fp: str, paths: Sequence[Path], jobs: int) -> dict[Path, FileResult]:
        """The recorded results of those ``paths`` whose bytes (hashed here, ``jobs`` files at a time: hashlib
        frees the GIL) have one under ``fp``; a file never recorded under its name is not even hashed."""
        candidates = [(p, known) for p in paths if (known := self.known_digests(fp, p.name))]
        if not candidates:
            return {}

        def digest(path: Path) -> str:
            try:
                return file_digests(path)["sha256"]
            except OSError:
                return ""  # verify's own check reports it

        with ThreadPoolExecutor(max(1, min(jobs, len(candidates)))) as pool:
            digests = list(pool.map(digest, [p for p, _ in candidates]))
        found: dict[Path, FileResult] = {}
        for (path, known), sha in zip(candidates, digests, strict=True):
            if sha in known and (result := self.lookup(fp, str(path), path.name, sha)) is not None:
                found[path] = result
        return found

    def lookup(self, fp: str, path: str, filename: str, sha256: str) -> FileResult | None:
        """The recorded result of these bytes under this name and fingerprint, marked ``verified_earlier``."""
        entry = self._load().get(_key(fp, filename, sha256))
        if entry is None:
            return None
        result = _from_record(entry.get("result"), path, filename, sha256)
        if result is None:
            self._load().pop(_key(fp, filename, sha256), None)
        else:
            entry["used"] = time.time()  # recently used records are evicted last
        self._dirty = True
        return result

    def record(self, fp: str, results: Sequence[FileResult], ignored: Iterable[str] = ()) -> None:
        """Remember the results that pass (no error once ``ignored`` codes are dropped), then save the file."""
        skip = set(ignored)
        now = time.time()
        fresh = {
            _key(fp, r.filename, r.sha256): {"used": now, "result": _to_record(r)}
            for r in results
            if r.sha256
            and not r.verified_earlier
            and not any(p.severity is Severity.ERROR and p.code not in skip for p in r.problems)
        }
        if not fresh and not self._dirty:
            return
        # Another run may have written meanwhile: merge with what is on disk now, ours last.
        mine, self._entries = self._load(), None
        self._entries = self._bounded({**self._load(), **mine, **fresh})
        self._dirty = False
        self._save()

    def _bounded(self, entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        ordered = sorted(entries.items(), key=lambda kv: kv[1]["used"], reverse=True)[: self.max_entries]
        kept: dict[str, dict[str, Any]] = {}
        size = 0
        for key, entry in ordered:
            size += len(key) + len(json.dumps(entry)) + 8
            if size > self.max_bytes:
                break
            kept[key] = entry
        return kept

    def _save(self) -> None:
        data = json.dumps({"format": _FORMAT, "entries": self._entries}, separators=(",", ":"))
        # atomic and synced, never through a link planted in the state folder
        with contextlib.suppress(OSError):  # only a cache: a folder that cannot be written costs a re-check
            write_atomic(self.path.parent, [self.path.name], [data.encode("utf-8")], durable=True)


def _entries_of(loaded: object) -> dict[str, Any]:
    """The entries of a results file: none from another format (an older shipwheel's); any other shape raises."""
    if not isinstance(loaded, dict):
        raise RecordShapeError("not a JSON object")
    if loaded.get("format") != _FORMAT:
        return {}
    entries = loaded["entries"]
    if not isinstance(entries, dict):
        raise RecordShapeError("'entries' is not a table")
    return entries
