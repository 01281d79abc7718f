"""A failed build says why in its summary, whatever the backend: the first error lines of CMake
(scikit-build-core), meson and ninja (meson-python), as for setuptools and the compilers."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from builder.test_build import HAVE, git
from fixtures.builds import build_project
from shipwheel.errors import CommandError

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _project(path: Path, backend: str, files: dict[str, str]) -> Path:
    requires = {"scikit_build_core.build": '"scikit-build-core>=0.10"', "mesonpy": '"meson-python>=0.16"'}
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text(
        f'[build-system]\nrequires = [{requires[backend]}]\nbuild-backend = "{backend}"\n\n'
        '[project]\nname = "failing"\nversion = "1.0"\n\n[tool.shipwheel]\ntest-command = ""\n'
    )
    for name, text in files.items():
        (path / name).write_text(text)
    # meson-python's sdist is `meson dist`, which needs a repository
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "v1")
    return path


def _errors(project: Path, tmp_path: Path) -> list[str]:
    result = build_project(
        project,
        only=f"{HAVE[-1]}-manylinux_x86_64",
        overrides={"output-dir": str(tmp_path / "wh"), "cache-dir": str(tmp_path / "cache")},
    )
    assert [r.status for r in result.results] == ["failed"]
    return list(result.results[0].errors)


def test_cmake_error_is_in_the_summary(tmp_path: Path) -> None:
    project = _project(
        tmp_path / "cmake",
        "scikit_build_core.build",
        {
            "CMakeLists.txt": "cmake_minimum_required(VERSION 3.15)\nproject(failing C)\n"
            "find_library(ZMQ_LIB NAMES zmq-not-installed-here)\nif(NOT ZMQ_LIB)\n  message(FATAL_ERROR "
            '"libzmq not found: build it first")\nendif()\n'
        },
    )
    errors = _errors(project, tmp_path)
    assert errors and errors[0].startswith("CMake Error at CMakeLists.txt:5 (message):"), errors
    assert "libzmq not found: build it first" in errors[0]


MISSING_DEPENDENCY = {"meson.build": "project('failing', 'c')\ndep = dependency('zmq-not-installed-here')\n"}


def test_meson_error_is_in_the_summary(tmp_path: Path) -> None:
    """From an sdist (meson configures only for the wheel): the identifier's summary has meson's error."""
    project = _project(tmp_path / "failing-1.0", "mesonpy", MISSING_DEPENDENCY)
    sdist = tmp_path / "failing-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for name in ("pyproject.toml", "meson.build"):
            tar.add(project / name, arcname=f"failing-1.0/{name}")
    errors = _errors(sdist, tmp_path)
    assert any("meson.build:2:" in e and "ERROR" in e and "zmq-not-installed-here" in e for e in errors), (
        errors
    )


def test_a_failed_sdist_names_meson_s_error(tmp_path: Path) -> None:
    """meson-python's sdist configures the project: its error is in the one-line message, not only the log."""
    project = _project(tmp_path / "meson", "mesonpy", MISSING_DEPENDENCY)
    with pytest.raises(CommandError, match=r"failed to build the sdist .*zmq-not-installed-here.*; see "):
        build_project(
            project, overrides={"output-dir": str(tmp_path / "wh"), "cache-dir": str(tmp_path / "c")}
        )


def test_ninja_compile_error_is_in_the_summary(tmp_path: Path) -> None:
    project = _project(
        tmp_path / "ninja",
        "mesonpy",
        {
            "meson.build": "project('failing', 'c')\npy = import('python').find_installation()\n"
            "py.extension_module('_broken', 'broken.c', install: true)\n",
            "broken.c": "#include <Python.h>\nint f(void) { return undeclared_name; }\n",
        },
    )
    errors = _errors(project, tmp_path)
    assert any("broken.c:2:" in e and "error" in e and "undeclared_name" in e for e in errors), errors
