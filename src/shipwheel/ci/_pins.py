"""The one table of GitHub Actions the generated workflows use, each pinned by full commit SHA.

A tag can be moved to other code after review; a commit SHA cannot, so every ``uses:`` names a SHA and keeps the
release it came from in a comment (the form Dependabot and zizmor recognise). The SHAs were read from the
actions' own repositories (``git rev-parse vX.Y.Z^{commit}``); update them here, all at once, and regenerate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CIBUILDWHEEL", "PINS", "Pin"]


@dataclass(frozen=True, slots=True)
class Pin:
    """One action at one release: ``uses`` renders ``owner/name@sha # version``."""

    action: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        """The value of a ``uses:`` key, with the release as a YAML comment."""
        return f"{self.action}@{self.sha} # {self.version}"


#: Short name -> pinned action; cibuildwheel is pinned per project (:data:`CIBUILDWHEEL`).
PINS: dict[str, Pin] = {
    pin.action.split("/", 1)[1]: pin
    for pin in (
        Pin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
        Pin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
        Pin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
        Pin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
        Pin("docker/setup-qemu-action", "29109295f81e9208d7d86ff1c6c12d2833863392", "v3.6.0"),
        Pin("pypa/gh-action-pypi-publish", "dc37677b2e1c63e2034f94d8a5b11f265b73ba33", "v1.14.2"),
    )
}

#: cibuildwheel releases by version -> the commit its tag names, for the lines shipwheel reads (3.3, 3.4, 4.x
#: read as 4.3). Each checked with ``git rev-parse vX.Y.Z^{commit}`` in a copy of pypa/cibuildwheel whose newest
#: tag is v4.2.0 (2026-08-04): 4.3.x is not listed until its tags can be read the same way, so a project on the
#: 4.3 line is pinned to 4.2.0 (``ci github`` says so on stderr).
CIBUILDWHEEL: Mapping[str, str] = MappingProxyType(
    {
        "3.3.0": "63fd63b352a9a8bdcc24791c9dbee952ee9a8abc",
        "3.3.1": "298ed2fb2c105540f5ed055e8a6ad78d82dd3a7e",
        "3.4.0": "ee02a1537ce3071a004a6b08c41e72f0fdc42d9a",
        "3.4.1": "8d2b08b68458a16aeb24b64e68a09ab1c8e82084",
        "4.1.0": "294735312765b09d24a2fbec22660ce817587d55",
        "4.1.1": "4726cd35bb13f7bde50cf2761f2499ac7b3aa32c",
        "4.2.0": "1828c10ab37f080699c7b81cea34097c684a7074",
    }
)
