"""verify's recorded results, reused only for the same bytes, name, version and settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shipwheel
from fixtures.index_servers import make_release, make_wheel
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.verify import Report, VerifyCache, verify_paths
from shipwheel.verify._cache import default_cache_path


def _release(folder: Path) -> list[Path]:
    return make_release(folder, "cachedemo", "1.0.0", wheels=3)


def _earlier(report: Report) -> set[str]:
    return {r.filename for r in report.files if r.verified_earlier}


def _names(files: list[Path]) -> set[str]:
    return {f.name for f in files}


def _comparable(report: Report) -> tuple[object, ...]:
    files = [{**f.to_json(), "verified_earlier": None} for f in report.files]
    return files, [p.to_json() for p in report.problems], report.completeness.to_json()


def test_recorded_result_reused_for_the_same_bytes(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    cache = VerifyCache(tmp_path / "results.json")
    first = verify_paths(files, jobs=1, cache=cache)
    assert first.ok() and _earlier(first) == set()
    again = verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(again) == _names(files)
    # the same report as a full check gives, release-level parts included
    assert _comparable(again) == _comparable(first)
    assert _comparable(again) == _comparable(verify_paths(files, jobs=1))


def test_changed_file_verified_again(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    changed = make_wheel(
        tmp_path / "dist", "cachedemo", "1.0.0", files[0].name.split("-", 2)[2][:-4], payload=b"x"
    )
    assert changed == files[0]
    report = verify_paths(files, jobs=2, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(report) == _names(files) - {changed.name}


def test_changed_ignore_list_verified_again(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    config = load_config(tmp_path, overrides={"verify.ignore": "readme-missing"})
    report = verify_paths(files, jobs=1, config=config, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(report) == set()
    # and that setting's records are reused in turn
    again = verify_paths(files, jobs=1, config=config, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(again) == _names(files)


def test_changed_size_limit_verified_again(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    config = load_config(tmp_path, overrides={"verify.max-file-size": 100})
    report = verify_paths(files, jobs=1, config=config, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(report) == set()
    assert {p.code for p in report.errors} == {"file-too-large"}


def test_new_shipwheel_version_verified_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _release(tmp_path / "dist")
    verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    monkeypatch.setattr(shipwheel._version, "__version__", "99.0")
    assert _earlier(verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))) == set()


def test_same_bytes_under_another_name_verified_again(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    other = tmp_path / "other" / files[0].name.replace("1.0.0", "1.0.1")
    other.parent.mkdir()
    other.write_bytes(files[0].read_bytes())
    report = verify_paths([other], jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(report) == set() and "dist-info-mismatch" in {p.code for p in report.errors}


def test_unparsable_records_are_ignored(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    path = tmp_path / "results.json"
    verify_paths(files, jobs=1, cache=VerifyCache(path))
    data = json.loads(path.read_text())
    key = next(k for k in data["entries"] if k.endswith(files[0].name))
    data["entries"][key]["result"]["size"] = "big"  # a record of the wrong shape
    key = next(k for k in data["entries"] if k.endswith(files[1].name))
    data["entries"][key]["result"]["problems"] = [{"code": "x"}]
    path.write_text(json.dumps(data))
    report = verify_paths(files, jobs=1, cache=VerifyCache(path))
    assert _earlier(report) == _names(files) - {files[0].name, files[1].name}
    assert report.ok()
    # a file that is not JSON at all: every file is checked again, and the file is rewritten whole
    path.write_bytes(b"\x00{not json")
    assert _earlier(verify_paths(files, jobs=1, cache=VerifyCache(path))) == set()
    assert _earlier(verify_paths(files, jobs=1, cache=VerifyCache(path))) == _names(files)


def test_failing_files_are_not_recorded(tmp_path: Path) -> None:
    bad = make_wheel(tmp_path / "dist", "cachedemo", "1.0.0+local")
    verify_paths([bad], jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    report = verify_paths([bad], jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(report) == set() and "version-local" in {p.code for p in report.errors}


def test_release_level_checks_run_over_reused_results(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    verify_paths(files, jobs=1, cache=VerifyCache(tmp_path / "results.json"))
    report = verify_paths(files, jobs=1, project="other", cache=VerifyCache(tmp_path / "results.json"))
    assert _earlier(report) == _names(files)
    assert "release-wrong-project" in {p.code for p in report.errors}


def test_cache_is_bounded(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    path = tmp_path / "results.json"
    verify_paths(files, jobs=1, cache=VerifyCache(path, max_entries=2))
    assert len(json.loads(path.read_text())["entries"]) == 2
    verify_paths(files, jobs=1, cache=VerifyCache(path, max_bytes=1))
    assert json.loads(path.read_text())["entries"] == {}
    assert not list(tmp_path.glob(".results.json.*"))  # no temporary file left behind


def test_cli_verify_records_in_the_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    files = _release(tmp_path / "dist")
    assert default_cache_path() == tmp_path / "state" / "shipwheel" / "verify-results.json"
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1"]) == 0
    assert _earlier(verify_paths(files, jobs=1, cache=VerifyCache())) == _names(files)


def test_unwritable_state_folder_costs_only_a_recheck(tmp_path: Path) -> None:
    files = _release(tmp_path / "dist")
    (tmp_path / "state").write_text("a file where the folder should be")
    cache = VerifyCache(tmp_path / "state" / "results.json")
    assert verify_paths(files, jobs=1, cache=cache).ok()
    assert _earlier(verify_paths(files, jobs=1, cache=VerifyCache(cache.path))) == set()
