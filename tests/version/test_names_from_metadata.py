"""The project's name comes from its metadata ([project], setup.cfg, PKG-INFO, the backend), never its folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.mirrors import clone_at
from fixtures.release_repo import git
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ConfigError
from shipwheel.release import make_branch, project_name, tag_release

MULTIDICT = ("aio-libs/multidict", "39d3c322f6a9e824beee9b6f178e3166205f0f59")


def _nameless(folder: Path) -> Path:
    """A project whose metadata names nothing: no [project] table, no setup.cfg, no setup.py, no backend."""
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[tool.shipwheel.release]\nnotes-file = "notes/{version}.rst"\n')
    (folder / "VERSION.txt").write_text("1.0.0\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.name", "Release Manager")
    git(folder, "config", "user.email", "rm@example.invalid")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "Initial import")
    return folder


def test_a_project_without_a_name_is_refused_instead_of_named_after_its_folder(tmp_path: Path) -> None:
    repo = _nameless(tmp_path / "some-checkout")
    config = load_config(repo)
    with pytest.raises(ConfigError) as info:
        project_name(config)
    assert "no name" in info.value.message and "[project]" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="no name"):
        tag_release(config, "1.0.0")
    assert git(repo, "tag", "-l").strip() == ""  # no tag named after the folder
    with pytest.raises(ConfigError, match="no name"):
        make_branch(config, "1.0", bump=False)
    assert "some-checkout" not in git(repo, "log", "--all", "--format=%B")


def test_a_nameless_project_is_a_one_line_error_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipwheel.cli import main

    repo = _nameless(tmp_path / "checkout")
    with pytest.raises(SystemExit) as exited:
        main(["tag", "1.0.0", "--config-dir", str(repo)])
    err = capsys.readouterr().err
    assert exited.value.code == ConfigError.exit_code and len(err.strip().splitlines()) == 1
    assert "no name" in err and "Traceback" not in err


def test_multidict_is_named_and_versioned_from_setup_cfg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWHEEL_RELEASE_TAG_MESSAGE", "{project} {version}")
    # a clone in a folder whose name is not the project's: the name comes from setup.cfg's [metadata]
    repo = clone_at(*MULTIDICT, tmp_path / "repo")
    config = load_config(repo)
    assert project_name(config) == "multidict"
    assert main_inner(["version", "--json", "--config-dir", str(repo)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "6.7.1"
    assert any(Path(p).as_posix().endswith("multidict/__init__.py") for p in out["locations"])
    result = tag_release(load_config(repo), "6.8.0")  # v6.7.1 is the real tag
    message = git(repo, "tag", "-l", "--format=%(contents:subject)", result.name).strip()
    assert result.created and message == "multidict 6.8.0"
