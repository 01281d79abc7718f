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


@pytest.mark.parametrize(
    ("pinned", "reason", "version", "why"),
    [
        ("3.3.1", "pinned by .github/workflows/ci.yml", "v3.3.1", "pinned by .github/workflows/ci.yml"),
        ("v3.4.0", "ci.cibuildwheel-version = v3.4.0", "v3.4.0", "ci.cibuildwheel-version = v3.4.0"),
        ("3.4", "ci.cibuildwheel-version = 3.4", "v3.4.1", "the newest 3.4.x shipwheel knows"),
        # a workflow's pin without a known commit: the newest known release of the line it reads like
        ("3.1.3", "pinned by .github/workflows/build.yml", "v3.3.1", "read like 3.1.3"),
        ("3.4.9", "pinned by .github/workflows/build.yml", "v3.4.1", "read like 3.4.9"),
        ("4.0.0", "pinned by .github/workflows/build.yml", "v4.2.0", "read like 4.0.0"),
        ("", "the newest cibuildwheel line that accepts the configuration", "v4.2.0", "the newest release"),
    ],
)
def test_cibuildwheel_is_pinned_by_the_commit_of_the_chosen_release(
    pinned: str, reason: str, version: str, why: str
) -> None:
    from shipwheel.ci import CIBUILDWHEEL, cibuildwheel_pin
    from shipwheel.config import LineChoice, line_for_version

    line = line_for_version(pinned or "4.3", what="test")
    pin, said = cibuildwheel_pin(LineChoice(line, reason, pinned))
    assert pin.uses == f"pypa/cibuildwheel@{CIBUILDWHEEL[version[1:]]} # {version}"
    assert why in said


def test_a_configured_release_without_a_commit_is_refused_with_the_known_ones() -> None:
    from shipwheel.ci import cibuildwheel_pin
    from shipwheel.config import LineChoice, line_for_version

    choice = LineChoice(line_for_version("3.4.9", what="test"), "ci.cibuildwheel-version = 3.4.9", "3.4.9")
    with pytest.raises(ConfigError, match=r"knows no commit of cibuildwheel 3\.4\.9") as caught:
        cibuildwheel_pin(choice)
    assert "3.3.0, 3.3.1, 3.4.0, 3.4.1" in caught.value.hint
