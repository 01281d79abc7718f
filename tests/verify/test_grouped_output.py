"""Repeated problems are shown once per code and cause with their files listed: in the terminal, with ``-q``, in
``--json``, in GitHub annotations and on the HTML page; ``--json``'s verdict is the exit code's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from fixtures.defective import WheelSpec, metadata_text

PYD = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}
PLATFORMS = ("win_amd64", "win_arm64", "win32")
NO_CONTENT_TYPE = metadata_text(content_type=None, readme="Title\n=====\n")


def _release(folder: Path, *, errors: bool = True) -> list[Path]:
    """Six wheels without Description-Content-Type (one warning cause); three of them with a file RECORD lacks
    (one error cause) when ``errors``."""
    paths = []
    for i, version in enumerate(("cp312", "cp313")):
        for j, platform in enumerate(PLATFORMS):
            late = {"demo/backdoor.py": b"import os\n"} if errors and (i + j) % 2 == 0 else {}
            spec = WheelSpec(
                tags=f"{version}-{version}-{platform}", files=PYD, metadata=NO_CONTENT_TYPE, late=late
            )
            paths.append(spec.build(folder))
    return paths


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", "-j", "1", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
    )


def test_terminal_shows_one_block_per_code_and_cause_with_its_files(tmp_path: Path) -> None:
    paths = _release(tmp_path / "dist")
    proc = _cli(str(tmp_path / "dist"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert out.count("readme-content-type-missing") == 1 and out.count("record-unlisted") == 1, out
    assert re.search(r"warning readme-content-type-missing\s+6 files", out), out
    assert re.search(r"error\s+record-unlisted\s+3 files", out), out
    assert out.count("has no Description-Content-Type") == 1
    for path in paths:  # each file named under its groups: once in the warning block, and in the error block
        assert out.count(path.name) in (1, 2), path.name


def test_quiet_prints_the_errors_and_the_verdict_only(tmp_path: Path) -> None:
    _release(tmp_path / "dist")
    proc = _cli("-q", str(tmp_path / "dist"), cwd=tmp_path)
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("error   record-unlisted"), proc.stdout
    assert lines[-1] == "NOT ready to publish"
    assert "readme-content-type-missing" not in proc.stdout and "demo 1.0:" not in proc.stdout
    assert proc.stderr == ""
    clean = _cli("-q", str(_release(tmp_path / "clean", errors=False)[0]), cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout.strip() == "ready to publish"


def test_json_verdict_is_the_exit_code_with_strict(tmp_path: Path) -> None:
    _release(tmp_path / "dist", errors=False)
    strict = _cli("--strict", "--json", str(tmp_path / "dist"), cwd=tmp_path)
    data = json.loads(strict.stdout)
    assert strict.returncode == 1 and data["ok"] is False and data["strict"] is True
    assert data["schema"] == 2 and data["warnings"] == 6
    assert (
        data["groups"]
        == [
            {
                "code": "readme-content-type-missing",
                "severity": "warning",
                "message": "demo-1.0.dist-info/METADATA has no Description-Content-Type",
                "fix": data["groups"][0]["fix"],
                "files": sorted(data["groups"][0]["files"]),
            }
        ]
        and len(data["groups"][0]["files"]) == 6
    )
    lenient = _cli("--json", str(tmp_path / "dist"), cwd=tmp_path)
    assert lenient.returncode == 0 and json.loads(lenient.stdout)["ok"] is True


def test_github_gets_one_annotation_per_group(tmp_path: Path) -> None:
    _release(tmp_path / "dist")
    summary = tmp_path / "summary.md"
    proc = _cli(
        str(tmp_path / "dist"),
        cwd=tmp_path,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    annotations = [line for line in proc.stderr.splitlines() if line.startswith(("::error", "::warning"))]
    assert len(annotations) == 2, proc.stderr
    error = next(a for a in annotations if a.startswith("::error"))
    assert "title=record-unlisted" in error and "(and 2 other file(s): " in error
    rows = [line for line in summary.read_text().splitlines() if "`readme-content-type-missing`" in line]
    assert len(rows) == 1 and rows[0].count(".whl") == 6


def test_html_page_has_one_row_per_group_and_the_strict_verdict(tmp_path: Path) -> None:
    _release(tmp_path / "dist", errors=False)
    page = tmp_path / "report.html"
    proc = _cli("--strict", "--html", str(page), str(tmp_path / "dist"), cwd=tmp_path)
    assert proc.returncode == 1
    text = page.read_text()
    assert text.count('class="problem-row"') == 1 and 'data-files="6"' in text
    assert "NOT READY" in text and "(--strict)" in text
