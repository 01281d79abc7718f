"""``shipwheel docs``: X.Y/ in a local docs git repository, ``stable`` for finals only, the switcher, push on request."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.errors import ProjectError, UsageError


def _built(tmp_path: Path, text: str) -> Path:
    html = tmp_path / f"html-{text}"
    (html / "_static").mkdir(parents=True, exist_ok=True)
    (html / "index.html").write_text(f"<html><body>{text}</body></html>\n")
    (html / "_static" / "style.css").write_text("body{}\n")
    (html / ".buildinfo").write_text("config: x\n")
    return html


@pytest.fixture
def docs_repo(tmp_path: Path) -> Path:
    remote = tmp_path / "docs-remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    repo = tmp_path / "docs"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Docs Bot")
    git(repo, "config", "user.email", "docs@example.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "index.html").write_text("<meta http-equiv=refresh content='0; url=stable/'>\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "root")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    return repo


def test_docs_series_stable_switcher(
    tmp_path: Path, docs_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_kahan_repo(tmp_path / "kahan")
    start = git(docs_repo, "rev-parse", "HEAD").strip()

    def docs(version: str, *extra: str) -> dict[str, object]:
        capsys.readouterr()
        argv = ["docs", version, "--to", str(docs_repo), "--from", str(_built(tmp_path, version))]
        assert (
            main_inner(
                [*argv, "--url", "https://kahan.invalid/doc/", "--json", "--config-dir", str(project), *extra]
            )
            == 0
        )
        out: dict[str, object] = json.loads(capsys.readouterr().out)
        return out

    first = docs("1.0.0")
    assert first["series"] == "1.0" and first["stable"] == "1.0" and first["commit"]
    assert (docs_repo / "1.0" / "index.html").read_text().count("1.0.0") == 1
    assert not (docs_repo / "1.0" / ".buildinfo").exists()
    assert os.readlink(docs_repo / "stable") == "1.0"
    # a pre-release gets its folder, stable stays
    assert docs("1.1.0rc1")["stable"] == "1.0"
    assert os.readlink(docs_repo / "stable") == "1.0"
    # the final moves stable; a later bug-fix of the older series does not move it back
    assert docs("1.1.0")["stable"] == "1.1"
    assert docs("1.0.1")["stable"] == "1.1"
    assert os.readlink(docs_repo / "stable") == "1.1"
    assert "1.0.1" in (docs_repo / "1.0" / "index.html").read_text()
    switcher = json.loads((docs_repo / "versions.json").read_text())
    assert switcher == [
        {
            "name": "1.1 (stable)",
            "version": "1.1",
            "url": "https://kahan.invalid/doc/1.1/",
            "preferred": True,
        },
        {"name": "1.0", "version": "1.0", "url": "https://kahan.invalid/doc/1.0/"},
    ]
    log = git(docs_repo, "log", "--format=%s", f"{start}..HEAD").splitlines()
    assert log == [
        "Docs for kahan 1.0.1",
        "Docs for kahan 1.1.0",
        "Docs for kahan 1.1.0rc1",
        "Docs for kahan 1.0.0",
    ]
    # the same docs again: no commit; nothing was pushed so far
    assert docs("1.0.1")["commit"] is None
    assert git(docs_repo, "rev-parse", "origin/main").strip() == start
    pushed = docs("1.0.1", "--push")
    assert pushed["pushed"] is True
    assert (
        git(docs_repo, "ls-remote", "origin", "main").split()[0]
        == git(docs_repo, "rev-parse", "HEAD").strip()
    )


def test_docs_bad_input(tmp_path: Path, docs_repo: Path) -> None:
    project = make_kahan_repo(tmp_path / "kahan")
    with pytest.raises(UsageError, match=r"no index\.html"):
        main_inner(
            ["docs", "1.0.0", "--to", str(docs_repo), "--from", str(tmp_path), "--config-dir", str(project)]
        )
    (docs_repo / "stray.html").write_text("x")
    with pytest.raises(ProjectError, match="uncommitted"):
        main_inner(
            [
                "docs",
                "1.0.0",
                "--to",
                str(docs_repo),
                "--from",
                str(_built(tmp_path, "x")),
                "--config-dir",
                str(project),
            ]
        )
    with pytest.raises(UsageError, match="not a PEP 440"):
        main_inner(
            [
                "docs",
                "one",
                "--to",
                str(docs_repo),
                "--from",
                str(_built(tmp_path, "y")),
                "--config-dir",
                str(project),
            ]
        )
