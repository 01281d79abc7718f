"""Shared fixtures. Servers and builds are real; they listen on 127.0.0.1 only and are stopped by the fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = [
    "fixtures.git_history",
    "fixtures.defective",  # before index_servers, which imports its wheel factory
    "fixtures.index_servers",
    "fixtures.gpg",
    "fixtures.http_servers",
    "fixtures.smtp_server",
]


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test sees the developer's SHIPWHEEL_*/TWINE_* variables or ~/.pypirc."""
    for name in list(os.environ):
        if name.startswith(("SHIPWHEEL_", "TWINE_", "CIBW_")):
            monkeypatch.delenv(name)
    yield
