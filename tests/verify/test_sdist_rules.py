"""sdist-complete compares with what the project's own rules ship: on multidict's real repository and sdist,
the files its MANIFEST.in leaves out on purpose are reported, not fatal; a file its rules ship and the sdist lacks
is; a ``[tool.check-manifest]`` table asks for the strict check."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from fixtures.mirrors import clone_at
from fixtures.pypi_sdists import pinned_sdist
from shipwheel.verify import sdist_omissions

MULTIDICT = "aio-libs/multidict"
V671 = "39d3c322f6a9e824beee9b6f178e3166205f0f59"  # the tag v6.7.1
LEFT_OUT = [
    "HISTORY.rst",
    "benchmarks/becnhmark.py",
    "benchmarks/istr.py",
    "tools/upgrade_pythoncapi.py",
    "towncrier.toml",
]


@pytest.fixture(scope="module")
def multidict(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    """multidict's repository at v6.7.1, its tracked files, and the members of its real 6.7.1 sdist."""
    repo = clone_at(MULTIDICT, V671, tmp_path_factory.mktemp("multidict") / "multidict")
    tracked = subprocess.run(
        ["git", "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    with tarfile.open(pinned_sdist("multidict", "6.7.1")) as tar:
        members = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name]
    return repo, tracked, members


def test_files_multidict_leaves_out_on_purpose_are_reported_not_fatal(
    multidict: tuple[Path, list[str], list[str]],
) -> None:
    repo, tracked, members = multidict
    omitted = sdist_omissions(repo, tracked, members)
    assert omitted.lost == []
    assert omitted.left_out == LEFT_OUT
    assert not omitted.strict


def test_a_file_the_manifest_ships_and_the_sdist_lacks_is_lost(
    multidict: tuple[Path, list[str], list[str]],
) -> None:
    repo, tracked, members = multidict
    omitted = sdist_omissions(
        repo, tracked, [m for m in members if m not in {"CHANGES.rst", "multidict/_multidict.c"}]
    )
    assert omitted.lost == ["CHANGES.rst", "multidict/_multidict.c"]
    assert omitted.why == {
        "CHANGES.rst": "MANIFEST.in: include CHANGES.rst",
        "multidict/_multidict.c": "MANIFEST.in: include multidict/*.c",
    }
    assert omitted.left_out == LEFT_OUT


def test_a_check_manifest_table_asks_for_the_strict_check_and_its_ignores_count(
    multidict: tuple[Path, list[str], list[str]], tmp_path: Path
) -> None:
    repo, tracked, members = multidict
    pyproject = repo / "pyproject.toml"
    original = pyproject.read_text()
    try:
        pyproject.write_text(original + "\n[tool.check-manifest]\n")
        strict = sdist_omissions(repo, tracked, members)
        assert strict.strict and strict.lost == LEFT_OUT and strict.left_out == []
        pyproject.write_text(
            original
            + '\n[tool.check-manifest]\nignore = ["HISTORY.rst", "benchmarks/*", "tools/*", "towncrier.toml"]\n'
        )
        ignored = sdist_omissions(repo, tracked, members)
        assert ignored.strict and ignored.lost == [] and ignored.left_out == []
    finally:
        pyproject.write_text(original)


def test_manifest_exclude_and_prune_lines_are_never_reported(tmp_path: Path) -> None:
    (tmp_path / "MANIFEST.in").write_text(
        "graft src\nprune src/scratch\nexclude src/notes.txt\ninclude README.md\n"
    )
    tracked = [
        "README.md",
        "MANIFEST.in",
        "src/a.py",
        "src/notes.txt",
        "src/scratch/x.py",
        "docs/index.rst",
        ".github/ci.yml",
    ]
    omitted = sdist_omissions(tmp_path, tracked, ["README.md", "MANIFEST.in", "src/a.py"])
    assert omitted.lost == [] and omitted.left_out == ["docs/index.rst"]
    lost = sdist_omissions(tmp_path, tracked, ["MANIFEST.in"])
    assert lost.lost == ["README.md", "src/a.py"]
