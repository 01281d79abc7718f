"""The optional GitHub title look-up: off unless asked for; the REST URLs it would use."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.git_history import GitRepo
from fixtures.http_servers import ListingServer
from fixtures.processes import free_port
from shipwheel.cli import main_inner
from shipwheel.errors import EnvironmentNotReadyError, RemoteError, UsageError
from shipwheel.notes import fetch_titles, pull_api_url

TOKEN = "ghp_not-a-real-token-0123456789"


def test_pull_api_url() -> None:
    assert pull_api_url("https://github.com/numpy/numpy/pull/{number}", 123) == (
        "https://api.github.com/repos/numpy/numpy/pulls/123"
    )
    assert pull_api_url("https://github.com/o/r/pull/{number}", 7, api_root="http://127.0.0.1:9/api/") == (
        "http://127.0.0.1:9/api/repos/o/r/pulls/7"
    )
    with pytest.raises(UsageError):
        pull_api_url("https://gitlab.com/o/r/-/merge_requests/{number}", 1)


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HTTP(S) request of the process goes to a closed port on 127.0.0.1 and fails at once."""
    port = free_port()  # nothing listens there
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_not_used_unless_asked(
    changelog_repo: GitRepo,
    dead_proxy: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    # A token in the environment is not a request: no network, the titles come from git.
    assert main_inner(["changelog", "v1.0..v1.1", "--repo", str(changelog_repo.path)]) == 0
    # Asked for, it goes to the network (here: a dead proxy) and fails cleanly, without showing the token.
    with pytest.raises(RemoteError) as info:
        main_inner(["changelog", "v1.0..v1.1", "--repo", str(changelog_repo.path), "--github-titles"])
    assert TOKEN not in info.value.one_line()
    assert TOKEN not in "".join(capsys.readouterr())


def test_asked_without_token(changelog_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with pytest.raises(EnvironmentNotReadyError, match="token"):
        main_inner(["changelog", "v1.0..v1.1", "--repo", str(changelog_repo.path), "--github-titles"])


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>rate limited</html>", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b'{"title": {"nested": 1}}', "no title"),
        (b'["title"]', "no title"),
    ],
)
def test_hostile_api_answers_are_one_line(tmp_path: Path, body: bytes, why: str) -> None:
    """An API (or a proxy in front of it) answering garbage: a RemoteError, never a traceback."""
    with ListingServer(tmp_path) as server:
        server.page("/api/repos/o/r/pulls/7", body, ctype="application/json")
        with pytest.raises(RemoteError, match=why) as info:
            fetch_titles("https://github.com/o/r/pull/{number}", [7], TOKEN, api_root=server.url + "api")
    assert TOKEN not in info.value.one_line()


def test_api_titles_are_read(tmp_path: Path) -> None:
    with ListingServer(tmp_path) as server:
        server.page("/api/repos/o/r/pulls/7", b'{"number": 7, "title": "ENH: new"}', ctype="application/json")
        titles = fetch_titles("https://github.com/o/r/pull/{number}", [7], TOKEN, api_root=server.url + "api")
    assert titles == {7: "ENH: new"}
