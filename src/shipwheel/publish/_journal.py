"""A crash-safe journal of one release's uploads to one index.

Append-only JSON lines, each flushed and fsynced before the step it records goes on: ``sending`` before a body
leaves, ``done`` once the index accepted it (or already had the same bytes), ``refused`` when the index answered
no (nothing is in doubt then). After a crash, a file marked
``sending`` but not ``done`` is *in doubt*: the next run asks the index before sending it again, and a file
marked ``done`` is never sent again even when the index's listing lags behind (a CDN-cached simple page).
A half-written last line (the process was killed mid-write) is ignored. The journal is removed once the whole
release is on the index.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from platformdirs import user_state_path

from .._fs import open_new_or_append, read_limited
from ..errors import ConfigError

__all__ = ["Journal", "default_journal_dir"]


def default_journal_dir() -> Path:
    """``$XDG_STATE_HOME/shipwheel/publish`` (or the platform's equivalent)."""
    return user_state_path("shipwheel") / "publish"


@dataclass
class Journal:
    """The journal of ``project`` ``version`` on the index at ``target``."""

    path: Path
    done: dict[str, str] = field(default_factory=dict)
    sending: dict[str, str] = field(default_factory=dict)
    _fh: IO[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, folder: Path, target: str, project: str, version: str) -> Journal:
        """Open (and replay) the journal of this release on this target."""
        key = hashlib.sha256(f"{target}\0{project}\0{version}".encode()).hexdigest()[:24]
        journal = cls(path=folder / f"{project}-{version}-{key}.jsonl")
        journal._replay()
        try:  # before any upload: a state folder that cannot be written stops the run, not a thread mid-way
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unusable(journal.path, exc) from None
        return journal

    def _replay(self) -> None:
        try:
            data = read_limited(self.path, 64 << 20)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _unusable(self.path, exc) from None
        for raw in data.splitlines():
            try:
                entry = json.loads(raw)
                state, name, sha = entry["state"], entry["file"], entry["sha256"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill, or not ours
            if not all(isinstance(v, str) for v in (state, name, sha)):
                continue  # a record of the wrong shape is ignored, as a torn one
            if state == "sending":
                self.sending[name] = sha
            elif state == "done":
                self.done[name] = sha
                self.sending.pop(name, None)
            elif state == "refused":
                self.sending.pop(name, None)

    def in_doubt(self) -> dict[str, str]:
        """Files a previous run started sending but did not see accepted."""
        return {n: s for n, s in self.sending.items() if n not in self.done}

    def record(self, state: str, filename: str, sha256: str) -> None:
        """Append one entry durably (thread-safe)."""
        line = json.dumps({"state": state, "file": filename, "sha256": sha256}) + "\n"
        with self._lock:
            if self._fh is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    # never appended through a link planted at the journal's name
                    self._fh = io.TextIOWrapper(open_new_or_append(self.path, append=True), encoding="utf-8")
                except OSError as exc:
                    raise _unusable(self.path, exc) from None
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            if state == "done":
                self.done[filename] = sha256
                self.sending.pop(filename, None)
            elif state == "sending":
                self.sending[filename] = sha256
            elif state == "refused":
                self.sending.pop(filename, None)

    def close(self) -> None:
        """Close the file (entries stay on disk)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def finish(self) -> None:
        """The release is complete on the index: the journal is no longer needed."""
        self.close()
        with contextlib.suppress(OSError):  # what is left behind is replayed harmlessly next time
            self.path.unlink(missing_ok=True)


def _unusable(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot use the publish journal {path}: {exc.strerror or type(exc).__name__}",
        hint="remove or rename what is in the way (the journal is a file in the state folder), or set "
        "XDG_STATE_HOME to a writable folder",
    )
