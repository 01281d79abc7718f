"""What the ci tests share: a released shipwheel to write into workflows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

#: The requirement the workflows of the tests install (this checkout is a development build, which is refused).
REQUIREMENT = "shipwheel==1.0.0"


@pytest.fixture(autouse=True)
def _released_shipwheel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT", REQUIREMENT)
    yield
