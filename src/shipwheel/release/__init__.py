"""The release around the steps: version and bump, tag, preflight check, and the resumable pipeline.

This is the one package that chains the other steps; it reaches them only through their public faces.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._announce import Announcement, AnnounceResult, MailInDoubtError, announce, make_announcement
    from ._branch import make_branch
    from ._checks import CHECKS, CheckReport, CheckResult
    from ._docs import publish_docs
    from ._names import project_name
    from ._pipeline import ReleaseEvent, ReleaseOutcome, StepOutcome, load_state, release
    from ._preflight import index_files, run_checks
    from ._publish_check import publish_check
    from ._push import push_commands
    from ._scans import parse_registry, scan_deprecations
    from ._selection import Coverage, release_coverage
    from ._setver import VersionChange, bump, current_version, locations_of, set_version
    from ._state import STEPS, ReleaseState, StepRecord, state_path
    from ._status_html import render_status_html
    from ._tag import TagConflictError, TagResult, find_tag, repository_of, tag_name, tag_release, verify_tag
    from ._version import VersionLocation, bump_version, parse_version, read_locations

__all__ = [
    "CHECKS",
    "STEPS",
    "AnnounceResult",
    "Announcement",
    "CheckReport",
    "CheckResult",
    "Coverage",
    "MailInDoubtError",
    "ReleaseEvent",
    "ReleaseOutcome",
    "ReleaseState",
    "StepOutcome",
    "StepRecord",
    "TagConflictError",
    "TagResult",
    "VersionChange",
    "VersionLocation",
    "announce",
    "bump",
    "bump_version",
    "current_version",
    "find_tag",
    "index_files",
    "load_state",
    "locations_of",
    "make_announcement",
    "make_branch",
    "parse_registry",
    "parse_version",
    "project_name",
    "publish_check",
    "publish_docs",
    "push_commands",
    "read_locations",
    "release",
    "release_coverage",
    "render_status_html",
    "repository_of",
    "run_checks",
    "scan_deprecations",
    "set_version",
    "state_path",
    "tag_name",
    "tag_release",
    "verify_tag",
]

# Imported on first use: the command line registers every command at start-up and must stay quick.
_LAZY = {
    "AnnounceResult": "._announce",
    "Announcement": "._announce",
    "CHECKS": "._checks",
    "CheckReport": "._checks",
    "CheckResult": "._checks",
    "Coverage": "._selection",
    "MailInDoubtError": "._announce",
    "ReleaseEvent": "._pipeline",
    "ReleaseOutcome": "._pipeline",
    "ReleaseState": "._state",
    "STEPS": "._state",
    "StepOutcome": "._pipeline",
    "StepRecord": "._state",
    "TagConflictError": "._tag",
    "TagResult": "._tag",
    "VersionChange": "._setver",
    "VersionLocation": "._version",
    "announce": "._announce",
    "bump": "._setver",
    "bump_version": "._version",
    "current_version": "._setver",
    "find_tag": "._tag",
    "index_files": "._preflight",
    "load_state": "._pipeline",
    "locations_of": "._setver",
    "make_announcement": "._announce",
    "make_branch": "._branch",
    "parse_registry": "._scans",
    "parse_version": "._version",
    "project_name": "._names",
    "publish_check": "._publish_check",
    "publish_docs": "._docs",
    "push_commands": "._push",
    "read_locations": "._version",
    "release": "._pipeline",
    "release_coverage": "._selection",
    "render_status_html": "._status_html",
    "repository_of": "._tag",
    "run_checks": "._preflight",
    "scan_deprecations": "._scans",
    "set_version": "._setver",
    "state_path": "._state",
    "tag_name": "._tag",
    "tag_release": "._tag",
    "verify_tag": "._tag",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
