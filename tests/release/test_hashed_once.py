"""A release hashes each of its files once: the build records the sha256 of what it wrote, and verify, stage and
publish (and each step's look at the real state) take it from there instead of reading the wheelhouse again."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

import shipwheel.verify
from fixtures.release_repo import git, make_kahan_repo
from shipwheel import distfiles
from shipwheel.config import load_config
from shipwheel.release import release
from shipwheel.verify import Limits

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count, per file name, every time a file's bytes are hashed: read for a digest (the one block reader of
    :mod:`shipwheel.distfiles`), or hashed by verify as it checks the file (unless it was given the digest)."""
    hashed: Counter[str] = Counter()
    blocks = distfiles._blocks
    check_file = shipwheel.verify.check_file

    def counted_blocks(path: Path, chunk: int):  # type: ignore[no-untyped-def]
        hashed[Path(path).name] += 1
        return blocks(path, chunk)

    def counted_check(path: str, limits: Limits, sha256: str | None = None) -> shipwheel.verify.FileResult:
        if sha256 is None:
            hashed[Path(path).name] += 1
        return check_file(path, limits, sha256)

    monkeypatch.setattr(distfiles, "_blocks", counted_blocks)
    monkeypatch.setattr(shipwheel.verify, "check_file", counted_check)
    return hashed


def test_a_release_of_the_example_hashes_each_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            '\n[tool.shipwheel.release]\nsteps = ["build", "verify", "stage", "publish"]\n'
            '\n[tool.shipwheel.stage]\nto = "staging"\n'
            '\n[tool.shipwheel.publish]\nrepository = "file:index"\n'
        )
    git(repo, "commit", "-qam", "release into folders")
    monkeypatch.setenv("SHIPWHEEL_TEST_COMMAND", "")  # the example's tests are not what is measured
    monkeypatch.setenv("SHIPWHEEL_JOBS", "1")  # verify checks in this process, where the counter is
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    hashed = _count_hashing(monkeypatch)
    select = f"cp{sys.version_info.major}{sys.version_info.minor}-manylinux_x86_64"
    outcome = release(load_config(repo), "1.0.0", select=select)
    assert [(s.step, s.outcome) for s in outcome.steps if s.outcome != "not-selected"] == [
        ("build", "ran"),
        ("verify", "ran"),
        ("stage", "ran"),
        ("publish", "ran"),
    ]
    files = sorted(p.name for p in (repo / "wheelhouse").iterdir() if p.name.endswith((".whl", ".tar.gz")))
    assert len(files) == 2  # the wheel of this Python and the sdist
    assert {p.name for p in (repo / "index").rglob("*") if p.name in files} == set(files)
    assert dict(hashed) == dict.fromkeys(files, 1)


def test_a_digest_is_reused_only_inside_the_release_and_while_the_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = _count_hashing(monkeypatch)
    wheel = tmp_path / "kahan-1.0.0-py3-none-any.whl"
    wheel.write_bytes(b"first")
    first = distfiles.file_digests(wheel)["sha256"]
    distfiles.file_digests(wheel)
    assert hashed[wheel.name] == 2  # a standalone command hashes every time
    with distfiles.digests_once():
        assert distfiles.file_digests(wheel)["sha256"] == first
        assert distfiles.file_digests(wheel)["sha256"] == first
        assert hashed[wheel.name] == 3
        wheel.write_bytes(b"other bytes")  # rewritten: another size, mtime and ctime
        assert distfiles.file_digests(wheel)["sha256"] != first
        assert hashed[wheel.name] == 4
        # another algorithm is no sha256 to reuse
        distfiles.file_digests(wheel, ("sha256", "blake2b-256"))
        assert hashed[wheel.name] == 5
    distfiles.file_digests(wheel)
    assert hashed[wheel.name] == 6
