"""The self-contained HTML page of a verify report (inline CSS, no script, no external request)."""

from __future__ import annotations

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


def render_html(report: Report, *, strict: bool = False) -> str:
    """The report as one HTML document: the problems grouped by code and cause, each group's files listed."""
    rows, cols, cells = matrix_grid(report)
    by_file: dict[str, list[str]] = {}
    for p in report.problems:
        by_file.setdefault(p.file, []).append(p.severity.value)
    files = []
    for f in report.files:
        sev = by_file.get(f.filename, [])
        status = "error" if Severity.ERROR.value in sev else "warning" if sev else "ok"
        files.append({"f": f, "status": status, "count": len(sev)})
    return render_page(
        "shipwheel.verify",
        "report.html.j2",
        filters={"size": format_size},
        report=report,
        rows=rows,
        cols=cols,
        cells=cells,
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
