"""The wheels an interrupted build already finished, so that running the same command again builds only the rest.

A journal in the project's work folder lists each finished identifier with its wheel's name and sha256. It is
keyed by everything that decides a wheel's bytes (the sdist's sha256, the build options, the compiler variables
and shipwheel's version): a journal with another key is ignored. A build that runs to its end removes it, so only
an interrupted build is resumed; a wheel is taken over only when it is still in the wheelhouse, unchanged, and
was built by the same interpreter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._fs import read_limited, write_atomic
from .._version import __version__
from ..distfiles import file_digests

__all__ = ["Journal", "JournalEntry"]

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


def _sha256(path: Path) -> str:
    return file_digests(path)["sha256"]


class Journal:
    """The finished identifiers of the current build, on disk after each one."""

    def __init__(self, work: Path, sdist: Path, options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.path = work / _FILE
        blob = json.dumps(
            {
                "sdist": _sha256(sdist),
                "options": {k: str(v) for k, v in sorted(options.items())},
                "env": {k: env.get(k, "") for k in _COMPILER_VARS},
                "shipwheel": __version__,
            },
            sort_keys=True,
        )
        self.key = hashlib.sha256(blob.encode()).hexdigest()
        self._lock = threading.Lock()
        self._entries: dict[str, JournalEntry] = {}

    def load(self, output: Path) -> dict[str, JournalEntry]:
        """The identifiers an interrupted run of the same build finished, whose wheels are still in ``output``."""
        try:
            data = json.loads(read_limited(self.path, _MAX_BYTES))
            if data.get("key") != self.key:
                return {}
            entries = {k: JournalEntry(**v) for k, v in data["finished"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}  # no journal, or one this version can't read: build everything
        kept = {}
        for ident, entry in entries.items():
            wheel = output / entry.wheel
            if wheel.name == entry.wheel and wheel.is_file() and _sha256(wheel) == entry.sha256:
                kept[ident] = entry
        self._entries = dict(kept)
        return kept

    def add(self, identifier: str, wheel: Path, interpreter: str, *, repaired: bool, tested: bool) -> None:
        """Record a finished identifier (written at once: an interrupt may come any time)."""
        entry = JournalEntry(wheel.name, _sha256(wheel), interpreter, repaired, tested)
        with self._lock:
            self._entries[identifier] = entry
            data = {"key": self.key, "finished": {k: asdict(v) for k, v in self._entries.items()}}
            # atomic, never through a link planted in the work folder
            write_atomic(self.path.parent, [self.path.name], [json.dumps(data, indent=1).encode("utf-8")])

    def clear(self) -> None:
        """The build ran to its end: the next run builds everything again."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
