"""The one table of GitHub Actions the generated workflows use, each pinned by full commit SHA.

A tag can be moved to other code after review; a commit SHA cannot, so every ``uses:`` names a SHA and keeps the
release it came from in a comment (the form Dependabot and zizmor recognise). The SHAs were read from the
actions' own repositories (``git rev-parse vX.Y.Z^{commit}``); update them here, all at once, and regenerate.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CIBUILDWHEEL_PYTHONS", "PINS", "Pin"]


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


#: Short name -> pinned action.
PINS: dict[str, Pin] = {
    pin.action.split("/", 1)[1]: pin
    for pin in (
        Pin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
        Pin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
        Pin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
        Pin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
        Pin("pypa/cibuildwheel", "1828c10ab37f080699c7b81cea34097c684a7074", "v4.2.0"),
        Pin("pypa/gh-action-pypi-publish", "dc37677b2e1c63e2034f94d8a5b11f265b73ba33", "v1.14.2"),
    )
}

#: The interpreters the pinned cibuildwheel builds (``cibuildwheel --print-build-identifiers`` of v4.2.0 with
#: every arch): it dropped cp38 and cp313t and builds cp315 and cp315t by default (its build-platforms.toml;
#: only cp316 waits for ``cpython-prerelease``). A test compares with the test extra's cibuildwheel.
CIBUILDWHEEL_PYTHONS: frozenset[str] = frozenset(
    {"cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp314t", "cp315", "cp315t"}
)
