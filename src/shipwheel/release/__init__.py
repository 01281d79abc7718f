"""The release around the steps: version and bump, tag, preflight check, and the resumable pipeline.

This is the one package that chains the other steps; it reaches them only through their public faces.
"""

from __future__ import annotations

from ._announce import Announcement, AnnounceResult, MailInDoubtError, announce, make_announcement
from ._checks import CHECKS, CheckReport, CheckResult
from ._pipeline import ReleaseEvent, ReleaseOutcome, StepOutcome, load_state, release
from ._preflight import index_files, run_checks
from ._scans import parse_registry, scan_deprecations
from ._setver import VersionChange, bump, current_version, locations_of, set_version
from ._state import STEPS, ReleaseState, StepRecord, state_path
from ._tag import TagConflictError, TagResult, find_tag, tag_name, tag_release, verify_tag
from ._version import VersionLocation, bump_version, parse_version, read_locations

__all__ = [
    "CHECKS",
    "STEPS",
    "AnnounceResult",
    "Announcement",
    "CheckReport",
    "CheckResult",
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
    "parse_registry",
    "parse_version",
    "read_locations",
    "release",
    "run_checks",
    "scan_deprecations",
    "set_version",
    "state_path",
    "tag_name",
    "tag_release",
    "verify_tag",
]
