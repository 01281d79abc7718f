"""The public API: what ``import shipwheel`` offers, imported lazily."""

from __future__ import annotations

import subprocess
import sys

import shipwheel


def test_public_names_resolve() -> None:
    for name in shipwheel.__all__:
        assert getattr(shipwheel, name) is not None, name
    assert callable(shipwheel.verify_paths) and callable(shipwheel.publish_files)
    from shipwheel.builder import build
    from shipwheel.staging import fetch_release, stage_files

    assert all(callable(f) for f in (build, fetch_release, stage_files))


def test_import_is_cheap() -> None:
    code = "import sys, shipwheel; print(sorted(m for m in ('httpx', 'build', 'shipwheel.verify', 'shipwheel.publish') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
