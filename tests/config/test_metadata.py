"""Projects whose metadata is not in ``[project]``: name, version and requires-python from ``setup.cfg`` where
that is enough, an sdist's ``PKG-INFO``, else the build backend's own metadata; never the folder's name."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from fixtures.mirrors import clone_at
from fixtures.pypi_sdists import pinned_sdist
from shipwheel.cli import main_inner
from shipwheel.config import load_config

MULTIDICT = ("aio-libs/multidict", "39d3c322f6a9e824beee9b6f178e3166205f0f59")


def test_setup_cfg_metadata_of_a_real_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """multidict 6.7.1: [metadata] name, version = attr: multidict.__version__, [options] python_requires; in a
    folder that is not named after it."""
    checkout = clone_at(*MULTIDICT, tmp_path / "scratch-kill")
    config = load_config(checkout, environ={})
    assert (config.project.name, config.project.version) == ("multidict", "6.7.1")
    assert str(config.project.requires_python) == ">=3.9" and config.project.source == "setup.cfg"
    assert "cp38-manylinux_x86_64" not in {str(i) for i in config.identifiers()}
    assert main_inner(["config", str(checkout), "--json"]) == 0
    project = json.loads(capsys.readouterr().out)["project"]
    assert project == {
        "name": "multidict",
        "version": "6.7.1",
        "requires_python": ">=3.9",
        "source": "setup.cfg",
    }


def test_setup_cfg_attr_and_file_versions(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    (folder / "src" / "pkg").mkdir(parents=True)
    (folder / "src" / "pkg" / "__init__.py").write_text('__version__: str = "2.5.0"\n', encoding="utf-8")
    (folder / "setup.cfg").write_text(
        "[metadata]\nname = my-pkg\nversion = attr: pkg.__version__\n[options]\npackage_dir =\n    =src\n"
        "python_requires = >=3.11\n",
        encoding="utf-8",
    )
    config = load_config(folder, environ={})
    assert (config.project.name, config.project.version, str(config.project.requires_python)) == (
        "my-pkg",
        "2.5.0",
        ">=3.11",
    )
    (folder / "VERSION").write_text("3.0\n", encoding="utf-8")
    text = (
        (folder / "setup.cfg").read_text(encoding="utf-8").replace("attr: pkg.__version__", "file: VERSION")
    )
    (folder / "setup.cfg").write_text(text, encoding="utf-8")
    assert load_config(folder, environ={}).project.version == "3.0"


def test_no_metadata_is_no_name_not_the_folders(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like-a-name"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[tool.shipwheel]\njobs = 2\n", encoding="utf-8")
    config = load_config(folder, environ={})
    assert config.project.name is None and config.project.source == ""


def test_sdist_with_only_setup_py_metadata_reads_its_pkg_info() -> None:
    """six 1.17.0 from PyPI: no pyproject.toml, metadata in setup.py; the sdist's PKG-INFO says it all."""
    config = load_config(pinned_sdist("six", "1.17.0"), environ={})
    assert (config.project.name, config.project.version) == ("six", "1.17.0")
    assert config.project.source == "PKG-INFO" and config.project.requires_python is not None
    assert config.project.requires_python.contains("2.7.18") and not config.project.requires_python.contains(
        "3.2.0"
    )


@pytest.mark.slow
def test_setup_py_metadata_comes_from_the_build_backend_once(tmp_path: Path) -> None:
    """A checkout of six (its setup.py, no PKG-INFO): the backend's prepare_metadata_for_build_wheel says the
    metadata, and the answer is cached until the build files change."""
    with tarfile.open(pinned_sdist("six", "1.17.0")) as tar:
        tar.extractall(tmp_path, filter="data")
    folder = tmp_path / "six-1.17.0"
    (folder / "PKG-INFO").unlink()
    shutil.rmtree(folder / "six.egg-info")
    cache = tmp_path / "cache"
    env = {"SHIPWHEEL_CACHE_DIR": str(cache)}
    config = load_config(folder, environ=env)
    assert (config.project.name, config.project.version) == ("six", "1.17.0")
    assert config.project.source == "the build backend's metadata"
    assert config.project.requires_python is not None and config.project.requires_python.contains("3.12.0")
    entries = list((cache / "metadata").glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text(json.dumps(["six", "9.9.9", ">=3"]), encoding="utf-8")  # the cache is what is read
    assert load_config(folder, environ=env).project.version == "9.9.9"
    (folder / "setup.py").write_text(
        (folder / "setup.py").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    assert load_config(folder, environ=env).project.version == "1.17.0"  # a changed setup.py is asked again
