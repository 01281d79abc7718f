"""The build's journal: each finished file with its sha256, written as soon as it is finished, so that a build
killed at any moment (``kill -9`` too) builds only what is missing when it runs again, and so that the release
step knows which files the build made without hashing them again.

The journal in the project's work folder lists the selection (the identifiers the build was asked for and could
build here), the sdist, and each finished identifier with its wheel's name and sha256, once that wheel is
repaired and tested. It is keyed by everything that decides a wheel's bytes (the sdist's sha256, the build
options, the compiler variables and shipwheel's version): a journal with another key is ignored. A wheel is
taken over only when it is still in the wheelhouse, unchanged, and was built by the same interpreter; a build
is done only when every selected identifier and the sdist are there with their recorded hashes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._fs import write_atomic
from .._records import RecordShapeError, load_record
from .._version import __version__
from ..distfiles import file_digests

__all__ = ["BuildRecord", "Journal", "JournalEntry", "journal_path", "read_record"]

_FILE = "finished.json"
#: A journal lists a few dozen identifiers; a larger file is not ours.
_MAX_BYTES = 16 << 20
_COMPILER_VARS = ("CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One finished identifier."""

    wheel: str
    sha256: str
    interpreter: str
    repaired: bool
    tested: bool


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """What the journal of a build says: the ``selection`` it was asked for, the ``sdist`` and each finished
    identifier's wheel (``wheels``), each with its sha256 as recorded when it was finished."""

    selection: tuple[str, ...]
    sdist: tuple[str, str] | None
    wheels: Mapping[str, JournalEntry] = field(default_factory=dict)

    @property
    def files(self) -> dict[str, str]:
        """``{file name: sha256}`` of every file recorded."""
        out = dict([self.sdist]) if self.sdist else {}
        out.update({e.wheel: e.sha256 for e in self.wheels.values()})
        return out

    def missing(self, output: Path) -> list[str]:
        """The selected identifiers (and ``sdist``) with no file in ``output`` of the recorded sha256; the build
        is done only when this is empty."""
        out = [] if self.sdist and _present(output / self.sdist[0], self.sdist[1]) else ["sdist"]
        for ident in self.selection:
            entry = self.wheels.get(ident)
            if entry is None or not _present(output / entry.wheel, entry.sha256):
                out.append(ident)
        return out


def _sha256(path: Path) -> str:
    return file_digests(path)["sha256"]


def _present(path: Path, sha256: str) -> bool:
    return path.is_file() and not path.is_symlink() and _sha256(path) == sha256


def journal_path(work: Path) -> Path:
    """Where the journal of the build whose work folder is ``work`` lives."""
    return work / _FILE


def _shape(data: object) -> tuple[str, BuildRecord]:
    """The journal's key and record; raises for any other shape (the journal is then set aside)."""
    if not isinstance(data, dict) or not isinstance(data.get("finished"), dict):
        raise RecordShapeError("no 'finished' table")
    sdist = data.get("sdist")
    selection = data.get("selection", ())
    if not isinstance(selection, list) or not all(isinstance(i, str) for i in selection):
        raise RecordShapeError("'selection' is not a list of identifiers")
    wheels = {str(k): JournalEntry(**v) for k, v in data["finished"].items()}
    if not all(isinstance(e.wheel, str) and isinstance(e.sha256, str) for e in wheels.values()):
        raise RecordShapeError("a finished wheel without its name or sha256")
    record = BuildRecord(
        selection=tuple(selection),
        sdist=(str(sdist["file"]), str(sdist["sha256"])) if sdist else None,
        wheels=wheels,
    )
    return str(data.get("key", "")), record


def _read(path: Path) -> tuple[str, BuildRecord] | None:
    return load_record(path, _shape, limit=_MAX_BYTES, what="build journal")


def read_record(path: Path) -> BuildRecord | None:
    """The record of the journal at ``path``, or ``None`` when there is none this version can read."""
    found = _read(path)
    return found[1] if found is not None else None


class Journal:
    """The finished files of the current build, on disk after each one."""

    def __init__(self, work: Path, sdist: Path, options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.path = journal_path(work)
        self.sdist = (sdist.name, _sha256(sdist))
        blob = json.dumps(
            {
                "sdist": self.sdist[1],
                "options": {k: str(v) for k, v in sorted(options.items())},
                "env": {k: env.get(k, "") for k in _COMPILER_VARS},
                "shipwheel": __version__,
            },
            sort_keys=True,
        )
        self.key = hashlib.sha256(blob.encode()).hexdigest()
        self._lock = threading.Lock()
        self._entries: dict[str, JournalEntry] = {}
        self._selection: tuple[str, ...] = ()

    def load(self, output: Path, selection: Iterable[str]) -> dict[str, JournalEntry]:
        """Start a run of ``selection``: the identifiers an earlier run of the same build finished, whose wheels
        are still in ``output`` unchanged (written back at once, with the sdist and the selection)."""
        self._selection = tuple(selection)
        found = _read(self.path)
        record = found[1] if found is not None and found[0] == self.key else None
        kept = {}
        for ident, entry in (record.wheels if record else {}).items():
            if Path(entry.wheel).name == entry.wheel and _present(output / entry.wheel, entry.sha256):
                kept[ident] = entry
        with self._lock:
            self._entries = dict(kept)
            self._write()
        return kept

    def add(self, identifier: str, wheel: Path, interpreter: str, *, repaired: bool, tested: bool) -> str:
        """Record a finished identifier (written at once: a kill may come any time); its wheel's sha256."""
        entry = JournalEntry(wheel.name, _sha256(wheel), interpreter, repaired, tested)
        with self._lock:
            self._entries[identifier] = entry
            self._write()
        return entry.sha256

    def _write(self) -> None:
        data = {
            "key": self.key,
            "selection": list(self._selection),
            "sdist": {"file": self.sdist[0], "sha256": self.sdist[1]},
            "finished": {k: asdict(v) for k, v in self._entries.items()},
        }
        # atomic, never through a link planted in the work folder
        write_atomic(self.path.parent, [self.path.name], [json.dumps(data, indent=1).encode("utf-8")])
