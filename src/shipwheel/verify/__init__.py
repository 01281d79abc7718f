"""Release-grade checks of wheels and sdists before they are published.

:func:`verify_paths` reads every file once, checks files in parallel, and returns a :class:`Report`: the problems
(each with a stable code, the file, a message and the fix), per-file results (size, sha256, tags, identifiers,
the manylinux/musllinux tag the compiled code satisfies) and the completeness of the build matrix.
"""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path

from packaging.utils import canonicalize_name

from ..config import Config
from ..distfiles import DigestMemo, FileStamp, active_digests, collect_release_files, file_stamp
from ..errors import ConfigError, SelectorError, UsageError
from ..matrix import Identifier
from ._archive import Limits
from ._cache import VerifyCache, fingerprint
from ._completeness import (
    check_completeness,
    files_requires_python,
    inferred_identifiers,
    pure_completeness,
    release_checks,
)
from ._completeness import (
    check_completeness as check_completeness_of,
)
from ._file import check_file
from ._grid import REPORT_SCHEMA, matrix_grid, report_json
from ._model import (
    CODES,
    RELEASE_FIELDS,
    Completeness,
    FileResult,
    GridCell,
    Problem,
    ProblemGroup,
    Report,
    Severity,
    make_problem,
    sort_problems,
)
from ._sdist_rules import SdistOmissions, sdist_omissions

__all__ = [
    "CODES",
    "RELEASE_FIELDS",
    "REPORT_SCHEMA",
    "Completeness",
    "FileResult",
    "GridCell",
    "Limits",
    "Problem",
    "ProblemGroup",
    "Report",
    "SdistOmissions",
    "Severity",
    "VerifyCache",
    "matrix_grid",
    "report_json",
    "sdist_omissions",
    "verify_paths",
]


def _limits(config: Config | None) -> Limits:
    if config is None:
        return Limits()
    v = config.verify
    return Limits(v.max_file_size, v.max_uncompressed_size, v.max_compression_ratio)


def _executor(jobs: int, count: int) -> Executor:
    if jobs <= 1 or count <= 1:
        return ThreadPoolExecutor(1)
    # Processes, not threads: zlib and hashlib release the GIL but the Python around them (zip members, RECORD,
    # metadata) does not; on the numpy release threads measured about 10% slower on 2 cores (RESULTS.md).
    # fork needs no `if __name__ == "__main__"` guard in the caller's script, but is unsafe once the process has
    # other threads: then forkserver, whose callers (the console script, python -m shipwheel) are guarded. The
    # CLI's progress bar draws without a thread so that it gets fork.
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        method = "fork"
        # Imported once here, shared by every forked worker instead of imported by each.
        import elftools.elf.elffile  # noqa: F401
        import readme_renderer.markdown
        import readme_renderer.rst  # noqa: F401
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    return ProcessPoolExecutor(min(jobs, count), mp_context=multiprocessing.get_context(method))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone meanwhile: check_file reports it
        return 0


def _ignored_codes(config: Config | None) -> tuple[str, ...]:
    """``verify.ignore``, each code checked against the known ones."""
    ignored = tuple(config.verify.ignore) if config is not None else ()
    for code in ignored:
        if code not in CODES:
            close = difflib.get_close_matches(code, list(CODES), n=1)
            raise ConfigError(
                f"unknown problem code {code!r} in verify.ignore",
                hint=f"did you mean {close[0]!r}?" if close else "use the codes shipwheel verify prints",
            )
    return ignored


def _known_digest(memo: DigestMemo, path: Path) -> tuple[str | None, FileStamp | None]:
    """The sha256 ``memo`` holds for ``path`` (``None`` when it has none) and the file's stamp before it is read."""
    try:
        return memo.get(path), file_stamp(path)
    except OSError:  # gone meanwhile: check_file reports it
        return None, None


def _check_files(
    files: Sequence[Path],
    limits: Limits,
    jobs: int,
    cache: VerifyCache | None,
    ignored: tuple[str, ...],
    progress: Callable[[str], None] | None,
) -> list[FileResult]:
    """The result of each file (largest first, in ``jobs`` processes), reused from ``cache`` where it recorded
    these bytes, and the passing ones recorded there; in the order they finished."""
    results: list[FileResult] = []
    order = sorted(files, key=_size, reverse=True)
    fp = fingerprint(limits, ignored) if cache is not None else ""

    def done(result: FileResult) -> None:
        results.append(result)
        if progress is not None:
            n = len(result.problems)
            said = "ok" if not n else f"{n} problem" + ("s" if n > 1 else "")
            progress(f"{result.filename}: {said}{' (verified earlier)' if result.verified_earlier else ''}")

    todo = order
    if cache is not None:
        # Files recorded earlier are only hashed, in threads: no worker process is started when all were.
        earlier = cache.reuse(fp, order, jobs)
        todo = [p for p in order if p not in earlier]
        for p in order:
            if p in earlier:
                done(earlier[p])
    if todo:
        # In a release run a file hashed by an earlier step is not hashed again, and one hashed here is not later.
        memo = active_digests()
        known = {p: _known_digest(memo, p) for p in todo} if memo is not None else {}
        with _executor(jobs, len(todo)) as pool:
            futures = {
                pool.submit(check_file, str(p), limits, known.get(p, (None, None))[0]): p for p in todo
            }
            for future in as_completed(futures):
                result = future.result()
                sha, stamp = known.get(futures[future], (None, None))
                if memo is not None and sha is None and stamp is not None and result.sha256:
                    memo.put(futures[future], result.sha256, stamp)
                done(result)
    if cache is not None:
        cache.record(fp, results, ignored)
    return results


def verify_paths(
    paths: Sequence[Path],
    *,
    config: Config | None = None,
    project: str | None = None,
    version: str | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
    check_completeness: bool = True,
    cache: VerifyCache | None = None,
    expected: Sequence[str] | None = None,
) -> Report:
    """Check the release files at ``paths`` (files or folders) and return the report; never raises for bad
    content, only for paths that do not exist (:class:`~shipwheel.errors.UsageError`).

    :param config: limits, ignored codes and the build matrix (used when its project is the files' project).
    :param project: the project the files must belong to (default: the one they name, which must be unique).
    :param version: the version they must carry (default: the one they name, which must be unique).
    :param jobs: parallel processes (default: ``config``'s ``jobs`` or the number of cores).
    :param progress: called with a short line as each file is done.
    :param check_completeness: compare the wheels with the expected build identifiers.
    :param cache: reuse the results it recorded for the same bytes and settings, and record the files that pass
        (:class:`VerifyCache`; ``VerifyCache()`` is the one in the state folder). Release-level checks always run.
    :param expected: the build identifiers the wheels must cover (``["cp312-manylinux_x86_64", ...]``, a
        recorded ``--select``), in place of the configuration's matrix or the one inferred from the files: a
        missing one is a ``matrix-missing`` error, the report's completeness source is ``"selection"``.
    :raises UsageError: an ``expected`` identifier does not parse.
    """
    started = time.perf_counter()
    ignored = _ignored_codes(config)
    files = collect_release_files(paths, lenient=True)
    limits = _limits(config)
    if jobs is None or jobs <= 0:
        jobs = (config.build.jobs if config is not None else 0) or os.cpu_count() or 1
    results = _check_files(files, limits, jobs, cache, ignored, progress)
    position = {str(p): i for i, p in enumerate(files)}
    results.sort(key=lambda r: position[r.path])
    problems: list[Problem] = [p for r in results for p in r.problems]
    found_project, found_version, release_problems = release_checks(results, project, version)
    problems += release_problems
    if not results:
        problems.append(
            make_problem("release-no-files", "", f"no wheel or sdist in {', '.join(map(str, paths))}")
        )
    if expected is not None and check_completeness:
        wheels = [r for r in results if r.kind == "wheel"]
        completeness, matrix_problems = check_completeness_of(wheels, _parse_expected(expected), "selection")
    else:
        completeness, matrix_problems = _completeness(
            results, config, found_project, found_version, check_completeness
        )
    problems += matrix_problems
    if ignored:
        problems = [p for p in problems if p.code not in ignored]
        for r in results:
            r.problems = [p for p in r.problems if p.code not in ignored]
    return Report(
        project=found_project,
        version=found_version,
        files=results,
        problems=sort_problems(problems),
        completeness=completeness,
        ignored=ignored,
        elapsed=time.perf_counter() - started,
    )


def _parse_expected(expected: Sequence[str]) -> list[Identifier]:
    try:
        return [Identifier.parse(i) for i in expected]
    except SelectorError as exc:
        raise UsageError(str(exc), hint="expected identifiers look like cp312-manylinux_x86_64") from exc


def _completeness(
    results: list[FileResult], config: Config | None, project: str | None, version: str | None, enabled: bool
) -> tuple[Completeness, list[Problem]]:
    if not enabled:
        return check_completeness(results, None, "", "completeness check disabled")
    if project is None or version is None:
        return check_completeness([], None, "", "the files are not of one project and version")
    wheels = [r for r in results if r.kind == "wheel" and r.project == project and r.version == version]
    mine = config if config is not None and canonicalize_name(config.project.name or "") == project else None
    if not any(r.identifiers for r in wheels):
        return pure_completeness(results, wheels, mine)
    # the project's workflows (or its table) build a pure wheel beside the platform ones: it is part of the set
    ships_pure = bool(mine is not None and mine.ci.pure_wheel_environment)
    # a [tool.shipwheel] table (or SHIPWHEEL_* variables) with build settings: the project uses shipwheel's
    # matrix; without one, the packaged default platforms say nothing about this project
    if mine is not None and mine.configures_build:
        requires = mine.project.requires_python or files_requires_python(results)
        return check_completeness(wheels, mine.identifiers(requires), "config", pure=ships_pure)
    return check_completeness(wheels, inferred_identifiers(results), "files", pure=ships_pure or None)


def render_html(report: Report, *, strict: bool = False) -> str:
    """The self-contained HTML page of ``report`` (``shipwheel verify --html``), its verdict with or without
    ``strict``; the template is loaded only here, so that importing :mod:`shipwheel.verify` stays cheap."""
    from ._report import render_html as render

    return render(report, strict=strict)


def format_size(n: int) -> str:
    """``n`` bytes for people (``8.1 KiB``), as the HTML pages show sizes."""
    from ._report import format_size as fmt

    return fmt(n)


__all__ += ["format_size", "render_html"]
