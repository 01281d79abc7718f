"""``shipwheel notes``: towncrier fragments, the changelog and checksums in one document, rst and Markdown."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docutils.core
import docutils.nodes
import docutils.utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.git_history import GitRepo
from shipwheel.cli import main_inner
from shipwheel.errors import ConfigError, ProjectError, ShipwheelError
from shipwheel.notes import checksums, make_changelog, python_support, release_notes

DATA = Path(__file__).resolve().parent.parent / "data" / "changelog"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent

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


# --- the project's own towncrier settings and template ---------------------------------------------------------

NUMPY = Path(__file__).resolve().parent.parent / "data" / "numpy_towncrier"

#: Fragments in NumPy's style (see doc/release/upcoming_changes/README.rst in NumPy): section titles, nested
#: lists, code blocks (one at the very end), Sphinx roles and directives, an orphan.
NUMPY_STYLE = {
    "27000.new_feature.rst": """\
``np.demo.kahan`` gains an ``axis`` argument
--------------------------------------------
The new argument selects the axis to sum over (see :ref:`routines.demo`):

.. code-block:: python

    >>> np.demo.kahan([[1, 2], [3, 4]], axis=0)
    array([4, 6])

- nested lists work too:

  - first
  - second

.. versionadded:: 2.0
""",
    "27001.improvement.rst": """\
* :func:`np.foo` is faster:

  * for ``float16``
  * for ``float32``
""",
    "27002.compatibility.rst": """\
Integer inputs return ``float64``
---------------------------------
Before::

    np.demo.kahan([1, 2]).dtype  # int64
""",
    "+cleanup.change.rst": "The ``np.demo`` module was tidied up.\n",
}


def _numpy_project(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    project = tmp_path / "numpy"
    shutil.copytree(NUMPY, project, ignore=shutil.ignore_patterns("SOURCE.md"))
    news = project / "doc" / "release" / "upcoming_changes"
    for name, text in (NUMPY_STYLE if extra is None else extra).items():
        (news / name).write_text(text, encoding="utf-8")
    return project


def _towncrier_draft(project: Path, version: str) -> str:
    """What ``towncrier build --draft`` writes (its progress goes to stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "towncrier", "build", "--draft", "--version", version, "--dir", str(project)],
        capture_output=True, check=True, timeout=120, text=True, encoding="utf-8",
    )  # fmt: skip
    return proc.stdout


def _fragment_part(notes: str, end: str) -> str:
    """The part of the notes between the document title and ``end``."""
    body = notes.split("\n\n", 1)[1] if notes.startswith("=") else notes
    return body[: body.index(end)]


def _docutils_problems(text: str) -> list[str]:
    doctree = docutils.core.publish_doctree(
        text, settings_overrides={"warning_stream": io.StringIO(), "report_level": 5}
    )
    return [
        m.astext()
        for m in doctree.findall(docutils.nodes.system_message)
        if m["level"] >= 2 and "Unknown interpreted text role" not in m.astext()
        and "Unknown directive type" not in m.astext()
    ]  # fmt: skip


@pytest.mark.parametrize("extra", [{}, NUMPY_STYLE], ids=["numpy-sdist-fragments", "numpy-style-fragments"])
def test_numpy_towncrier_setup_renders_like_towncrier_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> None:
    """NumPy's real [tool.towncrier], template.rst and fragments: the same text as `towncrier build --draft`."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717200000")
    project = _numpy_project(tmp_path, extra)
    notes = release_notes(project, "2.0.0")
    draft = _towncrier_draft(project, "2.0.0")
    assert "Missing matching underline" not in notes
    assert _fragment_part(notes, "Supported Python versions\n") == draft.strip("\n") + "\n\n"
    assert _docutils_problems(notes) == []
    if extra:
        assert "``np.demo.kahan`` gains an ``axis`` argument\n----" in notes
        assert "\n  - first\n  - second\n" in notes
        assert "(`gh-27000 <https://github.com/numpy/numpy/pull/27000>`__)" in notes


def test_template_all_bullets_false_underlines_title_format_wrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template of the project's, all_bullets = false, its underlines, title_format, issue_format and wrap."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717200000")
    project = _numpy_project(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8").replace(
        'underlines = "~="', 'underlines = ["*", "^"]\n    title_format = "{name} {version}"\n    wrap = true'
    )
    pyproject.write_text(text.replace("numpy/numpy/pull", "example/np/issues"), encoding="utf-8")
    notes = release_notes(project, "3.1.0")
    draft = _towncrier_draft(project, "3.1.0")
    assert draft.startswith("numpy 3.1.0\n***********\n")
    assert _fragment_part(notes, "Supported Python versions\n") == draft.strip("\n") + "\n\n"
    assert "\nNew Features\n^^^^^^^^^^^^\n" in notes
    assert "https://github.com/example/np/issues/27000" in notes
    assert _docutils_problems(notes) == []


MD_TEMPLATE = """\
{% for section, _ in sections.items() %}
{% for category, val in definitions.items() if category in sections[section] %}
{{ header_prefix }}# {{ definitions[category]['name'] }}

{% for text, values in sections[section][category].items() %}
{{ text }}

({{ values|join(', ') }})

{% endfor %}
{% endfor %}
{% endfor %}
"""


def test_markdown_template_for_md_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project's Markdown template is used for `--format md`, as towncrier renders it."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717200000")
    project = _numpy_project(tmp_path, {"5.feature.md": "Faster **sums**:\n\n- one\n  - nested\n"})
    (project / "changes.md").write_text(MD_TEMPLATE, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "mdproj"\n\n[tool.towncrier]\ndirectory = "doc/release/upcoming_changes"\n'
        'filename = "NEWS.md"\ntemplate = "changes.md"\nall_bullets = false\ntitle_format = "## {version}"\n'
        'issue_format = "[#{issue}](https://github.com/o/r/pull/{issue})"\n',
        encoding="utf-8",
    )
    notes = release_notes(project, "1.0", fmt="md")
    draft = _towncrier_draft(project, "1.0")
    assert draft.startswith("## 1.0\n")
    assert _fragment_part(notes, "## Supported Python versions\n") == draft.strip("\n") + "\n\n"
    assert (
        "### Features\n\nFaster **sums**:\n\n- one\n  - nested\n\n([#5](https://github.com/o/r/pull/5))"
        in notes
    )


def test_numpy_setup_with_md_output_keeps_fragments_whole(tmp_path: Path) -> None:
    """NumPy's template is rst: `--format md` uses the packaged layout, all_bullets = false honoured, titles kept."""
    messages: list[str] = []
    notes = release_notes(_numpy_project(tmp_path), "2.0.0", fmt="md", progress=messages.append)
    assert any("template is rst, not md" in m for m in messages)
    # rst titles become Markdown headings below the section's (a `---` underline would be a level-2 heading).
    assert notes.startswith("## New features\n\n#### Array API v2022.12 support in ``numpy.array_api``\n\n- ")
    assert "#### ``np.demo.kahan`` gains an ``axis`` argument\n\nThe new argument" in notes
    assert not re.search(r"^(-{3,}|={3,})$", notes, re.M)
    assert "\n\n([gh-23789](https://github.com/numpy/numpy/pull/23789))\n" in notes
    assert "\n- ``np.demo" not in notes and "\n- Array API" not in notes


def test_invalid_rst_is_an_error_naming_the_fragment(tmp_path: Path) -> None:
    """Without a template, a titled fragment in a bullet is invalid rst: exit 4, one line naming the fragment."""
    project = tmp_path / "proj"
    news = project / "news"
    news.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\n\n[tool.towncrier]\ndirectory = "news"\n', encoding="utf-8"
    )
    (news / "1.feature.rst").write_text("Plain news.\n", encoding="utf-8")
    (news / "2.feature.rst").write_text(NUMPY_STYLE["27002.compatibility.rst"], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "notes", "1.0", "--project", str(project), "--range", "none"],
        capture_output=True, check=False, timeout=120, text=True, encoding="utf-8",
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == ""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert "not valid reStructuredText" in errors[0] and "2.feature.rst" in errors[0]
    assert "1.feature.rst" not in errors[0]


def test_notes_default_range_skips_the_release_candidates(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """NumPy's tags: `notes 2.3.0` on v2.3.0 starts at v2.3.0.dev0, not at v2.3.0rc1 (what describe finds)."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("start", files={"pyproject.toml": '[project]\nname = "r"\n'})
    repo.tag("v2.2.0")
    repo.commit("BUG: on 2.2.x only (#1)", author=("Old Branch", "old@example.org"))
    repo.tag("v2.3.0.dev0")
    repo.commit("ENH: early in 2.3 (#2)", author=("Early Bird", "early@example.org"))
    repo.tag("v2.3.0rc1")
    repo.commit("BUG: after rc1 (#3)", author=("Late Fix", "late@example.org"))
    repo.tag("v2.3.0rc2")
    repo.commit("REL: 2.3.0 (#4)")
    repo.tag("v2.3.0")
    url = "https://github.com/example/r/pull/{number}"
    assert main_inner(["notes", "2.3.0", "--project", str(repo.path), "--pr-url", url]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "* Early Bird +\n* Late Fix +\n" in out
    assert "Old Branch" not in out
    assert [int(n) for n in re.findall(r"^\* `#(\d+)", out, re.M)] == [2, 3, 4]


def test_docutils_warnings_are_shown_not_fatal(tmp_path: Path) -> None:
    """A real NumPy title (2.3.0, #28972) gives NumPy's own changelog an open inline literal: a warning only."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("start", files={"pyproject.toml": '[project]\nname = "r"\n'})
    repo.tag("v1.0")
    repo.commit("MNT: Get rif of `# pylint: ` pragma controls (#28972)")
    messages: list[str] = []
    log = make_changelog(repo.path, "v1.0..HEAD", pr_url="https://github.com/numpy/numpy/pull/{number}")
    text = release_notes(repo.path, "1.1", changelog=log, progress=messages.append)
    assert "__: MNT: Get rif of ``# pylint: `` pragma controls\n" in text
    assert [m for m in messages if m.startswith("reStructuredText")] == [
        "reStructuredText warning at line 23: Inline literal start-string without end-string."
    ]


def test_invalid_rst_from_the_notes_template_blames_the_template(tmp_path: Path) -> None:
    """A heading level clash after the last fragment is the template's fault, not the last fragment's."""
    project = _numpy_project(tmp_path)
    template = tmp_path / "notes.rst.j2"
    template.write_text("Top\n===\n\n{{ fragments }}\n\nTail\n####\n\nText.\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="not valid reStructuredText") as exc:
        release_notes(project, "2.0.0", template=template)
    assert "fragment" not in exc.value.message
    assert "template" in exc.value.hint


def test_broken_project_template_is_a_config_error(tmp_path: Path) -> None:
    project = _numpy_project(tmp_path, {})
    (project / "doc" / "release" / "upcoming_changes" / "template.rst").write_text(
        "{% for x in sections.items() %}{{ x.nope() }}{% endfor %}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="template") as exc:
        release_notes(project, "2.0.0")
    assert "towncrier build --draft" in exc.value.hint


TOWNCRIER_KEYS = [
    "directory", "underlines", "issue_format", "template", "wrap", "title_format", "all_bullets", "name",
    "ignore", "issue_pattern", "orphan_prefix", "filename", "single_file", "start_string", "package", "type",
]  # fmt: skip
_TOML_VALUE = st.one_of(
    st.integers(-5, 200),
    st.booleans(),
    st.text(max_size=12),
    st.lists(st.text(max_size=4), max_size=3),
    st.sampled_from(["{issue}", "{nope}", "{", "x.md", "x.rst", "news", "../..", "towncrier:default", ""]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.dictionaries(st.sampled_from(TOWNCRIER_KEYS), _TOML_VALUE, max_size=3),
    fmt=st.sampled_from(["rst", "md"]),
)
def test_malformed_towncrier_tables_never_give_a_traceback(
    tmp_path: Path, table: dict[str, object], fmt: str
) -> None:
    """Random [tool.towncrier] values: the notes come out or fail with a shipwheel error, never a traceback."""
    project = Path(tempfile.mkdtemp(dir=tmp_path))
    news = project / "news"
    news.mkdir()
    (news / "1.feature.rst").write_text("Title\n-----\nText.\n", encoding="utf-8")
    (news / "+x.bugfix.rst").write_text("- a\n\n  - b\n", encoding="utf-8")
    lines = [
        '[project]\nname = "p"\n\n[tool.towncrier]',
        'directory = "news"' if "directory" not in table else "",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    (project / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        release_notes(project, "1.0", fmt=fmt)
    except ShipwheelError as exc:
        assert exc.exit_code in (3, 4)
