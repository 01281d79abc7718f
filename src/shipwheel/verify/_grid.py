"""Views of a :class:`Report` for its renderers (the terminal, the HTML page, ``--json``, the release status page,
GitHub's job summary): the matrix grid and the JSON document. The report itself only holds what verify found."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..distfiles import DistFile
from ..errors import SelectorError
from ..matrix import ALL_PLATFORMS, Identifier, wheel_covers
from ._model import FileResult, GridCell, Report, Severity

__all__ = ["REPORT_SCHEMA", "matrix_grid", "report_json"]

#: The version of the ``--json`` document. 2: ``ok`` is the verdict of the exit code (``--strict`` counts
#: warnings), ``strict`` and ``groups`` (the problems by code and cause) were added.
REPORT_SCHEMA = 2

Grid = tuple[list[str], list[str], dict[tuple[str, str], GridCell]]


def _identifiers(texts: list[str]) -> set[Identifier]:
    # a pure release lists tags (py3-none-any), not identifiers: the grid has no cell for them
    out = set()
    for text in texts:
        try:
            out.add(Identifier.parse(text))
        except SelectorError:
            continue
    return out


def matrix_grid(report: Report) -> Grid:
    """Rows (``cp312``, ``cp313t``), columns (platforms) and cells of the matrix grid of ``report``.

    A cell is ``ok`` (a wheel covers it, no problem), ``warning`` or ``problem`` (its wheel has warnings or
    errors), ``missing`` (expected, absent), ``extra`` (present, not expected) or ``none``.
    """
    comp = report.completeness
    expected = _identifiers(comp.expected)
    present = _identifiers(comp.present)
    idents = expected | present
    rows = [i.python for i in sorted({Identifier(i.minor, i.free_threaded, "win32") for i in idents})]
    cols = [p for p in ALL_PLATFORMS if any(i.platform == p for i in idents)]
    parsed = [(f, DistFile.parse(f.filename)) for f in report.files if f.kind == "wheel"]
    platform: list[tuple[FileResult, DistFile | None]] = [
        (f, d) for f, d in parsed if d is not None and any(t.platform != "any" for t in d.tags)
    ]
    # beside platform wheels a pure wheel fills no cell (completeness counts it apart): a missing one shows
    parsed = platform or parsed
    severity: dict[str, set[Severity]] = defaultdict(set)
    for p in report.problems:
        severity[p.file].add(p.severity)
    cells: dict[tuple[str, str], GridCell] = {}
    for row in rows:
        for col in cols:
            ident = Identifier.parse(f"{row}-{col}")
            covering = tuple(f.filename for f, d in parsed if d is not None and wheel_covers(d.tags, ident))
            if covering:
                sev = set().union(*(severity[n] for n in covering))
                state = "problem" if Severity.ERROR in sev else "warning" if sev else "ok"
                if comp.status == "checked" and ident not in expected:
                    state = "extra"
            elif ident in expected and comp.status == "checked":
                state = "missing"
            else:
                state = "none"
            cells[(row, col)] = GridCell(row, col, state, covering)
    return rows, cols, cells


def report_json(report: Report, *, strict: bool = False) -> dict[str, Any]:
    """The whole report as a JSON-ready dict (``shipwheel verify --json``); ``ok`` is the verdict with or without
    ``strict``, the one ``shipwheel verify`` exits with."""
    rows, cols, cells = matrix_grid(report)
    return {
        "schema": REPORT_SCHEMA,
        "project": report.project,
        "version": report.version,
        "ok": report.ok(strict),
        "strict": strict,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "elapsed": round(report.elapsed, 3),
        "files": [f.to_json() for f in report.files],
        "problems": [p.to_json() for p in report.problems],
        "groups": [g.to_json() for g in report.groups],
        "completeness": report.completeness.to_json(),
        "grid": {
            "pythons": rows,
            "platforms": cols,
            "cells": [
                {"python": c.python, "platform": c.platform, "state": c.state, "files": list(c.files)}
                for c in cells.values()
            ],
        },
        "ignored": list(report.ignored),
    }
