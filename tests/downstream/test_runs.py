"""``shipwheel downstream`` on made-up projects from a real local index (pypiserver), in real uv environments:
the baseline rule end to end, a downstream that cannot be installed, a hang, the deadline, the JSON report and
where the candidate's wheels come from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fixtures.downstream_index import dscore_candidate
from fixtures.http_servers import ListingServer
from fixtures.index_servers import IndexServer
from shipwheel.cli import main_inner
from shipwheel.downstream import previous_release, report_schema
from shipwheel.interpreters import Interpreter

from .conftest import Project, make_project, one_python

pytestmark = [pytest.mark.integration]

DSUSER = '[[tool.shipwheel.downstream]]\nrequirement = "dsuser"\n'
RunJson = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture
def run_json(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict[str, Any]]]:
    """``shipwheel downstream VERSION --json`` against an index: the exit code and the report, checked against
    the report's JSON schema."""

    def run(project: Project, index: IndexServer, select: str, *args: str) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        argv = [
            "downstream",
            project.version,
            "--index-url",
            index.simple_url,
            "--select",
            select,
            "--json",
            *args,
        ]
        code = main_inner(project.argv(*argv))
        report = json.loads(capsys.readouterr().out)
        jsonschema.validate(report, report_schema())
        return code, report

    return run


def _cells(report: dict[str, Any], project: str) -> list[dict[str, Any]]:
    return [c for c in report["cells"] if c["project"] == project]


def test_the_previous_release_is_the_newest_final_one_before_the_candidate(
    downstream_index: IndexServer,
) -> None:
    url = downstream_index.simple_url
    assert previous_release(url, "markupsafe", "3.1.0rc1") == "3.0.3"
    assert previous_release(url, "MarkupSafe", "3.0.3") == "3.0.2"
    assert previous_release(url, "dscore", "1.0") is None
    assert previous_release(url, "never-released-here", "1.0") is None


def test_a_test_failing_only_with_the_candidate_is_a_regression_one_failing_in_both_a_known_failure(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    run_json: RunJson,
) -> None:
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", DSUSER, cache=shared_cache)
    dscore_candidate(project.wheelhouse, changed=True)
    code, report = run_json(project, downstream_index, one_python(interpreters))
    assert code == 1 and report["ok"] is False and report["schema_version"] == 1
    assert report["baseline"] == "1.0"
    (cell,) = _cells(report, "dsuser")
    assert cell["status"] == "regressed" and cell["version"] == "2.0"
    assert [(f["id"], f["baseline"]) for f in cell["regressions"]] == [
        ("tests/test_dsuser.py::test_shout", "passed")
    ]
    assert "HELLO!" in "\n".join(cell["regressions"][0]["lines"])
    assert [(f["id"], f["baseline"]) for f in cell["known_failures"]] == [
        ("tests/test_dsuser.py::test_howdy_never_worked", "failed")
    ]
    assert (cell["passed"], cell["failed"]) == (1, 2)
    assert Path(cell["log"]).is_file() and "dscore-1.1rc1-py3-none-any.whl" in Path(cell["log"]).read_text()


def test_a_candidate_that_changes_nothing_has_known_failures_only(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", DSUSER, cache=shared_cache)
    dscore_candidate(project.wheelhouse, changed=False)
    argv = [
        "downstream",
        "1.1rc1",
        "--index-url",
        downstream_index.simple_url,
        "--select",
        one_python(interpreters),
    ]
    assert main_inner(project.argv(*argv)) == 0
    out = capsys.readouterr().out
    assert "dscore 1.1rc1: downstream tests (compared with 1.0)" in out
    assert "no regression in 1 run(s), 2 tests passed, 1 known failure(s) (failing with 1.0 too)" in out


def test_a_downstream_that_cannot_be_installed_is_reported_and_the_others_still_run(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = DSUSER + '[[tool.shipwheel.downstream]]\nrequirement = "dsbroken"\n'
    entries += '[[tool.shipwheel.downstream]]\nrequirement = "dsuser-never-released"\n'
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", entries, cache=shared_cache)
    dscore_candidate(project.wheelhouse, changed=False)
    select = one_python(interpreters)
    argv = ["downstream", "1.1rc1", "--index-url", downstream_index.simple_url, "--select", select]
    assert main_inner(project.argv(*argv)) == 0  # not installable is reported, not a regression
    out = capsys.readouterr().out
    assert "not-installable: dsbroken 1.0 on cp3" in out and "no-such-project-anywhere" in out
    assert "not-installable: dsuser-never-released on cp3" in out and "has no release" in out
    assert "no regression in 1 run(s)" in out  # dsuser ran
    assert main_inner(project.argv(*argv, "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    statuses = {c["project"]: c["status"] for c in report["cells"]}
    assert statuses == {
        "dsuser": "passed",
        "dsbroken": "not-installable",
        "dsuser-never-released": "not-installable",
    }
    assert report["summary"]["not_installable"] == 2


def test_a_candidate_that_hangs_where_the_previous_release_finishes_is_a_regression(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    run_json: RunJson,
) -> None:
    command = "python -c \"import dscore, time; time.sleep(300 if dscore.greet() == 'hello!' else 0)\""
    entry = f"{DSUSER}test-command = {json.dumps(command)}\ntimeout = 8\n"
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", entry, cache=shared_cache)
    dscore_candidate(project.wheelhouse, changed=True)
    code, report = run_json(project, downstream_index, one_python(interpreters))
    assert code == 1
    (cell,) = report["cells"]
    assert [f["id"] for f in cell["regressions"]] == ["(test command)"]
    failure = cell["regressions"][0]
    assert failure["lines"][0] == "did not finish within 8 s (the project's timeout)"
    assert failure["baseline"] == "passed"  # the same command finished with dscore 1.0


def test_the_deadline_stops_the_running_tests_and_reports_them_unfinished(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    run_json: RunJson,
) -> None:
    pid_file = tmp_path / "pid"
    command = (
        f"python -c \"import os, time; open('{pid_file}', 'w').write(str(os.getpid())); time.sleep(600)\""
    )
    entry = f"{DSUSER}test-command = {json.dumps(command)}\n"
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", entry, cache=shared_cache)
    dscore_candidate(project.wheelhouse, changed=False)
    code, report = run_json(project, downstream_index, one_python(interpreters), "--deadline", "12")
    assert code == 1 and report["deadline_reached"] is True and report["deadline"] == 12
    (cell,) = report["cells"]
    assert cell["status"] == "unfinished" and cell["detail"] == "the run's deadline came first"
    if pid_file.is_file():  # the tests had started (the environment was made in time): they were killed
        pid = int(pid_file.read_text())
        assert (
            not Path(f"/proc/{pid}").exists()
            or Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
        )


def test_the_candidate_comes_from_a_staging_folder_or_its_index_over_http(
    tmp_path: Path,
    downstream_index: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    run_json: RunJson,
) -> None:
    files = dscore_candidate(tmp_path / "built", changed=True)
    staging = tmp_path / "staging"
    assert main_inner(["stage", *map(str, files), "--to", str(staging), "-q"]) == 0
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", DSUSER, cache=shared_cache)
    assert not project.wheelhouse.exists()
    select = one_python(interpreters)
    code, report = run_json(project, downstream_index, select, "--from", str(staging))
    assert code == 1 and report["candidates"] == str(staging)
    assert [f["id"] for f in report["cells"][0]["regressions"]] == ["tests/test_dsuser.py::test_shout"]
    with ListingServer(staging) as server:
        url = f"{server.url}simple/"
        code, report = run_json(project, downstream_index, select, "--from", url)
    assert code == 1 and report["candidates"] == url
    assert [f["id"] for f in report["cells"][0]["regressions"]] == ["tests/test_dsuser.py::test_shout"]


def test_mistakes_are_one_line_with_their_exit_codes(tmp_path: Path, shared_cache: Path) -> None:
    from shipwheel.errors import ConfigError, ProjectError, UsageError

    bare = make_project(tmp_path / "bare", "dscore", "1.1rc1", "", cache=shared_cache)
    with pytest.raises(ConfigError, match="no downstream project is configured") as info:
        main_inner(bare.argv("downstream", "1.1rc1"))
    assert info.value.exit_code == 3
    project = make_project(tmp_path / "dscore", "dscore", "1.1rc1", DSUSER, cache=shared_cache)
    with pytest.raises(UsageError, match="--only jinja2 names no configured downstream project") as used:
        main_inner(project.argv("downstream", "1.1rc1", "--only", "jinja2"))
    assert used.value.exit_code == 2 and "dsuser" in used.value.hint
    with pytest.raises(ProjectError, match=r"no wheel of dscore 1\.1rc1 in") as missing:
        main_inner(project.argv("downstream", "1.1rc1"))
    assert missing.value.exit_code == 4 and "shipwheel build" in missing.value.hint
