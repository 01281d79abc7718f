"""``shipwheel verify``: release-grade checks of every wheel and sdist, the matrix grid, JSON and HTML reports."""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text

from ..errors import UsageError
from . import _github, _provenance
from ._common import (
    add_config_options,
    add_release_paths,
    bytes_arg,
    config_from_args,
    err_console,
    jobs_or_cores_arg,
    out_console,
    print_json,
)

if TYPE_CHECKING:  # the checks (and jinja2) are imported when the command runs, not at every start-up
    from ..verify import ProblemGroup, Report

#: The files a problem group names one per line in the terminal; past this, the rest are counted.
_FILES_LISTED = 12

_CELL = {
    "ok": ("✓", "bold green"),
    "warning": ("!", "bold yellow"),
    "problem": ("✗", "bold red"),
    "missing": ("—", "bold red"),
    "extra": ("extra", "cyan"),
    "none": ("·", "dim"),
}
_FAMILY = {"manylinux": "many", "musllinux": "musl", "macosx": "macOS", "win": "win", "win32": "win"}


def _header(platform: str) -> str:
    family, _, arch = platform.partition("_")
    return f"{_FAMILY.get(family, family)}\n{arch or 'x86'}"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "verify",
        parents=[common],
        help="check wheels and sdists before publishing: names, archives, RECORD, metadata, platform, matrix",
        description="Check every wheel and sdist of a release: filenames, archive safety, RECORD hashes, WHEEL "
        "and METADATA, the README as PyPI renders it, manylinux/musllinux tags against the compiled code, "
        "abi3 symbols, the sdist, and that no wheel of the build matrix is missing. Exit 1 on any error "
        "(and on warnings with --strict).",
    )
    add_release_paths(p)
    p.add_argument(
        "--project", metavar="NAME", help="the project every file must belong to (default: the files')"
    )
    p.add_argument("--version", dest="release_version", metavar="V", help="the version every file must carry")
    p.add_argument("--strict", action="store_true", default=None, help="fail on warnings too")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument(
        "--html", metavar="FILE", type=Path, help="also write a self-contained HTML report to FILE"
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=jobs_or_cores_arg,
        default=None,
        help="files checked in parallel (default: the cores)",
    )
    p.add_argument(
        "--no-completeness", action="store_true", help="do not compare the wheels with the build matrix"
    )
    p.add_argument("--ignore", metavar="CODES", help="problem codes to ignore, space- or comma-separated")
    p.add_argument(
        "--max-file-size", type=bytes_arg, metavar="BYTES", help="PyPI's file size limit for this project"
    )
    p.add_argument("--list-codes", action="store_true", help="list every problem code, its severity and fix")
    _provenance.add_options(p)
    add_config_options(p)
    p.set_defaults(handler=run)
    p.epilog = (
        "-q prints only the error groups and the verdict line; -v prints a line per file as it is checked and "
        "lists every file of each problem group."
    )


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .._fs import write_file
    from ..distfiles import collect_release_files
    from ..verify import CODES, render_html, report_json

    if args.list_codes:
        if args.json:
            print_json([{"code": c, "severity": s.value, "fix": f} for c, (s, f) in CODES.items()])
        else:
            for code, (severity, fix) in CODES.items():
                out_console.print(Text(f"{code:28} {severity.value:8} {fix}"))
        return 0
    overrides: dict[str, Any] = {"verify.max-file-size": args.max_file_size, "verify.strict": args.strict}
    if args.ignore:
        overrides["verify.ignore"] = args.ignore.replace(",", " ")
    config = config_from_args(args, overrides)
    paths: list[Path] = list(args.paths)
    if not paths:
        if not config.build.output_dir.is_dir():
            raise UsageError(
                f"no PATH given and no {config.build.output_dir} folder",
                hint="pass the wheel/sdist files or the folder that holds them",
            )
        paths = [config.build.output_dir]
    if args.html is not None:
        _check_html_target(args.html)  # before the work: a report that cannot be written fails at once
    verbose = getattr(args, "verbose", False) and not getattr(args, "quiet", False)
    if args.json:
        report = _verify(args, config, paths, None)
    elif verbose:  # -v: a line per file as it is checked, instead of the bar

        def each(line: str) -> None:
            err_console.print(Text(f"checked {_shown(line)}"), soft_wrap=not err_console.is_terminal)

        report = _verify(args, config, paths, each)
    else:
        # No refresh thread (auto_refresh=False): the worker pool can then fork, which is faster to start.
        bar = Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=err_console,
            auto_refresh=False,
            transient=True,
        )
        task = bar.add_task("", total=len(collect_release_files(paths, lenient=True)))

        def progress(line: str) -> None:
            bar.update(task, advance=1, description=escape(_shown(line)))
            bar.refresh()

        with bar:
            report = _verify(args, config, paths, progress)
    strict = config.verify.strict
    if args.html is not None:
        try:
            write_file(args.html, render_html(report, strict=strict))  # a link there is replaced
        except OSError as exc:
            raise _html_error(args.html, exc) from exc
    if not args.json:
        if getattr(args, "quiet", False):
            render_quiet(report, strict=strict)
        else:
            render(report, strict=strict, every_file=verbose)
            if args.html is not None:
                err_console.print(Text(f"HTML report written to {args.html}"))
    _github.verify_finished(report, strict=strict)
    provenance_ok = _provenance.check(args, collect_release_files(paths, lenient=True))
    ok = report.ok(strict) and provenance_ok
    if args.json:
        data = report_json(report, strict=strict)
        data["ok"] = ok  # the exit code's verdict, the provenance check included
        print_json(data)
    return 0 if ok else 1


def _html_error(path: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot write the --html report to {path}: {exc.strerror or exc}",
        hint="give a file in a folder you can write to, such as report.html",
    )


def _check_html_target(path: Path) -> None:
    """Make the report's folder and check that a file can be created there (without leaving one behind)."""
    if path.is_dir():
        raise UsageError(f"--html {path} is a folder", hint="give a file name such as report.html")
    existing = next((a for a in path.absolute().parents if a.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(
            f"cannot write the --html report to {path}: {existing} is a file, not a folder",
            hint="give a file in a folder you can write to, such as report.html",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise _html_error(path, exc) from exc


def _verify(args: argparse.Namespace, config: Any, paths: list[Path], progress: Any) -> Report:
    from ..verify import VerifyCache, verify_paths

    return verify_paths(
        paths,
        cache=VerifyCache(),  # records the files that pass: publish then does not check them again
        config=config,
        project=args.project,
        version=args.release_version,
        jobs=args.jobs,
        progress=progress,
        check_completeness=not args.no_completeness,
    )


# C0 and C1 controls (ESC starts terminal escape sequences) and the bidi overrides that reorder what is shown.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _shown(text: str) -> str:
    """``text`` from a release file (names, messages) with its control characters escaped: a hostile file name
    must not drive the terminal."""
    return _CONTROLS.sub(lambda m: ascii(m[0])[1:-1], text)


def render(report: Report, *, strict: bool = False, every_file: bool = False) -> None:
    """The terminal summary: headline, matrix grid, other files, problems (``every_file``: each group lists all
    its files, ``-v``)."""
    from rich.table import Table

    from ..verify import matrix_grid

    rows, cols, cells = matrix_grid(report)
    title = Text()
    title.append(_shown(f"{report.project or 'release'} {report.version or ''}".strip()), style="bold")
    title.append(f": {len(report.files)} files, ")
    title.append(f"{len(report.errors)} errors", style="bold red" if report.errors else "green")
    title.append(", ")
    title.append(f"{len(report.warnings)} warnings", style="yellow" if report.warnings else "green")
    title.append(f" ({report.elapsed:.1f} s)")
    out_console.print(title)
    comp = report.completeness
    if rows:
        grid = Table(title_justify="left", show_edge=False, pad_edge=False)
        grid.add_column("python", style="bold")
        for col in cols:
            grid.add_column(_header(col), justify="center")
        for row in rows:
            grid.add_row(row, *(Text(*_CELL[cells[(row, col)].state]) for col in cols))
        out_console.print(grid)
        out_console.print(
            Text(
                "✓ ok   ! warnings   ✗ errors   — missing   extra: not in the matrix   · not expected",
                style="dim",
            )
        )
    if comp.status == "checked":
        source = {"config": "configuration", "selection": "recorded selection"}.get(
            comp.source, "files (requires-python x platforms present)"
        )
        out_console.print(
            Text(
                f"matrix from the {source}: {len(comp.expected)} expected, {len(comp.missing)} missing",
                style="dim",
            )
        )
    else:
        out_console.print(Text(f"completeness not checked: {comp.reason}", style="dim"))
    derived = Counter(
        f.derived_platform.split("_", 1)[0] + "_" + "_".join(f.derived_platform.split("_")[1:3])
        for f in report.files
        if f.derived_platform
    )
    if derived:
        out_console.print(
            Text(
                "Linux wheels, tag their compiled code satisfies: "
                + ", ".join(f"{tag} x{n}" for tag, n in sorted(derived.items())),
                style="dim",
            )
        )
    others = [f for f in report.files if not f.identifiers]
    for f in others:
        n = len(report.problems_of(f.filename))
        out_console.print(
            Text(f"{f.kind:6} {_shown(f.filename)}  ", style="dim")
            + (Text("ok", style="green") if not n else Text(f"{n} problems", style="red"))
        )
    groups = report.groups
    if groups:
        out_console.print(Text("\nproblems", style="bold"))
    for group in groups:
        _print_group(group, every_file=every_file)
    _print_verdict(report, strict)


def _print_group(group: ProblemGroup, *, every_file: bool = False) -> None:
    """One block per code and cause: the files that have it listed once, not one block per file (the first
    few of them, or ``every_file``)."""
    line = Text()
    line.append(
        f"{group.severity.value:7}", style="bold red" if group.severity.value == "error" else "bold yellow"
    )
    line.append(f" {group.code}", style="bold")
    if len(group.files) <= 1:
        line.append(f"  {_shown(group.files[0]) if group.files else '(release)'}", style="cyan")
    else:
        line.append(
            f"  {len(group.files)} {'identifiers' if group.code == 'matrix-missing' else 'files'}",
            style="cyan",
        )
    out_console.print(line)
    out_console.print(Text(f"        {_shown(group.message)}"))
    if len(group.files) > 1:
        few = every_file or len(group.files) <= _FILES_LISTED
        shown = group.files if few else group.files[: _FILES_LISTED - 1]
        for name in shown:
            out_console.print(Text(f"          {_shown(name)}", style="cyan"))
        if len(shown) < len(group.files):
            out_console.print(
                Text(
                    f"          … and {len(group.files) - len(shown)} more (--json lists them all)",
                    style="cyan",
                )
            )
    out_console.print(Text(f"        fix: {group.fix}", style="dim"))


def _print_verdict(report: Report, strict: bool) -> None:
    verdict = report.ok(strict)
    out_console.print(
        Text(
            "ready to publish"
            if verdict
            else "NOT ready to publish"
            + (" (--strict: warnings fail)" if strict and not report.errors else ""),
            style="bold green" if verdict else "bold red",
        )
    )


def render_quiet(report: Report, *, strict: bool = False) -> None:
    """``-q``: the error groups (and, with ``--strict``, the warning groups that fail it) and the verdict line."""
    for group in report.groups:
        if group.severity.value == "error" or strict:
            _print_group(group)
    _print_verdict(report, strict)
