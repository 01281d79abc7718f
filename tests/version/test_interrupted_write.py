"""A version step stopped between writing the version and committing it (kill -9): the next run commits what it
wrote, in the commit it would have made, and a release's bump is not taken as done while it is uncommitted.

Found by the multidict journey (tests/journeys): a release killed there could not be finished by running it
again ("version files have uncommitted changes"), and one killed in its bump ended with the bump uncommitted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.config import load_config
from shipwheel.errors import ProjectError
from shipwheel.release import locations_of, set_version


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_kahan_repo(tmp_path / "kahan")


def _write_only(repo: Path, version: str, *, staged: bool = False) -> None:
    """What a run killed after the write and before the commit leaves: every location holds ``version``."""
    for loc in locations_of(load_config(repo)):
        loc.write(Version(version))
    if staged:
        git(repo, "add", "-A")


@pytest.mark.parametrize("staged", [False, True], ids=["written", "added"])
def test_interrupted_version_write_is_committed_by_the_next_run(repo: Path, staged: bool) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    _write_only(repo, "1.0.1", staged=staged)

    change = set_version(load_config(repo), Version("1.0.1"))

    assert change.commit is not None
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git(repo, "log", "-1", "--format=%s").strip() == "REL: Release 1.0.1"
    assert set(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == {
        "pyproject.toml",
        "src/kahan/__init__.py",
    }
    assert git(repo, "status", "--porcelain").strip() == ""


def test_interrupted_write_of_another_version_is_still_refused(repo: Path) -> None:
    _write_only(repo, "1.0.2")
    with pytest.raises(ProjectError, match="uncommitted changes"):
        set_version(load_config(repo), Version("1.0.1"))


def test_a_users_own_change_beside_the_version_is_still_refused(repo: Path) -> None:
    _write_only(repo, "1.0.1")
    init = repo / "src/kahan/__init__.py"
    init.write_text(init.read_text() + "# work in progress\n")
    with pytest.raises(ProjectError, match=r"uncommitted changes: src/kahan/__init__\.py"):
        set_version(load_config(repo), Version("1.0.1"))
    assert git(repo, "log", "-1", "--format=%s").strip() == "Initial import"


def test_release_bump_written_but_not_committed_is_finished_not_skipped(repo: Path) -> None:
    from shipwheel.release._steps import STEP_IMPLS
    from shipwheel.release._steps_git import bump_observe

    config = load_config(repo)
    set_version(config, Version("1.0.1"))
    _write_only(repo, "1.0.2.dev0")  # the bump's write, then the kill

    from shipwheel.release._context import Context
    from shipwheel.release._state import ReleaseState
    from shipwheel.release._tag import repository_of

    ctx = Context(
        config=config,
        version=Version("1.0.1"),
        git=repository_of(config),
        repository="",
        select=None,
        state=ReleaseState(repo / ".shipwheel" / "releases" / "1.0.1.json", "1.0.1"),
        environ={},
        progress=lambda line: None,
    )
    assert bump_observe(ctx) is None  # uncommitted: not done
    STEP_IMPLS["bump"].run(ctx)
    assert git(repo, "log", "-1", "--format=%s").strip() == "MAINT: Prepare for 1.0.2.dev0 development"
    assert '__version__ = "1.0.2.dev0"' in (repo / "src/kahan/__init__.py").read_text()  # not 1.0.3.dev0
    assert git(repo, "status", "--porcelain").strip() == ""
    assert bump_observe(ctx) == "the project is at 1.0.2.dev0"
