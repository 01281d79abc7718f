"""``shipwheel status --html``: one page with the steps of a release, the verify grid, the downstream projects'
tests (from the record of the ``downstream`` step) and the files' hashes."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from .._html import render_page
from ..config import Config
from ..distfiles import file_digests
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

    from ._selection import release_coverage, release_paths

    name = project_name(config)
    paths = release_paths(config.build.output_dir, Version(state.version))
    cover = release_coverage(config, state)
    rows, cols, cells, summary = _verify_grid(config, state, name, paths, cover.selection)
    published = _published(state, name) if index and state.repository and paths else {}
    configured = set(config.release.steps)
    verdict, text = _verdict(state, configured)
    selected = [
        {"identifier": i, "state": st, "file": cover.wheels.get(i, "")} for i, st in cover.states().items()
    ]
    return render_page(
        "shipwheel.release",
        "status.html.j2",
        name=name,
        state=state,
        verdict=verdict,
        verdict_text=text,
        steps=_step_rows(state, configured),
        rows=rows,
        cols=cols,
        cells=cells,
        labels=_LABELS,
        verify_summary=summary,
        files=_file_rows(paths, published),
        downstream=state.steps["downstream"].data.get("report"),
        selected=selected,
        sdist=cover.sdist,
    )


def _verify_grid(
    config: Config, state: ReleaseState, name: str, paths: list[Path], selection: tuple[str, ...] | None
) -> tuple[list[str], list[str], dict[object, object], str]:
    """The verify grid of the release files (rows, columns, cells) and its one-line summary."""
    from ..verify import matrix_grid, verify_paths
    from ._selection import verify_expected

    if not paths:
        return [], [], {}, "no release files to verify yet"
    # held to the release's selection (its --select, the whole matrix with complete-matrix, or what this
    # machine builds), as the verify step was: an identifier it never selected is no red "missing" cell
    report = verify_paths(
        paths,
        config=config,
        project=name,
        version=state.version,
        check_completeness=selection is not None,
        expected=verify_expected(config, selection, paths) if selection is not None else None,
    )
    rows, cols, grid_cells = matrix_grid(report)
    summary = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in {len(paths)} file(s)"
    return rows, cols, dict(grid_cells), summary


def _published(state: ReleaseState, name: str) -> dict[str, str | None]:
    """The files the index lists for the release, with their sha256 when it says (``{}`` when it cannot be
    asked)."""
    from ..errors import ShipwheelError
    from ._preflight import index_files

    try:
        return index_files(state.repository, name, state.version)
    except ShipwheelError:
        return {}


def _file_rows(paths: list[Path], published: dict[str, str | None]) -> list[dict[str, str]]:
    """Each file's name, size, sha256 and whether the index lists it with that hash."""
    from ..verify import format_size

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
    return files


def _verdict(state: ReleaseState, configured: set[str]) -> tuple[str, str]:
    """The release's verdict (``progress``, ``failed``, ``complete``) and its words."""
    statuses = [r.status for n, r in state.steps.items() if n in configured]
    if not state.path.is_file():
        return "progress", "not started"
    if "failed" in statuses:
        return "failed", "failed: run release again"
    if all(s in {"done", "skipped"} for s in statuses):
        return "complete", "released"
    return "progress", "in progress"


def _step_rows(state: ReleaseState, configured: set[str]) -> list[dict[str, str]]:
    """One row per step of the record; a step of another configuration shows as not configured."""
    steps = []
    for n, r in state.steps.items():
        if n not in configured:
            # a step of another configuration is no step of this release, whatever an old record says
            steps.append(
                {
                    "name": n,
                    "status": "skipped",
                    "label": "skipped (not configured)",
                    "detail": "",
                    "when": "",
                }
            )
            continue
        when = ""
        if r.finished:
            when = _dt.datetime.fromtimestamp(r.finished, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        steps.append({"name": n, "status": r.status, "label": r.status, "detail": r.detail, "when": when})
    return steps
