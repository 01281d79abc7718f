"""The jobs of a generated workflow run on this machine, as a GitHub-hosted ubuntu runner would run them.

Every ``run:`` step goes to bash (``bash -e`` by default, ``bash --noprofile --norc -eo pipefail`` for
``shell: bash``, as GitHub does) with the GITHUB_* variables and files of a tag push, after its ``${{ }}``
expressions are put in (:mod:`expressions`, which refuses what it cannot evaluate). The ``uses:`` steps are
emulated: checkout clones the release repository, setup-python makes a fresh venv of that Python (so every job
installs what its own steps install), upload-artifact and download-artifact copy folders, and the two actions
that cannot run here (cibuildwheel and gh-action-pypi-publish, a Docker action) are callbacks of the test. An
action, an input or a step key the emulation does not know fails the run.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ci.expressions import Context, Unevaluable, evaluate, substitute

__all__ = ["Runner", "find_python"]

#: The inputs each emulated action accepts; any other one fails the run (the emulation would ignore it).
_INPUTS = {
    "actions/checkout": {"ref", "persist-credentials", "fetch-depth"},
    "actions/setup-python": {"python-version"},
    "actions/upload-artifact": {"name", "path", "if-no-files-found"},
    "actions/download-artifact": {"name", "path", "pattern", "merge-multiple"},
    "pypa/cibuildwheel": {"package-dir", "output-dir"},
    "pypa/gh-action-pypi-publish": {"packages-dir", "repository-url", "skip-existing", "attestations"},
}
_STEP_KEYS = {"name", "id", "uses", "with", "run", "env", "shell", "if"}
_SHELLS = {None: ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"]}

#: ``cibuildwheel(package_dir, output_dir, env)`` builds the wheels of the job's share (``env`` has CIBW_*).
Cibuildwheel = Callable[[Path, Path, Mapping[str, str]], None]
#: ``publish(packages_dir, repository_url, skip_existing)`` uploads every file of the folder.
Publish = Callable[[Path, str, bool], None]


def find_python(version: str) -> Path:
    """An interpreter of ``version`` (``3.12``) in pyenv or on PATH (not a pyenv shim, which answers for the
    selected version only); the test skips without one."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True):
        return candidate
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which(f"python{version}", path=folder)
        if found and "shims" not in Path(folder).parts:
            return Path(found)
    pytest.skip(f"no Python {version} on this machine for actions/setup-python")


def _scalar(value: Any) -> str:
    """A YAML value as the string GitHub gives an input or a variable (``false``, not Python's ``False``)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _outputs(path: Path) -> dict[str, str]:
    """The ``name=value`` and ``name<<DELIMITER`` lines a step wrote to a GITHUB_OUTPUT/GITHUB_ENV file."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if line.strip():
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: {line!r} is neither name=value nor name<<DELIMITER"
            values[name] = value
        i += 1
    return values


@dataclass
class Runner:
    """Runs the jobs of one workflow run: ``repo`` is the repository pushed, ``ref`` the tag pushed, ``root``
    holds each job's workspace and temp folder and the run's artifacts; ``environ`` is the runner's own
    environment (PATH without any Python of the test's, HOME, the index pip and uv install from)."""

    workflow: Mapping[str, Any]
    repo: Path
    ref: str
    root: Path
    environ: Mapping[str, str]
    cibuildwheel: Cibuildwheel
    publish: Publish
    needs: dict[str, dict[str, Any]] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)
    _runs: int = 0

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def github(self) -> dict[str, Any]:
        sha = subprocess.run(
            ["git", "rev-parse", f"{self.ref}^{{commit}}"], cwd=self.repo, capture_output=True, text=True,
            check=True, timeout=60,
        ).stdout.strip()  # fmt: skip
        return {
            "ref": self.ref,
            "ref_name": self.ref.rsplit("/", 1)[-1],
            "ref_type": "tag" if self.ref.startswith("refs/tags/") else "branch",
            "sha": sha,
            "event_name": "push",
            "workflow": self.workflow["name"],
            "repository": "example/kahan",
            "server_url": "https://github.com",
            "run_id": "1",
            "run_attempt": "1",
        }

    def run_job(self, job_id: str, matrix: Mapping[str, Any] | None = None) -> dict[str, str] | None:
        """Run job ``job_id`` (once per ``matrix`` entry given), after the jobs it needs; its outputs, or None
        when its ``if:`` is false."""
        job = self.workflow["jobs"][job_id]
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            assert need in self.needs, f"{job_id} needs {need}, which has not run"
        self._runs += 1
        home = self.root / f"{self._runs:02d}-{job_id}"
        workspace, temp = home / "workspace", home / "temp"
        for folder in (workspace, temp):
            folder.mkdir(parents=True)
        github = self.github()
        contexts: dict[str, Any] = {
            "github": {**github, "workspace": str(workspace)},
            "needs": {n: self.needs[n] for n in ([needs] if isinstance(needs, str) else needs)},
            "runner": {"temp": str(temp), "os": "Linux", "arch": "X64"},
            "matrix": dict(matrix or {}),
            "steps": {},
        }
        if "if" in job and not evaluate(str(job["if"]), Context(contexts, {"inputs": {}})):
            self.transcript.append(f"job {job_id}: skipped by its if")
            return None
        env = {
            k: substitute(_scalar(v), Context(contexts, {"inputs": {}}))
            for k, v in job.get("env", {}).items()
        }
        path: list[str] = []
        self.transcript.append(f"job {job_id}")
        for number, step in enumerate(job["steps"], 1):
            unknown = set(step) - _STEP_KEYS
            assert not unknown, f"{job_id} step {number}: the local run does not know {sorted(unknown)}"
            context = Context({**contexts, "env": env}, {"inputs": {}})
            if "if" in step and not evaluate(str(step["if"]), context):
                continue
            step_env = {k: substitute(_scalar(v), context) for k, v in step.get("env", {}).items()}
            label = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            self.transcript.append(f"  step {label}")
            files = {
                name: temp / f"_{name.lower()}_{number}"
                for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
            }
            for file in files.values():
                file.touch()
            environ = {
                **self.environ,
                "PATH": os.pathsep.join([*reversed(path), self.environ["PATH"]]),
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_TEMP": str(temp),
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_JOB": job_id,
                **{f"GITHUB_{k.upper()}": str(v) for k, v in github.items()},
                **{k: str(v) for k, v in files.items()},
                **env,
                **step_env,
            }
            if "run" in step:
                self._run(job_id, step, substitute(str(step["run"]), context), workspace, environ)
            else:
                inputs = {k: substitute(_scalar(v), context) for k, v in step.get("with", {}).items()}
                self._uses(job_id, str(step["uses"]), inputs, workspace, home, environ, path)
            if "id" in step:
                contexts["steps"][step["id"]] = {
                    "outputs": _outputs(files["GITHUB_OUTPUT"]),
                    "outcome": "success",
                }
            env.update(_outputs(files["GITHUB_ENV"]))
            path += [line for line in files["GITHUB_PATH"].read_text().splitlines() if line]
        context = Context(contexts, {"inputs": {}})
        outputs = {k: substitute(str(v), context) for k, v in job.get("outputs", {}).items()}
        self.needs[job_id] = {"outputs": outputs, "result": "success"}
        return outputs

    def _run(
        self, job_id: str, step: Mapping[str, Any], script: str, cwd: Path, env: Mapping[str, str]
    ) -> None:
        shell = step.get("shell")
        assert shell in _SHELLS, f"{job_id}: the local run does not know shell {shell!r}"
        script_file = Path(env["RUNNER_TEMP"]) / f"step-{len(self.transcript)}.sh"
        script_file.write_text(script, encoding="utf-8")
        proc = subprocess.run(
            [*_SHELLS[shell], str(script_file)], cwd=cwd, env=dict(env), capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        self.transcript.append(proc.stdout + proc.stderr)
        assert proc.returncode == 0, (
            f"{job_id} step {step.get('name') or script.splitlines()[0]!r} exited {proc.returncode}:\n"
            f"{proc.stdout}\n{proc.stderr}"
        )

    def _uses(
        self, job_id: str, uses: str, inputs: dict[str, str], workspace: Path, home: Path,
        env: Mapping[str, str], path: list[str],
    ) -> None:  # fmt: skip
        action = uses.split("@", 1)[0]
        if action not in _INPUTS:
            raise Unevaluable(f"{job_id}: the local run cannot emulate {uses}")
        unknown = set(inputs) - _INPUTS[action]
        assert not unknown, f"{job_id}: {action} inputs {sorted(unknown)} are not emulated"
        if action == "actions/checkout":
            assert not any(workspace.iterdir()), f"{job_id}: checkout into a workspace that is not empty"
            assert inputs.get("persist-credentials") == "false", f"{job_id}: checkout keeps the credentials"
            self._git(["clone", "-q", str(self.repo), str(workspace)], self.root)
            self._git(["checkout", "-q", "--detach", inputs.get("ref") or self.ref], workspace)
        elif action == "actions/setup-python":
            venv = home / "python"
            version = inputs["python-version"]
            subprocess.run(
                [str(find_python(version)), "-m", "venv", str(venv)],
                check=True,
                capture_output=True,
                timeout=300,
            )
            path.append(str(venv / "bin"))
        elif action == "actions/upload-artifact":
            files = sorted(glob.glob(inputs["path"], root_dir=workspace))
            if not files:
                assert inputs.get("if-no-files-found") != "error", (
                    f"{job_id}: no files match {inputs['path']}"
                )
            target = self.artifacts / inputs["name"]
            assert not target.exists(), f"{job_id}: artifact {inputs['name']} uploaded twice"
            target.mkdir(parents=True)
            for name in files:
                shutil.copy2(workspace / name, target / Path(name).name)
        elif action == "actions/download-artifact":
            names = sorted(p.name for p in self.artifacts.iterdir())
            if "name" in inputs:
                assert inputs["name"] in names, f"{job_id}: no artifact {inputs['name']} (have {names})"
                chosen, merge = [inputs["name"]], True
            else:
                chosen = fnmatch.filter(names, inputs.get("pattern", "*"))
                merge = inputs.get("merge-multiple") == "true"
                assert chosen, f"{job_id}: no artifact matches {inputs.get('pattern')} (have {names})"
            target = (
                Path(inputs["path"]) if Path(inputs["path"]).is_absolute() else workspace / inputs["path"]
            )
            for name in chosen:
                shutil.copytree(self.artifacts / name, target if merge else target / name, dirs_exist_ok=True)
        elif action == "pypa/cibuildwheel":
            cibw = {k: v for k, v in env.items() if k.startswith("CIBW_")}
            self.cibuildwheel(workspace / inputs["package-dir"], workspace / inputs["output-dir"], cibw)
        else:
            self.publish(
                workspace / inputs["packages-dir"],
                inputs["repository-url"],
                inputs["skip-existing"] == "true",
            )

    def _git(self, args: list[str], cwd: Path) -> None:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
