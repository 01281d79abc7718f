"""What ``build()`` reports: progress events while it works, one result per identifier at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["BuildEvent", "BuildResult", "IdentifierResult", "Status"]

Status = Literal["queued", "start", "done", "failed", "skipped", "interrupted"]


@dataclass(frozen=True, slots=True)
class BuildEvent:
    """Progress of a build: ``target`` is ``source``, ``sdist``, ``before-all`` or an identifier."""

    target: str
    step: str
    status: Status
    message: str = ""


@dataclass(frozen=True, slots=True)
class IdentifierResult:
    """The outcome of one identifier.

    ``status``: ``ok``; ``failed`` (``error`` says why, ``errors`` holds the first error lines of the log);
    ``interrupted`` (stopped, or never started, by Ctrl-C); ``unbuildable`` on this machine. ``tag`` is the
    wheel's tag part (``cp312-cp312-manylinux_2_17_x86_64``); ``repaired`` and ``tested`` say whether auditwheel
    and the test-command ran on it; ``resumed``: taken over from an interrupted earlier run, not rebuilt.
    For a pure project, one result stands for every identifier: its ``identifier`` is the wheel's tag.
    """

    identifier: str
    status: Literal["ok", "failed", "unbuildable", "interrupted"]
    wheel: Path | None = None
    log: Path | None = None
    seconds: float = 0.0
    error: str = ""
    interpreter: str | None = None
    env_reused: bool = False
    tag: str = ""
    repaired: bool = False
    tested: bool = False
    resumed: bool = False
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build produced: the sdist(s), one result per identifier, where the wheels and logs are.

    ``pure``: the project builds one pure wheel for every interpreter (reported as one result);
    ``interrupted``: Ctrl-C stopped the build; the finished wheels are kept and the next run resumes.
    """

    source: str
    commit: str | None
    epoch: int
    output_dir: Path
    log_dir: Path
    sdist: Path | None
    sdist_zip: Path | None
    results: tuple[IdentifierResult, ...] = field(default_factory=tuple)
    pure: bool = False
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Whether every identifier that was attempted succeeded (and nothing was interrupted)."""
        return not self.interrupted and all(r.status in {"ok", "unbuildable"} for r in self.results)

    @property
    def failed(self) -> list[IdentifierResult]:
        """The identifiers that failed."""
        return [r for r in self.results if r.status == "failed"]
