"""The HTML page of ``shipwheel verify`` counts each severity on its own: in the header, in the grid and in the
files table, a wheel with one error and one warning is "1 error, 1 warning", never "2 error"."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from fixtures.defective import WheelSpec, metadata_text

PYD = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}


class _Page(HTMLParser):
    """The texts of the header counts, of each grid cell and of each file row's status badges."""

    def __init__(self) -> None:
        super().__init__()
        self.stats: dict[str, str] = {}
        self.cells: dict[str, list[str]] = {}
        self.files: dict[str, list[str]] = {}
        self._stat: str | None = None
        self._where: list[str] | None = None
        self._depth = 0
        self._badge = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id") in {"n-errors", "n-warnings"}:
            self._stat = a["id"]
        if tag == "td" and a.get("data-id"):
            self._where = self.cells.setdefault(a["data-id"] or "", [])
        if tag == "tr" and a.get("class") == "file-row":
            self._where = self.files.setdefault(a["data-file"] or "", [])
        if self._where is not None and ("data-severity" in a or "sev" in (a.get("class") or "").split()):
            self._badge = True

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "tr"}:
            self._where = None
        if tag == "span":
            self._badge = False
        if tag == "b":
            self._stat = None

    def handle_data(self, data: str) -> None:
        if self._stat:
            self.stats[self._stat] = data.strip()
        if self._badge and self._where is not None:
            self._where.append(data.strip())


def test_html_counts_one_error_and_one_warning_of_a_wheel_apart(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    readme_without_type = metadata_text(content_type=None, readme="Title\n=====\n")  # one warning
    both = WheelSpec(
        tags="cp312-cp312-win_amd64", files=PYD, metadata=readme_without_type, late={"demo/x.py": b"x"}
    ).build(dist)  # ... and one error: a file RECORD does not list
    one_warning = WheelSpec(
        tags="cp313-cp313-win_amd64",
        files=PYD,
        metadata=readme_without_type,
        late={},
    ).build(dist)
    clean = WheelSpec(tags="cp314-cp314-win_amd64", files=PYD).build(dist)
    page = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", "-j", "1", "--html", str(page), str(dist)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 1, proc.stderr
    parsed = _Page()
    parsed.feed(page.read_text())
    assert parsed.stats == {"n-errors": "1", "n-warnings": "2"}
    assert parsed.files[both.name] == ["1 error", "1 warning"]
    assert parsed.files[one_warning.name] == ["1 warning"]
    assert parsed.files[clean.name] == ["ok"]
    assert parsed.cells["cp312-win_amd64"] == ["1 error", "1 warning"]
    assert parsed.cells["cp313-win_amd64"] == ["1 warning"]
    assert parsed.cells["cp314-win_amd64"] == []


def test_missing_wheels_of_a_release_are_one_group_naming_the_identifiers() -> None:
    from shipwheel.verify._model import Problem, Severity, group_problems

    problems = [
        Problem(
            "matrix-missing", Severity.ERROR, "", f"no wheel for {i} (matrix inferred)", "build it", subject=i
        )
        for i in ("cp312-win_amd64", "cp313-win_amd64", "cp313-macosx_arm64")
    ]
    problems.append(Problem("metadata-missing", Severity.ERROR, "a.whl", "METADATA is missing", "rebuild"))
    # a release-wide problem without a subject is its own group, whatever its message says
    problems.append(Problem("matrix-missing", Severity.ERROR, "", "no wheel for the platforms", "build them"))
    groups = group_problems(problems)
    assert [(g.code, g.files) for g in groups] == [
        ("matrix-missing", ("cp312-win_amd64", "cp313-win_amd64", "cp313-macosx_arm64")),
        ("metadata-missing", ("a.whl",)),
        ("matrix-missing", ()),
    ]
    assert groups[0].message == "no wheel for these identifiers (matrix inferred)"
    assert groups[2].message == "no wheel for the platforms"
