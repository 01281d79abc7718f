"""What ``build()`` reports: progress events while it works, one result per identifier at the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["BuildEvent", "BuildResult", "CacheStats", "IdentifierResult", "PhaseTimes", "Status"]

Status = Literal["queued", "start", "done", "failed", "skipped", "interrupted"]


@dataclass(frozen=True, slots=True)
class BuildEvent:
    """Progress of a build: ``target`` is ``source``, ``sdist``, ``before-all`` or an identifier."""

    target: str
    step: str
    status: Status
    message: str = ""


@dataclass(frozen=True, slots=True)
class PhaseTimes:
    """Seconds one identifier spent in each phase: ``environment`` (unpack, before-build, the build
    environment), ``compile`` (the backend's wheel build), ``repair`` and ``test``; waiting for a core is in
    none of them."""

    environment: float = 0.0
    compile: float = 0.0
    repair: float = 0.0
    test: float = 0.0

    @property
    def total(self) -> float:
        """The sum of the phases."""
        return self.environment + self.compile + self.repair + self.test


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What the compiler cache did for some compiles: ``hits`` and ``misses`` among the cacheable ones."""

    hits: int = 0
    misses: int = 0

    def __add__(self, other: CacheStats) -> CacheStats:
        return CacheStats(self.hits + other.hits, self.misses + other.misses)

    @property
    def rate(self) -> float | None:
        """Hits among the cacheable compiles, 0 to 1; ``None`` when nothing was compiled."""
        total = self.hits + self.misses
        return self.hits / total if total else None


@dataclass(frozen=True, slots=True)
class IdentifierResult:
    """The outcome of one identifier.

    ``status``: ``ok``; ``failed`` (``error`` says why, ``errors`` holds the first error lines of the log);
    ``interrupted`` (stopped, or never started, by Ctrl-C); ``unbuildable`` on this machine. ``tag`` is the
    wheel's tag part (``cp312-cp312-manylinux_2_17_x86_64``); ``repaired`` and ``tested`` say whether auditwheel
    and the test-command ran on it; ``resumed``: taken over from an interrupted earlier run, not rebuilt;
    ``sha256`` the wheel's, as recorded in the build's journal; ``times`` per phase; ``cache`` what the compiler
    cache did for its compiles. For a pure project, one result stands for every identifier: its ``identifier``
    is the wheel's tag.
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
    sha256: str = ""
    times: PhaseTimes = field(default_factory=PhaseTimes)
    cache: CacheStats = field(default_factory=CacheStats)
    #: what the Cython cache did for its Cython translations (meson-python builds)
    cython: CacheStats = field(default_factory=CacheStats)
    #: the job count the backend was given for the compile
    compile_jobs: int = 0


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build produced: the sdist(s), one result per identifier, where the wheels and logs are.

    ``pure``: the project builds one pure wheel for every interpreter (reported as one result);
    ``interrupted``: Ctrl-C stopped the build; the finished wheels are kept and the next run resumes.
    ``selection``: the identifiers this build was asked for and could build here; ``compiler_cache`` names the
    compiler cache the compiles went through (empty: none), ``cache`` its hits and misses in this run;
    ``cores`` the cores the scheduler shared out.
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
    selection: tuple[str, ...] = ()
    sdist_sha256: str = ""
    compiler_cache: str = ""
    cores: int = 1

    @property
    def ok(self) -> bool:
        """Whether every identifier that was attempted succeeded (and nothing was interrupted)."""
        return not self.interrupted and all(r.status in {"ok", "unbuildable"} for r in self.results)

    @property
    def failed(self) -> list[IdentifierResult]:
        """The identifiers that failed."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def cache(self) -> CacheStats:
        """The compiler cache's hits and misses over every identifier built in this run."""
        total = CacheStats()
        for r in self.results:
            total += r.cache
        return total

    @property
    def cython(self) -> CacheStats:
        """The Cython cache's hits and misses over every identifier built in this run."""
        total = CacheStats()
        for r in self.results:
            total += r.cython
        return total

    @property
    def files(self) -> Mapping[str, str]:
        """``{file name: sha256}`` of the sdist and every wheel this build made or kept, as recorded when each
        was finished (the release step hashes nothing again)."""
        out = {self.sdist.name: self.sdist_sha256} if self.sdist and self.sdist_sha256 else {}
        out.update({r.wheel.name: r.sha256 for r in self.results if r.wheel is not None and r.sha256})
        return out
