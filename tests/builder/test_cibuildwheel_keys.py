"""cibuildwheel's build keys run by ``shipwheel build`` (issue 14): ``config-settings``, ``build-frontend``,
``repair-wheel-command``, ``test-extras``, ``environment-pass`` and pip in the test environment. Each test builds a
tiny C extension for real, with the newest CPython this machine has, configured by ``[tool.cibuildwheel]`` only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.builds import build_project as build
from fixtures.pypi_sdists import pinned_sdist
from shipwheel.errors import ConfigError
from shipwheel.interpreters import discover

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_NEWEST = max(
    (i for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded), key=lambda i: i.version
)
ONLY = f"cp3{_NEWEST.version[1]}-manylinux_x86_64"

# An in-tree backend around setuptools that writes the config settings it receives to $RECORD_SETTINGS: the
# only way to see what a frontend really hands the backend.
_BACKEND = """\
import json, os
from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.environ["RECORD_SETTINGS"], "w") as fh:
        json.dump(config_settings, fh)
    return _setuptools.build_wheel(wheel_directory, None, metadata_directory)
"""


def git(repo: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T"}
    env |= {"GIT_COMMITTER_EMAIL": "t@example.org", "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z"}
    env |= {"GIT_COMMITTER_DATE": "2025-01-02T03:04:05Z", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def project(path: Path, cibuildwheel: str, *, extras: str = "") -> Path:
    """A C extension ``tiny._ext`` built by setuptools through the recording backend; ``cibuildwheel`` is the body
    of its ``[tool.cibuildwheel]`` table."""
    (path / "src" / "tiny").mkdir(parents=True)
    (path / "_backend").mkdir()
    (path / "_backend" / "recording_backend.py").write_text(_BACKEND)
    (path / "src" / "tiny" / "__init__.py").write_text("")
    (path / "src" / "tiny" / "_ext.c").write_text(
        '#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "_ext", NULL, -1, NULL};\n'
        "PyMODINIT_FUNC PyInit__ext(void) { return PyModule_Create(&m); }\n"
    )
    (path / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        'setup(ext_modules=[Extension("tiny._ext", ["src/tiny/_ext.c"])])\n'
    )
    (path / "requirements-test.txt").write_text("iniconfig\n")
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "recording_backend"\n'
        'backend-path = ["_backend"]\n\n'
        '[project]\nname = "tiny"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
        + (f"[project.optional-dependencies]\n{extras}\n" if extras else "")
        + '\n[tool.setuptools.packages.find]\nwhere = ["src"]\n\n'
        + f"[tool.cibuildwheel]\n{cibuildwheel}\n"
    )
    (path / "MANIFEST.in").write_text("include requirements-test.txt\nrecursive-include _backend *.py\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "v1")
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.json"
    monkeypatch.setenv("RECORD_SETTINGS", str(path))
    return path


def run_build(repo: Path, tmp_path: Path, cache_dir: Path, **more: object):  # type: ignore[no-untyped-def]
    overrides = {
        "cache-dir": str(cache_dir),
        "output-dir": str(tmp_path / "wh"),
        "log-dir": str(tmp_path / "logs"),
        **more,
    }
    return build(repo, only=ONLY, overrides=overrides)


def log_of(tmp_path: Path) -> str:
    return (tmp_path / "logs" / f"{ONLY}.log").read_text()


def test_config_settings_reach_the_backend_with_repeated_keys(
    tmp_path: Path, cache_dir: Path, record: Path
) -> None:
    repo = project(tmp_path / "p", 'config-settings = "setup-args=-Da=1 setup-args=-Db=2 build-dir=build"')
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    assert json.loads(record.read_text()) == {"setup-args": ["-Da=1", "-Db=2"], "build-dir": "build"}


def test_config_settings_table_form_and_frontend_c_args(
    tmp_path: Path, cache_dir: Path, record: Path
) -> None:
    repo = project(
        tmp_path / "p",
        'build-frontend = { name = "build[uv]", args = ["-Cextra=yes"] }\n'
        '[tool.cibuildwheel.config-settings]\n"setup-args" = ["-Da=1", "-Db=2"]\n',
    )
    assert run_build(repo, tmp_path, cache_dir).ok
    assert json.loads(record.read_text()) == {"setup-args": ["-Da=1", "-Db=2"], "extra": "yes"}


def test_pip_frontend_builds_with_pip_wheel(tmp_path: Path, cache_dir: Path, record: Path) -> None:
    repo = project(
        tmp_path / "p",
        'build-frontend = "pip; args: --no-cache-dir"\nconfig-settings = "setup-args=-Da setup-args=-Db"',
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    log = log_of(tmp_path)
    assert " -m pip wheel --no-deps --wheel-dir " in log and "--no-cache-dir" in log
    assert json.loads(record.read_text()) == {"setup-args": ["-Da", "-Db"]}
    assert "manylinux" in result.results[0].tag  # still repaired by auditwheel


@pytest.mark.parametrize(
    ("frontend", "message"),
    [
        ('"poetry"', "build-frontend 'poetry' is not one shipwheel builds with"),
        ('"build; args: --no-isolation"', "the argument '--no-isolation' has no meaning"),
    ],
)
def test_unsupported_frontend_is_a_config_error(
    tmp_path: Path, cache_dir: Path, frontend: str, message: str
) -> None:
    repo = project(tmp_path / "p", f"build-frontend = {frontend}")
    with pytest.raises(ConfigError, match=message):
        run_build(repo, tmp_path, cache_dir)
    assert not (tmp_path / "wh").exists()  # refused before any work


def test_repair_wheel_command_gets_wheel_and_dest_dir(tmp_path: Path, cache_dir: Path, record: Path) -> None:
    marker = tmp_path / "repaired-by.txt"
    repo = project(
        tmp_path / "p",
        f'repair-wheel-command = ["echo {{wheel}} > {marker}", "cp {{wheel}} {{dest_dir}}"]',
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    one = result.results[0]
    assert one.repaired and one.tag.endswith("-linux_x86_64")  # the command's wheel, not auditwheel's
    assert marker.read_text().strip().endswith("-linux_x86_64.whl")
    assert "auditwheel" not in log_of(tmp_path)


def test_empty_repair_wheel_command_keeps_the_wheel_as_built(
    tmp_path: Path, cache_dir: Path, record: Path
) -> None:
    repo = project(
        tmp_path / "p",
        'repair-wheel-command = ""\n[[tool.cibuildwheel.overrides]]\nselect = "cp3*-win*"\n'
        'repair-wheel-command = "delvewheel repair -w {dest_dir} {wheel}"\n',
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    assert not result.results[0].repaired and result.results[0].tag.endswith("-linux_x86_64")


def test_repair_wheel_command_of_a_platform_table_repairs_again(
    tmp_path: Path, cache_dir: Path, record: Path
) -> None:
    # the empty command below the [tool.cibuildwheel.linux] one: the linux wheels are repaired by the command
    marker = tmp_path / "linux.txt"
    repo = project(
        tmp_path / "p",
        f'repair-wheel-command = ""\n[tool.cibuildwheel.linux]\n'
        f'repair-wheel-command = "touch {marker} && cp {{wheel}} {{dest_dir}}"\n',
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    assert result.results[0].repaired and marker.exists()
    # --no-repair still wins over the platform table
    marker.unlink()
    result = run_build(repo, tmp_path / "again", cache_dir, repair=False)
    assert result.ok and not result.results[0].repaired and not marker.exists()


def test_unsupported_frontend_is_one_line_exit_3(tmp_path: Path) -> None:
    repo = project(tmp_path / "p", 'build-frontend = "hatch"')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipwheel",
            "build",
            str(repo),
            "--only",
            ONLY,
            "--cache-dir",
            str(tmp_path / "c"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "build-frontend 'hatch' is not one shipwheel builds with (from [tool.cibuildwheel]" in " ".join(
        proc.stderr.split()
    )


def test_repair_wheel_command_that_leaves_no_wheel_fails(
    tmp_path: Path, cache_dir: Path, record: Path
) -> None:
    repo = project(tmp_path / "p", 'repair-wheel-command = "true"')
    result = run_build(repo, tmp_path, cache_dir)
    assert not result.ok
    assert "repair-wheel-command left 0 wheels in {dest_dir}" in result.results[0].error


def test_test_extras_are_installed_with_the_wheel(tmp_path: Path, cache_dir: Path, record: Path) -> None:
    repo = project(
        tmp_path / "p",
        'test-extras = "test"\ntest-command = "python -c \'import iniconfig, tiny._ext\'"',
        extras='test = ["iniconfig"]',
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    assert result.results[0].tested
    assert "tiny[test] @ file://" in log_of(tmp_path)


def test_before_test_pip_install_works_in_the_test_venv(
    tmp_path: Path, cache_dir: Path, record: Path
) -> None:
    # numpy's: before-test = "pip install -r {project}/requirements/test_requirements.txt"
    repo = project(
        tmp_path / "p",
        'before-test = "pip install -r {project}/requirements-test.txt"\n'
        "test-command = \"python -c 'import iniconfig, tiny._ext'\"",
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    assert result.results[0].tested


def test_environment_pass_variables_reach_build_and_tests(
    tmp_path: Path, cache_dir: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SW_PASSED", "from the caller")
    repo = project(
        tmp_path / "p",
        'environment-pass = ["SW_PASSED"]\n'
        'before-build = \'test "$SW_PASSED" = "from the caller"\'\n'
        'test-command = \'test "$SW_PASSED" = "from the caller"\'',
    )
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    assert result.results[0].tested


# Pillow 12.0.0's own [tool.cibuildwheel]: config-settings "raqm=enable raqm=vendor fribidi=vendor
# imagequant=disable" (a repeated key), test-extras "tests", test-requires numpy. Its before-all and test scripts
# live in .github/ (not in the sdist; before-all builds every library from GitHub sources), so the test uses the
# system's libraries (installed by .ci/run) and runs Pillow's font tests from the sources, as its script does.
PILLOW = "12.0.0"
_HEADERS = ("zlib.h", "jpeglib.h", "freetype2/ft2build.h", "harfbuzz/hb.h")


def test_pillow_real_config_settings_and_test_extras(tmp_path: Path, cache_dir: Path) -> None:
    missing = [h for h in _HEADERS if not (Path("/usr/include") / h).exists()]
    if missing:
        pytest.skip(f"Pillow's vendored raqm needs the headers {missing} (.ci/run installs them)")
    sdist = pinned_sdist("pillow", PILLOW)
    result = run_build(
        sdist,
        tmp_path,
        cache_dir,
        **{
            "before-all": "",
            "test-command": 'cd {project} && python -c \'from PIL import features as f; print("raqm", '
            'f.version("raqm"))\' && python -m pytest -q -p no:cacheprovider Tests/test_imagefont.py',
        },
    )
    assert result.ok, result.results[0].error
    one = result.results[0]
    assert one.tested and one.repaired
    log = log_of(tmp_path)
    assert (
        "config settings: {'raqm': ['enable', 'vendor'], 'fribidi': 'vendor', 'imagequant': 'disable'}" in log
    )
    assert "raqm 0.10.3" in log  # the vendored raqm: the config settings reached Pillow's backend
    assert "pillow[tests] @ file://" in log  # test-extras: pytest came from Pillow's "tests" extra


def test_environment_pass_passes_what_builds_otherwise_drop(
    tmp_path: Path, cache_dir: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PYTHONPATH is kept out of the build and test environments unless environment-pass names it
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "swmarker.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(extra))
    test = "test-command = \"python -c 'import swmarker'\"\n"
    repo = project(tmp_path / "p", test + 'environment-pass = ["PYTHONPATH"]')
    result = run_build(repo, tmp_path, cache_dir)
    assert result.ok, result.results[0].error
    repo = project(tmp_path / "q", test)
    result = run_build(repo, tmp_path / "q-out", cache_dir)
    assert not result.ok and "test-command failed" in result.results[0].error


@pytest.mark.parametrize(
    ("identifier", "archs"),
    [
        ("cp312-macosx_arm64", "arm64"),
        ("cp312-macosx_x86_64", "x86_64"),
        ("cp312-macosx_universal2", "x86_64,arm64"),
    ],
)
def test_delocate_archs_placeholder_of_macos_identifiers(identifier: str, archs: str) -> None:
    # numpy's macOS repair-wheel-command: delocate-wheel --require-archs {delocate_archs} -w {dest_dir} -v {wheel}
    from shipwheel.builder._phases import _delocate_archs
    from shipwheel.matrix import Identifier

    assert _delocate_archs(Identifier.parse(identifier)) == archs
