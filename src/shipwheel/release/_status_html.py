"""``shipwheel status --html``: one page with the steps of a release, the verify grid, the downstream projects'
tests (from the record of the ``downstream`` step) and the files' hashes."""

from __future__ import annotations

import datetime as _dt

from .._html import render_page
from ..config import Config
from ..distfiles import DistFile, file_digests
from ._names import project_name
from ._state import ReleaseState

__all__ = ["render_status_html"]

_LABELS = {
    "ok": "ok",
    "warning": "warning",
    "problem": "error",
    "missing": "missing",
    "extra": "extra",
    "none": "-",
}


def render_status_html(config: Config, state: ReleaseState, *, index: bool = True) -> str:
    """The status page of ``state``'s release: its steps from the record, the verify grid of the release files
    in the wheelhouse (verified now, nothing changed), and each file's size, sha256 and whether the index lists
    it with that hash (``index=False`` leaves the index unasked)."""
    from packaging.version import Version

    from ..errors import ShipwheelError
    from ..verify import format_size, matrix_grid, verify_paths

    name = project_name(config)
    version = Version(state.version)
    folder = config.build.output_dir
    paths = sorted(
        p
        for p in (folder.iterdir() if folder.is_dir() else [])
        if p.is_file() and (d := DistFile.parse(p.name)) is not None and d.version == version
    )
    rows: list[str] = []
    cols: list[str] = []
    cells: dict[object, object] = {}
    summary = "no release files to verify yet"
    if paths:
        # A release built for some identifiers only (release --select) is not held to the whole matrix.
        narrowed = bool(state.select)
        report = verify_paths(
            paths, config=config, project=name, version=state.version, check_completeness=not narrowed
        )
        rows, cols, grid_cells = matrix_grid(report)
        cells = dict(grid_cells)
        summary = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in {len(paths)} file(s)"
    published: dict[str, str | None] = {}
    if index and state.repository and paths:
        from ._preflight import index_files

        try:
            published = index_files(state.repository, name, state.version)
        except ShipwheelError:
            published = {}
    files = []
    for p in paths:
        digest = file_digests(p)["sha256"]
        there = p.name in published
        same = there and published[p.name] in (None, digest)
        files.append(
            {
                "name": p.name,
                "size": format_size(p.stat().st_size),
                "sha256": digest,
                "published": "yes" if same else "other bytes!" if there else "no",
            }
        )
    statuses = [r.status for r in state.steps.values()]
    if "failed" in statuses:
        verdict, text = "failed", "failed: run release again"
    elif all(s in {"done", "skipped"} for s in statuses):
        verdict, text = "complete", "released"
    else:
        verdict, text = "progress", "in progress"
    steps = [
        {
            "name": n,
            "status": r.status,
            "detail": r.detail,
            "when": _dt.datetime.fromtimestamp(r.finished, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            if r.finished
            else "",
        }
        for n, r in state.steps.items()
    ]
    return render_page(
        "shipwheel.release",
        "status.html.j2",
        name=name,
        state=state,
        verdict=verdict,
        verdict_text=text,
        steps=steps,
        rows=rows,
        cols=cols,
        cells=cells,
        labels=_LABELS,
        verify_summary=summary,
        files=files,
        downstream=state.steps["downstream"].data.get("report"),
    )
