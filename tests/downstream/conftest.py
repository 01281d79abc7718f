"""The downstream tests' index (one pypiserver per test session and worker) and their projects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.downstream_index import demo_files, pypi_files, start_index
from fixtures.index_servers import IndexServer
from fixtures.processes import stop_process
from fixtures.release_repo import git
from shipwheel.interpreters import Interpreter, discover


@pytest.fixture(scope="session")
def downstream_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """pypiserver with pytest, trio, the real markupsafe 3.0.2/3.0.3, Jinja2 3.1.6, Mako 1.3.10, and the made-up
    dscore 1.0, dsuser 2.0 and dsbroken 1.0."""
    demo = demo_files(tmp_path_factory.mktemp("demo-files"))
    server = start_index(tmp_path_factory.mktemp("downstream-index"), [*pypi_files(), *demo])
    yield server
    stop_process(server.proc)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session's runs: uv's cache and the downstream sdists are reused across tests."""
    return tmp_path_factory.mktemp("shipwheel-cache")


@pytest.fixture(scope="session")
def interpreters() -> dict[str, Interpreter]:
    """The CPython interpreters of this machine by ``X.Y`` (not free-threaded)."""
    return {f"{i.version[0]}.{i.version[1]}": i for i in reversed(discover()) if not i.free_threaded}


def one_python(interpreters: dict[str, Interpreter]) -> str:
    """The selector of one interpreter for the tests of the made-up projects (the first of these there is)."""
    for version in ("3.12", "3.11", "3.13", "3.10", "3.9"):
        if version in interpreters:
            return f"cp{version.replace('.', '')}-*"
    pytest.skip("no CPython 3.9 to 3.13 on this machine")


@dataclass
class Project:
    """A project folder with a pyproject.toml (``[project]`` and ``[tool.shipwheel]``) and a wheelhouse."""

    path: Path
    name: str
    version: str

    @property
    def wheelhouse(self) -> Path:
        return self.path / "wheelhouse"

    def argv(self, *args: str) -> list[str]:
        return [*args, "--config-dir", str(self.path)]


def make_project(
    folder: Path,
    name: str,
    version: str,
    downstream: str,
    *,
    cache: Path,
    extra: str = "",
    repo: bool = False,
) -> Project:
    """``folder`` with a pyproject.toml naming ``name`` ``version`` and the ``[[tool.shipwheel.downstream]]``
    tables ``downstream``; with ``repo``, a git repository with it committed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{version}"\n\n'
        f"[tool.shipwheel]\ncache-dir = {json.dumps(str(cache))}\n{extra}\n{downstream}"
    )
    if repo:
        (folder / ".gitignore").write_text("wheelhouse/\nshipwheel-logs/\n.shipwheel/\nstaging/\n")
        git(folder, "init", "-q", "-b", "main")
        git(folder, "config", "user.name", "Release Manager")
        git(folder, "config", "user.email", "rm@example.invalid")
        git(folder, "config", "commit.gpgsign", "false")
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", "Initial import")
    return Project(folder, name, version)
