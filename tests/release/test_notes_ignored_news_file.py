"""The release's ``notes`` step with a towncrier news file git ignores, as NumPy's ``notes-towncrier.rst``
(``single_file = false``; the maintainers merge it into the release notes by hand): the step writes it as
``towncrier build`` does, commits only the removal of the fragments, and finishes after an interruption."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fixtures.release_repo import git

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "scratchnotes"
version = "1.0"

[tool.towncrier]
single_file = false
filename = "doc/notes-towncrier.rst"
directory = "news/"
template = "news/template.rst"
underlines = "~="
"""
#: NumPy's template, shortened: its sections name no version (the maintainers put them under their own title).
TEMPLATE = """\
{% for section, _ in sections.items() %}
{% set underline = underlines[0] %}
{% if sections[section] %}
{% for category, val in definitions.items() if category in sections[section] %}

{{ definitions[category]['name'] }}
{{ underline * definitions[category]['name']|length }}

{% for text, values in sections[section][category].items() %}
{{ text }}

({{values|join(', ') }})

{% endfor %}
{% endfor %}
{% else %}
(no release note snippets found)

{% endif %}
{% endfor %}
"""
NEWS = "doc/notes-towncrier.rst"
#: What ``towncrier build --version 1.0`` writes there (towncrier 25/26).
SECTION = "\nFeatures\n========\n\nA new thing.\n\n(#12)\n"


def _project(path: Path) -> Path:
    (path / "news").mkdir(parents=True)
    (path / "doc").mkdir()
    (path / "pyproject.toml").write_text(PYPROJECT)
    (path / ".gitignore").write_text(f"{NEWS}\n.shipwheel/\n")
    (path / "news" / "12.feature.rst").write_text("A new thing.\n")
    (path / "news" / "template.rst").write_text(TEMPLATE)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Release Manager")
    git(path, "config", "user.email", "rm@example.invalid")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    return path


def _notes(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWHEEL_")}
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "release", "1.0", "--only", "notes", "--json"],
        cwd=repo, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (step,) = [s for s in json.loads(proc.stdout)["steps"] if s["step"] == "notes"]
    return step


def test_an_ignored_news_file_is_written_and_only_the_fragment_removal_committed(tmp_path: Path) -> None:
    repo = _project(tmp_path / "p")

    step = _notes(repo)

    assert step["outcome"] == "ran", step
    assert (repo / NEWS).read_text() == SECTION  # what towncrier build writes there
    assert git(repo, "log", "--format=%s").splitlines() == ["DOC: Release notes for 1.0", "init"]
    assert git(repo, "show", "--name-status", "--format=", "HEAD").split() == ["D", "news/12.feature.rst"]
    assert git(repo, "ls-files", "--", NEWS) == ""  # still not in git
    assert git(repo, "status", "--porcelain") == ""
    again = _notes(repo)
    assert again["outcome"] != "ran", again
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"


def test_a_notes_step_interrupted_before_the_fragments_went_finishes(tmp_path: Path) -> None:
    """Killed after writing the ignored news file, before removing the fragments: the file holds what the step
    writes, so the next run keeps it and removes the fragments (the file names no version: it cannot say so)."""
    repo = _project(tmp_path / "p")
    _notes(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")  # the fragment is back; the ignored file stays written
    (repo / ".shipwheel" / "releases" / "1.0.json").unlink()
    assert (repo / "news" / "12.feature.rst").is_file() and (repo / NEWS).read_text() == SECTION

    step = _notes(repo)

    assert step["outcome"] == "ran", step
    assert (repo / NEWS).read_text() == SECTION
    assert not (repo / "news" / "12.feature.rst").exists()
    assert git(repo, "log", "--format=%s").splitlines() == ["DOC: Release notes for 1.0", "init"]


def test_a_stale_ignored_news_file_is_not_replaced(tmp_path: Path) -> None:
    """The file of an older release, with fragments waiting: refused with a one-line error, as a tracked one."""
    repo = _project(tmp_path / "p")
    (repo / NEWS).write_text("Features\n--------\n\n- The last release's thing. (#3)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWHEEL_")}
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "release", "1.0", "--only", "notes"],
        cwd=repo, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "exists and does not name 1.0" in proc.stdout + proc.stderr
    assert (repo / "news" / "12.feature.rst").is_file()
