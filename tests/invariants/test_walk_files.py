"""Files: one bounded reader of regular files (``_fs.read_limited``: FIFOs, devices and sockets refused before
they are opened, the size bounded) and one safe tree copy (``_fs.copy_tree``), used by every entry point.

The walker gives a named pipe to every option and positional of every command that takes a path, and runs every
command of the parser in a project whose files a command may read (the release record, the release notes, the
titles file, the workflow, a version file, the towncrier table's pyproject.toml) are named pipes. A pipe that any
command opens is a failure (see ``FifoWatch``); so is a traceback or an undocumented exit code.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from fixtures.release_repo import git
from invariants.walk import FifoWatch, Slot, argv_for, commands, one_line_error, run, slots
from shipwheel._fs import copy_tree, plan_tree_copy, read_limited

PATH_SLOTS = [s for s in slots() if s.is_path]


@pytest.mark.parametrize("slot", PATH_SLOTS, ids=lambda s: s.id)
def test_every_path_option_of_every_command_refuses_a_fifo_unopened(
    slot: Slot, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        fifo = watch.plant(tmp_path / "pipe")
        result = run(argv_for(slot.command, tmp_path, slot, str(fifo)), capsys)
    one_line_error(result)
    assert not watch.opened, f"{slot.id} opened the named pipe it was given"


#: The files of a project that commands read, and the configuration that makes them read them.
PROJECT_FILES = {
    ".shipwheel/releases/1.0.1.json": "",
    "doc/1.0.1-notes.rst": '[tool.shipwheel.release]\nnotes-file = "doc/{version}-notes.rst"\n'
    'version-files = ["pyproject.toml", "src/kahan/_about.py"]\napi-registry = "cversions.txt"\n',
    "src/kahan/_about.py": "",
    "cversions.txt": "",
    "titles.json": '[tool.shipwheel.changelog]\ntitles-file = "titles.json"\n',
    ".github/workflows/wheels.yml": "",
}


@pytest.fixture
def piped_project(project: Path) -> Path:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write("\n" + "".join(PROJECT_FILES.values()))
    git(project, "commit", "-qam", "read the files that are pipes")
    return project


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_command_refuses_project_files_that_are_fifos_unopened(
    command: tuple[str, ...], piped_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        for rel in PROJECT_FILES:
            watch.plant(piped_project / rel)
        result = run(argv_for(command, tmp_path), capsys)
    one_line_error(result)
    opened = sorted(str(p.relative_to(piped_project)) for p in watch.opened)
    assert not opened, f"shipwheel {' '.join(command)} opened {opened}"


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_command_refuses_a_pyproject_that_is_a_fifo_unopened(
    command: tuple[str, ...], project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        watch.plant(project / "pyproject.toml")
        result = run(argv_for(command, tmp_path), capsys)
    one_line_error(result)
    assert not watch.opened, f"shipwheel {' '.join(command)} opened pyproject.toml, a named pipe"


# -- the enforcement points themselves -----------------------------------------------------------------------


def test_read_limited_refuses_special_files_before_opening(tmp_path: Path) -> None:
    with FifoWatch() as watch:
        fifo = watch.plant(tmp_path / "pipe")
        with pytest.raises(OSError, match="named pipe"):
            read_limited(fifo, 1 << 20)
    assert not watch.opened
    if Path("/dev/zero").exists():
        with pytest.raises(OSError, match="device"):
            read_limited(Path("/dev/zero"), 1 << 20)
        link = tmp_path / "zero"
        link.symlink_to("/dev/zero")
        with pytest.raises(OSError, match="device"):
            read_limited(link, 1 << 20)
    big = tmp_path / "big"
    with big.open("wb") as fh:
        fh.truncate(3 << 20)
    with pytest.raises(OSError) as info:
        read_limited(big, 1 << 20)
    assert info.value.errno == errno.EFBIG


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<html></html>")
    (root / "sub" / "page.html").write_text("page")
    return root


@pytest.mark.parametrize(
    "link",
    ["../outside/id_rsa", "/etc/passwd", "sub/../../outside/id_rsa", "loop/../../outside", "sub/../.."],
)
def test_copy_tree_refuses_links_leaving_the_tree_and_copies_nothing(tmp_path: Path, link: str) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "id_rsa").write_text("PRIVATE")
    source = _tree(tmp_path / "html")
    (source / "loop").symlink_to("sub")
    (source / "zz-key").symlink_to(link)
    with pytest.raises(OSError, match="outside"):
        copy_tree(source, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_copy_tree_keeps_links_inside_as_links_and_refuses_special_files(tmp_path: Path) -> None:
    source = _tree(tmp_path / "html")
    (source / "latest.html").symlink_to("index.html")
    (source / "sub" / "up.html").symlink_to("../index.html")
    copied = copy_tree(source, tmp_path / "dest")
    assert copied == ["index.html", "latest.html", "sub/page.html", "sub/up.html"]
    assert os.readlink(tmp_path / "dest" / "sub" / "up.html") == "../index.html"
    os.mkfifo(source / "sub" / "pipe")
    with pytest.raises(OSError, match="named pipe"):
        plan_tree_copy(source)
