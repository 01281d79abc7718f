"""The release's ``check`` agrees with the steps after it, and a git lock left by a killed git is named with the
way to clear it before a step that commits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.errors import ProjectError, VerificationError
from shipwheel.release import state_path


def _repo(tmp_path: Path, release_table: str) -> tuple[Path, list[str]]:
    repo = make_kahan_repo(tmp_path / "kahan")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(f"\n[tool.shipwheel.release]\n{release_table}\n")
    git(repo, "commit", "-qam", "configure the release")
    return repo, ["-r", f"file:{tmp_path / 'index'}", "--config-dir", str(repo)]


def test_check_leaves_the_notes_to_a_later_notes_step(tmp_path: Path) -> None:
    repo, opts = _repo(tmp_path, 'steps = ["check", "notes"]\nnotes-file = "doc/release/{version}-notes.rst"')
    # the notes do not exist yet: the notes step writes them, after the check
    assert main_inner(["release", "1.0.0", "--only", "check", *opts]) == 0
    record = json.loads(state_path(repo, "1.0.0").read_text())
    assert record["steps"]["check"]["status"] == "done"
    assert main_inner(["release", "1.0.0", *opts]) == 0
    assert (repo / "doc" / "release" / "1.0.0-notes.rst").is_file()


def test_check_without_a_later_notes_step_requires_the_notes(tmp_path: Path) -> None:
    _, opts = _repo(tmp_path, 'steps = ["check", "build"]\nnotes-file = "doc/release/{version}-notes.rst"')
    with pytest.raises(VerificationError, match=r"notes-present"):
        main_inner(["release", "1.0.0", "--only", "check", *opts])


def test_release_without_a_version_step_fails_at_check_naming_both_versions(tmp_path: Path) -> None:
    repo, opts = _repo(tmp_path, 'steps = ["check", "tag"]')
    with pytest.raises(VerificationError) as info:
        main_inner(["release", "1.0.1", *opts])
    assert "version-files" in info.value.message
    assert "pyproject.toml holds 1.0.0, not 1.0.1" in info.value.message
    record = json.loads(state_path(repo, "1.0.1").read_text())
    assert record["steps"]["check"]["status"] == "failed" and record["steps"]["tag"]["status"] == "pending"
    assert git(repo, "tag", "-l") == ""


def test_check_leaves_the_version_files_to_a_later_version_step(tmp_path: Path) -> None:
    repo, opts = _repo(tmp_path, 'steps = ["check", "version"]')
    assert main_inner(["release", "1.0.1", *opts]) == 0
    assert 'version = "1.0.1"' in (repo / "pyproject.toml").read_text()


def test_a_lock_left_by_a_killed_git_is_named_with_the_command_that_clears_it(tmp_path: Path) -> None:
    repo, opts = _repo(tmp_path, 'steps = ["check", "version"]')
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")
    old = time.time() - 600
    os.utime(lock, (old, old))
    with pytest.raises(ProjectError) as info:
        main_inner(["release", "1.0.1", *opts])
    assert "left by a git command that was killed" in info.value.message
    assert f"rm {lock}" in info.value.hint
    record = json.loads(state_path(repo, "1.0.1").read_text())
    assert (
        record["steps"]["version"]["status"] == "failed"
        and "index.lock" in record["steps"]["version"]["detail"]
    )
    assert lock.exists()  # never removed behind the user's back
    lock.unlink()  # as the hint says
    assert main_inner(["release", "1.0.1", *opts]) == 0
    assert git(repo, "log", "-1", "--format=%s").strip() != "configure the release"


_RUN_KILLED_IN_GIT = """
import sys, time
from pathlib import Path
from shipwheel._git import Git
git = Git(Path(sys.argv[1]))
git._mark_index_op()  # as Git.run does before a commit
for name in sys.argv[2:]:  # the commit's git takes its locks ...
    (git.git_dir() / name).write_bytes(b"")
print("locked", flush=True)
time.sleep(120)  # ... and the whole run is killed there
"""


@pytest.mark.parametrize(
    "locks",
    [
        ["index.lock"],
        # a commit killed while it moves the branch: HEAD's and the branch's locks stay beside the index's
        ["index.lock", "HEAD.lock", "refs/heads/main.lock"],
    ],
)
def test_the_lock_of_shipwheels_own_killed_run_is_removed_and_the_release_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], locks: list[str]
) -> None:
    import signal

    repo, opts = _repo(tmp_path, 'steps = ["check", "version"]')
    lock = repo / ".git" / locks[-1]
    with subprocess.Popen(
        [sys.executable, "-c", _RUN_KILLED_IN_GIT, str(repo), *locks], stdout=subprocess.PIPE, text=True
    ) as run:
        assert run.stdout is not None and run.stdout.readline().strip() == "locked"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    assert lock.exists() and list((repo / ".git").glob("shipwheel-index-op-*"))
    assert main_inner(["release", "1.0.1", *opts]) == 0
    assert "left by the git command of a shipwheel run that was killed" in capsys.readouterr().err
    assert not any((repo / ".git" / name).exists() for name in locks)
    assert not list((repo / ".git").glob("shipwheel-index-op-*"))
    assert 'version = "1.0.1"' in git(repo, "show", "HEAD:pyproject.toml")


def test_a_ref_lock_shipwheel_did_not_leave_is_named_not_removed(tmp_path: Path) -> None:
    """``HEAD.lock`` with no marker of a killed run: named with the command that clears it, never removed."""
    repo, opts = _repo(tmp_path, 'steps = ["check", "version"]')
    lock = repo / ".git" / "HEAD.lock"
    lock.write_bytes(b"")
    old = time.time() - 600
    os.utime(lock, (old, old))
    with pytest.raises(ProjectError) as info:
        main_inner(["release", "1.0.1", *opts])
    assert "HEAD.lock was left by a git command that was killed" in info.value.message
    assert f"rm {lock}" in info.value.hint and lock.exists()


def test_a_lock_with_the_marker_of_a_live_run_is_left_alone(tmp_path: Path) -> None:
    repo, opts = _repo(tmp_path, 'steps = ["check", "version"]')
    lock = repo / ".git" / "index.lock"
    marker = repo / ".git" / f"shipwheel-index-op-{os.getpid()}"  # this process: alive
    marker.write_text(str(os.getpid()))
    lock.write_bytes(b"")
    old = time.time() - 600
    os.utime(marker, (old - 1, old - 1))
    os.utime(lock, (old, old))
    with pytest.raises(ProjectError, match="left by a git command that was killed"):
        main_inner(["release", "1.0.1", *opts])
    assert lock.exists()
    marker.unlink()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc to see the lock's holder")
def test_a_lock_a_running_process_holds_is_reported_busy_not_stale(tmp_path: Path) -> None:
    repo, opts = _repo(tmp_path, 'steps = ["check", "version"]')
    lock = repo / ".git" / "index.lock"
    hold = "import sys, time; f = open(sys.argv[1], 'w'); print('held', flush=True); time.sleep(120)"
    with subprocess.Popen(
        [sys.executable, "-c", hold, str(lock)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            old = time.time() - 600  # old, yet held: a git that is working, not one that was killed
            os.utime(lock, (old, old))
            with pytest.raises(ProjectError) as info:
                main_inner(["release", "1.0.1", *opts])
            assert "git is busy" in info.value.message and f"{holder.pid} (python" in info.value.message
            assert "rm " not in info.value.hint
        finally:
            holder.kill()


def test_index_free_fails_closed_for_a_project_that_names_itself_nowhere(tmp_path: Path) -> None:
    from packaging.version import Version

    from shipwheel.config import load_config
    from shipwheel.release._preflight import _index

    folder = tmp_path / "nameless"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n', encoding="utf-8")
    config = load_config(folder, environ={})
    result = _index(config, f"file:{tmp_path / 'index'}", Version("1.0.0"))
    assert (result.code, result.status) == ("index-free", "fail")
    assert "names itself nowhere" in result.message


def test_the_sign_step_leaves_an_ssh_key_to_the_tag(tmp_path: Path) -> None:
    import shutil

    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "release-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    repo, opts = _repo(tmp_path, 'steps = ["sign"]')
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(f'\n[tool.shipwheel.sign]\nkey = "{key}.pub"\n')
    git(repo, "commit", "-qam", "an SSH release key")
    assert main_inner(["release", "1.0.0", *opts]) == 0
    record = json.loads(state_path(repo, "1.0.0").read_text())["steps"]["sign"]
    assert record["status"] == "skipped" and "SSH key" in record["detail"]
