"""A real pair from PyPI, pinned: markupsafe as the project, Jinja2 3.1.6 and Mako 1.3.10 as its downstream
projects, their own test suites from their sdists.

The candidate is markupsafe 3.0.3's sdist with its version set to 3.1.0rc1, built by shipwheel's builder; the
previous release is the real markupsafe 3.0.3 from a local pypiserver (with 3.0.2 before it). A candidate that
changes nothing passes Jinja2's suite on every local CPython both support, and Mako's on the oldest and newest
(Mako's three failures with this Pygments fail with 3.0.3 too: known failures). A candidate whose ``escape()``
no longer escapes ``>`` regresses Jinja2's tests that depend on it, which pass with 3.0.3, and the release stops.
"""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import jsonschema
import pytest

from fixtures.downstream_index import PYTHONS, markupsafe_candidate
from fixtures.index_servers import IndexServer
from shipwheel.cli import main_inner
from shipwheel.downstream import RegressionError, report_schema
from shipwheel.interpreters import Interpreter

from .conftest import make_project

pytestmark = [pytest.mark.slow, pytest.mark.integration]

JINJA2 = '[[tool.shipwheel.downstream]]\nrequirement = "jinja2==3.1.6"\ntest-requires = ["pytest", "trio"]\n'


def _pythons(interpreters: dict[str, Interpreter]) -> list[str]:
    """The CPython versions of this machine that markupsafe 3.0.3 has wheels for (the pinned index holds them)."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        pytest.skip("the pinned markupsafe wheels are manylinux x86_64 ones")
    found = [v for v in PYTHONS if v in interpreters]
    if not found:
        pytest.skip("no CPython 3.9 to 3.13 on this machine")
    return found


def _identifiers(versions: list[str]) -> tuple[str, ...]:
    return tuple(f"cp{v.replace('.', '')}-manylinux_x86_64" for v in versions)


def test_jinja2_and_mako_pass_against_a_candidate_that_changes_nothing(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    capsys: pytest.CaptureFixture[str],
) -> None:
    versions = _pythons(interpreters)
    wheelhouse = markupsafe_candidate(_identifiers(versions))
    ends = sorted({versions[0], versions[-1]})
    mako = '[[tool.shipwheel.downstream]]\nrequirement = "mako"\nselect = "{}"\n'.format(
        " ".join(f"cp{v.replace('.', '')}-*" for v in ends)
    )
    extra = f"output-dir = {json.dumps(str(wheelhouse))}"
    project = make_project(
        tmp_path / "markupsafe", "MarkupSafe", "3.1.0rc1", JINJA2 + mako, cache=shared_cache, extra=extra
    )
    argv = ["downstream", "3.1.0rc1", "--index-url", downstream_index.simple_url, "--json"]
    assert main_inner(project.argv(*argv)) == 0
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, report_schema())
    assert report["ok"] is True and report["baseline"] == "3.0.3" and report["project"] == "MarkupSafe"
    ran = [c for c in report["cells"] if c["status"] != "skipped"]
    jinja2 = {c["python"].rsplit(".", 1)[0]: c for c in ran if c["project"] == "jinja2"}
    assert (
        sorted(jinja2, key=lambda v: tuple(map(int, v.split(".")))) == versions
    )  # every CPython both support
    for cell in jinja2.values():
        assert cell["status"] == "passed" and cell["version"] == "3.1.6"
        assert cell["regressions"] == [] and cell["passed"] >= 900
    makos = [c for c in ran if c["project"] == "mako"]
    assert sorted(c["python"].rsplit(".", 1)[0] for c in makos) == ends
    for cell in makos:
        assert cell["status"] == "passed" and cell["version"] == "1.3.10" and cell["passed"] >= 400
        assert cell["regressions"] == [] and all(f["baseline"] == "failed" for f in cell["known_failures"])
    # an older interpreter of this machine (3.8, 3.7 ...) is left out by the candidate, and says so
    for cell in report["cells"]:
        if cell["status"] == "skipped":
            assert cell["detail"].startswith(("no candidate wheel for", "jinja2 3.1.6 requires Python"))


def test_a_candidate_whose_escape_no_longer_escapes_gt_regresses_jinja2_and_stops_the_release(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    newest = _pythons(interpreters)[-1]
    built = markupsafe_candidate(_identifiers([newest]), broken=True)
    extra = (
        '\n[tool.shipwheel.release]\nsteps = ["build", "verify", "downstream", "stage"]\ncomplete-matrix = false\n'
        '\n[tool.shipwheel.stage]\nto = "staging"\n'
    )
    project = make_project(
        tmp_path / "markupsafe", "MarkupSafe", "3.1.0rc1", JINJA2, cache=shared_cache, extra=extra, repo=True
    )
    shutil.copytree(built, project.wheelhouse)
    monkeypatch.setenv("UV_DEFAULT_INDEX", downstream_index.simple_url)
    # a release of the one identifier whose candidate wheel is in the wheelhouse (the selection a resumed
    # release holds its files to)
    select = ["--select", _identifiers([newest])[0]]
    with pytest.raises(RegressionError, match=r"fail with MarkupSafe 3\.1\.0rc1 and pass with 3\.0\.3"):
        main_inner([*project.argv("release", "3.1.0rc1"), *select])
    record = json.loads((project.path / ".shipwheel" / "releases" / "3.1.0rc1.json").read_text())
    steps = record["steps"]
    assert steps["verify"]["status"] == "done" and steps["downstream"]["status"] == "failed"
    assert steps["stage"]["status"] == "pending" and not (project.path / "staging").exists()
    (cell,) = [c for c in steps["downstream"]["data"]["report"]["cells"] if c["status"] != "skipped"]
    assert cell["project"] == "jinja2" and cell["status"] == "regressed"
    found = {f["id"]: f for f in cell["regressions"]}
    assert "tests/test_utils.py::TestEscapeUrlizeTarget::test_escape_urlize_target" in found
    assert len(found) >= 5 and all(f["baseline"] == "passed" for f in found.values())
    assert any("&gt;" in line for f in found.values() for line in f["lines"])
    assert cell["passed"] > 800  # the tests that do not depend on it still pass
