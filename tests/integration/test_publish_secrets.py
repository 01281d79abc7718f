"""No secret of ``shipwheel publish`` reaches the terminal, a log or a file (issue 10 item 5, "a secrets test").

A distinctive password goes through every credential source (``.pypirc``, ``--config-file``, ``-p``, ``--token``,
``SHIPWHEEL_PASSWORD``, ``TWINE_PASSWORD``, ``UV_PUBLISH_PASSWORD``, ``UV_PUBLISH_TOKEN``, the keyring, URL
userinfo) and every failure path (401 and 403 from the upload, 403 from the index page, 500 and 400 whose bodies
and status lines echo the ``Authorization`` header and the password, a refused connection, a ``.pypirc`` that does
not parse), with ``--debug`` and ``--json``. The password is then looked for, in every form an index could echo it
(as given, URL-quoted, base64 inside ``Basic``), in stdout, stderr, and every file under the test's HOME, XDG
folders and TMPDIR, the journal and the digest cache included.
"""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

import pytest

from fixtures.index_servers import make_release
from fixtures.processes import free_port

from .test_publish_faults import FakeIndex, index  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration

SECRET = "Zq7!SeKrEt-pw/9xK+wq"
USER = "carol"


def forms(password: str = SECRET, user: str = USER) -> list[str]:
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    token = base64.b64encode(f"__token__:{password}".encode()).decode()
    return [password, quote(password, safe=""), basic, basic.rstrip("="), token, token.rstrip("=")]


def _echo(handler: BaseHTTPRequestHandler, status: int) -> tuple[int, dict[str, str], bytes]:
    """An answer that repeats the request's credentials: the header, and the password decoded from it."""
    header = handler.headers.get("Authorization", "")
    decoded = ""
    if header.startswith("Basic "):
        decoded = base64.b64decode(header[6:]).decode(errors="replace")
    body = f"<html><body><h1>{status}</h1><p>you sent Authorization: {header} ({decoded})</p></body></html>"
    reason = f"Denied for {decoded} with {header}".replace("\n", " ")
    return status, {"Content-Type": "text/html", "X-Reason": reason}, body.encode()


FAILURES = ["upload-401", "upload-403", "index-403", "upload-500", "upload-400", "refused"]
SOURCES = [
    "pypirc",
    "config-file",
    "cli-password",
    "cli-token",
    "SHIPWHEEL_PASSWORD",
    "TWINE_PASSWORD",
    "UV_PUBLISH_PASSWORD",
    "UV_PUBLISH_TOKEN",
    "keyring",
]
MODES = [["--debug", "--json"], ["--debug"], ["--json"]]


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    make_release(tmp_path / "dist", "secretive", "1.0", wheels=2)
    return tmp_path / "dist"


def _closed_port() -> int:
    return free_port()


def _keyring_module(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secretring.py").write_text(
        "from keyring.backend import KeyringBackend\n"
        "class Ring(KeyringBackend):\n"
        "    priority = 1\n"
        f"    def get_password(self, service, username):\n        return {SECRET!r}\n"
        "    def set_password(self, service, username, password):\n        pass\n"
        "    def delete_password(self, service, username):\n        pass\n"
    )


def _run(
    tmp_path: Path, dist: Path, upload_url: str, source: str, mode: list[str], pypirc: str | None = None
) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
    """Run publish with the password from ``source``; return the process and the files that hold the secret on
    purpose (the sources themselves)."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIPWHEEL_", "TWINE_", "UV_PUBLISH_"))},
        "HOME": str(home),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "TMPDIR": str(tmp_path / "tmp"),
        "SHIPWHEEL_NO_KEYRING": "1",
        "COLUMNS": "200",
    }
    (tmp_path / "tmp").mkdir(exist_ok=True)
    args = ["publish", str(dist), "--no-verify", "--retries", "1", "-r", upload_url, *mode]
    sources: list[Path] = []
    section = f"[idx]\nrepository = {upload_url}\nusername = {USER}\npassword = {SECRET}\n"
    if source == "pypirc":
        (home / ".pypirc").write_text(pypirc if pypirc is not None else section)
        sources.append(home / ".pypirc")
        args[args.index("-r") + 1] = "idx"
    elif source == "config-file":
        other = tmp_path / "elsewhere.pypirc"
        other.write_text(pypirc if pypirc is not None else section)
        sources.append(other)
        args += ["--config-file", str(other)]
        args[args.index("-r") + 1] = "idx"
    elif source == "cli-password":
        args += ["-u", USER, "-p", SECRET]
    elif source == "cli-token":
        args += ["-t", SECRET]
    elif source == "keyring":
        _keyring_module(tmp_path / "ring")
        sources.append(tmp_path / "ring" / "secretring.py")
        env.update(
            SHIPWHEEL_NO_KEYRING="0",
            PYTHON_KEYRING_BACKEND="secretring.Ring",
            PYTHONPATH=str(tmp_path / "ring"),
            SHIPWHEEL_USERNAME=USER,
        )
    elif source != "none":
        env[source] = SECRET
        if "TOKEN" not in source:
            env["SHIPWHEEL_USERNAME"] = USER
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", *args], env=env, capture_output=True, text=True, timeout=120
    )
    return proc, sources


def _leaks(tmp_path: Path, proc: subprocess.CompletedProcess[str], sources: list[Path]) -> list[str]:
    found = [
        f"{where}: {form!r}"
        for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr))
        for form in forms()
        if form in text
    ]
    skip = {p.resolve() for p in sources}
    for path in _files(tmp_path):
        if path.resolve() in skip or "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        found += [f"{path}: {form!r}" for form in forms() if form.encode() in data]
    return found


def _files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def _configure(server: FakeIndex, failure: str) -> str:
    """Make ``server`` fail as ``failure`` says; return the upload URL to use."""
    server.page = lambda h: (
        (200, {"Content-Type": "text/html"}, b"<html></html>") if h.path == "/simple/" else (404, {}, b"")
    )
    if failure == "refused":
        return f"http://127.0.0.1:{_closed_port()}/legacy/"
    if failure == "index-403":
        server.page = lambda h: _echo(h, 403)
    else:
        code = int(failure.split("-")[1])
        server.upload = lambda h, _b: _echo(h, code)
    return server.base + "legacy/"


@pytest.mark.parametrize(("source", "failure"), list(itertools.product(SOURCES, FAILURES)))
def test_no_secret_from_any_source_on_any_failure(
    index: FakeIndex,  # noqa: F811
    tmp_path: Path,
    dist: Path,
    source: str,
    failure: str,
) -> None:
    url = _configure(index, failure)
    mode = MODES[(SOURCES.index(source) + FAILURES.index(failure)) % len(MODES)]
    proc, sources = _run(tmp_path, dist, url, source, mode)
    assert proc.returncode in {6, 7}, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr or "--debug" in mode
    assert _leaks(tmp_path, proc, sources) == []
    if failure in {"upload-401", "upload-403"}:
        assert "refused the credentials (HTTP 40" in proc.stderr, proc.stderr  # the source did give them
        assert "***" in proc.stderr  # the echoed forms were replaced
    if failure.startswith("upload"):
        # The credentials did reach the echoing index: once for a refusal, a few times for a 500 (retried).
        assert len(index.posts) == 1 if failure != "upload-500" else len(index.posts) >= 2
    elif failure == "index-403":
        assert index.gets and not index.posts


@pytest.mark.parametrize("mode", MODES)
def test_pypirc_parse_error_never_shows_the_password(tmp_path: Path, dist: Path, mode: list[str]) -> None:
    broken = f"username = {USER}\npassword = {SECRET}\n[idx]\nrepository = http://127.0.0.1:9/\n"
    duplicate = f"[idx]\nrepository = http://127.0.0.1:9/\npassword = {SECRET}\npassword = {SECRET}2\n"
    for source, text, needle in (
        ("pypirc", broken, "MissingSectionHeaderError"),
        ("config-file", broken, "MissingSectionHeaderError"),
        ("pypirc", duplicate, "line 4"),
    ):
        run = tmp_path / f"{source}-{needle[:4]}"
        proc, sources = _run(run, dist, "idx", source, mode, pypirc=text)
        assert proc.returncode == 3 and "is not a valid .pypirc file" in proc.stderr, proc.stderr
        assert needle in proc.stderr
        assert _leaks(run, proc, sources) == []


@pytest.mark.parametrize("mode", MODES)
def test_url_userinfo_is_refused_without_showing_it(tmp_path: Path, dist: Path, mode: list[str]) -> None:
    url = f"http://{USER}:{quote(SECRET, safe='')}@127.0.0.1:{_closed_port()}/legacy/"
    proc, sources = _run(tmp_path, dist, url, "none", mode)
    assert proc.returncode == 2 and "holds credentials" in proc.stderr, proc.stderr
    assert _leaks(tmp_path, proc, sources) == []
