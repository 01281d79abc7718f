"""publish's speed: it reuses the results ``shipwheel verify`` recorded (and still sends nothing unverified),
and its uploads adapt their concurrency to the link."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixtures.index_servers import FaultProxy, IndexServer, make_release, make_wheel, unique_project
from shipwheel.cli import main_inner
from shipwheel.errors import VerificationError
from shipwheel.publish import PublishEvent, PublishSettings, publish_files
from shipwheel.release import publish_check


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SHIPWHEEL_NO_KEYRING", "1")
    return tmp_path / "state"


def test_publish_after_verify_reuses_its_results(
    pypiserver: IndexServer, tmp_path: Path, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = unique_project("fastpub")
    files = make_release(tmp_path / "dist", project, "1.0.0", wheels=3)
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1"]) == 0  # the release manager's order
    events: list[PublishEvent] = []
    result = publish_files(
        files,
        PublishSettings(
            repository=pypiserver.upload_url, environ=pypiserver.env(), check=publish_check(None)
        ),
        on_event=events.append,
    )
    assert result.ok and set(result.verified_earlier) == {f.name for f in files}
    assert result.as_dict()["verified_earlier"] == list(result.verified_earlier)
    assert any(e.kind == "plan" and "4 file(s) verified earlier" in e.detail for e in events)
    assert set(pypiserver.files(project)) == {f.name for f in files}


def test_publish_verifies_new_files_and_sends_nothing_unverified(
    pypiserver: IndexServer, tmp_path: Path, state: Path
) -> None:
    project = unique_project("fastpub")
    files = make_release(tmp_path / "dist", project, "1.0.0", wheels=2)
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1"]) == 0
    # a file changed after verify (its name kept): checked again, and its problem stops the publish
    tag = files[0].name.split("-", 2)[2][: -len(".whl")]
    make_wheel(tmp_path / "dist", project, "1.0.0", tag, payload=b"changed")
    with pytest.raises(VerificationError):
        broken = files[0].read_bytes().replace(b"WHEEL", b"WHEEX")
        files[0].write_bytes(broken)
        publish_files(
            files,
            PublishSettings(
                repository=pypiserver.upload_url, environ=pypiserver.env(), check=publish_check(None)
            ),
        )
    assert pypiserver.files(project) == {}
    # rebuilt: verified now (not earlier), the others reused, everything sent
    make_wheel(tmp_path / "dist", project, "1.0.0", tag, payload=b"rebuilt")
    result = publish_files(
        files,
        PublishSettings(
            repository=pypiserver.upload_url, environ=pypiserver.env(), check=publish_check(None)
        ),
    )
    assert set(result.verified_earlier) == {f.name for f in files[1:]}
    assert set(pypiserver.files(project)) == {f.name for f in files}


def test_publish_json_says_verified_earlier(
    tmp_path: Path, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = make_release(tmp_path / "dist", "fastpub-static", "1.0.0", wheels=2)
    assert main_inner(["verify", str(tmp_path / "dist"), "-j", "1", "--json"]) == 0
    capsys.readouterr()
    assert main_inner(["publish", str(tmp_path / "dist"), "-r", f"file:{tmp_path / 'index'}", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["verified_earlier"]) == {f.name for f in files}


def _connections(events: list[PublishEvent]) -> list[int]:
    return [e.amount for e in events if e.kind == "connections"]


@pytest.mark.parametrize("fixed", [False, True])
def test_publish_uploads_back_off_on_503(
    pypiserver: IndexServer, tmp_path: Path, state: Path, fixed: bool
) -> None:
    project = unique_project("adaptpub")
    files = make_release(tmp_path / "dist", project, "1.0.0", wheels=6)
    events: list[PublishEvent] = []
    # the smallest wheel goes first, alone; then the index answers 503 three times
    with FaultProxy(pypiserver.upload_url, faults=["pass", "503", "503", "503"]) as proxy:
        settings = PublishSettings(
            repository=proxy.url,
            environ=pypiserver.env(),
            backoff=0.01,
            jobs=8,
            fixed_jobs=fixed,
        )
        result = publish_files(files, settings, on_event=events.append)
    assert result.ok and set(pypiserver.files(project)) == {f.name for f in files}
    seen = _connections(events)
    if fixed:
        assert seen == [8]
    else:
        assert seen[0] == 4 and min(seen) < 4 and max(seen) <= 8, seen


@pytest.mark.timeout(120)
def test_publish_uploads_grow_on_a_link_that_limits_each_connection(
    pypiserver: IndexServer, tmp_path: Path, state: Path
) -> None:
    """Each connection carries about 1 MB/s (the proxy reads every body at that rate; a wheel takes a second):
    more connections carry more in all, so the adaptive uploads start at 4 and grow, never above -j."""
    project = unique_project("growpub")
    platforms = ("manylinux_2_17_x86_64", "win_amd64", "macosx_11_0_arm64", "musllinux_1_2_x86_64")
    files = [
        make_wheel(tmp_path / "dist", project, "1.0.0", f"cp3{minor}-cp3{minor}-{plat}", payload=os.urandom(1 << 20))
        for minor in range(8, 14)
        for plat in platforms
    ]  # fmt: skip
    events: list[PublishEvent] = []
    with FaultProxy(pypiserver.upload_url, read_rate=1e6) as proxy:
        settings = PublishSettings(repository=proxy.url, environ=pypiserver.env(), jobs=16)
        result = publish_files(files, settings, on_event=events.append)
    assert result.ok and set(pypiserver.files(project)) == {f.name for f in files}
    seen = _connections(events)
    assert seen[0] == 4 and max(seen) > 8 and max(seen) <= 16, seen


def test_config_publish_jobs_alone_keeps_uploads_fixed(
    pypiserver: IndexServer,
    tmp_path: Path,
    state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``publish.jobs`` set in the environment (or pyproject.toml) is kept as set; ``-j N`` alone is a cap that
    the adaptive uploads start below (or at, when it is smaller than the start value)."""
    for key, value in pypiserver.env().items():
        monkeypatch.setenv(key, value)
    base = ["publish", "-r", pypiserver.upload_url, "--no-verify", "--json"]
    project = unique_project("fixedpub")
    make_release(tmp_path / "a", project, "1.0.0", wheels=3)
    monkeypatch.setenv("SHIPWHEEL_PUBLISH_JOBS", "6")
    assert main_inner([*base, str(tmp_path / "a")]) == 0
    assert json.loads(capsys.readouterr().out)["connections"] == [6]
    monkeypatch.delenv("SHIPWHEEL_PUBLISH_JOBS")
    make_release(tmp_path / "b", project, "1.0.1", wheels=3)
    assert main_inner([*base, str(tmp_path / "b"), "-j", "6"]) == 0
    assert json.loads(capsys.readouterr().out)["connections"][0] == 4  # -j 6 is the cap, the start stays 4
    make_release(tmp_path / "c", project, "1.0.2", wheels=3)
    assert main_inner([*base, str(tmp_path / "c"), "-j", "6", "--fixed-jobs"]) == 0
    assert json.loads(capsys.readouterr().out)["connections"] == [6]


def test_upload_progress_is_reported_per_mebibyte_and_whole(tmp_path: Path) -> None:
    """httpx reads the file 64 KiB at a time; progress (and the adaptive limit's clock) is fed per MiB and at the
    end, so the reports add up to the file, and a rewind (httpx renders the body again on a retry) starts over."""
    import io

    from shipwheel.publish._upload import ProgressFile

    data = os.urandom((3 << 20) + 12345)
    reports: list[int] = []
    body = ProgressFile(io.BytesIO(data), reports.append)
    while body.read(64 << 10):
        pass
    assert body.complete and sum(reports) == len(data) and len(reports) == 4
    assert all(r >= 1 << 20 for r in reports[:-1])
    reports.clear()
    body.seek(0)
    body.read(64 << 10)
    body.seek(0)  # rewound before anything was reported: nothing is counted twice
    while body.read(64 << 10):
        pass
    assert sum(reports) == len(data)
