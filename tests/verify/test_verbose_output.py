"""``shipwheel verify -v``: a line per file as it is checked (instead of the bar), and every file of a problem
group listed, where the default shows the first few and counts the rest; output that is not a terminal is never
wrapped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fixtures.defective import WheelSpec, metadata_text

PYD = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}


def _release(folder: Path) -> list[Path]:
    """Fourteen wheels without Description-Content-Type: one warning group of fourteen files."""
    readme = metadata_text(content_type=None, readme="Title\n=====\n")
    return [
        WheelSpec(tags=f"{py}-{py}-{platform}", files=PYD, metadata=readme).build(folder)
        for py in ("cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp315")
        for platform in ("win_amd64", "win32")
    ]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", "-j", "1", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "40", "NO_COLOR": "1"},
    )


def test_verbose_verify_lists_every_file_and_each_check(tmp_path: Path) -> None:
    wheels = _release(tmp_path / "dist")
    default = _cli(str(tmp_path / "dist"), cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert "… and 3 more (--json lists them all)" in default.stdout
    assert sum(w.name in default.stdout for w in wheels) == 11
    assert "checked " not in default.stderr

    verbose = _cli("-v", str(tmp_path / "dist"), cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "more (--json lists them all)" not in verbose.stdout
    listed = [line.strip() for line in verbose.stdout.splitlines() if line.strip().endswith(".whl")]
    assert sorted(listed) == sorted(w.name for w in wheels)  # each on a line of its own, whole
    checked = [line for line in verbose.stderr.splitlines() if line.startswith("checked ")]
    assert len(checked) == len(wheels)
    for wheel in wheels:
        assert sum(line.startswith(f"checked {wheel.name}: ") for line in checked) == 1, verbose.stderr
