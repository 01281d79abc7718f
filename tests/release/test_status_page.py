"""The status page tells the truth: a release whose configured steps are done is released, a step the project
does not configure is shown as such, and the verify grid marks missing only what the release selected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from fixtures.index_servers import make_release
from fixtures.release_repo import make_kahan_repo
from shipwheel.config import load_config
from shipwheel.release import ReleaseState, render_status_html, state_path


def _configure(repo: Path, release_table: str) -> None:
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(f"\n[tool.shipwheel.release]\n{release_table}\n")


def test_a_release_whose_configured_steps_are_done_is_released(tmp_path: Path) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    _configure(repo, 'steps = ["check", "build", "verify", "publish"]')
    state = ReleaseState(state_path(repo, "1.0.0"), "1.0.0")
    for step in ("check", "build", "verify"):
        state.set(step, "done", f"{step} went well")
    config = load_config(repo)
    page = render_status_html(config, state, index=False)
    assert re.search(r'id="verdict">in progress<', page)
    state.set("publish", "done", "on the index")
    page = render_status_html(config, state, index=False)
    assert re.search(r'id="verdict">released<', page)
    for step in ("notes", "version", "tag", "sign", "stage", "bump"):
        row = re.search(rf'<tr data-step="{step}" data-status="(\w+)">.*?</tr>', page, re.S)
        assert row is not None and row[1] == "skipped" and "skipped (not configured)" in row[0]
    done = re.search(r'<tr data-step="publish" data-status="done">.*?</tr>', page, re.S)
    assert done is not None and "on the index" in done[0]


def test_a_failed_configured_step_is_failed_and_an_old_record_of_another_step_is_not(tmp_path: Path) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    _configure(repo, 'steps = ["check", "verify"]')
    state = ReleaseState(state_path(repo, "1.0.0"), "1.0.0")
    state.set("check", "done")
    state.set("verify", "done")
    state.set("tag", "failed", "from a run with another configuration")
    page = render_status_html(load_config(repo), state, index=False)
    assert re.search(r'id="verdict">released<', page)
    state.set("verify", "failed", "matrix-missing")
    page = render_status_html(load_config(repo), state, index=False)
    assert re.search(r'id="verdict">failed: run release again<', page)


def test_grid_of_a_release_without_the_complete_matrix_marks_nothing_it_never_selected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """complete-matrix = false: the release is what this machine builds; the example's macOS, Windows and
    aarch64 identifiers are no red cells."""
    repo = make_kahan_repo(tmp_path / "kahan")
    _configure(repo, "complete-matrix = false")
    make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=0)
    config = load_config(repo)
    # every Linux x86-64 wheel: whichever CPythons are here, theirs are there
    for ident in config.identifiers():
        if ident.platform == "manylinux_x86_64" and not ident.free_threaded:
            make_wheel(
                repo / "wheelhouse", "kahan", "1.0.0", f"{ident.python}-{ident.python}-manylinux_2_17_x86_64"
            )
    state = ReleaseState(state_path(repo, "1.0.0"), "1.0.0")
    state.set("check", "done")
    page = render_status_html(config, state, index=False)
    states = dict(re.findall(r'data-cell="([^"]+)" data-state="([^"]+)"', page))
    assert states and "missing" not in states.values()
    here = {c for c, s in states.items() if s in {"ok", "warning", "problem"}}  # a wheel covers it
    assert here and all(c.endswith("-manylinux_x86_64") for c in here)
