"""The project's own workflows as a configuration source: the cibuildwheel they pin decides the rules, the
``CIBW_*`` they set (workflow, job, step, matrix, a reusable workflow's inputs) are values with the workflow
named as their source, and the release is the union of what each cibuildwheel job builds on its runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.mirrors import clone_at
from fixtures.pypi_releases import released_identifiers
from shipwheel.cli import main_inner
from shipwheel.config import load_config, read_workflows

#: aio-libs/multidict at its 6.7.1 release: setup.cfg metadata, enable = ["cpython-freethreading"], cibuildwheel
#: 3.3.1 pinned in a reusable workflow, QEMU architectures and the musllinux split in the callers' inputs
MULTIDICT = ("aio-libs/multidict", "39d3c322f6a9e824beee9b6f178e3166205f0f59")
#: PyWavelets: every cibuildwheel setting in its workflow's env, one job per OS with a matrix of versions
PYWAVELETS = ("PyWavelets/pywt", "bbdf7ebe95f738cfac9b68e4e9c521e87e5a1956")
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "pypi"


def test_multidict_release_is_the_union_of_its_cibuildwheel_jobs(tmp_path: Path) -> None:
    checkout = clone_at(*MULTIDICT, tmp_path / "multidict")
    config = load_config(checkout, environ={})
    assert (config.cibuildwheel.line.name, config.cibuildwheel.pinned) == ("3.3", "3.3.1")
    assert config.cibuildwheel.reason == "pinned by .github/workflows/reusable-cibuildwheel.yml"
    assert not config.cibuildwheel.rejected and not config.warnings
    ours = {str(i) for i in config.identifiers()}
    # 144 identifiers: free-threaded 3.13 (enable group), QEMU's ppc64le/s390x/armv7l, universal2, win32
    assert ours == released_identifiers("multidict", "6.7.1")
    jobs = {job.job: job for job in read_workflows(checkout).jobs}
    odd = jobs["build-wheels-for-odd-archs"]
    assert {v.env["CIBW_ARCHS_LINUX"][0] for v in odd.variants} == {"aarch64", "ppc64le", "s390x", "armv7l"}
    # the release's CIBW_SKIP: an expression over github.event_name and the matrix, read for a tag push
    assert {v.env["CIBW_SKIP"][0] for v in odd.variants} == {"*-musllinux_* pp*", "*-manylinux_* pp*"}
    assert (
        odd.variants[0].env["CIBW_SKIP"][1]
        == ".github/workflows/ci-cd.yml (job build-wheels-for-odd-archs) input: CIBW_SKIP"
    )


def test_pywavelets_settings_come_from_its_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = clone_at(*PYWAVELETS, tmp_path / "pywt")
    config = load_config(checkout, environ={})
    workflow = ".github/workflows/wheel_tests_and_release.yml"
    assert config.cibuildwheel.pinned == "4.2.0" and config.cibuildwheel.line.name == "4.3"
    assert config.sources["test-command"] == f"{workflow}: CIBW_TEST_COMMAND"
    assert config.build.test_command == 'pytest --pyargs pywt -m "not slow"'
    assert config.build.test_requires == ("pytest",)
    ids = {str(i) for i in config.identifiers()}
    # its jobs: CIBW_BUILD per Python, one runner per machine; the Pyodide job builds nothing shipwheel ships
    assert {i.split("-")[0] for i in ids} == {"cp312", "cp313", "cp314", "cp314t"}
    assert {i.split("-")[1] for i in ids} == {
        "manylinux_x86_64", "musllinux_x86_64", "manylinux_aarch64", "musllinux_aarch64",
        "macosx_x86_64", "macosx_arm64", "win_amd64", "win32", "win_arm64",
    }  # fmt: skip
    assert main_inner(["config", str(checkout), "--json"]) == 0
    values = json.loads(capsys.readouterr().out)["values"]
    assert values["test-requires"] == {"value": ["pytest"], "source": f"{workflow}: CIBW_TEST_REQUIRES"}


def test_the_environment_wins_over_the_workflows(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    (folder / ".github" / "workflows").mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n', encoding="utf-8")
    (folder / ".github" / "workflows" / "wheels.yml").write_text(
        "on: [push]\nenv:\n  CIBW_TEST_COMMAND: pytest\njobs:\n  wheels:\n    runs-on: ${{ matrix.os }}\n"
        "    strategy:\n      matrix:\n        os: [ubuntu-latest, ubuntu-24.04-arm]\n    steps:\n"
        "      - uses: pypa/cibuildwheel@v3.4.1\n        env:\n          CIBW_BUILD: cp312-*\n"
        "          CIBW_SKIP: ${{ secrets.SKIP }}\n",
        encoding="utf-8",
    )
    config = load_config(folder, environ={"CIBW_TEST_COMMAND": "pytest -x"})
    assert config.sources["test-command"] == "env CIBW_TEST_COMMAND"
    assert config.cibuildwheel.pinned == "3.4.1"
    assert {str(i) for i in config.identifiers()} == {
        "cp312-manylinux_x86_64", "cp312-musllinux_x86_64", "cp312-manylinux_aarch64", "cp312-musllinux_aarch64",
    }  # fmt: skip
    assert any("CIBW_SKIP depends on secrets.SKIP" in r for r in config.remarks)


def test_an_include_only_matrix_of_objects_is_one_job_per_entry() -> None:
    """pyzmq 27.3.0's wheel job: ``matrix.include`` only, each entry with a ``cibw`` object read as
    ``${{ matrix.cibw.build || '*' }}``, and an Android entry that ships nothing on PyPI. Every CPython wheel
    pyzmq released is selected; the rest are the 3.13+ identifiers its cp312 abi3 wheels serve (cibuildwheel
    reuses an abi3 wheel for the later Pythons instead of building them)."""
    import tarfile

    from fixtures.pypi_sdists import pinned_sdist

    sdist = pinned_sdist("pyzmq", "27.3.0")
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
    folder = Path(CACHE.parent / "pyzmq-27.3.0-tree")
    if not (folder / top / "pyproject.toml").is_file():
        with tarfile.open(sdist) as tar:
            tar.extractall(folder, filter="data")
    config = load_config(folder / top, environ={})
    ours = {str(i) for i in config.identifiers()}
    theirs = {i for i in released_identifiers("pyzmq", "27.3.0") if i.startswith("cp")}
    assert theirs <= ours
    assert {i.split("-")[0] for i in ours - theirs} <= {"cp313", "cp314", "cp315"}
    assert not any("matrix.cibw" in r for r in config.remarks)  # every entry's values were read
    assert len(config.variants) == 13  # 14 entries; the Android one builds nothing shipwheel ships
