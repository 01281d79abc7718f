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

from .._fs import write_inside
from .._http import redact_data
from .._records import RecordShapeError, load_record
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
        found = load_record(path, lambda raw: _shape(raw, version), limit=16 << 20, what="release record")
        if found is None:
            return state  # none yet, or set aside: the pipeline rebuilds it from the real state
        state.repository, state.select, steps = found
        state.steps.update(steps)
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


_STATUSES = frozenset({"pending", "running", "done", "failed", "skipped"})


def _shape(raw: object, version: str) -> tuple[str, str, dict[str, StepRecord]]:
    """A release record's repository, selection and steps; raises for any other shape (the record is then set
    aside). Steps of another shipwheel's step list are left out, not refused."""
    if not isinstance(raw, dict):
        raise RecordShapeError("not a JSON object")
    if str(raw.get("version", version)) != version:
        raise RecordShapeError(f"the record of {raw.get('version')!r}, not of {version}")
    repository, select, steps = raw.get("repository", ""), raw.get("select") or "", raw.get("steps") or {}
    if not isinstance(repository, str) or not isinstance(select, str) or not isinstance(steps, dict):
        raise RecordShapeError("'repository', 'select' or 'steps' of the wrong type")
    out: dict[str, StepRecord] = {}
    for name, rec in steps.items():
        if name not in STEPS:
            continue
        if not isinstance(rec, dict):
            raise RecordShapeError(f"step {name!r} is not a table")
        status, detail, finished, data = (
            rec.get("status", "pending"), rec.get("detail", ""), rec.get("finished"), rec.get("data", {}),
        )  # fmt: skip
        if status not in _STATUSES or not isinstance(detail, str) or not isinstance(data, dict):
            raise RecordShapeError(f"step {name!r} has a status, detail or data of the wrong type")
        if finished is not None and not isinstance(finished, int | float):
            raise RecordShapeError(f"step {name!r} has a finish time that is not a number")
        out[name] = StepRecord(status, detail, finished, data)
    return repository, select, out
