"""``shipwheel publish`` against real pypiserver and devpi-server (with authentication), through a proxy that
injects failures, and killed with SIGKILL at random moments."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from fixtures.gpg import GpgHome
from fixtures.index_servers import (
    FaultProxy,
    IndexServer,
    free_port,
    make_release,
    make_sdist,
    make_wheel,
    unique_project,
)
from shipwheel.cli import main_inner
from shipwheel.distfiles import file_digests
from shipwheel.errors import ConflictError
from shipwheel.publish import PublishSettings, UploadFailedError, publish_files
from shipwheel.sign import sign_files

pytestmark = pytest.mark.integration


def _env(server: IndexServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "SHIPWHEEL_NO_KEYRING": "1",
        **server.env(),
        **extra,
    }


def _expected(files: list[Path]) -> dict[str, str]:
    return {f.name: file_digests(f)["sha256"] for f in files}


def _cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args], env=full, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("kind", ["pypiserver", "devpi"])
def test_publish_then_rerun_skips(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server: IndexServer = request.getfixturevalue(kind)
    project = unique_project()
    files = make_release(tmp_path / "dist", project, "1.0.0", wheels=6)  # three Pythons on two platforms
    for name, value in _env(server, tmp_path).items():
        monkeypatch.setenv(name, value)
    assert main_inner(["publish", str(tmp_path / "dist"), "-j", "3", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in first["results"]] == ["uploaded"] * 7
    assert server.files(project) == _expected(files)
    assert main_inner(["publish", *map(str, files), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in again["results"]] == ["skipped"] * 7


def test_faults_are_retried_without_duplicates(pypiserver: IndexServer, tmp_path: Path) -> None:
    project = unique_project("faulty")
    files = make_release(tmp_path / "dist", project, "2.0", wheels=4)
    faults = ["503", "reset", "timeout", "drop", "503"]
    with FaultProxy(pypiserver.upload_url, faults=faults, get_faults=["503", "reset"], hang=5.0) as proxy:
        result = publish_files(files, PublishSettings(repository=proxy.url, index_url=proxy.url + "simple/", jobs=3, retries=6, timeout=4.0, backoff=0.05, environ=_env(pypiserver, tmp_path)))  # fmt: skip
    assert result.ok and {r.status for r in result.results} <= {"uploaded", "skipped"}
    assert server_files_equal(pypiserver, project, files)
    # Each file reached the index exactly once, and the sdist came after every wheel.
    assert sorted(proxy.uploads) == sorted(f.name for f in files)
    assert proxy.uploads[-1] == files[-1].name


def server_files_equal(server: IndexServer, project: str, files: list[Path]) -> bool:
    return server.files(project) == _expected(files)


def test_a_failing_wheel_holds_back_the_sdist(pypiserver: IndexServer, tmp_path: Path) -> None:
    project = unique_project("held")
    files = make_release(tmp_path / "dist", project, "1.0", wheels=3)
    env = _env(pypiserver, tmp_path)
    with (
        FaultProxy(pypiserver.upload_url, fail_file=files[1].name) as proxy,
        pytest.raises(UploadFailedError, match="sdist was not uploaded") as info,
    ):
        publish_files(
            files,
            PublishSettings(
                repository=proxy.url,
                index_url=proxy.url + "simple/",
                retries=2,
                backoff=0.01,
                environ=env,
            ),
        )
    statuses = {r.filename: r.status for r in info.value.result.results}
    assert statuses[files[1].name] == "failed" and statuses[files[-1].name] == "not-sent"
    assert files[-1].name not in pypiserver.files(project)
    # The next run finishes the release, sending only what is missing.
    result = publish_files(files, PublishSettings(repository=pypiserver.upload_url, environ=env))
    assert [r.status for r in result.results].count("uploaded") == 2
    assert server_files_equal(pypiserver, project, files)


def test_error_cases_are_one_line(pypiserver: IndexServer, tmp_path: Path) -> None:
    project = unique_project("errs")
    files = make_release(tmp_path / "dist", project, "1.0", wheels=1)
    env = _env(pypiserver, tmp_path)
    secret = "wrong-Secret-123"
    cases: list[tuple[list[str], dict[str, str], int, str]] = [
        (
            ["publish", str(tmp_path / "dist"), "--no-verify"],
            {**env, "SHIPWHEEL_PASSWORD": secret},
            7,
            "refused the credentials",
        ),
        (
            [
                "publish",
                str(tmp_path / "dist"),
                "--no-verify",
                "-r",
                f"http://127.0.0.1:{free_port()}/",
                "--retries",
                "1",
            ],
            env,
            6,
            "cannot reach",
        ),
        (
            ["publish", str(make_sdist(tmp_path / "zip", project, "1.0", fmt="zip")), "-r", "pypi"],
            {**env, "SHIPWHEEL_PASSWORD": secret},
            1,
            ".tar.gz",
        ),
        (["publish", str(tmp_path / "dist"), "-r", "http://example.org/legacy/"], env, 2, "plain http"),
    ]
    for args, case_env, code, needle in cases:
        proc = _cli(args, case_env)
        assert proc.returncode == code, (args, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and needle in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and secret not in proc.stderr + proc.stdout
    assert pypiserver.files(project) == {}
    # A hash conflict: the index has another file of the same name; nothing else is sent.
    publish_files([files[0]], PublishSettings(repository=pypiserver.upload_url, environ=env))
    changed = make_wheel(
        tmp_path / "changed", project, "1.0", files[0].name.split("-", 2)[2][:-4], payload=b"other"
    )
    make_sdist(tmp_path / "changed", project, "1.0")
    proc = _cli(["publish", str(tmp_path / "changed"), "--no-verify"], env)
    assert proc.returncode == 8 and "different contents" in proc.stderr and "Traceback" not in proc.stderr, (
        proc.stderr
    )
    assert set(pypiserver.files(project)) == {files[0].name}
    with pytest.raises(ConflictError):
        publish_files([changed], PublishSettings(repository=pypiserver.upload_url, environ=env))


def test_sigkill_at_random_moments_then_resume(pypiserver: IndexServer, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("SHIPWHEEL_TEST_SEED", "0")) or None)
    for round_ in range(2):
        project = unique_project("killed")
        files = make_release(tmp_path / f"dist{round_}", project, "1.0", wheels=6, payload_size=200_000)
        wheels = {f.name for f in files if f.name.endswith(".whl")}
        sdist = files[-1].name
        env = _env(pypiserver, tmp_path)
        violations: list[str] = []
        stop = threading.Event()

        def watch(
            project: str = project,
            sdist: str = sdist,
            wheels: set[str] = wheels,
            violations: list[str] = violations,
            stop: threading.Event = stop,
        ) -> None:
            while not stop.is_set():
                have = set(pypiserver.files(project))
                if sdist in have and not wheels <= have:
                    violations.append(f"sdist listed while {sorted(wheels - have)} missing")
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with FaultProxy(pypiserver.upload_url, delay=0.3) as proxy:
            args = [
                "publish",
                str(tmp_path / f"dist{round_}"),
                "-r",
                proxy.url,
                "--index-url",
                proxy.url + "simple/",
                "-j",
                "2",
                "--no-verify",
            ]
            full = {**os.environ, **env}
            for _ in range(4):
                proc = subprocess.Popen(
                    [sys.executable, "-m", "shipwheel", *args],
                    env=full,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(rng.uniform(0.3, 2.5))
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
            final = _cli(args, env)
        stop.set()
        watcher.join(10)
        assert final.returncode == 0, final.stderr
        assert server_files_equal(pypiserver, project, files)
        assert not violations, violations[:3]
        # Nothing reached the index twice (pypiserver refuses a second upload of a name; none was accepted twice).
        assert len(proxy.uploads) == len(set(proxy.uploads))
        assert proxy.uploads.index(sdist) > max(proxy.uploads.index(w) for w in wheels if w in proxy.uploads)


def test_signed_release_is_checked_and_signatures_go_to_the_index(
    pypiserver: IndexServer, gnupg_home: GpgHome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = unique_project("signed")
    files = make_release(tmp_path / "dist", project, "1.0", wheels=1)
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    sign_files([tmp_path / "dist"])
    from shipwheel.config import load_config  # the signer must be pinned (issue 10 item 7)
    from shipwheel.release import publish_check

    config = load_config(tmp_path, overrides={"sign.trusted-keys": [gnupg_home.fingerprint]})
    result = publish_files(
        files,
        PublishSettings(
            repository=pypiserver.upload_url, environ=_env(pypiserver, tmp_path), check=publish_check(config)
        ),
    )
    assert result.ok and server_files_equal(pypiserver, project, files)
    # pypiserver keeps the uploaded signature beside the file.
    stored = {p.name for p in pypiserver.root.iterdir()}
    assert {f"{f.name}.asc" for f in files} <= stored


def test_password_from_the_keyring(pypiserver: IndexServer, tmp_path: Path) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        store: ClassVar[dict[tuple[str, str], str]] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        keyring.set_password(pypiserver.upload_url, pypiserver.user, pypiserver.password)
        project = unique_project("keyring")
        files = make_release(tmp_path / "dist", project, "1.0", wheels=1)
        env = {
            "HOME": str(tmp_path),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "SHIPWHEEL_USERNAME": pypiserver.user,
        }
        result = publish_files(files, PublishSettings(repository=pypiserver.upload_url, environ=env))
        assert result.ok and server_files_equal(pypiserver, project, files)
    finally:
        keyring.set_keyring(previous)


def test_ambiguous_failure_asks_the_index_first(pypiserver: IndexServer, tmp_path: Path) -> None:
    project = unique_project("ambiguous")
    files = make_release(tmp_path / "dist", project, "1.0", wheels=2, sdist=False)
    events: list[str] = []
    # First upload: stored, answer lost (must not be sent again); second: lost before the index (must be resent).
    with FaultProxy(pypiserver.upload_url, faults=["timeout", "lost"], hang=3.0) as proxy:
        result = publish_files(files, PublishSettings(repository=proxy.url, index_url=proxy.url + "simple/", jobs=1, timeout=1.5, backoff=0.01, environ=_env(pypiserver, tmp_path)), on_event=lambda e: events.append(e.kind))  # fmt: skip
    assert result.ok and server_files_equal(pypiserver, project, files)
    assert sorted(proxy.uploads) == sorted(f.name for f in files)
    assert [r.attempts for r in result.results] == [1, 2] or [r.attempts for r in result.results] == [2, 1]
    assert events.count("retry") == 1


def test_dry_run_against_a_server_sends_and_writes_nothing(pypiserver: IndexServer, tmp_path: Path) -> None:
    project = unique_project("dry")
    files = make_release(tmp_path / "dist", project, "1.0", wheels=2)
    state = tmp_path / "state"
    result = publish_files(
        files,
        PublishSettings(
            repository=pypiserver.upload_url,
            dry_run=True,
            environ=_env(pypiserver, tmp_path),
            journal_dir=state,
        ),
    )
    assert result.dry_run and [f.action for f in result.plan.files] == ["upload"] * 3
    assert pypiserver.files(project) == {} and not state.exists()


def test_sdist_waits_for_the_index_to_list_every_wheel(pypiserver: IndexServer, tmp_path: Path) -> None:
    project = unique_project("unlisted")
    files = make_release(tmp_path / "dist", project, "1.0", wheels=2)
    events: list[str] = []
    with (
        FaultProxy(pypiserver.upload_url, hide_file=files[0].name) as proxy,
        pytest.raises(UploadFailedError, match="sdist was not uploaded"),
    ):
        publish_files(files, PublishSettings(repository=proxy.url, index_url=proxy.url + "simple/", wheel_wait=0.6, environ=_env(pypiserver, tmp_path)), on_event=lambda e: events.append(e.kind))  # fmt: skip
    assert events.count("wait") >= 2  # it asked again before giving up
    assert files[-1].name not in pypiserver.files(project) and files[0].name in pypiserver.files(project)
