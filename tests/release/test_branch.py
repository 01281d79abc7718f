"""``shipwheel branch X.Y``: the maintenance branch, and the next series' notes skeleton and .dev0 on main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.errors import UsageError


def test_branch_maintenance_and_next_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.shipwheel.release]\nnotes-file = "doc/release/{version}-notes.rst"\n')
    git(repo, "commit", "-qam", "configure")
    head = git(repo, "rev-parse", "HEAD").strip()
    argv = ["branch", "1.0", "--json", "--config-dir", str(repo)]
    assert main_inner(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["branch"] == "maintenance/1.0.x" and out["created"] is True and out["commit"] == head
    assert git(repo, "rev-parse", "maintenance/1.0.x").strip() == head
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"  # not switched
    notes = (repo / "doc" / "release" / "1.1.0-notes.rst").read_text()
    assert notes.startswith(
        "=========================\nkahan 1.1.0 Release Notes\n=========================\n"
    )
    log = git(repo, "log", "--format=%s", f"{head}..HEAD").splitlines()
    assert log == ["MAINT: Prepare for 1.1.0.dev0 development", "DOC: Start the 1.1.0 release notes"]
    assert 'version = "1.1.0.dev0"' in (repo / "pyproject.toml").read_text()
    # again: nothing new
    assert main_inner(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["created"] is False and again["commits"] == []
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "2"


def test_branch_bad_series(tmp_path: Path) -> None:
    repo = make_kahan_repo(tmp_path / "kahan")
    with pytest.raises(UsageError, match="not a release series"):
        main_inner(["branch", "1.0.0", "--config-dir", str(repo)])
    # digits of other scripts are digits to a regex but not to a version (found by the property test)
    with pytest.raises(UsageError, match="not a release series"):
        main_inner(["branch", "\u0663.1", "--config-dir", str(repo)])
    assert git(repo, "branch", "--list", "maintenance/*").strip() == ""  # and nothing was created
