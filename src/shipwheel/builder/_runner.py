"""``shipwheel build``: an sdist once, then every selected identifier at once from that sdist."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from .._fs import open_new_or_append
from ..config import Config
from ..distfiles import DistFile
from ..errors import BuildError, CommandError, ConfigError, EnvironmentNotReadyError, SelectorError
from ..interpreters import Interpreter, Unbuildable, current, discover, match_identifiers
from ..matrix import Identifier, Selector
from ._context import BuildContext, make_context, work_folder
from ._frontend import config_settings, parse_frontend
from ._logscan import first_errors
from ._repro import normalize_sdist, sdist_to_zip
from ._results import BuildEvent, BuildResult, IdentifierResult
from ._resume import BuildRecord, journal_path, read_record
from ._schedule import build_wheels
from ._source import Source, prepare_source, refuse_dirty
from ._steps import build_distribution

__all__ = ["build", "build_record", "checkout", "work_folder"]


def _noop(_event: BuildEvent) -> None:
    return None


@contextlib.contextmanager
def checkout(
    project: Path | str = ".", *, ref: str | None = None, allow_dirty: bool = False
) -> Iterator[Source]:
    """A private copy of the project's sources for a build, removed afterwards: an sdist extracted, a clean
    checkout of ``ref`` (default ``HEAD``) of a git folder, or a plain folder copied. Uncommitted changes of a
    git folder are refused by :func:`build` (once it knows where its own outputs go) unless ``allow_dirty``."""
    with tempfile.TemporaryDirectory(prefix="shipwheel-src-") as tmp:
        source = prepare_source(Path(project), ref=ref, allow_dirty=True, dest=Path(tmp) / "src")
        yield replace(source, check_dirty=source.commit is not None and ref is None and not allow_dirty)


def build_record(config: Config, project: Path | str) -> BuildRecord | None:
    """What the last build of ``project`` with ``config`` recorded: its selection and each finished file with
    its sha256 (``record.missing(config.build.output_dir)`` is empty when that build is complete)."""
    return read_record(journal_path(work_folder(config, Path(project).expanduser().resolve())))


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


def _buildable(
    config: Config, identifiers: list[Identifier], only: str | None
) -> tuple[dict[Identifier, Interpreter], list[Unbuildable]]:
    """The identifiers this machine has an interpreter for; a selection it cannot build is an error."""
    buildable, unbuildable = match_identifiers(identifiers, discover(config.build.interpreters))
    missing = [u for u in unbuildable if u.kind == "interpreter"]
    if only and missing:  # asked for by name, on this platform, and no interpreter: say so before any work
        raise EnvironmentNotReadyError(f"{missing[0].identifier} can't be built here: {missing[0].reason}")
    if not buildable:
        reasons = "; ".join(f"{u.identifier}: {u.reason}" for u in unbuildable[:2])
        raise EnvironmentNotReadyError(
            f"none of the {len(identifiers)} identifiers can be built on this machine ({reasons})",
            hint="install a matching CPython (pyenv install 3.12) or build on a CI runner",
        )
    return buildable, unbuildable


def _check_settings(config: Config, identifiers: list[Identifier]) -> None:
    """A frontend or config settings shipwheel can't honour is an error before any work."""
    if config.build.jobs < 0:
        raise ConfigError(
            f"jobs must be 0 (one per core) or more, got {config.build.jobs}",
            hint="set -j/--jobs to a positive number",
        )
    for ident in identifiers:
        opts = config.for_identifier(str(ident))
        try:
            config_settings(opts.config_settings, parse_frontend(opts.build_frontend))
        except ConfigError as exc:
            key = "config-settings" if exc.message.startswith("config-settings") else "build-frontend"
            where = config.sources.get(key, "default")
            raise ConfigError(f"{exc.message} (from {where}, for {ident})", hint=exc.hint) from None


def _sdist(ctx: BuildContext) -> Path:
    """The release sdist in the wheelhouse: the input one copied, or one built (and normalized) from the tree."""
    output, source = ctx.output, ctx.source
    output.mkdir(parents=True, exist_ok=True)
    if source.sdist is not None:
        target = output / source.sdist.name
        if target.resolve() != source.sdist:
            with source.sdist.open("rb") as src, open_new_or_append(target, append=False) as dst:
                shutil.copyfileobj(src, dst)
            shutil.copystat(source.sdist, target)
        return target
    with ctx.log("sdist") as log:
        outdir = ctx.work / "sdist"
        shutil.rmtree(outdir, ignore_errors=True)

        def make() -> Path:
            built, _ = build_distribution(
                source.tree, current(), "sdist", cache=ctx.cache, outdir=outdir, env=ctx.env, log=log
            )
            normalize_sdist(built, source.epoch)
            dist = DistFile.parse(built.name)
            if dist is None or dist.pep625_name != built.name:
                raise BuildError(
                    f"the backend named the sdist {built.name!r}, not as PEP 625 requires",
                    hint="upgrade the build backend (setuptools >= 69.3 names sdists correctly)",
                )
            final = output / built.name
            os.replace(built, final)
            return final

        try:
            return ctx.step("sdist", "sdist", make)
        except CommandError as exc:
            raise _with_first_error(exc, ctx.logs / "sdist.log") from None


def _with_first_error(exc: CommandError, log: Path) -> CommandError:
    """The error with the log's first error line in its message (meson configures the project for its sdist)."""
    lines = first_errors(log, limit=1)
    if not lines:
        return exc
    head, sep, tail = exc.message.partition("; see ")
    return CommandError(f"{head}: {lines[0]}{sep}{tail}", hint=exc.hint, output=exc.output, log=exc.log)


def _build(
    source: Source, config: Config, only: str | None, emit: Callable[[BuildEvent], None]
) -> BuildResult:
    if source.check_dirty:
        options = config.build
        refuse_dirty(source.project_dir, [options.output_dir, options.log_dir, options.cache_dir])
    emit(BuildEvent("source", "export", "done", source.description))
    identifiers = _select(config, only)
    buildable, unbuildable = _buildable(config, identifiers, only)
    _check_settings(config, identifiers)
    ctx = make_context(config, source, emit=emit)
    with _project_lock(ctx.work.with_suffix(".lock")):
        sdist = _sdist(ctx)
        zipped = None
        if config.build.sdist_zip:
            zipped = sdist_to_zip(sdist, ctx.output / (sdist.name[: -len(".tar.gz")] + ".zip"), source.epoch)
        results, pure = build_wheels(ctx, buildable, sdist)
    if not pure:
        results += [IdentifierResult(str(u.identifier), "unbuildable", error=u.reason) for u in unbuildable]
    return BuildResult(
        source=source.description,
        commit=source.commit,
        epoch=source.epoch,
        output_dir=ctx.output,
        log_dir=ctx.logs,
        sdist=sdist,
        sdist_zip=zipped,
        results=tuple(results),
        pure=pure,
        interrupted=ctx.interrupted.is_set(),
        selection=tuple(str(i) for i in buildable),
        sdist_sha256=_sha256(sdist),
        compiler_cache=ctx.compiler_cache.describe() if ctx.compiler_cache else "",
        cores=ctx.cores,
    )


def _sha256(path: Path) -> str:
    from ..distfiles import file_digests

    return file_digests(path)["sha256"]


def build(
    source: Source | Path | str,
    config: Config,
    *,
    only: str | None = None,
    on_event: Callable[[BuildEvent], None] | None = None,
) -> BuildResult:
    """Build the sdist and the wheels of ``source`` with ``config``'s build options.

    :param source: a :func:`checkout` of the project, or the project itself (a folder, a git folder's ``HEAD``
        with uncommitted changes refused, or an sdist file), checked out for this build.
    :param config: the project's configuration (:func:`shipwheel.config.load_config`); the build reads only its
        ``build`` options (per identifier through :meth:`Config.for_identifier`) and ``project`` table: where
        the wheels (``output-dir``), logs (``log-dir``) and caches (``cache-dir``) go is there too.
    :param only: selectors that narrow the project's matrix; every identifier they select must be buildable here.
    :param on_event: called with every :class:`BuildEvent`, from worker threads.
    :raises ShipwheelError: when nothing can be built (bad project, config, selector, missing interpreter, sdist
        or before-all failure). Failures of single identifiers are returned in the result, not raised; so is
        Ctrl-C while the wheels build (``result.interrupted``: the finished wheels are kept for the next run).
    """
    emit = on_event or _noop
    if isinstance(source, Source):
        return _build(source, config, only, emit)
    emit(BuildEvent("source", "export", "start"))
    with checkout(source) as checked_out:
        return _build(checked_out, config, only, emit)
