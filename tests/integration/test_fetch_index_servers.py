"""``stage`` into, and ``fetch`` from, real index servers: pypiserver and devpi-server on 127.0.0.1.

The servers are the publish tests' fixtures (tests/fixtures/index_servers.py); staging to an index URL goes
through ``shipwheel publish``'s upload machinery with the servers' credentials.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fixtures.index_servers import IndexServer, make_release, unique_project
from shipwheel.cli import main_inner

pytestmark = [
    pytest.mark.integration,
    # passlib (pypiserver's htpasswd fixture) imports the deprecated crypt module.
    pytest.mark.filterwarnings("ignore:'crypt' is deprecated:DeprecationWarning"),
]


@pytest.mark.parametrize("server_name", ["pypiserver", "devpi"])
def test_stage_to_an_index_then_fetch_from_its_simple_pages(
    server_name: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server: IndexServer = request.getfixturevalue(server_name)
    project = unique_project("fetchme")
    files = make_release(tmp_path / "wheelhouse", project, "2.0rc1", wheels=4)
    # Another version whose name starts the same: never taken.
    make_release(tmp_path / "other", project, "2.0rc10", wheels=1, sdist=False)
    monkeypatch.setenv("SHIPWHEEL_USERNAME", server.user)
    monkeypatch.setenv("SHIPWHEEL_PASSWORD", server.password)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pypirc of the developer
    monkeypatch.chdir(tmp_path)
    assert main_inner(["stage", str(tmp_path / "wheelhouse"), "--to", server.upload_url, "--json"]) == 0
    staged = json.loads(capsys.readouterr().out)
    assert sorted(f["filename"] for f in staged["files"]) == sorted(f.name for f in files)
    assert main_inner(["stage", str(tmp_path / "other"), "--to", server.upload_url, "--json"]) == 0
    capsys.readouterr()

    code = main_inner(
        [
            "fetch",
            project,
            "2.0rc1",
            "--from",
            server.simple_url,
            "-w",
            str(tmp_path / "out"),
            "-j",
            "4",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["unverified"] == []
    assert all(f["verified_by"][0] == "sha256 (index)" for f in report["files"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f.name for f in files)
    for f in files:
        assert (
            hashlib.sha256((tmp_path / "out" / f.name).read_bytes()).digest()
            == hashlib.sha256(f.read_bytes()).digest()
        )
