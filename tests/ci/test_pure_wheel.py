"""The pure wheel a project ships beside its platform wheels: read from the job of its own workflows that builds
it, written as the generated workflow's ``pure`` job with exactly those variables, read back from there, and
expected by verify's completeness exactly when the project ships one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ci.workflow_jobs import lint, pure_job_environment
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.config import load_config
from shipwheel.errors import ConfigError
from shipwheel.matrix import Identifier
from shipwheel.verify import FileResult
from shipwheel.verify._completeness import check_completeness

_PYPROJECT = """\
[project]
name = "demo"
version = "1.0"
requires-python = ">=3.12"

[tool.cibuildwheel]
build = ["cp312-*", "cp313-*"]
archs = ["x86_64"]
"""

_WORKFLOW = """\
on: [push]
env:
  FORCE_COLOR: 1
jobs:
  dists:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python -m pip install build
      - name: sdist and pure wheel
        env:
          DEMO_NO_EXTENSIONS: Y
        run: python -Im build
  wheels:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest]
    steps:
      - uses: pypa/cibuildwheel@v3.3.1
"""


def _project(tmp_path: Path, workflow: str = _WORKFLOW, extra: str = "") -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(workflow, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(_PYPROJECT + extra, encoding="utf-8")
    return tmp_path


def test_the_job_building_a_wheel_with_the_extensions_off_gives_the_pure_wheel_environment(
    tmp_path: Path,
) -> None:
    config = load_config(_project(tmp_path), environ={})
    assert dict(config.ci.pure_wheel_environment) == {"DEMO_NO_EXTENSIONS": "Y"}
    assert config.sources["ci.pure-wheel-environment"] == ".github/workflows/ci.yml (job dists)"


@pytest.mark.parametrize(
    "step",
    [
        "env:\n          DEMO_NO_EXTENSIONS: Y\n        run: python -m build --sdist",  # the sdist only
        "env:\n          FORCE_COLOR: 1\n        run: python -m build",  # a platform wheel: nothing turned off
        # the switch's value is not known before the run (a matrix of a test job, not the release's build)
        "env:\n          DEMO_NO_EXTENSIONS: ${{ matrix.no-ext }}\n        run: python -Im build",
    ],
)
def test_a_job_that_builds_no_pure_wheel_gives_none(tmp_path: Path, step: str) -> None:
    workflow = _WORKFLOW.replace("env:\n          DEMO_NO_EXTENSIONS: Y\n        run: python -Im build", step)
    assert workflow != _WORKFLOW
    config = load_config(_project(tmp_path, workflow), environ={})
    assert dict(config.ci.pure_wheel_environment) == {}
    assert config.sources["ci.pure-wheel-environment"] == "default"


def test_the_projects_table_replaces_the_workflows_pure_wheel(tmp_path: Path) -> None:
    config = load_config(
        _project(tmp_path, extra="\n[tool.shipwheel.ci]\npure-wheel-environment = {}\n"), environ={}
    )
    assert dict(config.ci.pure_wheel_environment) == {}
    assert config.sources["ci.pure-wheel-environment"] == "pyproject.toml"


def test_the_generated_pure_job_builds_with_exactly_those_variables_and_reads_back(tmp_path: Path) -> None:
    project = _project(tmp_path)
    text = github_workflows(load_config(project))[WORKFLOW_FILE]
    assert pure_job_environment(text) == {"DEMO_NO_EXTENSIONS": "Y"}
    jobs = yaml.safe_load(text)["jobs"]
    assert "pure" in jobs["release"]["needs"]
    upload = [
        s for s in jobs["pure"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert upload[0]["with"]["name"] == "wheels-pure"  # what publish's wheels-* pattern takes
    lint_path = tmp_path / "lint" / WORKFLOW_FILE
    lint_path.parent.mkdir()
    lint_path.write_text(text, encoding="utf-8")
    lint(lint_path)
    # the project's workflow gives way to the generated one: the same pure wheel is read from it
    (project / ".github" / "workflows" / "ci.yml").unlink()
    (project / ".github" / "workflows" / WORKFLOW_FILE).write_text(text, encoding="utf-8")
    again = load_config(project)
    assert dict(again.ci.pure_wheel_environment) == {"DEMO_NO_EXTENSIONS": "Y"}
    assert again.sources["ci.pure-wheel-environment"] == f".github/workflows/{WORKFLOW_FILE} (job pure)"
    assert github_workflows(again)[WORKFLOW_FILE] == text


def test_no_pure_job_when_the_project_ships_no_pure_wheel(tmp_path: Path) -> None:
    workflow = _WORKFLOW.replace("DEMO_NO_EXTENSIONS: Y", "FORCE_COLOR: 1")
    text = github_workflows(load_config(_project(tmp_path, workflow)))[WORKFLOW_FILE]
    jobs = yaml.safe_load(text)["jobs"]
    assert "pure" not in jobs
    assert jobs["release"]["needs"] == ["sdist", "wheels", "tag-check"]


def test_a_pure_wheel_variable_holding_an_expression_is_refused(tmp_path: Path) -> None:
    extra = '\n[tool.shipwheel.ci]\npure-wheel-environment = {DEMO_NO_EXTENSIONS = "${{ secrets.X }}"}\n'
    with pytest.raises(ConfigError, match="expression"):
        github_workflows(load_config(_project(tmp_path, extra=extra)))


def _wheel(name: str) -> FileResult:
    from shipwheel.matrix import wheel_identifiers

    return FileResult(
        filename=name,
        path="",
        kind="wheel",
        project="demo",
        version="1.0",
        tags=[name.split("-", 2)[2].removesuffix(".whl")],
        identifiers=[str(i) for i in wheel_identifiers(name)],
    )


_EXPECTED = [Identifier.parse("cp312-manylinux_x86_64"), Identifier.parse("cp313-manylinux_x86_64")]
_CP312 = _wheel("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
_CP313 = _wheel("demo-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
_PURE = _wheel("demo-1.0-py3-none-any.whl")


def test_a_pure_wheel_beside_platform_wheels_covers_no_missing_identifier() -> None:
    completeness, problems = check_completeness([_CP312, _PURE], _EXPECTED, "config", pure=True)
    assert completeness.missing == ["cp313-manylinux_x86_64"]
    assert [p.code for p in problems] == ["matrix-missing"]


def test_the_pure_wheel_is_expected_exactly_when_the_project_ships_one() -> None:
    shipped, problems = check_completeness([_CP312, _CP313, _PURE], _EXPECTED, "config", pure=True)
    assert problems == [] and shipped.missing == [] and "py3-none-any" in shipped.expected
    lacking, problems = check_completeness([_CP312, _CP313], _EXPECTED, "config", pure=True)
    assert lacking.missing == ["py3-none-any"]
    assert [p.code for p in problems] == ["matrix-missing"]
    extra, problems = check_completeness([_CP312, _CP313, _PURE], _EXPECTED, "config", pure=False)
    assert extra.unexpected == ["py3-none-any"]
    assert [(p.code, p.file) for p in problems] == [("matrix-unexpected", _PURE.filename)]
    unsaid, problems = check_completeness([_CP312, _CP313, _PURE], _EXPECTED, "files")
    assert problems == [] and unsaid.missing == [] and unsaid.unexpected == []


def test_the_grid_shows_a_missing_cell_beside_a_pure_wheel() -> None:
    from shipwheel.verify import Report, matrix_grid

    completeness, problems = check_completeness([_CP312, _PURE], _EXPECTED, "config", pure=True)
    report = Report("demo", "1.0", [_CP312, _PURE], problems, completeness)
    _, _, cells = matrix_grid(report)
    assert cells[("cp313", "manylinux_x86_64")].state == "missing"
    assert cells[("cp312", "manylinux_x86_64")].files == (_CP312.filename,)


def test_verify_of_the_project_expects_the_pure_wheel_its_workflow_builds(tmp_path: Path) -> None:
    """The whole path: the project's workflow builds a pure wheel, so verify of its release (the platform wheels
    inferred from the files) reports the pure wheel as missing, and is content once it is there."""
    from fixtures.defective import make_wheel
    from shipwheel.verify import verify_paths

    config = load_config(_project(tmp_path / "demo"), environ={})
    wheelhouse = tmp_path / "wheelhouse"
    for py in ("cp312", "cp313"):
        for platform in ("manylinux_2_17_x86_64.manylinux2014_x86_64", "musllinux_1_2_x86_64"):
            make_wheel(wheelhouse, "demo", "1.0", f"{py}-{py}-{platform}")
    report = verify_paths([wheelhouse], config=config)
    assert [(p.code, p.subject) for p in report.problems if p.code.startswith("matrix-")] == [
        ("matrix-missing", "py3-none-any")
    ]
    make_wheel(wheelhouse, "demo", "1.0")
    report = verify_paths([wheelhouse], config=config)
    assert [p.code for p in report.problems if p.code.startswith("matrix-")] == []
