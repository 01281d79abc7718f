"""Invariant (c): every read is bounded in size, files on user-controlled paths included.

A file read whole into memory from a path the user (or a checkout, or a wheelhouse someone else filled) controls
is read with a limit: a huge file or one without end (``/dev/zero`` behind a link) is a one-line error, or for a
cache or a record that is only an optimisation, ignored, never a full memory. Huge files are sparse (no disk).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fixtures.index_servers import make_release
from shipwheel._fs import read_limited
from shipwheel.cli import main_inner
from shipwheel.errors import ConfigError, ShipwheelError

ZERO = Path("/dev/zero")
needs_dev_zero = pytest.mark.skipif(not ZERO.exists(), reason="needs /dev/zero")


def _huge(path: Path, size: int = 200 << 20) -> Path:
    """A sparse file of ``size`` zero bytes (no disk used)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def _error(argv: list[str]) -> ShipwheelError:
    with pytest.raises(ShipwheelError) as info:
        main_inner(argv)
    assert "\n" not in info.value.one_line()
    return info.value


@needs_dev_zero
def test_invariant_c_read_limited_stops_at_the_limit(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="is a device"):  # refused before it is opened: never read at all
        read_limited(ZERO, 1 << 20)
    huge = _huge(tmp_path / "huge", 3 << 20)
    with pytest.raises(OSError, match="larger than the limit"):
        read_limited(huge, 1 << 20)
    small = tmp_path / "small"
    small.write_bytes(b"x" * 10)
    assert read_limited(small, 10) == b"x" * 10


@needs_dev_zero
@pytest.mark.parametrize("kind", ["dev-zero", "huge"])
def test_invariant_c_pyproject_is_bounded(tmp_path: Path, kind: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if kind == "dev-zero":  # not a regular file: ignored like a missing one, or refused; never read whole
        (project / "pyproject.toml").symlink_to(ZERO)
        try:
            main_inner(["config", str(project)])
        except ShipwheelError as exc:
            assert "\n" not in exc.one_line()
        return
    _huge(project / "pyproject.toml")
    error = _error(["config", str(project)])
    assert "larger than the limit" in error.one_line()


@needs_dev_zero
@pytest.mark.parametrize("suffix", [".json", ".txt"])
def test_invariant_c_titles_file_is_bounded(tmp_path: Path, suffix: str) -> None:
    titles = tmp_path / f"titles{suffix}"
    titles.symlink_to(ZERO)
    from shipwheel.notes._pulls import read_titles_file

    with pytest.raises(ShipwheelError, match="is a device"):
        read_titles_file(titles)
    titles.unlink()
    _huge(titles, 80 << 20)
    with pytest.raises(ShipwheelError, match="larger than the limit"):
        read_titles_file(titles)


def test_invariant_c_sha256sums_is_bounded(tmp_path: Path) -> None:
    files = make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    _huge(tmp_path / "dist" / "SHA256SUMS")
    (tmp_path / "dist" / "SHA256SUMS.asc").write_text("not a signature\n")
    error = _error(["sign", "--verify", str(files[0].parent), "--trusted-key", "A" * 40])
    assert error.exit_code != 0


def test_invariant_c_pypirc_is_bounded(tmp_path: Path) -> None:
    from shipwheel.publish._repository import read_pypirc

    with pytest.raises(ConfigError, match=r"not a valid \.pypirc"):
        read_pypirc(_huge(tmp_path / ".pypirc", 50 << 20))


def test_invariant_c_release_record_is_bounded(tmp_path: Path) -> None:
    from shipwheel.release._state import ReleaseState

    record = _huge(tmp_path / ".shipwheel" / "releases" / "1.0.json")
    state = ReleaseState.load(record, "1.0")  # a damaged record: rebuilt from the real state
    assert state.version == "1.0"


def test_invariant_c_publish_journal_and_cache_are_bounded(tmp_path: Path) -> None:
    from shipwheel.publish._journal import Journal
    from shipwheel.publish._plan import digest_files

    state = tmp_path / "state"
    journal = Journal(path=_huge(state / "demo-1.0-x.jsonl"))
    with pytest.raises(ConfigError, match="larger than the limit"):
        journal._replay()
    files = make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    _huge(state / "digests.json")
    assert set(digest_files(files, jobs=1, cache=state / "digests.json")) == set(files)
    assert os.path.getsize(state / "digests.json") < 1 << 20  # replaced by a sound cache


# -- output of commands the project configures ------------------------------------------------------------------


def test_invariant_c_configured_command_output_is_bounded() -> None:
    from shipwheel import _subprocess
    from shipwheel.errors import CommandError

    with pytest.raises(CommandError, match="printed more than"):
        _subprocess.run("yes", shell=True, timeout=120, what="api-command", max_output=1 << 20)
    proc = _subprocess.run([sys.executable, "-c", "print('a\\r\\nb')"], timeout=60, max_output=1 << 20)
    assert proc.stdout == "a\nb\n"  # decoded as subprocess.run(text=True) does
    with pytest.raises(CommandError, match="exit code 3"):
        _subprocess.run([sys.executable, "-c", "raise SystemExit(3)"], timeout=60, max_output=1 << 20)


def test_invariant_c_api_command_that_never_stops_printing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fixtures.release_repo import make_kahan_repo

    repo = make_kahan_repo(tmp_path / "kahan")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            '\n[tool.shipwheel.release]\napi-command = "yes"\napi-registry = "cversions.txt"\n'
            'api-version = "0x00000001"\n'
        )
    (repo / "cversions.txt").write_text("0x00000001 = abc\n")
    monkeypatch.chdir(repo)
    skip = [
        a
        for code in ("version-backend", "docs-build", "sdist-complete", "index-free")
        for a in ("--skip", code)
    ]
    code = main_inner(["check", "1.0.0", "--json", *skip])
    assert code == 1
    assert "printed more than" in capsys.readouterr().out  # the api-registry check failed, with the reason
