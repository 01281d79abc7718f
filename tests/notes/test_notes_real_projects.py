"""The ``notes`` step on real projects, replayed from the commit before the maintainers' release commit.

For each release V with release commit R (the commit that added V's section to the changelog and deleted the
fragments), the project is cloned at R's parent with no shipwheel configuration added and
``shipwheel release V --only notes`` is run. Compared with R: the changelog byte for byte except the date line
(the older history untouched), the same fragments removed, nothing else changed. The comparison checks itself:
the maintainers' own ``towncrier build --yes --version V`` in place of shipwheel gives "same" on every point.

Layouts: multidict (``towncrier.toml``, ``CHANGES.rst``, its own template with ``issue_format = "{issue}"``;
6.6.4's fragments include a link to another fragment), pytest (``[tool.towncrier]`` in pyproject.toml, the
changelog in ``doc/en``, ``title_format`` with the date, ``package_dir = "src"``) and attrs (``[tool.towncrier]``,
Markdown ``CHANGELOG.md``, a ``.md.jinja`` template, ``title_format = ""``).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.mirrors import clone_at, mirror_of
from shipwheel.cli import main_inner


@dataclass(frozen=True)
class Release:
    repository: str
    version: str
    commit: str  # R: the maintainers' release commit
    changelog: str
    branch: str = "main"
    hand_edited: bool = False  # the maintainers edited the rendered section by hand before committing


RELEASES = {
    "multidict-6.7.1": Release("aio-libs/multidict", "6.7.1", "39d3c322f6a9e824beee9b6f178e3166205f0f59",
                               "CHANGES.rst", "master"),
    # 6.6.4's section was edited by hand ("Fix" -> "Fixed"): compared with towncrier's own build only
    "multidict-6.6.4": Release("aio-libs/multidict", "6.6.4", "e0e61c28e9f66efcdce01cde9d6772518f6e9224",
                               "CHANGES.rst", "master", hand_edited=True),
    "pytest-9.1.1": Release("pytest-dev/pytest", "9.1.1", "cf470ec0bf7eb89cd97dd56df4859eae5db46447",
                            "doc/en/changelog.rst"),
    "attrs-26.1.0": Release("python-attrs/attrs", "26.1.0", "7bfc49e9b22d5ba25b6e429524c3d49fee27cb36",
                            "CHANGELOG.md"),
}  # fmt: skip

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _clone_before(release: Release, dest: Path) -> Path:
    """The project at R's parent, without the tags of V and later (they do not exist yet on that day)."""
    parent = _git(Path(clone_at(release.repository, release.commit, dest, branch=release.branch)), "rev-parse",
                  f"{release.commit}^").strip()  # fmt: skip
    _git(dest, "checkout", "-q", "-B", release.branch, parent)
    later = _git(dest, "tag", "--no-merged", "HEAD").split()
    for i in range(0, len(later), 200):
        _git(dest, "tag", "-d", *later[i : i + 200])
    return dest


def _differences(ours: str, theirs: str) -> list[tuple[str, str]]:
    """The lines that differ, when both texts have the same lines otherwise."""
    a, b = ours.split("\n"), theirs.split("\n")
    if len(a) != len(b):
        return [("<line count>", f"{len(a)} != {len(b)}")]
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def _compare(
    release: Release, clone: Path, changelog: str, removed: set[str], changed: set[str]
) -> list[str]:
    """Every way the result differs from the maintainers' release commit R (empty: the same)."""
    problems = []
    published = _git(clone, "show", f"{release.commit}:{release.changelog}")
    before = _git(clone, "show", f"{release.commit}^:{release.changelog}")
    diffs = _differences(changelog, published)
    date_only = [d for d in diffs if _DATE.sub("DATE", d[0]) == _DATE.sub("DATE", d[1])]
    if release.hand_edited:
        diffs = date_only  # the hand edits are not ours to make; the rest must agree
    if len(date_only) != 1 or diffs != date_only:
        problems.append(f"the section differs beyond its date line: {diffs[:3]}")
    start = ".. towncrier release notes start" if release.changelog.endswith(".rst") else "<!-- towncrier"
    history = before[before.index(start) :].split("\n", 1)[1].lstrip()
    if not changelog.endswith(history):
        problems.append("the older history changed")
    released = set(_git(clone, "diff", "--name-only", "--diff-filter=D", f"{release.commit}^", release.commit)
                   .split())  # fmt: skip
    if removed != released:
        problems.append(f"other fragments removed: {sorted(removed ^ released)}")
    if changed - removed != {release.changelog}:
        problems.append(f"other files changed: {sorted(changed - removed - {release.changelog})}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RELEASES))
def test_notes_step_makes_the_maintainers_changelog(tmp_path: Path, name: str) -> None:
    release = RELEASES[name]
    clone = _clone_before(release, tmp_path / "p")
    head = _git(clone, "rev-parse", "HEAD").strip()
    assert main_inner(["release", release.version, "--only", "notes", "--config-dir", str(clone)]) == 0
    assert _git(clone, "log", "--format=%s", f"{head}..HEAD").splitlines() == [
        f"DOC: Release notes for {release.version}"
    ]
    assert _git(clone, "status", "--porcelain").strip() == ""
    changelog = _git(clone, "show", f"HEAD:{release.changelog}")
    removed = set(_git(clone, "diff", "--name-only", "--diff-filter=D", head, "HEAD").split())
    changed = set(_git(clone, "diff", "--name-only", head, "HEAD").split())
    assert _compare(release, clone, changelog, removed, changed) == []

    # The comparison checks itself: the maintainers' own step in place of shipwheel says "same" too,
    # and its news file is shipwheel's byte for byte.
    theirs = _clone_before(release, tmp_path / "t")
    from towncrier._shell import cli

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(theirs)  # towncrier runs git in the current folder
        result = CliRunner().invoke(cli, ["build", "--yes", "--version", release.version])
    assert result.exit_code == 0, result.output
    staged = set(_git(theirs, "diff", "--cached", "--name-only", "--diff-filter=D").split())
    staged_changed = set(_git(theirs, "diff", "--cached", "--name-only").split())
    their_changelog = (theirs / release.changelog).read_text(encoding="utf-8")
    assert _compare(release, theirs, their_changelog, staged, staged_changed) == []
    assert their_changelog == changelog


def _run_until(clone: Path, version: str, stop: Callable[[float], bool]) -> int | None:
    """Run ``shipwheel release VERSION --only notes`` and kill its process group (``kill -9``) as soon as
    ``stop(seconds since start)`` is true; ``None`` when it was killed, else its exit code."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipwheel", "release", version, "--only", "notes"],
        cwd=clone, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    start = time.monotonic()
    try:
        while proc.poll() is None:
            if stop(time.monotonic() - start):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(60)
                return None
            time.sleep(0.002)
        return proc.returncode
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(60)


@pytest.mark.slow
def test_notes_step_killed_anywhere_then_run_again_writes_the_release_once(tmp_path: Path) -> None:
    """multidict 6.7.1: kill -9 at seeded random moments and right after the changelog is written; the next run
    finishes with the same commit content as an uninterrupted run."""
    release = RELEASES["multidict-6.7.1"]
    clone = _clone_before(release, tmp_path / "p")
    parent = _git(clone, "rev-parse", "HEAD").strip()
    changelog = clone / release.changelog
    original = changelog.read_bytes()
    began = time.monotonic()
    assert _run_until(clone, release.version, lambda _t: False) == 0
    whole = time.monotonic() - began
    expected_tree = _git(clone, "rev-parse", "HEAD^{tree}").strip()
    rng = random.Random(1917)
    points: list[Callable[[float], bool]] = [
        lambda _t: changelog.read_bytes() != original,  # written, not yet committed
        lambda _t: not (clone / "CHANGES" / "1284.bugfix.rst").exists(),  # fragments gone, not yet committed
    ]
    points += [(lambda at: lambda t: t >= at)(rng.uniform(0, whole)) for _ in range(2)]
    for stop in points:
        _git(clone, "reset", "-q", "--hard", parent)
        _git(clone, "clean", "-qfdx")
        _run_until(clone, release.version, stop)
        # A git killed inside `git rm` or `git commit` leaves .git/index.lock, and every later git command asks
        # for it to be removed by hand (git's own "remove the file manually to continue"): done as a user would.
        (clone / ".git" / "index.lock").unlink(missing_ok=True)
        assert _run_until(clone, release.version, lambda _t: False) == 0
        assert _git(clone, "rev-parse", "HEAD^{tree}").strip() == expected_tree
        assert _git(clone, "rev-list", "--count", f"{parent}..HEAD").strip() == "1"
        assert _git(clone, "status", "--porcelain").strip() == ""


#: REL: Prepare for the NumPy 2.4.0rc1 release (writes 2.4.0-notes.rst by hand, removes 55 fragments)
NUMPY_RC = "784dbbed44c632c866c4bda33be488891c16b049"


def _numpy_tree(dest: Path) -> Path:
    """NumPy's towncrier layout just before 2.4.0rc1 (pyproject.toml, doc/release, doc/source/release) as a git
    repository of its own: the whole NumPy checkout is not needed for the notes."""
    mirror = mirror_of("numpy/numpy", NUMPY_RC)
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(mirror), "archive", f"{NUMPY_RC}^", "pyproject.toml", "doc/release",
         "doc/source/release"], capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=120)
    for args in (("init", "-q", "-b", "main"), ("add", "-A")):
        _git(dest, *args)
    _git(
        dest, "-c", "user.name=RM", "-c", "user.email=rm@example.invalid", "commit", "-q", "-m", "NumPy tree"
    )
    _git(dest, "config", "user.name", "Release Manager")
    _git(dest, "config", "user.email", "rm@example.invalid")
    return dest


@pytest.mark.slow
def test_numpys_layout_writes_towncriers_file_and_takes_the_release_fragments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NumPy ([tool.towncrier] with single_file = false, its own template, all_bullets = false, underlines "~="):
    the step writes doc/source/release/notes-towncrier.rst as `towncrier build --yes` does, and removes the
    fragments NumPy's own 2.4.0rc1 release commit removed (it wrote 2.4.0-notes.rst by hand from that file)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    ours = _numpy_tree(tmp_path / "ours")
    head = _git(ours, "rev-parse", "HEAD").strip()
    assert main_inner(["release", "2.4.0rc1", "--only", "notes", "--config-dir", str(ours)]) == 0
    removed = set(_git(ours, "diff", "--name-only", "--diff-filter=D", head, "HEAD").split())
    mirror = mirror_of("numpy/numpy", NUMPY_RC)
    released = set(_git(mirror, "diff", "--name-only", "--diff-filter=D", f"{NUMPY_RC}^", NUMPY_RC, "--",
                        "doc/release/upcoming_changes").split())  # fmt: skip
    # NumPy's maintainers also deleted 29129.enhancement.rst by hand: "enhancement" is not one of NumPy's types,
    # so towncrier neither renders nor removes it (the self-check below agrees).
    misnamed = "doc/release/upcoming_changes/29129.enhancement.rst"
    assert len(released) == 55 and removed == released - {misnamed}
    theirs = _numpy_tree(tmp_path / "theirs")
    from towncrier._shell import cli

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(theirs)
        result = CliRunner().invoke(cli, ["build", "--yes", "--version", "2.4.0rc1"])
    assert result.exit_code == 0, result.output
    assert _git(ours, "rev-parse", "HEAD^{tree}").strip() == _git(theirs, "write-tree").strip()
    notes = (ours / "doc/source/release/notes-towncrier.rst").read_text(encoding="utf-8")
    assert "\nDeprecations\n============\n" in notes and "(`gh-" in notes
