"""``shipwheel verify`` on the command line: exit codes, one-line errors, JSON, --strict, defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.defective import SdistSpec, WheelSpec
from shipwheel.cli import main_inner
from shipwheel.errors import ConfigError, UsageError


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "120"},
    )


def test_clean_release_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    WheelSpec().build(tmp_path / "dist")
    SdistSpec().build(tmp_path / "dist")
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert "demo 1.0: 2 files, 0 errors, 0 warnings" in out and "ready to publish" in out


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    WheelSpec(filename="Demo-1.0-py3-none-any.whl").build(tmp_path / "dist")
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1"]) == 0
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1", "--strict"]) == 1


def test_json_output_and_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = WheelSpec(version="1.0+local").build(tmp_path)
    assert main_inner(["verify", str(path), "--json", "-j", "1"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [p["code"] for p in data["problems"]] == ["version-local"]
    assert main_inner(["verify", str(path), "--json", "-j", "1", "--ignore", "version-local"]) == 0
    with pytest.raises(ConfigError, match="unknown problem code 'version-locale'") as exc:
        main_inner(["verify", str(path), "--ignore", "version-locale"])
    assert "did you mean 'version-local'" in exc.value.hint


def test_project_and_version_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = WheelSpec().build(tmp_path)
    assert main_inner(["verify", str(path), "--project", "demo", "--version", "1.0", "--json"]) == 0
    capsys.readouterr()
    assert main_inner(["verify", str(path), "--version", "1.1", "--json"]) == 1
    codes = [p["code"] for p in json.loads(capsys.readouterr().out)["problems"]]
    assert codes == ["release-wrong-version"]


def test_default_path_is_the_wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no PATH given"):
        main_inner(["verify"])
    WheelSpec().build(tmp_path / "wheelhouse")
    assert main_inner(["verify", "-j", "1"]) == 0


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    proc = _cli("no-such-dir", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: no-such-dir does not exist;")
    assert len(proc.stderr.strip().splitlines()) == 1

    (tmp_path / "pyproject.toml").write_text("[tool.shipwheel.verify]\nmax-file-sise = 3\n")
    WheelSpec().build(tmp_path / "wheelhouse")
    proc = _cli("wheelhouse", cwd=tmp_path)
    assert proc.returncode == 3 and "max-file-size" in proc.stderr and "Traceback" not in proc.stderr

    (tmp_path / "pyproject.toml").unlink()
    proc = _cli("wheelhouse", "--html", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and "is a folder" in proc.stderr

    proc = _cli("wheelhouse", "--jobs", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_empty_folder_is_an_error_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main_inner(["verify", str(tmp_path / "empty"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"][0]["code"] == "release-no-files"


def test_nothing_written_outside_the_html_target(tmp_path: Path) -> None:
    WheelSpec().build(tmp_path / "dist")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = _cli("dist", "--html", "out/report.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert sorted(set(after) - set(before)) == [Path("out"), Path("out/report.html")]


def test_matrix_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cwd's [tool.shipwheel] is used for completeness when its project is the files' project."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Demo"\nrequires-python = ">=3.13,<3.15"\n\n[tool.shipwheel]\nplatforms = ["win_amd64", "win_arm64"]\n'
        "free-threaded = false\n"
    )
    WheelSpec(tags="cp313-cp313-win_amd64", files={"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}).build(
        tmp_path / "wheelhouse"
    )
    monkeypatch.chdir(tmp_path)
    assert main_inner(["verify", "--json", "-j", "1"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["completeness"]["source"] == "config"
    assert data["completeness"]["missing"] == ["cp313-win_arm64", "cp314-win_amd64", "cp314-win_arm64"]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert main_inner(["verify", "--json", "-j", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["completeness"]["source"] == "files"
    # the project's own pyproject.toml without [tool.shipwheel]: the default platforms are not its matrix
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    assert main_inner(["verify", "--json", "-j", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["completeness"]["source"] == "files"


def test_list_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_inner(["verify", "--list-codes", "--json"]) == 0
    codes = {c["code"]: c["severity"] for c in json.loads(capsys.readouterr().out)}
    assert codes["record-hash-mismatch"] == "error" and codes["matrix-unexpected"] == "warning"
