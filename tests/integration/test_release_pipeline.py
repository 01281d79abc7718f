"""``shipwheel release`` end to end: the example released to a real pypiserver, a failure injected, resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome
from fixtures.index_servers import FaultProxy, IndexServer, unique_project
from fixtures.processes import free_port
from fixtures.release_repo import git, make_kahan_repo
from fixtures.smtp_server import LISTS, PASSWORD, USER, Mailbox
from shipwheel.cli import main_inner
from shipwheel.errors import RemoteError, ShipwheelError

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SELECT = f"cp{sys.version_info.major}{sys.version_info.minor}-*"


def _snapshot(repo: Path, server: IndexServer, name: str) -> tuple[str, str, str, dict[str, str], list[str]]:
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if ".git" not in p.parts)
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "tag", "-l"),
        git(repo, "status", "--porcelain", "--ignored"),
        server.files(name),
        files,
    )


def test_release_end_to_end_resumes_after_failures(
    tmp_path: Path,
    pypiserver: IndexServer,
    smtp_server: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    name = unique_project("kahan")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('name = "kahan"', f'name = "{name}"') + "\n[tool.shipwheel.release]\n"
        'announce-from = "Release Manager <rm@kahan.invalid>"\n'
        f"announce-to = {json.dumps(LISTS)}\n"
        f'smtp-host = "127.0.0.1"\nsmtp-port = {smtp_server.port}\nsmtp-user = "{USER}"\n'
        f'smtp-ca-file = "{smtp_server.ca_file}"\n'
    )
    git(repo, "commit", "-qam", "name of its own on the shared index; the announcement's relay")
    monkeypatch.setenv("SHIPWHEEL_SMTP_PASSWORD", PASSWORD)
    for key, value in pypiserver.env().items():
        if key != "SHIPWHEEL_REPOSITORY_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("SHIPWHEEL_PUBLISH_RETRIES", "0")  # fail at once on the injected error
    # The example's own test looks for kahan.libs/, which auditwheel names after the renamed project.
    monkeypatch.setenv("SHIPWHEEL_TEST_COMMAND", "")
    base = ["release", "1.0.1", "--select", SELECT, "--config-dir", str(repo)]
    start = git(repo, "rev-parse", "HEAD").strip()

    # --dry-run: the plan, and nothing changes (git, the index, the files)
    before = _snapshot(repo, pypiserver, name)
    capsys.readouterr()
    assert main_inner([*base, "-r", pypiserver.upload_url, "--dry-run", "--json"]) == 0
    plan = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert plan["version"] == plan["tag"] == plan["build"] == plan["publish"] == "would-run"
    assert plan["sign"] == "skipped"
    assert _snapshot(repo, pypiserver, name) == before
    assert smtp_server.mails == []

    # 1. the index is down: the preflight cannot ask it, nothing is changed
    down = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(ShipwheelError, match="index-free"):
        main_inner([*base, "-r", down])
    assert git(repo, "rev-parse", "HEAD").strip() == start and git(repo, "tag", "-l") == ""

    # 2. the index is up but refuses the sdist: the wheels go up, the sdist does not
    with FaultProxy(pypiserver.upload_url, fail_file=f"{name.replace('-', '_')}-1.0.1.tar.gz") as proxy:
        with pytest.raises(RemoteError):
            main_inner([*base, "-r", proxy.url])
        sent_first = list(proxy.uploads)
    state = json.loads((repo / ".shipwheel" / "releases" / "1.0.1.json").read_text())
    assert state["steps"]["publish"]["status"] == "failed"
    assert state["steps"]["tag"]["status"] == "done" and state["steps"]["bump"]["status"] == "pending"
    on_index = pypiserver.files(name)
    assert [n for n in on_index if n.endswith(".whl")] and not [n for n in on_index if n.endswith(".tar.gz")]

    # 3. the same command against the index: resumes at publish, sends only the sdist, bumps
    capsys.readouterr()
    assert main_inner([*base, "-r", pypiserver.upload_url, "--json"]) == 0
    steps = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps == {
        "check": "done", "notes": "skipped", "version": "done", "tag": "done", "build": "done",
        "verify": "done", "downstream": "skipped", "sign": "skipped", "stage": "skipped", "publish": "ran",
        "docs": "skipped",
        "announce": "ran",
        "bump": "ran",
    }  # fmt: skip

    # one tag, one commit per change, every file on the index once and with the local bytes
    assert git(repo, "tag", "-l").split() == ["v1.0.1"]
    log = git(repo, "log", "--format=%s", f"{start}..HEAD").splitlines()
    assert log == ["MAINT: Prepare for 1.0.2.dev0 development", "REL: Release 1.0.1"]
    assert git(repo, "rev-parse", "v1.0.1^{commit}") == git(repo, "rev-parse", "HEAD~1")
    wheelhouse = repo / "wheelhouse"
    local = {p.name for p in wheelhouse.iterdir() if "1.0.1" in p.name}
    on_index = pypiserver.files(name)
    assert set(on_index) == local and len(local) == 2
    assert sent_first.count(next(n for n in local if n.endswith(".whl"))) == 1
    assert len(smtp_server.mails) == 1  # announced once, to every list
    assert sorted(smtp_server.mails[0][0]) == sorted(LISTS)

    # 4. again: nothing to do, nothing changes
    after = _snapshot(repo, pypiserver, name)
    capsys.readouterr()
    assert main_inner([*base, "-r", pypiserver.upload_url, "--json"]) == 0
    steps = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert "ran" not in steps.values()
    assert _snapshot(repo, pypiserver, name)[:4] == after[:4]
    assert len(smtp_server.mails) == 1

    # status shows every step
    assert main_inner(["status", "1.0.1", "--json", "--config-dir", str(repo)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["steps"]["publish"]["status"] == "done" and status["steps"]["bump"]["status"] == "done"


def test_release_killed_mid_build_resumes_signed(
    tmp_path: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """kill -9 while the wheels build, then the same command: the signed tag is kept, the rest completes."""
    repo = make_kahan_repo(tmp_path / "kahan")
    index = tmp_path / "index"
    env = {
        **gnupg_home.env(),
        "SHIPWHEEL_SIGN_KEY": gnupg_home.fingerprint,
        "SHIPWHEEL_TEST_COMMAND": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    argv = ["release", "1.0.1", "--select", SELECT, "-r", f"file:{index}", "--config-dir", str(repo)]
    record = repo / ".shipwheel" / "releases" / "1.0.1.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipwheel", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads(record.read_text())["steps"]["build"]["status"] == "running":
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        assert proc.poll() is None, "the release ended before the build started"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    state = json.loads(record.read_text())
    assert state["steps"]["tag"]["status"] == "done" and state["steps"]["build"]["status"] == "running"
    tag_object = git(repo, "rev-parse", "v1.0.1")

    capsys.readouterr()
    assert main_inner([*argv, "--json"]) == 0
    steps = {s["step"]: s["outcome"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert (
        steps["tag"] == "done"
        and steps["build"] == steps["sign"] == steps["publish"] == steps["bump"] == "ran"
    )
    assert git(repo, "rev-parse", "v1.0.1") == tag_object  # the same tag object, not a second tag
    subprocess.run(["git", "verify-tag", "v1.0.1"], cwd=repo, env=env, check=True, capture_output=True)
    log = git(repo, "log", "--format=%s", "HEAD~2..HEAD").splitlines()
    assert log == ["MAINT: Prepare for 1.0.2.dev0 development", "REL: Release 1.0.1"]
    wheelhouse = repo / "wheelhouse"
    released = sorted(
        p.name for p in wheelhouse.iterdir() if "1.0.1" in p.name and not p.name.endswith(".asc")
    )
    assert (
        all((wheelhouse / f"{n}.asc").is_file() for n in released)
        and (wheelhouse / "SHA256SUMS.asc").is_file()
    )
    assert sorted(p.name for p in index.iterdir() if "1.0.1" in p.name) == released
