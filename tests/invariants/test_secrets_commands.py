"""Invariant (b): credentials outside ``publish`` never reach the terminal, a log or a file, with ``--debug`` too.

* the SMTP password of ``announce --send`` (``SHIPWHEEL_SMTP_PASSWORD``): a relay that refuses the login, one
  whose refusal echoes the credentials, one that drops the connection during the login;
* ``GITHUB_TOKEN`` of ``changelog --github-titles``: a GitHub API (``GITHUB_API_URL``) that answers 401 or 500
  and echoes the ``Authorization`` header in its body and reason;
* container credentials of ``fetch`` / ``stage`` given in the URL (userinfo): 401, 500, a refused connection.

Every command runs as the console script (what a user sees, tracebacks of ``--debug`` included); the secret is
looked for in every form a server could echo it, in stdout, stderr and every file under the test's folder.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from fixtures.index_servers import free_port, make_release
from fixtures.release_repo import git, make_kahan_repo
from fixtures.smtp_server import LISTS, USER, Mailbox

SECRET = "Zq7!SeKrEt-inv/9xK+wq"


def forms(secret: str = SECRET) -> list[str]:
    """The secret as given, URL-quoted, and inside a ``Basic`` header for any user."""
    out = [secret, quote(secret, safe="")]
    for user in ("alice", USER, "__token__", "x-access-token"):
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        out += [basic, basic.rstrip("=")]
    return out


def assert_no_secret(proc: subprocess.CompletedProcess[str], *folders: Path) -> None:
    for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        for form in forms():
            assert form not in text, f"the secret ({form!r}) is in {name}:\n{text}"
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                for form in forms():
                    assert form.encode() not in data, f"the secret ({form!r}) is in {path}"


def shipwheel(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}, timeout=120, check=False,
    )  # fmt: skip


# -- an HTTP server that echoes the credentials it gets -------------------------------------------------------


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        header = self.headers.get("Authorization", "")
        decoded = ""
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode(errors="replace")
        status = self.server.status
        body = json.dumps({"message": f"you sent {header} ({decoded})", "title": header}).encode()
        self.send_response(status, f"Denied {decoded} {header}".replace("\n", " "))
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo", header)
        self.send_header("WWW-Authenticate", 'Basic realm="echo"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = _answer


@contextlib.contextmanager
def echo_server(status: int) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    server.status = status  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- GITHUB_TOKEN of changelog --github-titles -------------------------------------------------------------------


@pytest.fixture
def kahan(tmp_path: Path) -> Path:
    repo = make_kahan_repo(tmp_path / "kahan")
    git(repo, "tag", "-a", "-m", "kahan 1.0.0", "v1.0.0")
    git(repo, "remote", "add", "origin", "https://github.com/example/kahan.git")
    git(repo, "switch", "-q", "-c", "fix")
    (repo / "README.md").write_text("better\n")
    git(repo, "commit", "-qam", "BUG: fix")
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge pull request #12 from ada/fix\n\nBUG: fix", "fix")
    return repo


@pytest.mark.parametrize("status", [401, 403, 500, 200])
@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_invariant_b_github_token_never_shown(
    kahan: Path, tmp_path: Path, status: int, debug: list[str]
) -> None:
    out = tmp_path / "changelog.md"
    with echo_server(status) as api:
        proc = shipwheel(
            "changelog", "v1.0.0..HEAD", "--repo", str(kahan), "--github-titles", "-o", str(out),
            "--pr-url", "https://github.com/example/kahan/pull/{number}", *debug,
            cwd=tmp_path, env={"GITHUB_TOKEN": SECRET, "GITHUB_API_URL": api},
        )  # fmt: skip
    assert proc.returncode in ({401: 7, 403: 7, 500: 6}.get(status, 0), 0), proc.stderr
    if status != 200:
        assert (proc.returncode != 0 and "Traceback" not in proc.stderr) or debug
    # 200: an API that echoes the token back in the title; it never reaches the changelog either.
    assert_no_secret(proc, tmp_path)


def test_invariant_b_github_api_url_is_where_the_token_goes(kahan: Path, tmp_path: Path) -> None:
    with echo_server(401) as api:
        proc = shipwheel(
            "changelog", "v1.0.0..HEAD", "--repo", str(kahan), "--github-titles",
            "--pr-url", "https://github.com/example/kahan/pull/{number}",
            cwd=tmp_path, env={"GITHUB_TOKEN": SECRET, "GITHUB_API_URL": api},
        )  # fmt: skip
    assert proc.returncode == 7 and "GitHub refused the token (HTTP 401)" in proc.stderr


# -- the SMTP password of announce --send ------------------------------------------------------------------------


def _configure(repo: Path, port: int, *, starttls: bool, ca_file: Path | None = None) -> None:
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.shipwheel.release]\n"
            'announce-from = "Release Manager <rm@kahan.invalid>"\n'
            f"announce-to = {json.dumps(LISTS)}\n"
            f'smtp-host = "127.0.0.1"\nsmtp-port = {port}\nsmtp-user = "{USER}"\n'
            f"smtp-starttls = {'true' if starttls else 'false'}\n"
            # a login without TLS is refused unless opted in: these tests are about what the relay echoes
            + ("" if starttls else "smtp-plain-login = true\n")
            + (f'smtp-ca-file = "{ca_file}"\n' if ca_file else "")
        )
    git(repo, "commit", "-qam", "configure")
    git(repo, "tag", "-a", "-m", "kahan 1.0.1", "v1.0.1")


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_invariant_b_smtp_password_refused_login(
    kahan: Path, tmp_path: Path, smtp_server: Mailbox, debug: list[str]
) -> None:
    _configure(kahan, smtp_server.port, starttls=True, ca_file=smtp_server.ca_file)
    proc = shipwheel(
        "announce", "1.0.1", "--send", "--json", *debug,
        cwd=kahan, env={"SHIPWHEEL_SMTP_PASSWORD": SECRET},
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr
    assert smtp_server.mails == []
    assert_no_secret(proc, tmp_path)


class _RawSmtp:
    """A relay without TLS that either echoes the credentials in its refusal or hangs up during the login."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.sock.accept()
            with conn, conn.makefile("rwb") as f:
                conn.settimeout(30)
                f.write(b"220 echo ESMTP\r\n")
                f.flush()
                while line := f.readline():
                    verb = line.split(b" ", 1)[0].strip().upper()
                    if verb in (b"EHLO", b"HELO"):
                        f.write(b"250-echo\r\n250 AUTH PLAIN LOGIN\r\n")
                    elif verb == b"AUTH":
                        if self.behaviour == "drop":
                            return
                        f.write(b"535 5.7.8 credentials " + line.strip() + b" rejected\r\n")
                    elif verb == b"QUIT":
                        f.write(b"221 bye\r\n")
                        f.flush()
                        return
                    else:
                        f.write(b"502 no\r\n")
                    f.flush()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(10)


@pytest.mark.parametrize("behaviour", ["echo", "drop"])
@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_invariant_b_smtp_password_echoed_or_dropped(
    kahan: Path, tmp_path: Path, behaviour: str, debug: list[str]
) -> None:
    relay = _RawSmtp(behaviour)
    try:
        _configure(kahan, relay.port, starttls=False)
        proc = shipwheel(
            "announce", "1.0.1", "--send", *debug, cwd=kahan, env={"SHIPWHEEL_SMTP_PASSWORD": SECRET}
        )
    finally:
        relay.close()
    assert proc.returncode in (6, 7), proc.stderr
    assert_no_secret(proc, tmp_path)


# -- container credentials in URLs: fetch and stage ------------------------------------------------------------


def _with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://alice:{quote(SECRET, safe='')}@", 1)


@pytest.mark.parametrize("status", [401, 403, 500, "refused"])
@pytest.mark.parametrize("extra", [["--json"], ["--debug"], ["--json", "--debug"]])
def test_invariant_b_fetch_url_credentials(tmp_path: Path, status: int | str, extra: list[str]) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    if status == "refused":
        url = f"http://127.0.0.1:{free_port()}/simple/"
        proc = shipwheel(
            "fetch", "demo", "1.0", "--from", _with_userinfo(url), "-w", str(wheelhouse), "--retries", "0",
            "--timeout", "5", *extra, cwd=tmp_path, env={},
        )  # fmt: skip
    else:
        with echo_server(int(status)) as base:
            proc = shipwheel(
                "fetch", "demo", "1.0", "--from", _with_userinfo(f"{base}/simple/"), "-w", str(wheelhouse),
                "--retries", "0", "--timeout", "5", *extra, cwd=tmp_path, env={},
            )  # fmt: skip
    assert proc.returncode in (6, 7), proc.stderr
    assert_no_secret(proc, tmp_path)


@pytest.mark.parametrize("status", [401, 500, "refused"])
@pytest.mark.parametrize("extra", [["--json"], ["--json", "--debug"]])
def test_invariant_b_stage_url_credentials(tmp_path: Path, status: int | str, extra: list[str]) -> None:
    files = make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    if status == "refused":
        proc = shipwheel(
            "stage", str(files[0]), "--to", _with_userinfo(f"http://127.0.0.1:{free_port()}/up/"),
            "--retries", "0", "--timeout", "5", *extra, cwd=tmp_path, env={},
        )  # fmt: skip
    else:
        with echo_server(int(status)) as base:
            proc = shipwheel(
                "stage", str(files[0]), "--to", _with_userinfo(f"{base}/up/"), "--retries", "0",
                "--timeout", "5", *extra, cwd=tmp_path, env={},
            )  # fmt: skip
    assert proc.returncode in (1, 2, 6, 7), proc.stderr
    assert "Traceback" not in proc.stderr or "--debug" in extra
    assert_no_secret(proc, tmp_path)
