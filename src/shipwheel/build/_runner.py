"""``shipwheel build``: an sdist once, then every selected identifier in parallel from that sdist."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from .._fs import open_new_or_append
from ..config import Config, expand_environment, load_config
from ..distfiles import DistFile
from ..errors import BuildError, ConfigError, EnvironmentNotReadyError, SelectorError, ShipwheelError
from ..interpreters import Interpreter, current, discover, match_identifiers
from ..matrix import Identifier, Selector, expected_identifiers
from ._env import EnvCache
from ._repro import normalize_sdist, normalize_wheel, sdist_to_zip
from ._source import Source, extract_sdist, prepare_source
from ._steps import (
    build_distribution,
    expand,
    is_platform_wheel,
    repair_wheel,
    run_shell,
    test_wheel,
)

__all__ = ["BuildEvent", "BuildResult", "IdentifierResult", "build"]

Status = Literal["queued", "start", "done", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class BuildEvent:
    """Progress of a build: ``target`` is ``source``, ``sdist``, ``before-all`` or an identifier."""

    target: str
    step: str
    status: Status
    message: str = ""


@dataclass(frozen=True, slots=True)
class IdentifierResult:
    """The outcome of one identifier."""

    identifier: str
    status: Literal["ok", "failed", "unbuildable"]
    wheel: Path | None = None
    log: Path | None = None
    seconds: float = 0.0
    error: str = ""
    interpreter: str | None = None
    env_reused: bool = False


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build produced: the sdist(s), one result per identifier, where the wheels and logs are."""

    source: str
    commit: str | None
    epoch: int
    output_dir: Path
    log_dir: Path
    sdist: Path | None
    sdist_zip: Path | None
    results: tuple[IdentifierResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether every identifier that was attempted succeeded."""
        return all(r.status != "failed" for r in self.results)

    @property
    def failed(self) -> list[IdentifierResult]:
        return [r for r in self.results if r.status == "failed"]


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
    expected = expected_identifiers(config)
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


def _native_env(prefix: Path) -> dict[str, str]:
    def prepend(name: str, value: Path) -> str:
        old = os.environ.get(name)
        return f"{value}{os.pathsep}{old}" if old else str(value)

    return {
        "CPATH": prepend("CPATH", prefix / "include"),
        "LIBRARY_PATH": prepend("LIBRARY_PATH", prefix / "lib"),
        "LD_LIBRARY_PATH": prepend("LD_LIBRARY_PATH", prefix / "lib"),
        "PKG_CONFIG_PATH": prepend("PKG_CONFIG_PATH", prefix / "lib" / "pkgconfig"),
        "CMAKE_PREFIX_PATH": prepend("CMAKE_PREFIX_PATH", prefix),
    }


def _ccache_env(cache_dir: Path, work: Path) -> dict[str, str]:
    """Route cc/gcc/g++/clang through ccache (its masquerade mode) when ccache is installed."""
    ccache = shutil.which("ccache")
    if ccache is None:
        return {}
    shims = cache_dir / "ccache-bin"
    shims.mkdir(parents=True, exist_ok=True)
    for name in ("cc", "gcc", "c++", "g++", "clang", "clang++"):
        link = shims / name
        if not link.is_symlink():
            with contextlib.suppress(FileExistsError):
                link.symlink_to(ccache)
    return {
        "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}",
        "CCACHE_DIR": os.environ.get("CCACHE_DIR", str(cache_dir / "ccache")),
        "CCACHE_BASEDIR": str(work),
        "CCACHE_NOHASHDIR": "1",
        "CCACHE_COMPILERCHECK": "content",
    }


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
            **_native_env(self.prefix),
            **_ccache_env(cache_dir, self.work),
            "SOURCE_DATE_EPOCH": str(source.epoch),
            "CFLAGS": (os.environ.get("CFLAGS", "") + f" -ffile-prefix-map={self.work}=/shipwheel").strip(),
            "CXXFLAGS": (
                os.environ.get("CXXFLAGS", "") + f" -ffile-prefix-map={self.work}=/shipwheel"
            ).strip(),
        }
        self.placeholders = placeholders
        # environment as cibuildwheel evaluates it: in order, $VAR from the values before and the build's own
        self.env.update(self._environment(self.options.environment, self.env))

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
        start = time.monotonic()
        name = str(ident)
        logpath = self.logs / f"{name}.log"
        root = self.work / name
        shutil.rmtree(root, ignore_errors=True)
        (root / "tmp").mkdir(parents=True)
        reused = False
        # cibuildwheel's per-platform tables and overrides: this identifier's own options and environment
        opts = self.config.for_identifier(name)
        env = self.env
        if opts.environment != self.options.environment:
            env = {**self.env, **self._environment(opts.environment, self.env)}
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
                    ),
                )
                if self.options.repair and is_platform_wheel(wheel) and ident.os == "linux":
                    wheel = self.step(
                        name, "repair", lambda: repair_wheel(wheel, root / "repaired", env=env, log=log)
                    )
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
                            env=env,
                            log=log,
                            workdir=root / "tmp",
                        ),
                    )
                final = self.output / wheel.name
                os.replace(wheel, final)
            except Exception as exc:  # one identifier failing must not stop the others
                log.write(f"\nFAILED: {_message(exc)}\n")
                return IdentifierResult(
                    name,
                    "failed",
                    log=logpath,
                    seconds=time.monotonic() - start,
                    error=_message(exc),
                    interpreter=str(interpreter.path),
                    env_reused=reused,
                )
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
        )


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
) -> BuildResult:
    """Build the sdist and the wheels of the project at ``project`` (a folder or an sdist file).

    :param ref: the git ref to build (default ``HEAD`` of the folder's repository).
    :param only: selectors that narrow the project's matrix; every identifier they select must be buildable here.
    :param overrides: command-line configuration values (``jobs``, ``output-dir``, ``cache-dir`` …).
    :param on_event: called with every :class:`BuildEvent`, from worker threads.
    :raises ShipwheelError: when nothing can be built (bad project, config, selector, missing interpreter, sdist
        or before-all failure). Failures of single identifiers are returned in the result, not raised.
    """
    emit = on_event or _noop
    with tempfile.TemporaryDirectory(prefix="shipwheel-src-") as tmp:
        emit(BuildEvent("source", "export", "start"))
        source = prepare_source(Path(project), ref=ref, allow_dirty=allow_dirty, dest=Path(tmp) / "src")
        emit(BuildEvent("source", "export", "done", source.description))
        config = load_config(
            source.tree, overrides=overrides, require_pyproject=True, paths_relative_to=source.project_dir
        )
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
        jobs = config.build.jobs or os.cpu_count() or 1
        state = _Build(config, source, jobs=jobs, on_event=emit)
        with _project_lock(state.work.with_suffix(".lock")):
            sdist = state.sdist()
            sdist_zip = None
            if config.build.sdist_zip:
                sdist_zip = sdist_to_zip(
                    sdist, state.output / (sdist.name[: -len(".tar.gz")] + ".zip"), source.epoch
                )
            for ident in buildable:
                emit(BuildEvent(str(ident), "wait", "queued"))
            state.before_all()
            # Extract the (normalized) sdist once per identifier: backends write into their source tree.
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [
                    pool.submit(state.one, ident, interp, sdist) for ident, interp in buildable.items()
                ]
                results = [f.result() for f in futures]
        results += [IdentifierResult(str(u.identifier), "unbuildable", error=u.reason) for u in unbuildable]
        return BuildResult(
            source=source.description,
            commit=source.commit,
            epoch=source.epoch,
            output_dir=state.output,
            log_dir=state.logs,
            sdist=state.output / sdist.name,
            sdist_zip=sdist_zip,
            results=tuple(results),
        )
