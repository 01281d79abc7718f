"""The four phases of one identifier, each a function of its frozen context: environment, wheel, repair, test.

The scheduler (``_schedule``) runs them, times them and decides how many cores a compile may use; a phase never
decides anything about the others.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..config import read_pyproject
from ..errors import ShipwheelError
from ..matrix import Identifier, Selector
from ._context import BuildContext, IdentifierContext
from ._cython import cython_cache
from ._env import CachedEnv
from ._frontend import Frontend, config_settings, parse_frontend
from ._results import CacheStats
from ._source import extract_sdist
from ._steps import (
    expand,
    is_platform_wheel,
    pip_wheel,
    prepare_backend,
    repair_wheel,
    repair_with_command,
    run_backend,
    run_shell,
    test_wheel,
)

__all__ = [
    "Prepared",
    "before_all",
    "compile_wheel",
    "environment",
    "jobs_env",
    "jobserver_client",
    "repair",
    "test",
]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the environment phase leaves for the compile: the unpacked sources and the build environment."""

    srcdir: Path
    build_env: CachedEnv
    reused: bool
    frontend: Frontend
    settings: Mapping[str, str | list[str]]
    backend: str
    #: the scripts folder of the before-build environment (what before-build installed with pip), first on the
    #: PATH of the repair command too, as in cibuildwheel's build environment; None without before-build
    tools: Path | None = None
    #: the ninja meson-python will run is a jobserver client (1.13 or later)
    ninja_jobserver: bool = False


def _backend(srcdir: Path) -> str:
    """The ``build-backend`` of the unpacked project (``""`` when it names none)."""
    try:
        data = read_pyproject(srcdir) or {}
    except ShipwheelError:
        return ""  # the backend's own hooks say what is wrong with it
    system = data.get("build-system", {})
    value = system.get("build-backend", "") if isinstance(system, dict) else ""
    return value if isinstance(value, str) else ""


def _overlay(tree: Path, files: Sequence[str], srcdir: Path) -> None:
    """Copy what before-all wrote into ``{project}`` (``files``, relative to ``tree``) into ``srcdir``."""
    for rel in files:
        dest = srcdir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tree / rel, dest, follow_symlinks=False)


def _with_path(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    return {**env, "PATH": f"{folder}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"}


def _before_build(ic: IdentifierContext, srcdir: Path, log: IO[str]) -> Path:
    """cibuildwheel's ``before-build``, in a fresh virtual environment of the identifier's interpreter (with
    pip) whose ``python`` and ``pip`` come first on PATH; that environment's scripts folder."""
    cache = ic.build.cache
    venv = ic.root / "before-build-venv"
    cache.create(ic.interpreter.path, venv, log=log, seed=True)
    bindir = Path(CachedEnv(venv).python_executable).parent
    env = {**_with_path(ic.env, bindir), "VIRTUAL_ENV": str(venv)}
    command = expand(ic.options.before_build, {**ic.build.placeholders, "python": ic.interpreter.path})
    run_shell(command, cwd=srcdir, env=env, log=log, what="before-build")
    return bindir


def environment(ic: IdentifierContext, sdist: Path, overlay: Sequence[str], log: IO[str]) -> Prepared:
    """Unpack the sdist (with what before-all wrote into the project), run before-build, and make or reuse the
    build environment with everything the backend asks for."""
    ctx = ic.build
    srcdir = ctx.step(ic.name, "unpack", lambda: extract_sdist(sdist, ic.root / "src"))
    _overlay(ctx.source.tree, overlay, srcdir)
    tools = (
        ctx.step(ic.name, "before-build", lambda: _before_build(ic, srcdir, log))
        if ic.options.before_build
        else None
    )
    frontend = parse_frontend(ic.options.build_frontend)
    settings = config_settings(ic.options.config_settings, frontend)

    backend = _backend(srcdir)

    def make() -> tuple[CachedEnv, bool, bool]:
        if frontend.kind == "pip":
            return (*ctx.cache.get(ic.interpreter, ["pip"], log=log), False)
        build_env, reused = prepare_backend(
            srcdir, ic.interpreter, "wheel", cache=ctx.cache, env=ic.env, log=log, settings=settings
        )
        return build_env, reused, backend == "mesonpy" and _jobserver_ninja(ctx, build_env, ic.env, log)

    build_env, reused, ninja_jobserver = ctx.step(ic.name, "environment", make)
    return Prepared(srcdir, build_env, reused, frontend, settings, backend, tools, ninja_jobserver)


#: the ninja that is a jobserver client (the ``ninja`` wheel, which meson-python installs itself when the
#: machine has no ninja)
NINJA_JOBSERVER = "ninja>=1.13"


def _jobserver_ninja(ctx: BuildContext, build_env: CachedEnv, env: Mapping[str, str], log: IO[str]) -> bool:
    """Whether the ninja meson-python will run in ``build_env`` (``NINJA``, else the first on the build's PATH,
    the environment's scripts first) is a jobserver client; an older one (a system ninja 1.11) is shadowed by
    the ``ninja`` wheel installed into the environment (kept with it), so that the compile can take the cores
    others free while it runs. ``False`` when that install fails (offline): the compile then gets a fixed
    ``-j``."""
    bindir = Path(build_env.python_executable).parent
    path = {**env, "PATH": f"{bindir}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"}
    if _ninja_version(path) >= (1, 13):
        return True
    if "NINJA" in env:
        return False  # the user's choice
    try:
        ctx.cache.add(build_env, [NINJA_JOBSERVER], log=log)
    except ShipwheelError as exc:
        log.write(f"no jobserver ninja ({exc.one_line()}): a fixed job count\n")
        return False
    return _ninja_version(path) >= (1, 13)


def jobs_env(jobs: int) -> dict[str, str]:
    """What tells the backends and the tools they call how many compiles to run at once: setuptools'
    ``build_ext --parallel`` (through pypa/distutils' ``DIST_EXTRA_CONFIG``, written by the caller), CMake's
    ``CMAKE_BUILD_PARALLEL_LEVEL`` (scikit-build-core), make's ``MAKEFLAGS``."""
    return {"CMAKE_BUILD_PARALLEL_LEVEL": str(jobs), "MAKEFLAGS": f"-j{jobs}"}


def _with_ninja_jobs(settings: Mapping[str, str | list[str]], jobs: int) -> dict[str, str | list[str]]:
    """meson-python's ``compile-args`` with ``-jN`` (ninja's own default is every core plus two), unless the
    project already says how many."""
    out = dict(settings)
    old = out.get("compile-args", [])
    items = [old] if isinstance(old, str) else list(old)
    if not any(item.startswith(("-j", "--jobs")) for a in items for item in a.split()):
        out["compile-args"] = " ".join([*items, f"-j{jobs}"]).strip()
    return out


def _ninja_version(env: Mapping[str, str]) -> tuple[int, ...]:
    ninja = env.get("NINJA") or shutil.which("ninja", path=env.get("PATH"))
    if not ninja:
        return ()
    try:
        out = subprocess.run([ninja, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    # "1.13.2.git.kitware.jobserver-pipe-1" (the ninja wheel)
    found = re.match(r"(\d+)\.(\d+)", out.strip())
    return (int(found[1]), int(found[2])) if found else ()


def jobserver_client(prepared: Prepared) -> bool:
    """Whether the compile is a meson-python build whose ninja takes its job count from a jobserver, and the
    project sets no ``-j`` of its own (which ninja would obey instead)."""
    if not prepared.ninja_jobserver or prepared.frontend.kind == "pip":
        return False
    old = prepared.settings.get("compile-args", [])
    items = [old] if isinstance(old, str) else old
    return not any(item.startswith(("-j", "--jobs")) for a in items for item in a.split())


def compile_wheel(
    ic: IdentifierContext, prepared: Prepared, jobs: int, log: IO[str], *, makeflags: str | None = None
) -> tuple[Path, CacheStats]:
    """The backend's wheel, built with ``jobs`` compiles at once (or, with ``makeflags``, as many as the
    jobserver it names gives), and what the Cython cache did for it; the compiler cache's calls are recorded in
    the identifier's statslog."""
    extra = ic.root / "parallel.cfg"
    extra.write_text(f"[build_ext]\nparallel = {jobs}\n", encoding="utf-8")
    env = {
        **ic.env,
        **jobs_env(jobs),
        "DIST_EXTRA_CONFIG": str(extra),
        "CCACHE_STATSLOG": str(ic.root / "ccache-stats.log"),
    }
    settings = prepared.settings
    cython = None
    if makeflags is not None:  # ninja without -j: a client of the jobserver
        env["MAKEFLAGS"] = makeflags
    if prepared.backend == "mesonpy" and prepared.frontend.kind != "pip":
        if makeflags is None:
            settings = _with_ninja_jobs(settings, jobs)
        cython = cython_cache(prepared.build_env, ic.build.options.cache_dir, ic.name, ic.env)
    if cython is not None:
        env.update(cython.environ)
        # meson-python's build folder is a new random one per build (.mesonpy-XXXX), and Cython's key holds
        # the paths of the .pyx and .pxd files meson copies there: one fixed name per identifier lets a warm
        # build's translations hit
        settings = {"build-dir": str(prepared.srcdir / ".mesonpy-build"), **settings}
        log.write(f"Cython cache: {cython.folder}\n")
    before = cython.snapshot() if cython is not None else {}
    log.write(f"compile: {'jobserver, ' if makeflags else ''}{jobs} job(s)\n")
    outdir = ic.root / "dist"

    def build() -> Path:
        if prepared.frontend.kind == "pip":
            return pip_wheel(
                prepared.srcdir,
                prepared.build_env,
                outdir=outdir,
                env=env,
                log=log,
                settings=settings,
                args=prepared.frontend.args,
            )
        return run_backend(
            prepared.srcdir, prepared.build_env, "wheel", outdir=outdir, env=env, log=log, settings=settings
        )

    wheel = ic.build.step(ic.name, "wheel", build)
    return wheel, cython.stats(before) if cython is not None else CacheStats()


def _delocate_archs(ident: Identifier) -> str:
    """cibuildwheel's ``{delocate_archs}`` of a macOS identifier (``arm64``, ``x86_64,arm64`` for universal2)."""
    arch = ident.platform.split("_", 1)[-1]
    return "x86_64,arm64" if arch == "universal2" else arch


def repair(ic: IdentifierContext, wheel: Path, log: IO[str], tools: Path | None = None) -> tuple[Path, bool]:
    """The repaired wheel (cibuildwheel's ``repair-wheel-command``, else auditwheel on Linux) and whether a
    repair ran; pure wheels and ``--no-repair`` are kept as built. ``tools``: the before-build environment's
    scripts, first on the command's PATH."""
    opts, ctx = ic.options, ic.build
    env = _with_path(ic.env, tools) if tools is not None else ic.env
    # opts.repair: --no-repair wins over every per-identifier value (the loader drops theirs)
    if not (opts.repair and is_platform_wheel(wheel)):
        return wheel, False
    outdir = ic.root / "repaired"
    if opts.repair_wheel_command:  # cibuildwheel's, on every system
        placeholders = {**ctx.placeholders, "delocate_archs": _delocate_archs(ic.identifier)}
        command = opts.repair_wheel_command

        def run_command() -> Path:
            return repair_with_command(
                command, wheel, outdir, placeholders=placeholders, cwd=ctx.source.tree, env=env, log=log
            )

        return ctx.step(ic.name, "repair", run_command), True
    if ic.identifier.os != "linux":
        return wheel, False
    return ctx.step(ic.name, "repair", lambda: repair_wheel(wheel, outdir, env=env, log=log)), True


def test(ic: IdentifierContext, wheel: Path, log: IO[str]) -> bool:
    """Run the test-command against the installed wheel in a fresh environment; whether tests ran."""
    opts, ctx = ic.options, ic.build
    if not opts.test_command or Selector.parse(opts.test_skip).matches(ic.name):
        return False
    (ic.root / "tmp").mkdir(parents=True, exist_ok=True)

    def run_tests() -> None:
        test_wheel(
            wheel,
            ic.interpreter,
            cache=ctx.cache,
            project=ctx.source.tree,
            test_requires=ctx.config.test_requirements(opts),
            test_command=opts.test_command,
            before_test=opts.before_test,
            test_sources=opts.test_sources,
            test_extras=opts.test_extras,
            env=ic.env,
            log=log,
            workdir=ic.root / "tmp",
        )

    ctx.step(ic.name, "test", run_tests)
    return True


def _snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``tree`` with its size and modification time, to see what a command wrote."""
    out = {}
    for root, _dirs, files in os.walk(tree):
        for name in files:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                out[os.path.relpath(path, tree)] = (st.st_size, st.st_mtime_ns)
    return out


def before_all(ctx: BuildContext, identifiers: Sequence[IdentifierContext]) -> tuple[str, ...]:
    """Run each distinct ``before-all`` of ``identifiers`` (the top-level one, or a platform table's) once, in
    the project's tree, with the environment of the first identifier it is for, and ``{prefix}`` empty; the
    files it wrote into the tree (relative paths), which every identifier's build gets, as cibuildwheel builds
    from the tree before-all ran in."""
    shutil.rmtree(ctx.prefix, ignore_errors=True)
    ctx.prefix.mkdir(parents=True)
    commands: dict[str, Mapping[str, str]] = {}
    for ic in identifiers:
        if ic.options.before_all:
            commands.setdefault(ic.options.before_all, ic.env)
    if not commands:
        return ()
    tree = ctx.source.tree
    before = _snapshot(tree)
    with ctx.log("before-all") as log:
        for command, env in commands.items():
            shell = expand(command, ctx.placeholders)
            run_env = {**env, **jobs_env(ctx.cores)}

            def run_it(shell: str = shell, run_env: Mapping[str, str] = run_env) -> None:
                run_shell(shell, cwd=tree, env=run_env, log=log, what="before-all")

            ctx.step("before-all", "before-all", run_it)
    after = _snapshot(tree)
    return tuple(sorted(rel for rel, stat in after.items() if before.get(rel) != stat))
