"""The configured commands run where cibuildwheel runs them: a platform table's before-all in the project's tree
(what it writes there reaches every identifier's wheel), before-build with the build interpreter's ``python``
and ``pip`` first on PATH, and every command finds shipwheel's own tools even when shipwheel runs by its path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from builder.test_build import HAVE, git, make_repo
from fixtures.builds import build_project
from shipwheel.builder import BuildResult

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def platform_table_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    if len(HAVE) < 2:
        pytest.skip(f"needs two CPython >= 3.10 interpreters, found {HAVE}")
    root = tmp_path_factory.mktemp("commands")
    repo = make_repo(root / "kahan")
    pyproject = repo / "pyproject.toml"
    text = re.sub(r"(?m)^before-all = .*\n", "", pyproject.read_text())
    text += (
        'before-build = "command -v python && command -v pip && pip --version"\n\n'
        "[tool.cibuildwheel.linux]\n"
        'before-all = "make -C native install PREFIX={prefix} && echo bundled by before-all > LICENSE.bundled"\n'
    )
    pyproject.write_text(text)
    git(repo, "commit", "-qam", "before-all in the linux table")
    only = " ".join(f"{p}-manylinux_x86_64" for p in HAVE[-2:])
    result = build_project(
        repo,
        only=only,
        overrides={"cache-dir": str(root / "cache"), "output-dir": str(root / "wh"), "test-command": ""},
    )
    assert result.ok, [(r.error, r.errors) for r in result.failed]
    return repo, result


def test_platform_before_all_writes_reach_every_identifiers_wheel(
    platform_table_build: tuple[Path, BuildResult],
) -> None:
    _, result = platform_table_build
    wheels = [r.wheel for r in result.results if r.wheel is not None]
    assert len(wheels) == 2
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            licence = [n for n in names if n.endswith(".dist-info/licenses/LICENSE.bundled")]
            assert licence, f"LICENSE.bundled missing from {wheel.name}"
            assert zf.read(licence[0]) == b"bundled by before-all\n"
            assert any(n.startswith("kahan.libs/libkahan") for n in names)  # its library, built into {prefix}


def test_before_build_runs_with_the_build_interpreters_python_and_pip_first(
    platform_table_build: tuple[Path, BuildResult],
) -> None:
    _, result = platform_table_build
    for r in result.results:
        assert r.log is not None
        log = r.log.read_text()
        version = f"3.{r.identifier[3:5]}"
        assert re.search(r"^/\S+/before-build-venv/bin/python$", log, re.M), log[:3000]
        assert re.search(r"^/\S+/before-build-venv/bin/pip$", log, re.M), log[:3000]
        assert re.search(rf"^pip \S+ from /\S+/before-build-venv/\S+ \(python {version}\)$", log, re.M)


def test_repair_command_finds_auditwheel_when_shipwheel_runs_by_its_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "kahan")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write('repair-wheel-command = "auditwheel repair -w {dest_dir} {wheel}"\n')
    git(repo, "commit", "-qam", "auditwheel by name")
    program = Path(sys.executable).parent / "shipwheel"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # shipwheel's own folder is not on PATH
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [str(program), "build", str(repo), "--json", "--only", f"{HAVE[-1]}-manylinux_x86_64",
         "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "wh"), "--no-test"],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = json.loads(proc.stdout)["results"]
    assert result["repaired"] is True and "manylinux" in result["wheel"], result
