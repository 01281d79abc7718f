"""The record of one release in ``.shipwheel/releases/VERSION.json``, written atomically after every step.

The record says what each step did and when; it is a journal, not the truth. Before each step the pipeline
looks at the real state (git, the wheelhouse, the index) and trusts the record only for steps that leave no
trace elsewhere (``check``, ``verify``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._fs import read_limited, write_inside
from .._http import redact_data
from ..config import RELEASE_STEPS

__all__ = ["STEPS", "ReleaseState", "StepRecord", "state_path"]

#: Every step the pipeline knows, in the order it runs them (one list, kept with the configuration that checks
#: ``release.steps`` against it).
STEPS = RELEASE_STEPS

StepStatus = Literal["pending", "running", "done", "failed", "skipped"]


def state_path(project_dir: Path, version: str) -> Path:
    """Where the record of ``version`` lives."""
    return project_dir / ".shipwheel" / "releases" / f"{version}.json"


@dataclass(slots=True)
class StepRecord:
    """One step: its status, a one-line detail, when it ended, and what it produced (hashes, ids)."""

    status: StepStatus = "pending"
    detail: str = ""
    finished: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ReleaseState:
    """The record of one release: the version, the repository it goes to, the build selectors it was narrowed
    to (``release --select``), and one :class:`StepRecord` per step."""

    path: Path
    version: str
    repository: str = ""
    select: str = ""
    steps: dict[str, StepRecord] = field(default_factory=lambda: {s: StepRecord() for s in STEPS})

    @classmethod
    def load(cls, path: Path, version: str) -> ReleaseState:
        """The record at ``path``, or a new one (nothing written yet) when there is none."""
        state = cls(path, version)
        try:
            raw = json.loads(read_limited(path, 16 << 20).decode("utf-8"))
        except FileNotFoundError:
            return state
        except (OSError, ValueError):
            return state  # a damaged record is rebuilt from the real state, which the pipeline checks anyway
        state.repository = str(raw.get("repository", ""))
        state.select = str(raw.get("select") or "")
        for name, rec in (raw.get("steps") or {}).items():
            if name in state.steps and isinstance(rec, dict):
                state.steps[name] = StepRecord(
                    rec.get("status", "pending"),
                    rec.get("detail", ""),
                    rec.get("finished"),
                    rec.get("data") or {},
                )
        return state

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return {
            "version": self.version,
            "repository": self.repository,
            "select": self.select,
            "steps": {
                name: {"status": r.status, "detail": r.detail, "finished": r.finished, "data": r.data}
                for name, r in self.steps.items()
            },
        }

    def set(self, step: str, status: StepStatus, detail: str = "", **data: Any) -> None:
        """Record ``step``'s new status and save at once."""
        rec = self.steps[step]
        rec.status, rec.detail = status, detail
        rec.finished = time.time() if status in {"done", "failed", "skipped"} else None
        if data:
            rec.data.update(data)
        self.save()

    def save(self) -> None:
        """Write the record atomically: a crash leaves the old record or the new one, never half of one."""
        # .shipwheel/releases/ inside the project: a link planted there is replaced, never written through.
        root = self.path.parents[2]
        # no secret is ever written into the record (a repository URL with a password, an echoed header)
        record = json.dumps(redact_data(self.as_dict()), indent=2)
        write_inside(root, self.path.relative_to(root), record, durable=True)
