"""What a publish reports: progress events and results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._plan import Plan

__all__ = ["FileResult", "PublishEvent", "PublishResult"]


@dataclass(frozen=True, slots=True)
class PublishEvent:
    """Progress of a publish: ``plan``, ``start``, ``bytes`` (``amount`` sent), ``retry``, ``done``, ``failed``,
    ``wait`` (checking the index before the sdist), ``connections`` (``amount`` uploads at once, at most
    ``total``)."""

    kind: Literal["plan", "start", "bytes", "retry", "done", "failed", "wait", "connections"]
    filename: str = ""
    amount: int = 0
    total: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FileResult:
    """What happened to one file: ``uploaded``, ``skipped`` (already there), ``failed``, ``not-sent``."""

    filename: str
    status: Literal["uploaded", "skipped", "failed", "not-sent"]
    detail: str = ""
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The outcome of :func:`publish_files`."""

    plan: Plan
    results: tuple[FileResult, ...]
    url: str
    dry_run: bool = False
    seconds: float = 0.0
    #: Files whose passing verify result was recorded earlier for the same bytes and settings (not checked again).
    verified_earlier: tuple[str, ...] = ()
    #: Every number of uploads at once the adaptive limit took, in order (empty when nothing was sent over HTTP).
    connections: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.status in {"uploaded", "skipped"} for r in self.results) or self.dry_run

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.plan.as_dict(),
            "url": self.url,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "verified_earlier": list(self.verified_earlier),
            "connections": list(self.connections),
            "results": [
                {"file": r.filename, "status": r.status, "detail": r.detail, "attempts": r.attempts}
                for r in self.results
            ],
        }
