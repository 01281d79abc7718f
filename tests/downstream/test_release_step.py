"""The ``downstream`` step of ``shipwheel release``: after verify, before stage; a regression stops the release,
the record keeps the report (``status --html`` shows it), and a pre-release's announcement asks for testing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.downstream_index import dscore_candidate
from fixtures.index_servers import IndexServer
from shipwheel.cli import main_inner
from shipwheel.downstream import RegressionError
from shipwheel.interpreters import Interpreter

from .conftest import Project, make_project, one_python

pytestmark = [pytest.mark.integration]

RELEASE = """
[tool.shipwheel.stage]
to = "staging"

[tool.shipwheel.release]
steps = ["build", "verify", "downstream", "stage", "announce"]
complete-matrix = false
announce-from = "Release Manager <rm@dscore.invalid>"
"""


@pytest.fixture
def release_env(monkeypatch: pytest.MonkeyPatch, downstream_index: IndexServer) -> IndexServer:
    """The environment of a release from a made-up project: the local index for the downstream step, verify
    lenient about the made-up files."""
    monkeypatch.setenv("UV_DEFAULT_INDEX", downstream_index.simple_url)
    monkeypatch.setenv("SHIPWHEEL_VERIFY_STRICT", "0")
    monkeypatch.setenv("SHIPWHEEL_RELEASE_SDIST_IGNORE", "*")  # the made-up sdist holds none of the sources
    return downstream_index


def _project(
    tmp_path: Path, cache: Path, select: str, version: str = "1.1rc1", *, entry: str = ""
) -> Project:
    downstream = f'[[tool.shipwheel.downstream]]\nrequirement = "dsuser"\nselect = "{select}"\n{entry}'
    return make_project(
        tmp_path / "dscore", "dscore", version, downstream, cache=cache, extra=RELEASE, repo=True
    )


def _record(project: Project) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (project.path / ".shipwheel" / "releases" / f"{project.version}.json").read_text()
    )
    return loaded


def test_a_regression_stops_the_release_before_anything_is_staged(
    tmp_path: Path, release_env: IndexServer, shared_cache: Path, interpreters: dict[str, Interpreter]
) -> None:
    select = one_python(interpreters)
    project = _project(tmp_path, shared_cache, select)
    dscore_candidate(project.wheelhouse, changed=True)
    with pytest.raises(
        RegressionError, match=r"1 downstream test\(s\) fail with dscore 1\.1rc1 and pass with 1\.0"
    ) as info:
        main_inner(project.argv("release", "1.1rc1"))
    assert info.value.exit_code == 1 and "tests/test_dsuser.py::test_shout" in info.value.message
    steps = _record(project)["steps"]
    assert steps["verify"]["status"] == "done" and steps["downstream"]["status"] == "failed"
    assert steps["stage"]["status"] == "pending" and not (project.path / "staging").exists()
    report = steps["downstream"]["data"]["report"]
    ran = [c for c in report["cells"] if c["status"] != "skipped"]
    assert [c["interpreter"] for c in ran] == [select[:-2]]  # the entry's select: one interpreter
    assert report["ok"] is False and ran[0]["regressions"][0]["baseline"] == "passed"

    page = tmp_path / "status.html"
    assert main_inner(project.argv("status", "1.1rc1", "--html", str(page))) == 0
    html = page.read_text()
    assert f'data-downstream="dsuser-{select[:-2]}" data-status="regressed"' in html
    assert "tests/test_dsuser.py::test_shout" in html and "with 1.0: passed" in html
    assert "1 regression(s)" in html and "1 known failure(s)" in html


def test_a_pre_release_without_regression_goes_on_and_its_announcement_asks_for_testing(
    tmp_path: Path,
    release_env: IndexServer,
    shared_cache: Path,
    interpreters: dict[str, Interpreter],
    capsys: pytest.CaptureFixture[str],
) -> None:
    select = one_python(interpreters)
    project = _project(tmp_path, shared_cache, select)
    dscore_candidate(project.wheelhouse, changed=False)
    assert main_inner(project.argv("release", "1.1rc1", "--json")) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert (
        steps["downstream"]["outcome"] == "ran"
        and "no regression against 1.0" in steps["downstream"]["detail"]
    )
    assert steps["stage"]["outcome"] == "ran" and steps["announce"]["outcome"] == "ran"

    text = (project.path / ".shipwheel" / "releases" / "1.1rc1-announcement.txt").read_text()
    staging = (project.path / "staging" / "simple").as_uri() + "/"
    install = f"pip install --pre --index-url {staging} dscore==1.1rc1"
    python = f"{select[2]}.{select[3:-2]}"
    assert text.startswith("Subject: Request for testing: dscore 1.1rc1\n")
    assert f"    {install}\n" in text
    assert (
        f"* dsuser 2.0 on CPython {python}: 2 tests passed, no regression, 1 known failure(s) "
        "(failing with 1.0 too)" in text
    )
    assert "reply to this mail (rm@dscore.invalid)" in text and "before dscore 1.1 is released" in text
    markdown = (project.path / ".shipwheel" / "releases" / "1.1rc1-github-release.md").read_text()
    assert "## Tested already" in markdown and f"```console\n{install}\n```" in markdown
    # the install line works: pip finds the candidate in the staging container's index
    got = tmp_path / "got"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--isolated", "--quiet", "--no-deps", "-d", str(got),
         *install.split()[2:]],
        check=True, timeout=120,
    )  # fmt: skip
    assert [p.name for p in got.iterdir()] == ["dscore-1.1rc1-py3-none-any.whl"]

    # run again: the same files passed, nothing is tested again
    assert main_inner(project.argv("release", "1.1rc1", "--json")) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["downstream"] == {
        "step": "downstream",
        "outcome": "done",
        "detail": "the same files passed in an earlier run",
    }


def test_a_final_release_skips_the_step_unless_an_entry_asks_for_every_release(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path / "final", shared_cache, "cp312-*", "1.1")
    assert main_inner(project.argv("release", "1.1", "--dry-run", "--json")) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["downstream"]["outcome"] == "skipped" and "a final release" in steps["downstream"]["detail"]
    always = _project(tmp_path / "always", shared_cache, "cp312-*", "1.1", entry='in-release = "always"\n')
    assert main_inner(always.argv("release", "1.1", "--dry-run", "--json")) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["downstream"]["outcome"] == "would-run"
    never = _project(tmp_path / "never", shared_cache, "cp312-*", "1.1rc1", entry='in-release = "never"\n')
    assert main_inner(never.argv("release", "1.1rc1", "--dry-run", "--json")) == 0
    steps = {s["step"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert (
        steps["downstream"]["outcome"] == "skipped"
        and 'in-release = "never"' in steps["downstream"]["detail"]
    )
