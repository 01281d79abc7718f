"""The publish job's check, as the workflow holds it, run by bash against a real index (pypiserver): after an
upload with ``skip-existing``, the release passes only when the index lists every file with the same sha256."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.index_servers import IndexServer, make_sdist, make_wheel, unique_project
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.config import load_config

PYPROJECT = """\
[project]
name = "demo"
version = "1.0.0"

[tool.shipwheel]
platforms = ["manylinux_x86_64"]
"""


def _step(job: str, name: str, tmp_path: Path) -> str:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(github_workflows(load_config(project))[WORKFLOW_FILE])
    return str(next(s for s in doc["jobs"][job]["steps"] if s.get("name") == name)["run"])


def _release(folder: Path, project: str) -> list[Path]:
    """Two wheels and the sdist, laid out as the publish job downloads them."""
    files = [
        make_wheel(folder / "wheels", project, "1.0.0", "cp312-cp312-manylinux_2_17_x86_64"),
        make_wheel(folder / "wheels", project, "1.0.0", "cp313-cp313-manylinux_2_17_x86_64"),
        make_sdist(folder / "sdist", project, "1.0.0"),
    ]
    return files


def _run_check(script: str, folder: Path, server: IndexServer) -> subprocess.CompletedProcess[str]:
    # `sleep` answers at once: the step waits between its attempts for an index that lists new files late
    fast = folder / "bin"
    fast.mkdir()
    (fast / "sleep").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    (fast / "sleep").chmod(0o755)
    runner_temp = folder / "runner-temp"
    runner_temp.mkdir()
    env = {
        "PATH": os.pathsep.join([str(fast), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "HOME": str(folder),
        "RUNNER_TEMP": str(runner_temp),
        "TARGET": server.upload_url,
        "UV_PUBLISH_CHECK_URL": server.simple_url,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.integration
@pytest.mark.parametrize("on_index", ["all", "all-but-one-wheel", "a-wheel-with-other-content"])
def test_the_publish_check_passes_only_when_the_index_lists_every_file_with_its_sha256(
    on_index: str, pypiserver: IndexServer, tmp_path: Path
) -> None:
    script = _step("publish", "the index lists every file with its sha256", tmp_path)
    project = unique_project("ci")
    folder = tmp_path / "job"
    files = _release(folder, project)
    for path in files:
        shutil.copy2(path, pypiserver.root / path.name)
    if on_index == "all-but-one-wheel":
        (pypiserver.root / files[1].name).unlink()
    elif on_index == "a-wheel-with-other-content":
        (pypiserver.root / files[1].name).unlink()
        other = make_wheel(
            tmp_path / "other", project, "1.0.0", "cp313-cp313-manylinux_2_17_x86_64", payload=b"x"
        )
        shutil.copy2(other, pypiserver.root / other.name)
    listed = {p.name for p in files} - ({files[1].name} if on_index == "all-but-one-wheel" else set())
    assert set(pypiserver.files(project)) == listed
    proc = _run_check(script, folder, pypiserver)
    output = proc.stdout + proc.stderr
    if on_index == "all":
        assert proc.returncode == 0, output
    elif on_index == "all-but-one-wheel":
        assert proc.returncode == 1, output
        assert files[1].name in proc.stdout and "attempt 6" in proc.stdout
        assert "::error::the index does not list every release file" in proc.stdout
    else:
        assert proc.returncode != 0, output
        assert files[1].name in output and "attempt" not in proc.stdout
