"""``shipwheel version`` and ``bump``: every configured location written, one commit, PEP 440 schedule."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ConfigError, ProjectError, UsageError
from shipwheel.release import bump_version, current_version, locations_of, set_version

NUMPY_SETUP = """\
MAJOR               = 1
MINOR               = 16
MICRO               = 0
ISRELEASED          = False
VERSION             = '%d.%d.%d' % (MAJOR, MINOR, MICRO)
"""
MESON = """\
project(
  'kahan',
  'c',
  version: '1.0.0',
  license: 'MIT',
  meson_version: '>=1.1',
  default_options: ['c_std=c11'],
)
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_kahan_repo(tmp_path / "kahan")


def _configure(repo: Path, table: str) -> None:
    """Append ``table`` to the pyproject.toml and commit it (the tree must be clean for version commits)."""
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.shipwheel.release]\n" + table)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "configure")


@pytest.mark.parametrize(
    ("current", "options", "expected"),
    [
        ("1.0.0", {}, "1.0.1.dev0"),
        ("1.0.0", {"segment": "minor"}, "1.1.0.dev0"),
        ("1.0.0", {"segment": "major"}, "2.0.0.dev0"),
        ("2.0.0.dev0", {"pre": "b"}, "2.0.0b1"),
        ("2.0.0b1", {}, "2.0.0b2"),
        ("2.0.0b2", {"pre": "rc"}, "2.0.0rc1"),
        ("2.0.0rc1", {}, "2.0.0rc2"),
        ("2.0.0rc1", {"pre": "rc"}, "2.0.0rc2"),
        ("2.0.0rc2", {"final": True}, "2.0.0"),
        ("2.0.0rc2", {"dev": True}, "2.0.0rc3.dev0"),
        ("2.0.0rc3.dev0", {"pre": "rc"}, "2.0.0rc3"),
        ("2.0.0.dev3", {}, "2.0.0.dev4"),
        ("2.0.0.dev3", {"final": True}, "2.0.0"),
        ("2.0.0", {"pre": "rc"}, "2.0.1rc1"),
        ("1!2.0.0", {}, "1!2.0.1.dev0"),
    ],
)
def test_bump_schedule(current: str, options: dict[str, object], expected: str) -> None:
    assert bump_version(Version(current), **options) == Version(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "options"),
    [("2.0.0rc1", {"pre": "b"}), ("2.0.0", {"final": True}), ("1.0.0", {"pre": "a", "final": True})],
)
def test_bump_backwards_refused(current: str, options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        bump_version(Version(current), **options)  # type: ignore[arg-type]


def test_version_found_automatically(repo: Path) -> None:
    config = load_config(repo)
    names = [loc.path.relative_to(repo).as_posix() for loc in locations_of(config)]
    assert names == ["pyproject.toml", "src/kahan/__init__.py"]
    assert current_version(config) == Version("1.0.0")


def test_version_set_everywhere_and_committed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "meson.build").write_text(MESON)
    (repo / "setup_numpy.py").write_text(
        NUMPY_SETUP.replace("16", "0").replace("MAJOR               = 1", "MAJOR = 1")
    )
    _configure(
        repo,
        'version-files = ["pyproject.toml", "src/kahan/__init__.py", "meson.build"]\n'
        'version-patterns = {"setup_numpy.py" = "numpy"}\n',
    )
    head = git(repo, "rev-parse", "HEAD").strip()
    assert main_inner(["version", "1.1.0rc1", "--config-dir", str(repo)]) == 0
    assert 'version = "1.1.0rc1"' in (repo / "pyproject.toml").read_text()
    assert '__version__ = "1.1.0rc1"' in (repo / "src/kahan/__init__.py").read_text()
    assert "version: '1.1.0rc1'" in (repo / "meson.build").read_text()
    numpy = (repo / "setup_numpy.py").read_text()
    assert "MINOR               = 1\n" in numpy and "ISRELEASED          = False" in numpy
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git(repo, "log", "-1", "--format=%s").strip() == "REL: Release 1.1.0rc1"
    assert set(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == {
        "pyproject.toml", "src/kahan/__init__.py", "meson.build", "setup_numpy.py",
    }  # fmt: skip
    assert git(repo, "status", "--porcelain").strip() == ""

    # the final sets ISRELEASED; the same version again is a no-op without a commit
    assert main_inner(["bump", "--final", "--config-dir", str(repo)]) == 0
    assert "ISRELEASED          = True" in (repo / "setup_numpy.py").read_text()
    assert main_inner(["version", "1.1.0", "--config-dir", str(repo)]) == 0
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "2"
    capsys.readouterr()
    assert main_inner(["version", "--json", "--config-dir", str(repo)]) == 0
    assert '"version": "1.1.0"' in capsys.readouterr().out

    # after the final: the next development version, with the bump message
    assert main_inner(["bump", "--next", "minor", "--config-dir", str(repo)]) == 0
    assert git(repo, "log", "-1", "--format=%s").strip() == "MAINT: Prepare for 1.2.0.dev0 development"
    assert "ISRELEASED          = False" in (repo / "setup_numpy.py").read_text()


def test_version_disagreement_reported(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init = repo / "src/kahan/__init__.py"
    init.write_text(init.read_text().replace("1.0.0", "0.9.0"))
    assert main_inner(["version", "--config-dir", str(repo)]) == 1
    assert "disagree" in capsys.readouterr().out
    with pytest.raises(ProjectError, match=r"0\.9\.0"):
        current_version(load_config(repo))


def test_version_bad_input(repo: Path) -> None:
    with pytest.raises(UsageError, match="not a PEP 440 version"):
        main_inner(["version", "1.0-final-final", "--config-dir", str(repo)])
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('description = "', 'description = "dirty '))
    with pytest.raises(ProjectError, match="uncommitted changes"):
        set_version(load_config(repo), Version("1.0.1"))
    git(repo, "checkout", "pyproject.toml")
    _configure(repo, 'version-files = ["VERSION.txt"]\n')
    with pytest.raises(ConfigError, match=r"cannot tell how VERSION\.txt"):
        locations_of(load_config(repo))


def test_version_custom_pattern_no_commit(repo: Path) -> None:
    (repo / "VERSION.txt").write_text("release: 1.0.0\n")
    _configure(
        repo,
        'version-files = ["pyproject.toml"]\nversion-patterns = {"VERSION.txt" = "release: (?P<version>\\\\S+)"}\n',
    )
    change = set_version(load_config(repo), Version("1.0.1"), commit=False)
    assert change.commit is None and len(change.changed) == 2
    assert (repo / "VERSION.txt").read_text() == "release: 1.0.1\n"
    assert git(repo, "status", "--porcelain").split() == ["M", "VERSION.txt", "M", "pyproject.toml"]
