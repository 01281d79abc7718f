"""``shipwheel notes``: towncrier fragments, the changelog and checksums in one document, rst and Markdown."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import docutils.core
import docutils.utils
import pytest

from fixtures.git_history import GitRepo
from shipwheel.cli import main_inner
from shipwheel.errors import ConfigError
from shipwheel.notes import checksums, python_support, release_notes

DATA = Path(__file__).parent / "data" / "changelog"
REPO_ROOT = Path(__file__).resolve().parent.parent

PYPROJECT = """\
[project]
name = "demo"
version = "1.1.0"
requires-python = ">=3.11"
classifiers = [
    "Programming Language :: Python :: 3",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
]

[tool.towncrier]
directory = "doc/release/upcoming_changes"
filename = "NEWS.rst"
issue_format = "`gh-{issue} <https://github.com/example/demo/pull/{issue}>`__"

[[tool.towncrier.type]]
directory = "highlight"
name = "Highlights"
showcontent = true

[[tool.towncrier.type]]
directory = "new_feature"
name = "New Features"
showcontent = true

[[tool.towncrier.type]]
directory = "deprecation"
name = "Deprecations"
showcontent = true

[[tool.towncrier.type]]
directory = "expired"
name = "Expired deprecations"
showcontent = true

[[tool.towncrier.type]]
directory = "compatibility"
name = "Compatibility notes"
showcontent = true

[[tool.towncrier.type]]
directory = "performance"
name = "Performance improvements"
showcontent = true
"""

FRAGMENTS = {
    "+fast.highlight.rst": "Sums of ``float16`` arrays are twice as fast.\n",
    "12.new_feature.rst": "``demo.kahan`` gained an ``axis`` argument.\n",
    "15.new_feature.rst": "New ``demo.neumaier`` function.\n",
    "20.deprecation.rst": "``demo.old_sum`` is deprecated; use ``demo.kahan``.\n",
    "21.expired.rst": "``demo.ancient`` (deprecated in 1.0) was removed.\n",
    "30.compatibility.rst": "Integer inputs now return ``float64``.\n",
    "40.performance.rst": "Faster import.\n",
}

WHEELS = [
    "demo-1.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "demo-1.1.0-cp313-cp313t-win_amd64.whl",
    "demo-1.1.0-cp312-cp312-macosx_11_0_arm64.whl",
    "demo-1.1.0.tar.gz",
]


@pytest.fixture
def demo(tmp_path: Path) -> GitRepo:
    """A project with towncrier fragments, two tags and a wheelhouse with four release files and a stray one."""
    repo = GitRepo(tmp_path / "demo")
    repo.commit("Initial commit", files={"pyproject.toml": PYPROJECT})
    repo.tag("v1.0.0")
    repo.commit("ENH: axis argument (#12)", author=("Ann Lee", "ann@example.org"))
    repo.commit("DEP: deprecate old_sum (#20)", author=("Ünal Öz", "unal@example.org"))
    news = repo.path / "doc" / "release" / "upcoming_changes"
    news.mkdir(parents=True)
    for name, text in FRAGMENTS.items():
        (news / name).write_text(text, encoding="utf-8")
    wheelhouse = repo.path / "wheelhouse"
    wheelhouse.mkdir()
    for i, name in enumerate([*WHEELS, "other-2.0-py3-none-any.whl"]):
        (wheelhouse / name).write_bytes(bytes([i]) * (1000 + i))
    return repo


def _notes(demo: GitRepo, fmt: str) -> bytes:
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "notes", "1.1.0", "--format", fmt, "--pr-url",
         "https://github.com/example/demo/pull/{number}"],
        cwd=demo.path, capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("fmt", ["rst", "md"])
def test_notes_match_expected_file(demo: GitRepo, fmt: str) -> None:
    assert _notes(demo, fmt) == (DATA / f"notes_demo.{fmt}").read_bytes()


def test_rst_notes_are_valid_restructuredtext(demo: GitRepo) -> None:
    text = _notes(demo, "rst").decode()
    warnings = io.StringIO()
    docutils.core.publish_doctree(
        text,
        settings_overrides={
            "warning_stream": warnings,
            "report_level": docutils.utils.Reporter.INFO_LEVEL + 1,
        },
    )
    assert warnings.getvalue() == ""


def test_checksums_of_the_release_files_only(demo: GitRepo) -> None:
    sums = checksums(demo.path / "wheelhouse", "demo", "1.1.0")
    assert [c.name for c in sums] == sorted(WHEELS)
    for c in sums:
        data = (demo.path / "wheelhouse" / c.name).read_bytes()
        assert c.md5 == hashlib.md5(data).hexdigest()
        assert c.sha256 == hashlib.sha256(data).hexdigest()
    assert len(checksums(demo.path / "wheelhouse")) == 5


def test_python_support_sentence() -> None:
    classifiers = {"project": {"classifiers": [f"Programming Language :: Python :: 3.{m}" for m in (10, 12)]}}
    assert python_support(classifiers) == "This release supports Python versions 3.10, 3.12."
    assert python_support({"project": {"requires-python": ">=3.9"}}, WHEELS) == (
        "This release requires Python >=3.9. Wheels are provided for CPython 3.11, 3.12, 3.13t."
    )
    assert "does not say" in python_support(None)


def test_without_towncrier_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "bare"\nversion = "1"\n', encoding="utf-8")
    messages: list[str] = []
    text = release_notes(tmp_path, "1.0", progress=messages.append)
    assert text.startswith("======================\nbare 1.0 Release Notes\n======================\n")
    assert any("no towncrier configuration" in m for m in messages)


def test_bad_towncrier_configuration_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.towncrier]\ntype = "oops"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="towncrier"):
        main_inner(["notes", "1.0", "--project", str(tmp_path), "--range", "none"])


def test_shipwheel_notes_on_shipwheel_itself(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """Dogfooding: shipwheel's own [tool.towncrier] and changelog.d/ give its release notes."""
    assert main_inner(["notes", "0.1.0", "--project", str(REPO_ROOT), "--range", "none"]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert out.startswith("=============================\nshipwheel 0.1.0 Release Notes\n")
    assert "\nHighlights\n==========\n\n- First release of shipwheel" in out


def test_notes_outside_git_have_no_changelog(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "bare"\nrequires-python = ">=3.12"\n', encoding="utf-8"
    )
    out = tmp_path / "notes.md"
    assert main_inner(["notes", "2.0", "--project", str(tmp_path), "--format", "md", "-o", str(out)]) == 0
    assert (
        out.read_text(encoding="utf-8")
        == "## Supported Python versions\n\nThis release requires Python >=3.12.\n"
    )
    assert b"no changelog" in capsysbinary.readouterr().err
