"""``shipwheel build``: an sdist once, then every selected identifier in parallel from that sdist."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .._fs import open_new_or_append
from ..config import Config, expand_environment, load_config
from ..distfiles import DistFile
from ..errors import BuildError, ConfigError, EnvironmentNotReadyError, SelectorError, ShipwheelError
from ..interpreters import Interpreter, current, discover, match_identifiers
from ..matrix import Identifier, Selector, compiled_sources
from ._env import EnvCache
from ._environ import ccache_env, native_env, with_libc_needed, with_prefix_map
from ._frontend import config_settings, parse_frontend
from ._logscan import first_errors
from ._repro import normalize_sdist, normalize_wheel, sdist_to_zip
from ._results import BuildEvent, BuildResult, IdentifierResult
from ._resume import Journal
from ._schedule import build_wheels
from ._source import Source, extract_sdist, prepare_source, refuse_dirty
from ._steps import (
    build_distribution,
    expand,
    is_platform_wheel,
    repair_wheel,
    repair_with_command,
    run_shell,
    test_wheel,
    wheel_tag,
)

__all__ = ["BuildEvent", "BuildResult", "IdentifierResult", "build"]


def _noop(_event: BuildEvent) -> None:
    return None


@contextlib.contextmanager
def _project_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EnvironmentNotReadyError(
                f"another shipwheel build of this project is using {path.parent}",
                hint="wait for it to finish, or pass another --cache-dir",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _select(config: Config, only: str | None) -> list[Identifier]:
    expected = config.identifiers()
    if not only:
        return expected
    selector = Selector.parse(only, what="--only selector")
    chosen = [i for i in expected if selector.matches(i)]
    if not chosen:
        spec = config.project.requires_python
        raise SelectorError(
            f"--only {only!r} matches none of this project's identifiers"
            + (f" (requires-python {spec})" if spec else ""),
            hint="run shipwheel matrix to list them",
        )
    return chosen


class _Build:
    """The state of one ``build()`` call."""

    def __init__(
        self, config: Config, source: Source, *, jobs: int, on_event: Callable[[BuildEvent], None]
    ) -> None:
        self.config = config
        self.source = source
        self.options = config.build
        self.jobs = jobs
        self.emit = on_event
        self.output = self.options.output_dir
        self.logs = self.options.log_dir
        cache_dir = self.options.cache_dir
        key = hashlib.sha256(str(source.sdist or source.project_dir).encode()).hexdigest()[:12]
        self.work = cache_dir / "work" / f"{config.project.name or 'project'}-{key}"
        self.cache = EnvCache(cache_dir)
        self.prefix = self.work / "prefix"
        # {package} is cibuildwheel's name for the folder of pyproject.toml: the project's tree here
        placeholders: dict[str, Path | str] = {
            "project": source.tree,
            "package": source.tree,
            "prefix": self.prefix,
        }
        self.env: dict[str, str] = {
            **self.cache.environ,
            **native_env(self.prefix),
            **ccache_env(cache_dir, self.work),
            "SOURCE_DATE_EPOCH": str(source.epoch),
        }
        self.placeholders = placeholders
        self.env.update(_passed(self.options.environment_pass))
        # environment as cibuildwheel evaluates it: in order, $VAR from the values before and the build's own
        self.env.update(self._environment(self.options.environment, self.env))
        # the path mapping goes to CPPFLAGS, which every backend appends (CFLAGS would replace the
        # interpreter's optimisation flags); after the configured environment, so it is kept too
        self.env["CPPFLAGS"] = with_prefix_map(
            self.env.get("CPPFLAGS", os.environ.get("CPPFLAGS", "")), self.work
        )
        self.env["LDFLAGS"] = with_libc_needed(self.env.get("LDFLAGS", os.environ.get("LDFLAGS", "")))
        self.interrupted = threading.Event()
        self.journal: Journal | None = None
        # why the project's wheels must be platform wheels; None while nothing says so
        self.platform_reason: str | None = None

    def _environment(self, assignments: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
        expanded = {k: expand(v, self.placeholders, quote=False) for k, v in assignments.items()}
        return expand_environment(expanded, {**os.environ, **base})

    def log(self, name: str) -> IO[str]:
        self.logs.mkdir(parents=True, exist_ok=True)
        # A link planted in the log folder is replaced, never written through.
        return io.TextIOWrapper(open_new_or_append(self.logs / f"{name}.log", append=False), encoding="utf-8")

    def step(self, target: str, name: str, fn: Callable[[], Any]) -> Any:
        self.emit(BuildEvent(target, name, "start"))
        try:
            value = fn()
        except Exception as exc:
            self.emit(BuildEvent(target, name, "failed", _message(exc)))
            raise
        self.emit(BuildEvent(target, name, "done"))
        return value

    def sdist(self) -> Path:
        """The release sdist: the input one, or one built (and normalized) from the exported tree."""
        self.output.mkdir(parents=True, exist_ok=True)
        if self.source.sdist is not None:
            target = self.output / self.source.sdist.name
            if target.resolve() != self.source.sdist:
                with self.source.sdist.open("rb") as src, open_new_or_append(target, append=False) as dst:
                    shutil.copyfileobj(src, dst)
                shutil.copystat(self.source.sdist, target)
            return self.source.sdist
        with self.log("sdist") as log:
            outdir = self.work / "sdist"
            shutil.rmtree(outdir, ignore_errors=True)

            def do() -> Path:
                built, _ = build_distribution(
                    self.source.tree,
                    current(),
                    "sdist",
                    cache=self.cache,
                    outdir=outdir,
                    env=self.env,
                    log=log,
                )
                normalize_sdist(built, self.source.epoch)
                dist = DistFile.parse(built.name)
                if dist is None or dist.pep625_name != built.name:
                    raise BuildError(
                        f"the backend named the sdist {built.name!r}, not as PEP 625 requires",
                        hint="upgrade the build backend (setuptools >= 69.3 names sdists correctly)",
                    )
                final = self.output / built.name
                os.replace(built, final)
                return final

            return self.step("sdist", "sdist", do)  # type: ignore[no-any-return]

    def before_all(self) -> None:
        command = self.options.before_all
        shutil.rmtree(self.prefix, ignore_errors=True)
        self.prefix.mkdir(parents=True)
        if not command:
            return
        with self.log("before-all") as log:
            self.step(
                "before-all",
                "before-all",
                lambda: run_shell(
                    expand(command, self.placeholders),
                    cwd=self.source.tree,
                    env=self.env,
                    log=log,
                    what="before-all",
                ),
            )

    def one(self, ident: Identifier, interpreter: Interpreter, sdist: Path) -> IdentifierResult:
        """Build, repair, test and keep the wheel of one identifier; a failure is returned, not raised."""
        start = time.monotonic()
        name = str(ident)
        logpath = self.logs / f"{name}.log"
        root = self.work / name
        if self.interrupted.is_set():
            return IdentifierResult(name, "interrupted", error="not started: interrupted")
        shutil.rmtree(root, ignore_errors=True)
        (root / "tmp").mkdir(parents=True)
        reused = repaired = tested = False
        # cibuildwheel's per-platform tables and overrides: this identifier's own options and environment
        opts = self.config.for_identifier(name)
        env = self.env
        if opts.environment_pass != self.options.environment_pass:
            env = {**env, **_passed(opts.environment_pass)}
        if opts.environment != self.options.environment:
            env = {**env, **self._environment(opts.environment, env)}
        with self.log(name) as log:
            log.write(f"{name}: {interpreter.describe()}\nsource: {self.source.description}\n")
            try:
                srcdir = self.step(name, "unpack", lambda: extract_sdist(sdist, root / "src"))
                if opts.before_build:
                    self.step(
                        name,
                        "before-build",
                        lambda: run_shell(
                            expand(opts.before_build, {**self.placeholders, "python": interpreter.path}),
                            cwd=srcdir,
                            env=env,
                            log=log,
                            what="before-build",
                        ),
                    )
                frontend = parse_frontend(opts.build_frontend)
                settings = config_settings(opts.config_settings, frontend)
                wheel, reused = self.step(
                    name,
                    "wheel",
                    lambda: build_distribution(
                        srcdir,
                        interpreter,
                        "wheel",
                        cache=self.cache,
                        outdir=root / "dist",
                        env=env,
                        log=log,
                        settings=settings,
                        frontend=frontend,
                    ),
                )
                reason = self.platform_reason
                if reason is not None and not is_platform_wheel(wheel):
                    self.emit(BuildEvent(name, "wheel", "failed", "pure wheel"))
                    raise BuildError(
                        f"the wheel came out pure ({wheel.name}) although {reason}: its compiled extension was "
                        f"not built (the backend fell back to pure Python?); see {logpath}",
                        hint="read the compiler's output in the log and fix the extension's build",
                    )
                # opts.repair: --no-repair wins over every per-identifier value (the loader drops theirs)
                if opts.repair and is_platform_wheel(wheel):
                    if opts.repair_wheel_command:  # cibuildwheel's, on every system
                        wheel = self.step(
                            name,
                            "repair",
                            lambda: repair_with_command(
                                opts.repair_wheel_command,
                                wheel,
                                root / "repaired",
                                placeholders={**self.placeholders, "delocate_archs": _delocate_archs(ident)},
                                cwd=self.source.tree,
                                env=env,
                                log=log,
                            ),
                        )
                        repaired = True
                    elif ident.os == "linux":
                        wheel = self.step(
                            name, "repair", lambda: repair_wheel(wheel, root / "repaired", env=env, log=log)
                        )
                        repaired = True
                normalize_wheel(wheel, self.source.epoch)
                if opts.test_command and not Selector.parse(opts.test_skip).matches(name):
                    self.step(
                        name,
                        "test",
                        lambda: test_wheel(
                            wheel,
                            interpreter,
                            cache=self.cache,
                            project=self.source.tree,
                            test_requires=self.config.test_requirements(opts),
                            test_command=opts.test_command,
                            before_test=opts.before_test,
                            test_sources=opts.test_sources,
                            test_extras=opts.test_extras,
                            env=env,
                            log=log,
                            workdir=root / "tmp",
                        ),
                    )
                    tested = True
                final = self.output / wheel.name
                os.replace(wheel, final)
            except Exception as exc:  # one identifier failing must not stop the others
                stopped = self.interrupted.is_set() or _killed_by_sigint(exc)
                log.write(f"\n{'INTERRUPTED' if stopped else 'FAILED'}: {_message(exc)}\n")
                log.flush()
                return IdentifierResult(
                    name,
                    "interrupted" if stopped else "failed",
                    log=logpath,
                    seconds=time.monotonic() - start,
                    error="interrupted" if stopped else _message(exc),
                    interpreter=str(interpreter.path),
                    env_reused=reused,
                    errors=() if stopped else tuple(first_errors(logpath)),
                )
        if self.journal is not None:
            self.journal.add(name, final, interpreter.describe(), repaired=repaired, tested=tested)
        self.emit(BuildEvent(name, "done", "done", final.name))
        shutil.rmtree(root, ignore_errors=True)
        return IdentifierResult(
            name,
            "ok",
            wheel=final,
            log=logpath,
            seconds=time.monotonic() - start,
            interpreter=str(interpreter.path),
            env_reused=reused,
            tag=wheel_tag(final),
            repaired=repaired,
            tested=tested,
        )

    def expect_platform_wheels(self, sdist: Path) -> None:
        """Whether the configuration or the sdist already says the wheels must be platform wheels."""
        if self.config.sources.get("platforms", "default") != "default":
            self.platform_reason = (
                "the project is configured for platform wheels (platforms in [tool.shipwheel])"
            )
        sources = compiled_sources(sdist)
        if sources:
            more = f" and {len(sources) - 1} more" if len(sources) > 1 else ""
            self.platform_reason = f"the sdist has compiled sources ({sources[0]}{more})"

    def run_all(self, todo: list[tuple[Identifier, Interpreter]], sdist: Path) -> list[IdentifierResult]:
        """Build ``todo`` in parallel; Ctrl-C stops it, keeping what finished, and marks the rest interrupted."""
        if not todo:
            return []
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures: list[Future[IdentifierResult]] = [
                pool.submit(self.one, ident, interp, sdist) for ident, interp in todo
            ]
            try:
                return [f.result() for f in futures]
            except KeyboardInterrupt:
                self.interrupted.set()
                pool.shutdown(wait=True, cancel_futures=True)
        return [
            f.result()
            if f.done() and not f.cancelled()
            else IdentifierResult(str(ident), "interrupted", error="not started: interrupted")
            for f, (ident, _) in zip(futures, todo, strict=True)
        ]


def _delocate_archs(ident: Identifier) -> str:
    """cibuildwheel's ``{delocate_archs}`` of a macOS identifier (``arm64``, ``x86_64,arm64`` for universal2)."""
    arch = ident.platform.split("_", 1)[-1]
    return "x86_64,arm64" if arch == "universal2" else arch


def _passed(names: tuple[str, ...]) -> dict[str, str]:
    """cibuildwheel's ``environment-pass``. Every step already sees the calling environment, except the variables
    the build environments drop (``PYTHONPATH``, ``VIRTUAL_ENV``: they would leak the caller's packages into
    isolated builds); naming one here passes it on, as the user asked."""
    return {name: os.environ[name] for name in names if name in os.environ}


def _killed_by_sigint(exc: BaseException) -> bool:
    # Ctrl-C in a terminal reaches the compilers too: one may die of it before the main thread hears of it.
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, subprocess.CalledProcessError) and seen.returncode in (-2, 130):
            return True
        if isinstance(seen, ShipwheelError) and re.search(r"exit code (-2|130)\b", str(seen)):
            return True  # the subprocess helper keeps the exit code in its message only
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "exception", None)
    return False


def _message(exc: BaseException) -> str:
    if isinstance(exc, ShipwheelError):
        return exc.one_line()
    return f"{exc.__class__.__name__}: {exc}"


def build(
    project: Path | str = ".",
    *,
    ref: str | None = None,
    only: str | None = None,
    allow_dirty: bool = False,
    overrides: Mapping[str, Any] | None = None,
    on_event: Callable[[BuildEvent], None] | None = None,
    config_dir: Path | str | None = None,
) -> BuildResult:
    """Build the sdist and the wheels of the project at ``project`` (a folder or an sdist file).

    :param ref: the git ref to build (default ``HEAD`` of the folder's repository).
    :param only: selectors that narrow the project's matrix; every identifier they select must be buildable here.
    :param overrides: command-line configuration values (``jobs``, ``output-dir``, ``cache-dir`` …).
    :param on_event: called with every :class:`BuildEvent`, from worker threads.
    :param config_dir: a folder whose pyproject.toml's ``[tool.shipwheel]`` configures the build (for an sdist
        made elsewhere); the ``[project]`` table still comes from the sources.
    :raises ShipwheelError: when nothing can be built (bad project, config, selector, missing interpreter, sdist
        or before-all failure). Failures of single identifiers are returned in the result, not raised; so is
        Ctrl-C while the wheels build (``result.interrupted``: the finished wheels are kept for the next run).
    """
    emit = on_event or _noop
    with tempfile.TemporaryDirectory(prefix="shipwheel-src-") as tmp:
        emit(BuildEvent("source", "export", "start"))
        # Uncommitted changes are checked once the configuration says where the build's own outputs go.
        source = prepare_source(Path(project), ref=ref, allow_dirty=True, dest=Path(tmp) / "src")
        config = load_config(
            source.tree,
            config_dir=Path(config_dir) if config_dir else None,
            overrides=overrides,
            require_pyproject=True,
            paths_relative_to=source.project_dir,
        )
        if source.commit is not None and ref is None and not allow_dirty:
            options = config.build
            refuse_dirty(source.project_dir, [options.output_dir, options.log_dir, options.cache_dir])
        emit(BuildEvent("source", "export", "done", source.description))
        identifiers = _select(config, only)
        interpreters = discover(config.build.interpreters)
        buildable, unbuildable = match_identifiers(identifiers, interpreters)
        missing = [u for u in unbuildable if u.kind == "interpreter"]
        if (
            only and missing
        ):  # asked for by name, on this platform, and no interpreter: say so before any work
            raise EnvironmentNotReadyError(
                f"{missing[0].identifier} can't be built here: {missing[0].reason}"
            )
        if not buildable:
            reasons = "; ".join(f"{u.identifier}: {u.reason}" for u in unbuildable[:2])
            raise EnvironmentNotReadyError(
                f"none of the {len(identifiers)} identifiers can be built on this machine ({reasons})",
                hint="install a matching CPython (pyenv install 3.12) or build on a CI runner",
            )
        if config.build.jobs < 0:
            raise ConfigError(
                f"jobs must be 0 (one per core) or more, got {config.build.jobs}",
                hint="set -j/--jobs to a positive number",
            )
        for ident in identifiers:  # a frontend or config settings shipwheel can't honour: before any work
            opts = config.for_identifier(str(ident))
            try:
                config_settings(opts.config_settings, parse_frontend(opts.build_frontend))
            except ConfigError as exc:
                key = "config-settings" if exc.message.startswith("config-settings") else "build-frontend"
                where = config.sources.get(key, "default")
                raise ConfigError(f"{exc.message} (from {where}, for {ident})", hint=exc.hint) from None
        jobs = config.build.jobs or os.cpu_count() or 1
        state = _Build(config, source, jobs=jobs, on_event=emit)
        with _project_lock(state.work.with_suffix(".lock")):
            sdist = state.sdist()
            sdist_zip = None
            if config.build.sdist_zip:
                sdist_zip = sdist_to_zip(
                    sdist, state.output / (sdist.name[: -len(".tar.gz")] + ".zip"), source.epoch
                )
            results, pure = build_wheels(state, buildable, sdist)
        if not pure:
            results += [
                IdentifierResult(str(u.identifier), "unbuildable", error=u.reason) for u in unbuildable
            ]
        return BuildResult(
            source=source.description,
            commit=source.commit,
            epoch=source.epoch,
            output_dir=state.output,
            log_dir=state.logs,
            sdist=state.output / sdist.name,
            sdist_zip=sdist_zip,
            results=tuple(results),
            pure=pure,
            interrupted=state.interrupted.is_set(),
        )
