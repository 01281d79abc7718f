"""``shipwheel stage`` into folders: manifest, static index that pip installs from, conflicts, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from shipwheel.cli import main_inner
from shipwheel.distfiles import collect_release_files as collect_files
from shipwheel.distfiles import file_digests
from shipwheel.errors import ConflictError, UsageError
from shipwheel.manifest import parse_manifest
from shipwheel.staging import Selection, fetch_release, stage_files
from shipwheel.staging._containers._local import LocalContainer


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    folder = tmp_path / "wheelhouse"
    make_wheel(folder, "demo-pkg", "1.0rc1", payload=b"one")
    make_wheel(folder, "demo-pkg", "1.0rc1", "cp312-cp312-win_amd64", payload=b"two")
    (folder / "demo_pkg-1.0rc1.tar.gz").write_bytes(b"not really an sdist, but named like one")
    (folder / "build.log").write_text("ignored: not a release file")
    return folder


def test_stage_folder_writes_files_manifest_and_index(wheelhouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "staging"
    report = stage_files([wheelhouse], LocalContainer(target))
    assert [f.status for f in report.files] == ["staged"] * 3
    names = sorted(p.name for p in target.iterdir())
    assert names == [
        "SHA256SUMS",
        "demo_pkg-1.0rc1-cp312-cp312-win_amd64.whl",
        "demo_pkg-1.0rc1-py3-none-any.whl",
        "demo_pkg-1.0rc1.tar.gz",
        "simple",
    ]
    manifest = parse_manifest((target / "SHA256SUMS").read_text())
    assert manifest == {p.name: file_digests(p)["sha256"] for p in wheelhouse.iterdir() if p.suffix != ".log"}
    page = json.loads((target / "simple" / "demo-pkg" / "index.json").read_text())
    assert {f["filename"]: f["hashes"]["sha256"] for f in page["files"]} == manifest
    # Staging again is a no-op; another release adds to the same index.
    again = stage_files([wheelhouse], LocalContainer(target))
    assert [f.status for f in again.files] == ["present"] * 3
    other = make_wheel(tmp_path / "other", "demo-pkg", "1.0rc2")
    stage_files([other], LocalContainer(target))
    page = json.loads((target / "simple" / "demo-pkg" / "index.json").read_text())
    assert page["versions"] == ["1.0rc1", "1.0rc2"] and len(page["files"]) == 4


def test_staged_container_round_trips_through_fetch(wheelhouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "staging"
    stage_files([wheelhouse], LocalContainer(target))
    report = fetch_release(
        LocalContainer(target), Selection(project="Demo.Pkg", version="1.0rc1"), tmp_path / "out"
    )
    assert report.ok and all("sha256 (SHA256SUMS)" in f.verified_by for f in report.files)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in wheelhouse.iterdir() if p.suffix != ".log"
    )


def test_pip_installs_the_release_candidate_from_the_staged_index(wheelhouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "staging"
    stage_files([wheelhouse], LocalContainer(target))
    proc = subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--pre", "--disable-pip-version-check",
            "--no-cache-dir", "--only-binary", ":all:", "--platform", "any", "--python-version", "3.12",
            "--index-url", (target / "simple").as_uri() + "/", "-d", str(tmp_path / "dl"), "demo-pkg==1.0rc1",
        ],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["demo_pkg-1.0rc1-py3-none-any.whl"]


def test_conflicting_file_is_refused_unless_overwrite(wheelhouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "staging"
    stage_files([wheelhouse], LocalContainer(target))
    changed = tmp_path / "changed" / "demo_pkg-1.0rc1.tar.gz"
    changed.parent.mkdir()
    changed.write_bytes(b"a different sdist under the same name")
    with pytest.raises(
        ConflictError, match=r"already holds different files named demo_pkg-1\.0rc1\.tar\.gz"
    ) as info:
        stage_files([changed], LocalContainer(target))
    assert info.value.exit_code == 8
    assert (target / changed.name).read_bytes() != changed.read_bytes()
    stage_files([changed], LocalContainer(target), overwrite=True)
    assert (target / changed.name).read_bytes() == changed.read_bytes()
    assert (
        parse_manifest((target / "SHA256SUMS").read_text())[changed.name] == file_digests(changed)["sha256"]
    )


def test_collect_files_refuses_bad_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="is not a wheel or sdist filename"):
        collect_files([tmp_path / "notes.txt"])
    with pytest.raises(UsageError, match="holds no wheel or sdist"):
        collect_files([tmp_path / "empty"])
    with pytest.raises(UsageError, match="does not exist"):
        collect_files([tmp_path / "missing.whl"])


def test_cli_stage_and_its_errors(
    wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "staging"
    assert main_inner(["stage", str(wheelhouse), "--to", str(target), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_files"] == 3 and "simple/demo-pkg/index.html" in out["index_pages"]
    for argv, code, message in [
        (["stage", str(wheelhouse)], 2, "no container to stage into"),
        (
            ["stage", str(wheelhouse), "--to", "gopher://example.invalid/"],
            2,
            "unsupported container URL scheme",
        ),
        (["stage", str(tmp_path / "nope.whl"), "--to", str(target)], 2, "does not exist"),
        (["stage", str(wheelhouse), "--to", str(target / "SHA256SUMS")], 2, "is a file, not a folder"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "shipwheel", *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert proc.returncode == code, proc.stderr
        assert "Traceback" not in proc.stderr and message in " ".join(proc.stderr.split())


def test_stage_says_staged_and_names_the_release_to_install(wheelhouse: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "stage", str(wheelhouse), "--to", str(tmp_path / "staging")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "uploaded" not in out and "3 staged, 0 already there" in out
    assert "PROJECT==VERSION" not in out
    assert (
        f"pip install --index-url {(tmp_path / 'staging').resolve().as_uri()}/simple/ demo-pkg==1.0rc1" in out
    )
