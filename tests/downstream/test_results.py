"""Test results from pytest's JUnit report (a real pytest run), and the baseline rule that sorts failures."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shipwheel._subprocess import run_stoppable
from shipwheel.downstream import TestResult, classify, read_junit

SUITE = {
    "tests/test_api.py": (
        "import pytest\n\n\n"
        "class TestEscape:\n"
        "    @pytest.mark.parametrize('value', ['a b', '<'])\n"
        "    def test_param(self, value):\n"
        "        assert value != '<', 'the candidate escaped nothing'\n\n\n"
        "def test_ok():\n    pass\n\n\n"
        "@pytest.mark.skip(reason='not here')\ndef test_skipped():\n    pass\n\n\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('setup broke')\n\n\n"
        "def test_setup_error(broken):\n    pass\n"
    ),
    "tests/sub/test_deep.py": "def test_deep():\n    assert 1 + 1 == 3\n",
    "tests/test_unimportable.py": "import no_such_module_here\n",
}


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The JUnit report (xunit1, as shipwheel asks pytest for it) of a real pytest run over :data:`SUITE`."""
    root = tmp_path_factory.mktemp("suite")
    for name, text in SUITE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = root / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml", str(report),
         "-o", "junit_family=xunit1", "--continue-on-collection-errors", "tests"],
        cwd=root, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    return report


def test_junit_results_are_keyed_by_pytest_node_id(junit: Path) -> None:
    results = read_junit(junit)
    assert results is not None
    outcomes = {k: v.outcome for k, v in results.items()}
    assert outcomes["tests/test_api.py::TestEscape::test_param[a b]"] == "passed"
    assert outcomes["tests/test_api.py::TestEscape::test_param[<]"] == "failed"
    assert outcomes["tests/test_api.py::test_ok"] == "passed"
    assert outcomes["tests/test_api.py::test_skipped"] == "skipped"
    assert outcomes["tests/test_api.py::test_setup_error"] == "failed"
    assert outcomes["tests/sub/test_deep.py::test_deep"] == "failed"
    # a module that does not import is one failure, named after its file
    assert [k for k in outcomes if "unimportable" in k] == ["tests/test_unimportable.py"]
    assert outcomes["tests/test_unimportable.py"] == "failed"


def test_a_failure_keeps_its_first_lines(junit: Path) -> None:
    results = read_junit(junit)
    assert results is not None
    lines = results["tests/test_api.py::TestEscape::test_param[<]"].lines
    assert lines[0].startswith("AssertionError: the candidate escaped nothing")
    assert 1 < len(lines) <= 15 and all(len(line) <= 300 for line in lines)
    assert "setup broke" in "\n".join(results["tests/test_api.py::test_setup_error"].lines)
    assert results["tests/test_api.py::test_ok"].lines == ()


def test_no_report_or_a_broken_one_is_none(tmp_path: Path) -> None:
    assert read_junit(tmp_path / "missing.xml") is None
    (tmp_path / "cut.xml").write_text('<testsuites><testsuite><testcase name="a"')
    assert read_junit(tmp_path / "cut.xml") is None


def _results(**outcomes: str) -> dict[str, TestResult]:
    return {k: TestResult(k, v, ("line",) if v == "failed" else ()) for k, v in outcomes.items()}  # type: ignore[arg-type]


def test_failing_in_both_runs_is_a_known_failure_and_failing_only_with_the_candidate_a_regression() -> None:
    candidate = _results(a="failed", b="failed", c="passed", d="failed", e="failed")
    baseline = _results(a="failed", b="passed", c="failed", d="skipped")
    regressions, known = classify(candidate, baseline)
    assert [(f.test_id, f.baseline) for f in known] == [("a", "failed")]
    # passed before; skipped before (nothing shows it failed); not run before
    assert [(f.test_id, f.baseline) for f in regressions] == [
        ("b", "passed"),
        ("d", "skipped"),
        ("e", "absent"),
    ]
    assert regressions[0].lines == ("line",)


def test_without_a_baseline_every_failure_is_a_regression_that_says_why() -> None:
    regressions, known = classify(_results(a="failed", b="passed"), None, no_baseline="no previous release")
    assert known == () and [(f.test_id, f.baseline) for f in regressions] == [("a", "no previous release")]


def test_a_stopped_command_takes_its_whole_process_group(tmp_path: Path) -> None:
    """The deadline's mechanism: a shell line whose children outlive the shell are killed with it, by the
    timeout or by another thread's cancel."""
    pids = tmp_path / "pids"
    line = f"sleep 300 & echo $! >> {pids}; sleep 300 & echo $! >> {pids}; wait"
    for kwargs in ({"timeout": 1.0}, {"cancel": threading.Event()}):
        pids.unlink(missing_ok=True)
        cancel = kwargs.get("cancel")
        if isinstance(cancel, threading.Event):
            threading.Timer(1.0, cancel.set).start()
        with (tmp_path / "log").open("w") as log:
            finished = run_stoppable(line, logfile=log, shell=True, **kwargs)  # type: ignore[arg-type]
        assert finished.returncode is None and (finished.timed_out or finished.cancelled)
        children = [int(p) for p in pids.read_text().split()]
        assert len(children) == 2
        for pid in children:
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
                    break
                time.sleep(0.1)
            assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), f"{pid} still runs"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"
