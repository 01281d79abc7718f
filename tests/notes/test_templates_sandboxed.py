"""A project's templates (its towncrier template, notes.template) run in jinja's sandbox; failures are one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.git_history import GitRepo
from shipwheel.cli import main_inner
from shipwheel.errors import ConfigError
from shipwheel.notes import find_towncrier, release_notes, render_section

PYPROJECT = """\
[project]
name = "proj"
version = "1.0"

[tool.towncrier]
directory = "news"
filename = "NEWS.rst"
template = "news/template.rst"
"""

#: Ways out of a plain jinja environment, each of which runs `touch` in a plain one.
ESCAPES = {
    "globals-of-a-context-function": "{{ get_indent.__globals__['os'].system('touch PWNED') }}",
    "jinja-global-cycler": "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "object-subclasses": "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
    "{% if c.__name__ == 'Popen' %}{{ c(['touch', 'PWNED']) }}{% endif %}{% endfor %}",
    "format-string-attribute": "{{ '{0.__class__.__init__.__globals__}'.format(get_indent) }}",
}


def _project(tmp_path: Path, template: str) -> Path:
    project = tmp_path / "proj"
    (project / "news").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (project / "news" / "1.feature.rst").write_text("A feature.\n", encoding="utf-8")
    (project / "news" / "template.rst").write_text(template, encoding="utf-8")
    return project


def _shipwheel(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONSAFEPATH": ""},
    )  # fmt: skip


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def _notes_error(project: Path) -> str:
    """The one-line error of ``shipwheel notes 1.0`` in ``project`` (exit 3: the project's configuration)."""
    with pytest.raises(ConfigError) as info:
        main_inner(["notes", "1.0", "--project", str(project), "--range", "none"])
    assert info.value.exit_code == 3
    return info.value.one_line()


@pytest.mark.parametrize("name", list(ESCAPES))
def test_a_towncrier_template_cannot_run_code(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, ESCAPES[name])
    monkeypatch.chdir(project)
    assert "news/template.rst" in _notes_error(project)
    assert not (project / "PWNED").exists()


def test_template_failures_reach_the_terminal_as_one_line(tmp_path: Path) -> None:
    project = _project(tmp_path, ESCAPES["object-subclasses"])
    proc = _shipwheel(project, "notes", "1.0", "--range", "none")
    assert proc.returncode == 3, proc.stderr
    assert "stopped by the sandbox" in _one_error_line(proc)
    assert not (project / "PWNED").exists()


def test_the_release_notes_step_runs_the_template_in_the_sandbox(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "proj")
    repo.commit("start", files={
        "pyproject.toml": PYPROJECT, "news/1.feature.rst": "A feature.\n",
        "news/template.rst": ESCAPES["globals-of-a-context-function"], "NEWS.rst": "History\n",
    })  # fmt: skip
    proc = _shipwheel(repo.path, "release", "1.0", "--only", "notes")
    assert proc.returncode != 0
    assert "stopped by the sandbox" in proc.stderr and "news/template.rst" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (repo.path / "PWNED").exists()
    assert repo.git("status", "--porcelain").strip() == ""  # nothing written, nothing committed


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 1/0 }}", "the template news/template.rst fails: ZeroDivisionError: division by zero"),
        ("{% for x in %}", "news/template.rst:1: Expected an expression"),
        ("{{ 'x' * 10**9 }}", "the template news/template.rst was stopped by the sandbox: repeating 1 items"),
        ("{{ 2 ** 100000000 }}", "the template news/template.rst was stopped by the sandbox: the exponent"),
        (
            "{% for i in range(10**9) %}{% endfor %}",
            "the template news/template.rst fails: OverflowError: Range too",
        ),
    ],
)
def test_template_errors_are_one_line_naming_the_template(
    tmp_path: Path, template: str, message: str
) -> None:
    assert message in _notes_error(_project(tmp_path, template))


def test_a_missing_template_is_one_line_naming_it(tmp_path: Path) -> None:
    project = _project(tmp_path, "")
    (project / "news" / "template.rst").unlink()
    assert "news/template.rst" in _notes_error(project)


def test_a_template_in_another_package_is_not_imported(tmp_path: Path) -> None:
    """towncrier imports the package a `template = "pkg:resource"` names; shipwheel refuses instead."""
    project = _project(tmp_path, "")
    (project / "evilpkg").mkdir()
    (project / "evilpkg" / "__init__.py").write_text("open('PWNED', 'w').close()\n", encoding="utf-8")
    (project / "evilpkg" / "t.rst").write_text("x\n", encoding="utf-8")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("news/template.rst", "evilpkg:t.rst"), encoding="utf-8"
    )
    proc = _shipwheel(project, "notes", "1.0", "--range", "none")  # the project folder is on sys.path here
    assert proc.returncode == 3
    assert "evilpkg" in _one_error_line(proc)
    assert not (project / "PWNED").exists()


def test_the_notes_template_runs_in_the_sandbox(tmp_path: Path) -> None:
    project = _project(tmp_path, "{{ sections }}\n")
    own = tmp_path / "notes.j2"
    own.write_text("{{ checksums.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="stopped by the sandbox") as info:
        release_notes(project, "1.0", template=own)
    assert str(own) in info.value.message


def test_templates_that_behave_render_as_in_a_plain_environment(tmp_path: Path) -> None:
    """What multidict's template does (list.append, filters with arguments, str methods) still works."""
    project = _project(
        tmp_path,
        "{% set refs = [] %}{% for s, _ in sections.items() %}{% for c, v in sections[s].items() %}"
        "{% for text, values in v.items() %}{% set _ = refs.append(values|join(',')) %}"
        "{{ text.upper() }} {{ '{:>4}'.format(values[0]) }}{% endfor %}{% endfor %}{% endfor %}"
        " {{ refs|map('lower')|list }} {{ versiondata.version }}\n",
    )
    tc = find_towncrier(project)
    assert tc is not None
    assert render_section(tc, "1.0", date="2026-01-01").content == "A FEATURE.   #1 ['#1'] 1.0"
