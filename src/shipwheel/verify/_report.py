"""The self-contained HTML page of a verify report (inline CSS, no script, no external request)."""

from __future__ import annotations

from collections import Counter

from .._html import render_page
from .._version import __version__
from ._grid import matrix_grid
from ._model import Report, Severity

__all__ = ["format_size", "render_html"]

_STATE_LABEL = {
    "ok": "ok",
    "warning": "warn",
    "problem": "error",
    "missing": "missing",
    "extra": "extra",
    "none": "",
}


def format_size(n: int) -> str:
    """``n`` bytes for people: ``812 B``, ``8.1 KiB``, ``1.2 GiB`` (the verify and release status pages)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _counts(counts: Counter[Severity]) -> list[tuple[str, int]]:
    """``[("error", 1), ("warning", 2)]``: the severities present, most severe first."""
    return [(sev.value, counts[sev]) for sev in (Severity.ERROR, Severity.WARNING) if counts[sev]]


def render_html(report: Report, *, strict: bool = False) -> str:
    """The report as one HTML document: the problems grouped by code and cause, each group's files listed."""
    rows, cols, cells = matrix_grid(report)
    # per file, the number of problems of each severity: a file with one error and one warning is
    # "1 error, 1 warning", never "2 error"
    by_file: dict[str, Counter[Severity]] = {}
    for p in report.problems:
        by_file.setdefault(p.file, Counter())[p.severity] += 1
    files = []
    for f in report.files:
        counts = by_file.get(f.filename, Counter())
        status = "error" if counts[Severity.ERROR] else "warning" if counts else "ok"
        files.append({"f": f, "status": status, "counts": _counts(counts)})
    cell_counts = {
        key: _counts(sum((by_file.get(name, Counter()) for name in cell.files), Counter()))
        for key, cell in cells.items()
    }
    return render_page(
        "shipwheel.verify",
        "report.html.j2",
        filters={"size": format_size},
        report=report,
        rows=rows,
        cols=cols,
        cells=cells,
        cell_counts=cell_counts,
        labels=_STATE_LABEL,
        files=files,
        errors=report.errors,
        warnings=report.warnings,
        groups=report.groups,
        ok=report.ok(strict),
        strict=strict,
        total_size=sum(f.size for f in report.files),
        shipwheel_version=__version__,
    )
