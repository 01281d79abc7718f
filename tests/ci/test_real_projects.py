"""The workflow ``shipwheel ci github`` writes for real projects (git mirrors): it lints clean, and the real
cibuildwheel it pins, run with each wheels job's environment against the project, prints exactly that job's
share; the shares add up to ``shipwheel matrix``, which is compared with the project's last release on PyPI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ci.workflow_jobs import job_environments, lint, pure_job_environment
from config.test_workflows import MULTIDICT, PYWAVELETS
from fixtures.mirrors import clone_at
from fixtures.pinned_tools import pinned_tool
from fixtures.pypi_releases import pinned_release_files, release_file_names, released_identifiers
from shipwheel.ci import CIBUILDWHEEL, WORKFLOW_FILE, github_workflows
from shipwheel.cli import main_inner
from shipwheel.config import load_config

#: pydata/numexpr one commit after its 2.14.2 release: cibuildwheel 3.1.3 pinned by tag in build.yml
NUMEXPR = ("pydata/numexpr", "a561ee3835fe47e1aa90fd56300d64c3aa8d4509")
#: zeromq/pyzmq at v27.2.0, the newest release its mirror holds: [tool.cibuildwheel] with platform tables and
#: overrides (cp312 builds abi3), a wheels.yml of one job per matrix.include entry (matrix.cibw.build ...), and
#: cibuildwheel==4.2.* in a requirements file (not a pin shipwheel reads)
PYZMQ = ("zeromq/pyzmq", "c6bc8f20d47f9e779d17137201939a31fcd457cc")
#: The cases whose wheels jobs are run on the release's real sdist from PyPI (the others on the checkout).
ON_SDIST = {"pyzmq"}


def _platforms(identifiers: set[str], *platforms: str) -> set[str]:
    return {i for i in identifiers if i.split("-", 1)[1] in platforms}


def _versions(identifiers: set[str], *pythons: str) -> set[str]:
    return {i for i in identifiers if i.split("-", 1)[0] in pythons}


#: The tag of a pure wheel in the union of the jobs and in a release (it is no identifier).
PURE = "py3-none-any"


def _released(project: str, version: str) -> set[str]:
    """The identifiers of a release's wheels, and ``py3-none-any`` when it has a pure wheel."""
    pure = {PURE for n in release_file_names(project, version) if n.endswith("-none-any.whl")}
    return released_identifiers(project, version) | pure


# (repository at commit, PyPI name, its last release, pinned cibuildwheel, what the workflow builds that the
# release lacks, what the release has that the workflow does not build), each difference with its reason.
CASES = {
    # the workflow's own union is the 6.7.1 release, wheel for wheel: the platform wheels of the wheels jobs and
    # the pure wheel of the pure job (MULTIDICT_NO_EXTENSIONS, read from its ci-cd.yml), which it lacked before
    "multidict": (MULTIDICT, "multidict", "6.7.1", "3.3.1", lambda ours: set(), lambda theirs: set()),
    # 1.10.0 was released from a later commit whose workflow added CPython 3.15 (cp315, cp315t) jobs; at this
    # commit its CIBW_BUILD names cp312 to cp314t only
    "pywt": (
        PYWAVELETS,
        "pywavelets",
        "1.10.0",
        "4.2.0",
        lambda ours: set(),
        lambda theirs: _versions(theirs, "cp315", "cp315t"),
    ),
    # numexpr pins cibuildwheel 3.1.3, for which shipwheel has no commit: 3.3.1, the newest of the line it
    # reads like, is pinned, and builds what 2.14.2 shipped
    "numexpr": (NUMEXPR, "numexpr", "2.14.2", "3.3.1", lambda ours: set(), lambda theirs: set()),
    # pyzmq's 27.2.0 matches but for one reason: its cp312 wheels are abi3 (an override's wheel.py-api), which
    # cibuildwheel lists for cp313, cp314 and cp315 too and then reuses instead of building, so PyPI holds no
    # file of their own (the cp312-abi3 wheel serves them; the free-threaded cp314t, cp315t have their own).
    # Its PyPy wheels (pp39, pp310, pp311) are outside shipwheel's matrix, which is CPython's, so neither side
    # lists them. No configuration was added: cibuildwheel 4.2.0, the newest shipwheel knows, is pinned for its
    # cibuildwheel==4.2.* requirement (the 4.x line accepts its configuration).
    "pyzmq": (
        PYZMQ,
        "pyzmq",
        "27.2.0",
        "4.2.0",
        lambda ours: _versions(ours, "cp313", "cp314", "cp315"),
        lambda theirs: set(),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_wheels_job_prints_its_share_with_the_pinned_cibuildwheel(name: str, tmp_path: Path) -> None:
    (repository, commit), pypi_name, release, pinned, extra, missing = CASES[name]
    checkout = clone_at(repository, commit, tmp_path / name)
    config = load_config(checkout, environ={"SHIPWHEEL_CI_SHIPWHEEL_REQUIREMENT": "shipwheel==1.0.0"})
    text = github_workflows(config)[WORKFLOW_FILE]
    path = tmp_path / "workflows" / WORKFLOW_FILE
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    lint(path)
    assert re.search(rf"uses: pypa/cibuildwheel@{CIBUILDWHEEL[pinned]} # v{re.escape(pinned)}\n", text)
    exe = pinned_tool("cibuildwheel", pinned)
    package = (
        [str(p) for p in pinned_release_files(pypi_name, release, [f"{pypi_name}-{release}.tar.gz"])]
        if name in ON_SDIST
        else []
    )
    union: list[str] = []
    for job in job_environments(text):
        out = subprocess.run(
            [exe, "--print-build-identifiers", "--platform", job.platform, *package],
            cwd=checkout,
            env=job.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, (job.name, out.stderr)
        assert sorted(out.stdout.split()) == sorted(job.share), job.name
        union += job.share
    pure = pure_job_environment(text)
    assert pure == dict(config.ci.pure_wheel_environment)
    if pure:
        union.append(PURE)
    ours = {str(i) for i in config.identifiers()} | ({PURE} if pure else set())
    assert len(union) == len(set(union)), "an identifier is built by two jobs"
    assert set(union) == ours
    theirs = _released(pypi_name, release)
    assert bool(pure) == (PURE in theirs), "a pure job exactly when the release has a pure wheel"
    if name == "multidict":
        assert pure == {"MULTIDICT_NO_EXTENSIONS": "Y"}
    assert ours - theirs == extra(ours)
    assert theirs - ours == missing(theirs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_written_workflow_reads_back_as_the_same_release(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once the project's own workflows give way to the generated one, shipwheel reads the same cibuildwheel
    pin and the same matrix from it: ``--check`` stays clean."""
    (repository, commit), _, _, pinned, _, _ = CASES[name]
    checkout = clone_at(repository, commit, tmp_path / name)
    args = ["ci", "github", "--config-dir", str(checkout)]
    assert main_inner([*args, "--write"]) == 0
    before = (checkout / ".github" / "workflows" / WORKFLOW_FILE).read_text(encoding="utf-8")
    note = capsys.readouterr().err
    note = " ".join(note.split())
    assert f"cibuildwheel v{pinned} pinned: " in note
    if name == "numexpr":  # its v3.1.3 has no commit in shipwheel's table: the newest of the line is pinned
        assert (
            "the newest release of the cibuildwheel 3.3 line that shipwheel has a commit for, read like 3.1.3"
            in note
        )
    pure = load_config(checkout).ci.pure_wheel_environment
    for path in (checkout / ".github" / "workflows").iterdir():
        if path.name != WORKFLOW_FILE:
            path.unlink()
    assert main_inner([*args, "--check"]) == 0, capsys.readouterr().out
    config = load_config(checkout)
    assert config.cibuildwheel.pinned == pinned
    assert config.ci.pure_wheel_environment == pure
    if pure:  # the pure job is read back from the generated workflow
        assert config.sources["ci.pure-wheel-environment"] == f".github/workflows/{WORKFLOW_FILE} (job pure)"
    assert config.cibuildwheel.reason == f"pinned by .github/workflows/{WORKFLOW_FILE}"
    assert github_workflows(config)[WORKFLOW_FILE] == before
