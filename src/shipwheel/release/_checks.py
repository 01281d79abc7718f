"""What ``shipwheel check`` reports: one :class:`CheckResult` per check, each with a stable code and its fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["CHECKS", "CheckReport", "CheckResult", "Status"]

Status = Literal["pass", "fail", "skipped"]

#: Stable code -> (what is checked, how to fix a failure). Codes never change meaning; new checks get new codes.
CHECKS: Mapping[str, tuple[str, str]] = {
    "tree-clean": ("the work tree has no uncommitted changes", "commit or stash the changes (git status)"),
    "branch": ("the release is made from the expected branch", "git switch to release.branch"),
    "version-files": (
        "every configured location holds VERSION",
        "run: shipwheel version VERSION",
    ),
    "version-backend": (
        "the build backend reports VERSION",
        "fetch tags and full history (git fetch --unshallow --tags) for setuptools-scm, or set the version",
    ),
    "index-free": ("VERSION is not on the target index yet", "release a new version: shipwheel bump"),
    "notes-present": ("the release notes exist and name VERSION", "write the notes: shipwheel notes VERSION"),
    "fragments-left": (
        "no towncrier fragments are left behind",
        "render them into the notes (towncrier build) and delete them",
    ),
    "deprecations-expired": (
        "nothing is due for removal by VERSION",
        "remove the expired deprecations, or postpone them in their messages",
    ),
    "api-registry": (
        "the API hash matches the registry for the API version",
        "bump the API version and add the registry line shown",
    ),
    "docs-build": ("the docs build without warnings", "fix the warnings the docs command prints"),
    "sdist-complete": (
        "the sdist holds every git-tracked file that belongs in it",
        "include the files (MANIFEST.in, [tool.setuptools], meson dist) or add them to release.sdist-ignore",
    ),
    "pypi-headroom": (
        "every release file is under PyPI's size limit",
        "shrink the file (strip debug symbols) or ask PyPI for a larger limit",
    ),
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check: ``code`` from :data:`CHECKS`, a one-line ``message``, the ``fix`` when it
    failed (or why it was skipped) and ``details`` (one line per finding: a file and line, a missing file)."""

    code: str
    status: Status
    message: str
    fix: str = ""
    details: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """What the check checks, in words."""
        return CHECKS[self.code][0]


def passed(code: str, message: str, details: tuple[str, ...] = ()) -> CheckResult:
    """A passing result."""
    return CheckResult(code, "pass", message, "", details)


def failed(code: str, message: str, details: tuple[str, ...] = (), fix: str = "") -> CheckResult:
    """A failing result, with the code's default fix unless ``fix`` is given."""
    return CheckResult(code, "fail", message, fix or CHECKS[code][1], details)


def skipped(code: str, why: str, fix: str = "") -> CheckResult:
    """A check that did not run, and what would make it run."""
    return CheckResult(code, "skipped", why, fix)


@dataclass(slots=True)
class CheckReport:
    """Every check of one version, in the order they ran."""

    version: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no check failed (skipped checks do not fail the report)."""
        return all(r.status != "fail" for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "version": self.version,
            "ok": self.ok,
            "checks": [{**asdict(r), "title": r.title, "details": list(r.details)} for r in self.results],
        }
