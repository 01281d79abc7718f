"""``shipwheel build`` of a git folder builds from a clean checkout that keeps what build backends read from git:
the tags (setuptools-scm, meson's ``vcs_tag``), a repository for ``meson dist``, and the submodules."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from fixtures.builds import build_project as build
from shipwheel.errors import ProjectError

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.org",
    "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z",
    "GIT_COMMITTER_DATE": "2025-01-02T03:04:05Z",
    "PATH": "/usr/bin:/bin",
}
ONE = f"cp3{sys.version_info[1]}-manylinux_x86_64"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def project(path: Path, pyproject: str, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text(pyproject)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "init")
    return path


def test_build_from_git_takes_the_version_from_the_tag_setuptools_scm(tmp_path: Path) -> None:
    """setuptools-scm needs the repository and its tags; an export (git archive) has neither and fails."""
    repo = project(
        tmp_path / "scmdemo",
        '[build-system]\nrequires = ["setuptools>=77", "setuptools-scm>=8"]\n'
        'build-backend = "setuptools.build_meta"\n\n[project]\nname = "scmdemo"\ndynamic = ["version"]\n'
        'requires-python = ">=3.9"\n\n[tool.setuptools_scm]\n',
        {"scmdemo/__init__.py": ""},
    )
    git(repo, "tag", "v1.2.3")
    result = build(repo, only=ONE, overrides={"output-dir": str(tmp_path / "out"), "test-command": ""})
    assert result.sdist is not None and result.sdist.name == "scmdemo-1.2.3.tar.gz"
    assert [w.name for w in (tmp_path / "out").glob("*.whl")] == ["scmdemo-1.2.3-py3-none-any.whl"]
    # one commit past the tag: setuptools-scm's development version, as from a checkout
    (repo / "scmdemo" / "__init__.py").write_text("VALUE = 1\n")
    commit_all(repo, "next")
    again = build(repo, only=ONE, overrides={"output-dir": str(tmp_path / "out2"), "test-command": ""})
    assert again.sdist is not None and again.sdist.name.startswith("scmdemo-1.2.4.dev1+g")


def _inner(tmp_path: Path) -> Path:
    return project(tmp_path / "inner-origin", "", {"inner/__init__.py": "VALUE = 42\n"})


SUPER = (
    '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n\n'
    '[project]\nname = "withsub"\nversion = "1.0"\nrequires-python = ">=3.9"\n\n'
    '[tool.setuptools]\npackages = ["inner"]\npackage-dir = {"" = "vendored"}\n'
)


def test_build_from_git_checks_out_submodules_from_the_work_tree(tmp_path: Path) -> None:
    origin = _inner(tmp_path)
    repo = project(tmp_path / "withsub", SUPER, {})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(origin), "vendored")
    commit_all(repo, "vendor inner")
    # the origin goes away: the build must take the submodule from the work tree, not from its URL
    subprocess.run(["rm", "-rf", str(origin)], check=True)
    result = build(repo, only=ONE, overrides={"output-dir": str(tmp_path / "out"), "test-command": ""})
    assert result.sdist is not None
    with tarfile.open(result.sdist) as tar:
        assert "withsub-1.0/vendored/inner/__init__.py" in tar.getnames()
    (wheel,) = (tmp_path / "out").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("inner/__init__.py") == b"VALUE = 42\n"


def test_a_submodule_not_checked_out_is_a_one_line_error(tmp_path: Path) -> None:
    origin = _inner(tmp_path)
    repo = project(tmp_path / "withsub", SUPER, {})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(origin), "vendored")
    commit_all(repo, "vendor inner")
    clone = tmp_path / "fresh-clone"  # cloned without --recurse-submodules: vendored/ is empty
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, env=GIT_ENV)
    with pytest.raises(ProjectError, match="submodule vendored is not checked out") as info:
        build(clone, only=ONE, overrides={"output-dir": str(tmp_path / "out")})
    assert "git submodule update --init --recursive" in info.value.hint


def test_a_submodule_marked_inactive_is_left_out_of_the_build(tmp_path: Path) -> None:
    """NumPy's docs-only submodule (scipy-mathjax) need not be checked out to release: a submodule the work tree
    marks ``submodule.<name>.active = false`` stays out of the clean copy; the others are checked out."""
    origin = _inner(tmp_path)
    docs = project(tmp_path / "docs-origin", "", {"theme.css": "body {}\n"})
    repo = project(tmp_path / "withsub", SUPER, {})
    for url, path in ((origin, "vendored"), (docs, "docs/theme")):
        git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(url), path)
    commit_all(repo, "vendor inner, docs theme")
    clone = tmp_path / "fresh-clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, env=GIT_ENV)
    git(clone, "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init", "--", "vendored")
    git(clone, "config", "submodule.docs/theme.active", "false")
    result = build(clone, only=ONE, overrides={"output-dir": str(tmp_path / "out"), "test-command": ""})
    assert result.sdist is not None
    with tarfile.open(result.sdist) as tar:
        assert "withsub-1.0/vendored/inner/__init__.py" in tar.getnames()
