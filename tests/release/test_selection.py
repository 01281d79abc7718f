"""A release is complete only with every selected identifier: the build step, the verify step and ``status``
(text, ``--json``, ``--html``) hold the wheelhouse to the same selection, whatever filled it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from fixtures.index_servers import make_release
from fixtures.release_repo import make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import VerificationError
from shipwheel.interpreters import discover
from shipwheel.release import ReleaseState, render_status_html, state_path

#: The CPythons >= 3.10 (the example's requires-python) this machine builds, oldest first.
HAVE = sorted({f"cp3{i.version[1]}" for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded})


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """The example in a repository of its own, a release of two identifiers this machine builds, and a
    wheelhouse filled by hand with the sdist and the first one's wheel only."""
    if len(HAVE) < 2:
        pytest.skip(f"needs two CPython >= 3.10 interpreters, found {HAVE}")
    monkeypatch.setenv("SHIPWHEEL_RELEASE_SDIST_IGNORE", "*")  # the made-up sdist holds none of the sources
    repo = make_kahan_repo(tmp_path / "kahan")
    make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=0)
    make_wheel(repo / "wheelhouse", "kahan", "1.0.0", f"{HAVE[0]}-{HAVE[0]}-manylinux_2_17_x86_64")
    return repo, [f"{p}-manylinux_x86_64" for p in HAVE[:2]]


def test_build_step_is_not_done_while_a_selected_identifier_has_no_wheel(
    two: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, idents = two
    argv = ["release", "1.0.0", "--only", "build", "--dry-run", "--json", "--config-dir", str(repo)]
    assert main_inner([*argv, "--select", " ".join(idents)]) == 0
    plan = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert plan["build"] == "would-run"  # an sdist and some wheel are not the release
    assert main_inner([*argv, "--select", idents[0]]) == 0
    plan = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert plan["build"] == "done"  # the one identifier selected is there


def test_verify_step_holds_a_hand_filled_wheelhouse_to_the_selection(two: tuple[Path, list[str]]) -> None:
    repo, idents = two
    argv = ["release", "1.0.0", "--only", "verify", "--select", " ".join(idents), "--config-dir", str(repo)]
    with pytest.raises(VerificationError, match=r"verify found"):
        main_inner(argv)
    record = json.loads(state_path(repo, "1.0.0").read_text())
    assert record["steps"]["verify"]["status"] == "failed"
    from shipwheel.verify import verify_paths

    # what the step failed on: the selected identifier without a wheel, and nothing else
    report = verify_paths([repo / "wheelhouse"], expected=idents, project="kahan", version="1.0.0")
    assert [(p.message, p.subject) for p in report.errors] == [(f"no wheel for {idents[1]}", idents[1])]
    make_wheel(repo / "wheelhouse", "kahan", "1.0.0", f"{HAVE[1]}-{HAVE[1]}-manylinux_2_17_x86_64")
    assert main_inner(argv) == 0


def test_status_shows_a_selected_identifier_without_a_file_as_missing(
    two: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, idents = two
    ReleaseState(state_path(repo, "1.0.0"), "1.0.0", select=" ".join(idents)).save()
    assert main_inner(["status", "1.0.0", "--json", "--config-dir", str(repo)]) == 0
    selection = json.loads(capsys.readouterr().out)["selection"]
    assert selection["identifiers"] == {idents[0]: "present", idents[1]: "missing"}
    assert selection["missing"] == [idents[1]] and selection["sdist"] == "kahan-1.0.0.tar.gz"
    assert main_inner(["status", "1.0.0", "--config-dir", str(repo)]) == 0
    text = capsys.readouterr().out
    assert re.search(rf"{idents[1]}\s*│\s*missing", text) and re.search(
        rf"{idents[0]}\s*│\s*kahan-1\.0\.0", text
    )
    page = render_status_html(
        load_config(repo), ReleaseState.load(state_path(repo, "1.0.0"), "1.0.0"), index=False
    )
    assert f'data-identifier="{idents[1]}" data-state="missing"' in page
    assert f'data-identifier="{idents[0]}" data-state="present"' in page
    # the grid: the identifier selected and absent is the one red cell
    missing_cells = re.findall(r'data-cell="([^"]+)" data-state="missing"', page)
    assert missing_cells == [idents[1]]
