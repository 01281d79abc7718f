"""The workflow ``shipwheel ci github`` generates, run on this machine: a tag push of the example project through
the jobs that are shell steps (sdist, the pure wheel, tag-check, the verify job, publish), with the wheels job's
cibuildwheel replaced by a local ``shipwheel build`` of its share, shipwheel installed by every job from the
requirement the workflow names (a wheel of this checkout on a local index), and the publish going to a local
pypiserver. The release ends on the index; after a simulated partial upload, running the publish job again
completes it."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci.expressions import Context, Unevaluable, evaluate, substitute
from ci.local_runner import Runner, find_python
from fixtures.index_servers import FaultProxy, IndexServer, start_pypiserver
from fixtures.processes import stop_process
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.config import load_config

REPO = Path(__file__).resolve().parents[2]
PYPI_UPLOAD = "https://upload.pypi.org/legacy/"
#: What the jobs' own steps install besides shipwheel: build (the sdist job), setuptools (the example's build
#: backend), pytest (its tests), packaging (tag-check), pip and wheel (the seed of the venvs uv makes).
TOOLS = ["build", "setuptools>=69", "pytest", "packaging>=24.2", "pip", "wheel"]
#: The jobs of the generated workflow this test runs, in an order their needs allow; the GitHub Release job
#: needs GitHub itself (gh and its API) and is left out.
JOBS = ["sdist", "wheels", "pure", "tag-check", "release", "publish"]
NOT_RUN = {"github-release"}


@dataclass(frozen=True, slots=True)
class InstallIndex:
    """A local index holding a wheel of this checkout and everything the jobs install."""

    server: IndexServer
    requirement: str


def _pythons(workflow: Mapping[str, Any]) -> set[str]:
    return {
        str(step["with"]["python-version"])
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    }


@pytest.fixture(scope="module")
def install_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstallIndex]:
    root = tmp_path_factory.mktemp("install-index")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "built"), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (root / "built").glob("shipwheel-*.whl")
    server = start_pypiserver(root / "server")
    try:
        for version in ("3.12", "3.13"):  # the sdist job's Python and the tool jobs' (checked in the test)
            got = subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "-d", str(server.root), "--only-binary=:all:",
                 "--python-version", version, str(wheel), *TOOLS],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            if got.returncode != 0:
                pytest.skip(f"the jobs' packages could not be downloaded from PyPI: {got.stderr[-500:]}")
        yield InstallIndex(server, f"shipwheel=={wheel.name.split('-')[1]}")
    finally:
        stop_process(server.proc)


def _release_repo(tmp_path: Path, requirement: str) -> tuple[Path, dict[str, Any]]:
    """The example in a repository of its own, built for two CPythons of this machine's platform, with the
    generated workflow committed and tagged v1.0.0."""
    repo = make_kahan_repo(tmp_path / "kahan")
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    platforms = 'platforms = ["manylinux_x86_64", "manylinux_aarch64", "macosx_arm64", "win_amd64"]\n'
    assert platforms in text
    text = text.replace(platforms, 'platforms = ["manylinux_x86_64"]\nbuild = ["cp311-*", "cp312-*"]\n')
    # the example also ships a pure wheel, built without its extension when KAHAN_NO_EXTENSIONS is set
    pyproject.write_text(
        f'{text}\n[tool.shipwheel.ci]\nshipwheel-requirement = "{requirement}"\n'
        'pure-wheel-environment = {KAHAN_NO_EXTENSIONS = "1"}\n'
    )
    setup = repo / "setup.py"
    extension = 'ext_modules=[Extension("kahan._core", ["src/kahan/_core.c"], libraries=["kahan"])]'
    assert extension in setup.read_text(encoding="utf-8")
    setup.write_text(
        "import os\n"
        + setup.read_text(encoding="utf-8").replace(
            extension,
            extension.replace(
                "ext_modules=", "ext_modules=[] if os.environ.get('KAHAN_NO_EXTENSIONS') else "
            ),
        ),
        encoding="utf-8",
    )
    # The wheels carry libkahan, grafted by auditwheel: without a licence naming it, `shipwheel verify --strict`
    # in the verify job stops the release (grafted-library-licence), as it would on GitHub.
    (repo / "LICENSE").write_text("MIT License\n\nCopyright (c) the kahan developers: kahan and libkahan.\n")
    workflow = github_workflows(load_config(repo))[WORKFLOW_FILE]
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / WORKFLOW_FILE).write_text(workflow, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Build on CI")
    git(repo, "tag", "-a", "v1.0.0", "-m", "kahan 1.0.0")
    return repo, yaml.safe_load(workflow)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cibuildwheel(tmp_path: Path) -> Any:
    """cibuildwheel, which needs Docker, replaced by shipwheel building the job's share on this machine."""

    def build(package_dir: Path, output_dir: Path, cibw: Mapping[str, str]) -> None:
        assert cibw["CIBW_ARCHS"] == "x86_64", cibw
        share = cibw["CIBW_BUILD"].split()
        assert package_dir.name.endswith(".tar.gz") and package_dir.is_file(), package_dir
        proc = subprocess.run(
            [sys.executable, "-m", "shipwheel", "build", str(package_dir), "--only", " ".join(share),
             "-o", str(output_dir), "--log-dir", str(tmp_path / "cibuildwheel-logs")],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr

    return build


def _pypi_publish(target: IndexServer, proxy: FaultProxy) -> Any:
    """pypa/gh-action-pypi-publish, a Docker action, as what it runs: ``twine check``, then ``twine upload`` of
    every file of the folder to the local index standing in for PyPI. twine refuses ``--skip-existing`` for an
    index other than PyPI's, so each file goes alone, and a refusal saying the file exists counts as skipped when
    that is asked for (twine's own rule, ``twine.commands.upload.skip_upload``)."""
    twine = str(Path(sys.executable).parent / "twine")

    def publish(packages_dir: Path, repository_url: str, skip_existing: bool) -> None:
        assert repository_url == PYPI_UPLOAD, f"the tag push publishes to {repository_url}, not PyPI"
        files = sorted(str(p) for p in packages_dir.iterdir())
        assert files, f"{packages_dir} is empty"
        checked = subprocess.run(
            [twine, "check", "--strict", *files], capture_output=True, text=True, timeout=120
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        for file in files:
            upload = [twine, "upload", "--verbose", "--non-interactive", "--disable-progress-bar", "--repository-url", proxy.url,
                      "-u", target.user, "-p", target.password, file]  # fmt: skip
            done = subprocess.run(upload, capture_output=True, text=True, timeout=300)
            output = done.stdout + done.stderr
            exists = "409 Conflict" in output or "already exists" in output
            assert done.returncode == 0 or (skip_existing and exists), output

    return publish


@pytest.mark.integration
@pytest.mark.slow
def test_a_tag_push_run_locally_releases_to_the_index_and_a_rerun_of_publish_completes_a_partial_upload(
    install_index: InstallIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT")  # the project's ci.shipwheel-requirement counts
    repo, workflow = _release_repo(tmp_path, install_index.requirement)
    installed = install_index.requirement.replace("==", "-")
    assert set(workflow["jobs"]) == {*JOBS, *NOT_RUN}, (
        "a job of the workflow is neither run nor left out here"
    )
    assert _pythons(workflow) == {"3.12", "3.13"}  # what install_index downloaded for
    for version in sorted({*_pythons(workflow), "3.11"}):  # setup-python's, and the share's cp311 and cp312
        find_python(version)
    target = start_pypiserver(tmp_path / "pypi")
    home = tmp_path / "home"
    home.mkdir()
    # `shipwheel publish -r pypi` in the publish job's check: PyPI is this index on the emulated runner
    (home / ".pypirc").write_text(
        f"[distutils]\nindex-servers = pypi\n\n[pypi]\nrepository = {target.upload_url}\n"
    )
    simple = install_index.server.simple_url
    environ = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        # the runner's network: pip and uv install from the local index only
        "PIP_INDEX_URL": simple,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_DEFAULT_INDEX": simple,
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
    }
    try:
        with FaultProxy(target.upload_url) as proxy:
            runner = Runner(
                workflow, repo, "refs/tags/v1.0.0", tmp_path / "run", environ,
                _cibuildwheel(tmp_path), _pypi_publish(target, proxy),
            )  # fmt: skip
            outputs = {}
            for job in JOBS:
                matrix = workflow["jobs"][job].get("strategy", {}).get("matrix", {}).get("include", [None])
                for entry in matrix:
                    outputs[job] = runner.run_job(job, entry)
            transcript = "\n".join(runner.transcript)
            assert outputs["sdist"] == {"sha": git(repo, "rev-parse", "v1.0.0^{commit}").strip()}
            assert outputs["tag-check"] == {"version": "1.0.0", "target": "pypi", "tag": "v1.0.0"}
            assert outputs["publish"] is not None, transcript
            assert "shipwheel verify --strict" in transcript
            # sdist, verify and publish each installed this checkout's shipwheel from the requirement, into a
            # venv of their own; the publish check found every file at its first look
            assert len(re.findall(rf"Successfully installed .*\b{re.escape(installed)}\b", transcript)) == 3
            assert "attempt" not in transcript

            release = sorted((tmp_path / "run" / "artifacts").glob("*/*"))
            wheels = [p for p in release if p.suffix == ".whl"]
            assert [p.name for p in release if p not in wheels] == ["kahan-1.0.0.tar.gz"]
            assert sorted(w.name.split("-")[2] for w in wheels) == ["cp311", "cp312", "py3"]
            assert "kahan-1.0.0-py3-none-any.whl" in {w.name for w in wheels}  # the pure job's
            expected = {p.name: _sha256(p) for p in release}
            assert target.files("kahan") == expected
            # the wheels first, the sdist once every wheel is there; each file once
            assert proxy.uploads == [*sorted(w.name for w in wheels), "kahan-1.0.0.tar.gz"]

            # an interrupted first run: the index holds all but one wheel; the publish job is run again
            lost = wheels[0].name
            kept = {p.name: os.stat(target.root / p.name) for p in release if p.name != lost}
            (target.root / lost).unlink()
            assert lost not in target.files("kahan")
            proxy.uploads.clear()
            runner.transcript.clear()
            assert runner.run_job("publish") is not None
            assert target.files("kahan") == expected
            assert proxy.uploads == [lost], "\n".join(runner.transcript)
            for name, before in kept.items():  # the files already there were not replaced
                after = os.stat(target.root / name)
                assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), name
            rerun = "\n".join(runner.transcript)
            assert len(re.findall(rf"Successfully installed .*\b{re.escape(installed)}\b", rerun)) == 1
            assert "attempt" not in rerun
    finally:
        stop_process(target.proc)


@pytest.mark.parametrize(
    "expression",
    [
        "secrets.GITHUB_TOKEN",  # a context the local run does not have
        "needs.tag-check.outputs.missing",  # an output the job does not set
        "hashFiles('**/*.lock')",  # a function it does not implement
        "needs.tag-check.outputs.target == 1",  # a comparison that needs GitHub's coercion
        "needs.tag-check.outputs.target ==",  # not an expression
    ],
)
def test_an_expression_the_local_run_cannot_evaluate_fails_instead_of_guessing(expression: str) -> None:
    context = Context({"needs": {"tag-check": {"outputs": {"target": "pypi"}}}}, {"inputs": {}})
    with pytest.raises(Unevaluable):
        substitute(f"x ${{{{ {expression} }}}} y", context)


def test_expressions_follow_githubs_rules_for_the_values_the_workflow_uses() -> None:
    context = Context(
        {
            "github": {"ref": "refs/tags/v1.0.0", "event_name": "push"},
            "needs": {"t": {"outputs": {"target": "pypi"}}},
        },
        {"inputs": {}},
    )
    assert substitute("${{ inputs.ref || github.ref }}", context) == "refs/tags/v1.0.0"
    assert substitute("[${{ inputs.ref }}]", context) == "[]"
    assert (
        evaluate("!startsWith(github.ref, 'refs/tags/') && github.event_name != 'workflow_dispatch'", context)
        is False
    )
    assert (
        substitute("${{ needs.t.outputs.target == 'testpypi' && 'https://t/' || 'https://p/' }}", context)
        == "https://p/"
    )
    assert (
        evaluate("needs.t.outputs.target == 'PyPI' || needs.t.outputs.target == 'testpypi'", context) is True
    )
