"""What the workflow installs shipwheel with, when it runs, and what it offers: a development build is never
written into a workflow, a tag push is the release, the staging target exists only with a staging container."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import shipwheel.ci
from ci.workflow_jobs import lint
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.cli import main
from shipwheel.config import load_config
from shipwheel.errors import ConfigError

PYPROJECT = """\
[project]
name = "demo"
version = "1.0.0"
requires-python = ">=3.12"

[tool.shipwheel]
platforms = ["manylinux_x86_64", "manylinux_ppc64le", "macosx_arm64"]
test-command = "python -c 'import demo'"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return folder


def _doc(project: Path) -> dict[str, Any]:
    return yaml.safe_load(github_workflows(load_config(project))[WORKFLOW_FILE])


def test_a_development_build_is_never_written_into_a_workflow(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT")
    out = project / "wf"
    with pytest.raises(SystemExit) as exited:
        main(["ci", "github", "--config-dir", str(project), "--write", "-o", str(out)])
    err = capsys.readouterr().err
    assert exited.value.code == ConfigError.exit_code
    assert "development build 0.1.0.dev0" in err and "ci.shipwheel-requirement" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("version", ["1.2.0.dev3", "1.2.0+local"])
def test_a_development_or_local_version_is_refused(
    version: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT")
    monkeypatch.setattr(shipwheel.ci, "__version__", version)
    with pytest.raises(ConfigError, match=re.escape(f"development build {version}")) as caught:
        github_workflows(load_config(project))
    assert "ci.shipwheel-requirement" in caught.value.hint


def test_a_released_shipwheel_installs_itself(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT")
    monkeypatch.setattr(shipwheel.ci, "__version__", "1.4.2")
    text = github_workflows(load_config(project))[WORKFLOW_FILE]
    installs = re.findall(r"pip install (shipwheel\S*)", text)
    assert installs and set(installs) == {"shipwheel==1.4.2"}


def test_the_configured_requirement_is_installed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT")
    with (project / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write('[tool.shipwheel.ci]\nshipwheel-requirement = "shipwheel>=1.2,<2"\n[tool.shipwheel.stage]\n')
        fh.write('to = "s3://bucket/rc"\n')
    text = github_workflows(load_config(project))[WORKFLOW_FILE]
    assert "python -m pip install 'shipwheel<2,>=1.2'\n" in text
    assert "python -m pip install 'shipwheel[s3]<2,>=1.2'\n" in text


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ("numpy==2.0", "names numpy, not shipwheel"),
        ("shipwheel==1.0; sys_platform=='linux'\nrun: evil", "is not a requirement"),
        ("shipwheel===", "is not a requirement"),
    ],
)
def test_a_requirement_that_is_not_shipwheel_is_refused(
    requirement: str, message: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT", requirement)
    with pytest.raises(ConfigError, match=message):
        github_workflows(load_config(project))


def test_pushes_and_pull_requests_build_a_tag_releases_and_runs_never_overlap(project: Path) -> None:
    doc = _doc(project)
    on = doc[True]  # YAML 1.1 reads the key `on` as True
    assert set(on) == {"pull_request", "push", "workflow_dispatch"}
    assert on["push"]["tags"] == ["v*"]
    assert doc["concurrency"]["group"] == "${{ github.workflow }}-${{ inputs.ref || github.ref }}"
    jobs = doc["jobs"]
    target = "needs.tag-check.outputs.target"
    assert jobs["publish"]["if"] == f"{target} == 'pypi' || {target} == 'testpypi'"
    assert jobs["github-release"]["if"].startswith(f"{target} == 'pypi'")
    assert "gh release create" in jobs["github-release"]["steps"][-1]["run"]
    assert "sha256sum" in jobs["github-release"]["steps"][-1]["run"]
    # no staging container: no staging job and no staging target
    assert "stage" not in jobs and "staging" not in on["workflow_dispatch"]["inputs"]["target"]["options"]


def test_the_staging_target_is_offered_with_a_container(project: Path, tmp_path: Path) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write('[tool.shipwheel.stage]\nto = "s3://bucket/rc"\n')
    text = github_workflows(load_config(project))[WORKFLOW_FILE]
    path = tmp_path / WORKFLOW_FILE
    path.write_text(text, encoding="utf-8")
    lint(path)  # every optional part at once: staging, QEMU
    doc = yaml.safe_load(text)
    assert doc[True]["workflow_dispatch"]["inputs"]["target"]["options"][-1] == "staging"
    assert doc["jobs"]["stage"]["if"] == "needs.tag-check.outputs.target == 'staging'"


def test_an_arch_without_a_hosted_runner_is_emulated(project: Path) -> None:
    matrix = _doc(project)["jobs"]["wheels"]["strategy"]["matrix"]["include"]
    by_name = {entry["name"]: entry for entry in matrix}
    assert by_name["linux-ppc64le"]["qemu"] == "ppc64le"
    assert by_name["linux-ppc64le"]["runner"] == "ubuntu-latest"
    assert by_name["linux-x86_64"]["qemu"] == ""
    assert by_name["linux-ppc64le"]["build"].split() == ["cp312-manylinux_ppc64le", "cp313-manylinux_ppc64le",
                                                       "cp314-manylinux_ppc64le", "cp314t-manylinux_ppc64le",
                                                       "cp315-manylinux_ppc64le", "cp315t-manylinux_ppc64le"]  # fmt: skip
