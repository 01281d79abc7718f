"""``notes --format md`` (the body of a GitHub release) from fragments written in reStructuredText."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.mirrors import clone_at
from shipwheel.notes import release_notes
from shipwheel.notes._news import markdown_from_rst

#: multidict's towncrier.toml, shortened: issue_format "{issue}" and an rst template of its own.
TOWNCRIER = """\
[tool.towncrier]
  package = "multidict"
  filename = "CHANGES.rst"
  directory = "CHANGES/"
  title_format = "{version}"
  template = "CHANGES/.TEMPLATE.rst"
  issue_format = "{issue}"

  [[tool.towncrier.type]]
    directory = "bugfix"
    name = "Bug fixes"
    showcontent = true
"""


@pytest.mark.parametrize(
    ("rst", "md"),
    [
        ("-- by :user:`veeceey`.", "-- by @veeceey."),
        (":issue:`1299` and :pr:`1300`", "#1299 and #1300"),
        (":issue:`the report <1299>`", "#1299"),
        (":commit:`0123abc`", "0123abc"),
        (":py:class:`~multidict.MultiDict` and :func:`len`", "`MultiDict` and `len`"),
        (":ref:`the guide <guide>`", "`the guide`"),
        (
            "see `the docs <https://multidict.aio-libs.org/>`_",
            "see [the docs](https://multidict.aio-libs.org/)",
        ),
        ("``literal`` stays", "``literal`` stays"),
    ],
)
def test_sphinx_roles_become_github_references(rst: str, md: str) -> None:
    assert markdown_from_rst(rst) == md


def test_markdown_notes_give_github_references(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "CHANGES").mkdir(parents=True)
    (project / "towncrier.toml").write_text(TOWNCRIER, encoding="utf-8")
    (project / "CHANGES" / ".TEMPLATE.rst").write_text("{{ sections }}\n", encoding="utf-8")
    (project / "CHANGES" / "1299.bugfix.rst").write_text(
        "Fixed the ``repr()`` of views -- by :user:`veeceey`.\n\nSee :issue:`1298`.\n", encoding="utf-8"
    )
    notes = release_notes(project, "6.7.2", fmt="md")
    assert "- Fixed the ``repr()`` of views -- by @veeceey.\n\n  See #1298. (#1299)\n" in notes
    assert ":user:" not in notes and ":issue:" not in notes and "(1299)" not in notes


@pytest.mark.slow
def test_multidicts_real_fragments_in_markdown(tmp_path: Path) -> None:
    """multidict just before 6.7.1 (its fragment: "-- by :user:`Vizonex`", issue 1284)."""
    clone = clone_at(
        "aio-libs/multidict", "77bb95e83c226c3557015d055a1ce4a29889d49e", tmp_path / "m", branch="master"
    )
    notes = release_notes(clone, "6.7.1", fmt="md")
    assert "-- by @Vizonex. (#1284)" in notes
    assert ":user:" not in notes and ":issue:" not in notes
