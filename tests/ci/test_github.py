"""``shipwheel ci github``: the generated workflow lints clean, pins every action, drives cibuildwheel to the
same identifiers as ``shipwheel matrix``, and ``--check`` catches drift."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci.workflow_jobs import job_environments, lint
from fixtures.pinned_tools import pinned_tool
from shipwheel.ci import CIBUILDWHEEL, PINS, WORKFLOW_FILE, check_workflows, github_workflows, write_workflows
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ConfigError, ProjectError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kahan"
BIN = Path(sys.executable).parent

# Free-threaded builds, skips, aarch64, every runner (Intel macOS and windows-11-arm included), values with
# spaces and quotes, before-build with {python}.
FREE_THREADED = """\
[project]
name = "ftdemo"
version = "2.0.0"
requires-python = ">=3.11"

[tool.shipwheel]
platforms = ["manylinux_x86_64", "manylinux_aarch64", "musllinux_x86_64", "musllinux_aarch64", "manylinux_i686",
             "macosx_x86_64", "macosx_arm64", "win_amd64", "win_arm64", "win32"]
free-threaded = true
skip = "cp313t-* *-musllinux_aarch64 cp311-win_arm64 cp31{1,2}-manylinux_i686"
before-build = "{python} -m pip install 'cython>=3'"
environment = { GREETING = "hello world", QUOTED = "it's \\"fine\\"" }
test-requires = ["pytest", "numpy>=2"]
test-command = "pytest {project}/tests -x"
"""


MAC_ONLY = """\
[project]
name = "maconly"
version = "1.0"
requires-python = ">=3.12"

[tool.shipwheel]
platforms = ["macosx_arm64"]
before-all = "make -C native install PREFIX={prefix}"
environment = { OPT = "-O2 -g" }
test-requires = ["pytest"]
test-command = "pytest {project}/tests"
"""


@pytest.fixture
def mac_project(tmp_path: Path) -> Path:
    project = tmp_path / "maconly"
    project.mkdir()
    (project / "pyproject.toml").write_text(MAC_ONLY, encoding="utf-8")
    return project


@pytest.fixture
def ft_project(tmp_path: Path) -> Path:
    project = tmp_path / "ftdemo"
    project.mkdir()
    (project / "pyproject.toml").write_text(FREE_THREADED, encoding="utf-8")
    return project


def _workflow(project: Path) -> str:
    return github_workflows(load_config(project))[WORKFLOW_FILE]


@pytest.mark.parametrize("which", ["example", "free-threaded", "macos-only"])
def test_workflow_lints_clean_and_pins_every_action(
    which: str, ft_project: Path, mac_project: Path, tmp_path: Path
) -> None:
    project = {"example": EXAMPLE, "free-threaded": ft_project, "macos-only": mac_project}[which]
    text = _workflow(project)
    assert text == _workflow(project), "the output must be stable byte for byte"
    path = tmp_path / "wf" / WORKFLOW_FILE
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    lint(path)
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", text, re.MULTILINE)
    assert len(uses) >= 10
    if which == "macos-only":  # no ubuntu identifier: the sdist is tested with pip install + test-command
        assert 'run: "make -C native install PREFIX=/tmp/shipwheel-prefix"' in text
        assert 'pytest "$GITHUB_WORKSPACE"/tests' in text
    else:
        # the newest CPython of the project's cibuildwheel line (4.x: 3.15)
        assert "shipwheel build dist/*.tar.gz --only cp315-manylinux_x86_64 " in text
    pinned = {f"{pin.action}@{pin.sha}": pin.version for pin in PINS.values()}
    pinned |= {f"pypa/cibuildwheel@{sha}": f"v{version}" for version, sha in CIBUILDWHEEL.items()}
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert comment == f" # {pinned[ref]}"


def test_least_privilege_and_no_injection(ft_project: Path) -> None:
    doc: dict[str, Any] = yaml.safe_load(_workflow(ft_project))
    assert doc["permissions"] == {}
    jobs = doc["jobs"]
    # no stage.to: no staging job, and no staging target offered
    assert set(jobs) == {"sdist", "wheels", "tag-check", "release", "publish", "github-release"}
    for name, job in jobs.items():
        perms = job["permissions"]
        assert ("id-token" in perms) == (name == "publish"), name
        assert ("write" in perms.values()) == (name in {"publish", "github-release"}), name
        assert set(perms.values()) <= {"read", "write"}
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), (name, step)
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    publish = jobs["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "${{ needs.tag-check.outputs.target }}"
    steps = [s for s in publish["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert [s["with"]["packages-dir"] for s in steps] == ["wheels/", "sdist/"]
    assert all(s["with"]["attestations"] is True and s["with"]["skip-existing"] is True for s in steps)
    assert "shipwheel publish --dry-run --json" in publish["steps"][-1]["run"]
    release = jobs["release"]
    download = next(s for s in release["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["merge-multiple"] is True
    assert "shipwheel verify --strict" in release["steps"][-1]["run"]
    inputs = doc[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads the key `on` as True
    assert inputs["target"]["options"] == ["none", "testpypi", "pypi"]
    runners = {r["name"]: r["runner"] for r in jobs["wheels"]["strategy"]["matrix"]["include"]}
    assert runners == {
        "linux-x86_64": "ubuntu-latest",
        "linux-aarch64": "ubuntu-24.04-arm",
        "macos-x86_64": "macos-15-intel",
        "macos-arm64": "macos-14",
        "windows-amd64": "windows-latest",
        "windows-arm64": "windows-11-arm",
    }


def _cibuildwheel_identifiers(project: Path, text: str) -> dict[str, set[str]]:
    """Run the pinned cibuildwheel with each wheel job's environment, as the workflow would; per platform.
    Each job prints exactly its own share (its CIBW_BUILD)."""
    version = re.search(r"pypa/cibuildwheel@[0-9a-f]{40} # v(\S+)", text)
    assert version is not None
    exe = pinned_tool("cibuildwheel", version[1])
    found: dict[str, set[str]] = {}
    for job in job_environments(text):
        out = subprocess.run(
            [exe, "--print-build-identifiers", "--platform", job.platform],
            cwd=project,
            env=job.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert sorted(out.stdout.split()) == sorted(job.share), job.name
        found.setdefault(job.platform, set()).update(out.stdout.split())
    return found


@pytest.mark.parametrize("which", ["example", "free-threaded"])
def test_cibuildwheel_builds_the_shipwheel_matrix(which: str, ft_project: Path) -> None:
    project = EXAMPLE if which == "example" else ft_project
    config = load_config(project)
    found = _cibuildwheel_identifiers(project, _workflow(project))
    for platform in ("linux", "macos", "windows"):
        expected = {str(i) for i in config.identifiers() if i.os == platform}
        assert found.get(platform, set()) == expected, platform
    if which == "free-threaded":
        assert "cp314t-manylinux_aarch64" in found["linux"]
        assert "cp312-musllinux_aarch64" not in found["linux"]


def test_configured_cibuildwheel_release_is_pinned_with_its_rules(ft_project: Path) -> None:
    text = (ft_project / "pyproject.toml").read_text(encoding="utf-8")
    # read with cibuildwheel 3.4's rules the matrix holds cp313t, which 3.4 builds only when enabled
    (ft_project / "pyproject.toml").write_text(
        text.replace('skip = "cp313t-* ', 'skip = "')
        + '[tool.shipwheel.ci]\ncibuildwheel-version = "3.4.1"\n',
        encoding="utf-8",
    )
    workflow = _workflow(ft_project)
    assert f"pypa/cibuildwheel@{CIBUILDWHEEL['3.4.1']} # v3.4.1\n" in workflow
    assert 'CIBW_ENABLE: "cpython-freethreading"' in workflow
    found = _cibuildwheel_identifiers(ft_project, workflow)
    assert "cp313t-win_arm64" in found["windows"]


def test_a_configured_release_without_a_known_commit_is_refused(ft_project: Path) -> None:
    text = (ft_project / "pyproject.toml").read_text(encoding="utf-8")
    (ft_project / "pyproject.toml").write_text(
        text + '[tool.shipwheel.ci]\ncibuildwheel-version = "4.3.5"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"knows no commit of cibuildwheel 4\.3\.5") as caught:
        github_workflows(load_config(ft_project))
    assert "3.4.1" in caught.value.hint


def test_expression_in_a_configured_value_is_refused(ft_project: Path) -> None:
    text = (ft_project / "pyproject.toml").read_text(encoding="utf-8")
    (ft_project / "pyproject.toml").write_text(
        text.replace('"pytest {project}/tests -x"', '"pytest ${{ github.token }}"'), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="expression"):
        github_workflows(load_config(ft_project))


def test_check_detects_a_hand_edit(
    ft_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "workflows"
    args = ["ci", "github", "--config-dir", str(ft_project), "-o", str(out)]
    assert main_inner([*args, "--check"]) == 1  # missing
    assert main_inner([*args, "--write"]) == 0
    assert main_inner([*args, "--check"]) == 0
    capsys.readouterr()
    path = out / WORKFLOW_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("fail-fast: false", "fail-fast: true"), "utf-8")
    assert main_inner([*args, "--check"]) == 1
    diff = capsys.readouterr().out
    assert "-      fail-fast: true\n+      fail-fast: false\n" in diff
    assert diff.startswith(f"--- {path} (committed)")
    assert sorted(p.name for p in out.iterdir()) == [WORKFLOW_FILE]


def test_write_never_goes_through_a_symlink(ft_project: Path, tmp_path: Path) -> None:
    generated = github_workflows(load_config(ft_project))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked").symlink_to(elsewhere)
    with pytest.raises(ProjectError, match="symbolic link"):
        write_workflows(generated, tmp_path / "linked")
    real = tmp_path / "real"
    real.mkdir()
    (real / WORKFLOW_FILE).symlink_to(elsewhere / "target.yml")
    with pytest.raises(ProjectError, match="symbolic link"):
        write_workflows(generated, real)
    assert list(elsewhere.iterdir()) == []
    assert check_workflows(generated, real) != []


def test_templates_are_package_data() -> None:
    # setuptools ships what package-data names: the template must match its pattern
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"ci/templates/*.j2"' in pyproject
    assert shutil.which("actionlint", path=str(BIN)) and shutil.which("zizmor", path=str(BIN))


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def _run_tag_check(
    project: Path,
    tmp_path: Path,
    *,
    ref: str,
    target: str,
    built: str,
    sdist_version: str,
    tags: list[str],
    event: str = "workflow_dispatch",
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the tag-check step's shell, as the workflow holds it, by bash in a real git repository whose HEAD
    carries ``tags``, with the sdist of ``sdist_version`` downloaded beside it."""
    doc: dict[str, Any] = yaml.safe_load(_workflow(project))
    script = doc["jobs"]["tag-check"]["steps"][-1]["run"]
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    other = _git(repo, "rev-parse", "HEAD")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    for tag in tags:
        _git(repo, "tag", tag)
    (repo / "sdist").mkdir()
    (repo / "sdist" / f"ftdemo-{sdist_version}.tar.gz").write_bytes(b"")
    output = tmp_path / "github_output"
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env={
            # `python` as after the job's setup-python and `pip install packaging`: this interpreter has both.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "REF": ref,
            "EVENT": event,
            "INPUT_TARGET": target,
            "BUILT_SHA": _git(repo, "rev-parse", "HEAD") if built == "tag" else other,
            "GITHUB_OUTPUT": str(output),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, output


@pytest.mark.parametrize(
    ("ref", "target", "built", "ok", "message"),
    [
        ("v2.0.0", "pypi", "tag", True, ""),
        ("refs/tags/v2.0.0", "pypi", "tag", True, ""),
        ("main", "pypi", "tag", False, "the target is pypi, but main is not a tag"),
        ("main", "testpypi", "tag", True, ""),
        ("v2.0.0", "pypi", "other", False, "the sdist was built from"),
        ("v2.0.1", "testpypi", "tag", False, "tag v2.0.1 does not name the sdist's version 2.0.0"),
    ],
)
def test_tag_check_job_runs_for_real(
    ref: str, target: str, built: str, ok: bool, message: str, ft_project: Path, tmp_path: Path
) -> None:
    """The tag-check step's shell, as the workflow holds it, run by bash in a real git repository."""
    proc, output = _run_tag_check(
        ft_project,
        tmp_path,
        ref=ref,
        target=target,
        built=built,
        sdist_version="2.0.0",
        tags=["v2.0.0", "v2.0.1"],
    )
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    if ok:
        tag = ref.removeprefix("refs/tags/") if ref != "main" else ""
        assert output.read_text() == f"version=2.0.0\ntarget={target}\ntag={tag}\n"
    else:
        assert f"::error::{message}" in proc.stdout


@pytest.mark.parametrize(
    ("event", "ref", "target"),
    [
        ("push", "refs/tags/v2.0.0", "pypi"),  # a tag push is the release
        ("push", "refs/heads/main", "none"),  # a branch push builds and tests only
        ("pull_request", "refs/pull/7/merge", "none"),
    ],
)
def test_only_a_tag_push_or_a_manual_run_publishes(
    event: str, ref: str, target: str, ft_project: Path, tmp_path: Path
) -> None:
    proc, output = _run_tag_check(
        ft_project,
        tmp_path,
        ref=ref,
        target="",  # inputs.target is empty outside workflow_dispatch
        built="tag",
        sdist_version="2.0.0",
        tags=["v2.0.0"],
        event=event,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tag = "v2.0.0" if target == "pypi" else ""
    assert output.read_text() == f"version=2.0.0\ntarget={target}\ntag={tag}\n"


@pytest.mark.parametrize(
    ("tag", "sdist_version", "ok"),
    [
        ("v1.0", "1.0.0", True),  # string comparison refused this
        ("v2.0.0rc1", "2.0.0rc1", True),
        ("2.0.0-rc.1", "2.0.0rc1", True),  # PEP 440 normal form of a semver-style tag
        ("v2.0.0rc1", "2.0.0", False),
        ("v1.0", "1.0.1", False),
        ("release-1.0", "1.0.0", False),  # not a version at all: refused, not a crash
    ],
)
def test_tag_check_compares_pep440_normalized_versions(
    tag: str, sdist_version: str, ok: bool, ft_project: Path, tmp_path: Path
) -> None:
    """The tag names the sdist's version when both are the same PEP 440 version, whatever their spelling."""
    proc, output = _run_tag_check(
        ft_project, tmp_path, ref=tag, target="pypi", built="tag", sdist_version=sdist_version, tags=[tag]
    )
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    if ok:
        assert output.read_text() == f"version={sdist_version}\ntarget=pypi\ntag={tag}\n"
    else:
        assert f"::error::tag {tag} does not name the sdist's version {sdist_version}" in proc.stdout


def test_cibuildwheel_reads_its_own_table_and_the_workflows_values_are_carried(tmp_path: Path) -> None:
    """What the sdist's [tool.cibuildwheel] says (overrides included) is not repeated as CIBW_* (a variable
    would win over the overrides); what the project's own workflows set per platform is carried, for that
    platform only."""
    project = tmp_path / "p"
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.12"\n'
        '[tool.cibuildwheel]\ntest-command = "pytest"\n'
        '[[tool.cibuildwheel.overrides]]\nselect = "cp312-*"\ntest-command = "pytest -x"\n',
        encoding="utf-8",
    )
    (project / ".github" / "workflows" / "build.yml").write_text(
        "on: [push]\njobs:\n  wheels:\n    runs-on: ${{ matrix.os }}\n    strategy:\n      matrix:\n"
        "        os: [ubuntu-latest, windows-latest]\n    steps:\n"
        "      - uses: pypa/cibuildwheel@v3.4.1\n        env:\n          CIBW_BEFORE_BUILD_LINUX: echo linux\n",
        encoding="utf-8",
    )
    text = _workflow(project)
    env = yaml.safe_load(text)["jobs"]["wheels"]["env"]
    assert {k for k in env if k not in {"CIBW_BUILD", "CIBW_ARCHS"}} == {"CIBW_BEFORE_BUILD_LINUX"}
    assert env["CIBW_BEFORE_BUILD_LINUX"] == "echo linux"
    assert f"pypa/cibuildwheel@{CIBUILDWHEEL['3.4.1']} # v3.4.1" in text
    assert _cibuildwheel_identifiers(project, text).keys() == {"linux", "windows"}
