"""The small parts of build: the error lines of a log, the compiled sources of an sdist, the resume journal."""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest

from shipwheel.builder._logscan import first_errors
from shipwheel.builder._resume import Journal, journal_path, read_record
from shipwheel.matrix import compiled_sources


def test_first_errors_prefers_the_compilers_own_lines(tmp_path: Path) -> None:
    log = tmp_path / "cp312.log"
    log.write_text(
        "$ python -m build\nrunning build_ext\nsrc/x.c: In function 'f':\n"
        "src/x.c:3:5: error: 'y' undeclared (first use in this function)\n"
        "src/x.c:4:1: warning: control reaches end\n"
        "src/x.cpp(7): error C2143: syntax error\n"
        "error: command '/usr/bin/gcc' failed with exit code 1\n"
    )
    assert first_errors(log) == [
        "src/x.c:3:5: error: 'y' undeclared (first use in this function)",
        "src/x.cpp(7): error C2143: syntax error",
    ]
    log.write_text("collect2: error: ld returned 1 exit status\nerror: command 'gcc' failed\n")
    assert first_errors(log, limit=1) == ["collect2: error: ld returned 1 exit status"]
    assert first_errors(tmp_path / "missing.log") == []


def _sdist(path: Path, names: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            tar.addfile(info, io.BytesIO(b""))
    return path


def test_compiled_sources_of_an_sdist(tmp_path: Path) -> None:
    sdist = _sdist(
        tmp_path / "a-1.tar.gz",
        ["a-1/pyproject.toml", "a-1/src/a/_speedups.c", "a-1/src/a/x.pyx", "a-1/tests/fixture.c", "a-1/a.h"],
    )
    assert compiled_sources(sdist) == ["src/a/_speedups.c", "src/a/x.pyx"]
    pure = _sdist(tmp_path / "b-1.tar.gz", ["b-1/pyproject.toml", "b-1/b/__init__.py", "b-1/docs/ext.c"])
    assert compiled_sources(pure) == []
    (tmp_path / "bad.tar.gz").write_bytes(b"not a tar")
    assert compiled_sources(tmp_path / "bad.tar.gz") == []


def test_journal_takes_over_only_unchanged_wheels_of_the_same_build(tmp_path: Path) -> None:
    sdist = _sdist(tmp_path / "a-1.tar.gz", ["a-1/pyproject.toml"])
    out = tmp_path / "wh"
    out.mkdir()
    one, two = out / "a-1-cp312-cp312-linux_x86_64.whl", out / "a-1-cp313-cp313-linux_x86_64.whl"
    one.write_bytes(b"one")
    two.write_bytes(b"two")
    journal = Journal(tmp_path / "work", sdist, {"test_command": "pytest"}, {"CFLAGS": ""})
    journal.add("cp312-manylinux_x86_64", one, "CPython 3.12.1 at /py", repaired=True, tested=True)
    journal.add("cp313-manylinux_x86_64", two, "CPython 3.13.0 at /py", repaired=True, tested=False)
    two.write_bytes(b"changed")
    again = Journal(tmp_path / "work", sdist, {"test_command": "pytest"}, {"CFLAGS": ""})
    selection = ["cp312-manylinux_x86_64", "cp313-manylinux_x86_64"]
    assert set(again.load(out, selection)) == {"cp312-manylinux_x86_64"}  # the changed wheel is built again
    other = Journal(tmp_path / "work", sdist, {"test_command": "pytest -x"}, {"CFLAGS": ""})
    assert other.load(out, selection) == {}  # other options: nothing is taken over
    flags = Journal(tmp_path / "work", sdist, {"test_command": "pytest"}, {"CFLAGS": "-O0"})
    assert flags.load(out, selection) == {}


def test_journal_records_each_wheel_hash_at_once_and_names_what_is_missing(tmp_path: Path) -> None:
    """The record the release step reads: the selection, the sdist and each finished wheel with its sha256,
    on disk as soon as each is added; a wheel missing or changed in the wheelhouse is missing."""
    out = tmp_path / "wh"
    out.mkdir()
    sdist = _sdist(out / "a-1.tar.gz", ["a-1/pyproject.toml"])
    one = out / "a-1-cp312-cp312-linux_x86_64.whl"
    one.write_bytes(b"one")
    journal = Journal(tmp_path / "work", sdist, {}, {})
    journal.load(out, ["cp312-manylinux_x86_64", "cp313-manylinux_x86_64"])
    record = read_record(journal_path(tmp_path / "work"))
    assert record is not None and record.selection == ("cp312-manylinux_x86_64", "cp313-manylinux_x86_64")
    assert record.missing(out) == ["cp312-manylinux_x86_64", "cp313-manylinux_x86_64"]
    sha = journal.add("cp312-manylinux_x86_64", one, "CPython 3.12.1 at /py", repaired=True, tested=True)
    record = read_record(journal_path(tmp_path / "work"))
    assert record is not None and record.files[one.name] == sha and sdist.name in record.files
    assert record.missing(out) == ["cp313-manylinux_x86_64"]
    one.write_bytes(b"other bytes")
    assert record.missing(out) == ["cp312-manylinux_x86_64", "cp313-manylinux_x86_64"]
    sdist.unlink()
    assert record.missing(out)[0] == "sdist"


def test_environment_pwd_is_the_project_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """cibuildwheel evaluates ``environment`` in the project's folder: NumPy's ``PKG_CONFIG_PATH="$PWD/.openblas"``
    must name ``{project}/.openblas`` (where its before-build writes), whatever folder started the release."""
    from shipwheel.builder._context import configured_env

    monkeypatch.setenv("PWD", "/somewhere/else")
    project = tmp_path / "src"
    # the build's environment so far holds the calling one (PWD too)
    env = configured_env({"PKG_CONFIG_PATH": "$PWD/.openblas"}, {"PWD": "/a/shell"}, {"project": project})
    assert env["PKG_CONFIG_PATH"] == f"{project}/.openblas"


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="cibuildwheel's /project is its Linux container's"
)
def test_the_containers_project_path_is_the_project_folder_in_a_native_build(tmp_path: Path) -> None:
    """NumPy's ``PKG_CONFIG_PATH=/project/.openblas``: cibuildwheel's Linux container mounts the project at
    /project; built natively that path is the project folder, in environment values and commands alike, while
    other paths that merely contain the word are left as they are."""
    from shipwheel.builder._context import configured_env
    from shipwheel.builder._steps import expand

    project = tmp_path / "numpy src"
    env = configured_env(
        {"PKG_CONFIG_PATH": "/project/.openblas", "LD_LIBRARY_PATH": "$LD_LIBRARY_PATH:/project/.openblas/lib",
         "OTHER": "/projects/x:/srv/project:/project-x"},
        {"LD_LIBRARY_PATH": "/usr/lib"},
        {"project": project},
    )  # fmt: skip
    assert env["PKG_CONFIG_PATH"] == f"{project}/.openblas"
    assert env["LD_LIBRARY_PATH"] == f"/usr/lib:{project}/.openblas/lib"
    assert env["OTHER"] == "/projects/x:/srv/project:/project-x"
    assert expand("bash /project/tools/before.sh /project", {"project": project}) == (
        f"bash '{project}'/tools/before.sh '{project}'"
    )
