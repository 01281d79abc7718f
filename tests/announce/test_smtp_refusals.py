"""A relay's refusal is not a mail in doubt: real aiosmtpd servers on 127.0.0.1 that refuse, drop or drip."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fixtures.processes import free_port
from fixtures.release_repo import git, make_kahan_repo
from shipwheel._git import Git
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ConfigError, RemoteError
from shipwheel.release import MailInDoubtError, make_announcement
from shipwheel.release._announce import send_announcement

USER, PASSWORD = "release-bot", "s3cret-smtp-pw"
LISTS = ["numpy-discussion@python.invalid", "python-announce-list@python.invalid"]


@dataclass
class Relay:
    """An aiosmtpd handler whose answers to DATA and RCPT are set by the test; ``mails`` what it accepted."""

    port: int
    ca_file: Path
    data_replies: list[str] = field(default_factory=list)  # taken one per DATA; "drop" closes the connection
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    mails: list[tuple[list[str], bytes]] = field(default_factory=list)
    seen: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen += 1
        reply = self.data_replies.pop(0) if self.data_replies else "250 OK"
        if reply == "drop":  # the whole message arrived; the connection breaks before the reply
            self.mails.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            server.transport.abort()
            return "250 OK"
        if reply.startswith("250"):
            self.mails.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return reply


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    box = Relay(free_port(), ca_file)
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, tls_context=server_ctx, require_starttls=True,
        authenticator=_authenticator, auth_require_tls=True, ready_timeout=30,
    )  # fmt: skip
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def _announcing_repo(folder: Path, port: int, more: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example in a repository of its own, tagged v1.0.0, announcing through the relay on ``port``."""
    repo = make_kahan_repo(folder)
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.shipwheel.release]\n"
            'announce-from = "Release Manager <rm@kahan.invalid>"\n'
            f"announce-to = {json.dumps(LISTS)}\n"
            f'smtp-host = "127.0.0.1"\nsmtp-port = {port}\nsmtp-user = "{USER}"\n{more}'
        )
    git(repo, "commit", "-qam", "configure")
    git(repo, "tag", "-a", "-m", "kahan 1.0.0", "v1.0.0")
    monkeypatch.setenv("SHIPWHEEL_SMTP_PASSWORD", PASSWORD)
    return repo


@pytest.fixture
def repo(tmp_path: Path, relay: Relay, monkeypatch: pytest.MonkeyPatch) -> Path:
    return _announcing_repo(
        tmp_path / "kahan", relay.port, f'smtp-ca-file = "{relay.ca_file}"\n', monkeypatch
    )


def _record(repo: Path) -> dict[str, Any]:
    data = json.loads((repo / ".shipwheel" / "releases" / "1.0.0.json").read_text())
    return dict(data["steps"]["announce"]["data"])


ARGV = ["announce", "1.0.0", "--send", "--json"]


@pytest.mark.parametrize(
    ("reply", "hint"),
    [(f"500 5.7.1 rejected for {USER}:{PASSWORD}", "nothing was sent"), ("451 4.3.0 try later", "later")],
)
def test_a_refusal_of_data_is_not_in_doubt_and_a_rerun_sends(
    repo: Path, relay: Relay, reply: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    relay.data_replies = [reply]
    argv = [*ARGV, "--config-dir", str(repo)]
    with pytest.raises(RemoteError) as info:
        main_inner(argv)
    assert not isinstance(info.value, MailInDoubtError)
    assert reply[:3] in info.value.message and "DATA" in info.value.message
    assert PASSWORD not in info.value.message  # the relay's words are redacted
    assert hint in (info.value.hint or "")
    assert relay.mails == [] and relay.seen == 1
    assert "message_id" not in _record(repo) and not _record(repo).get("sent")
    assert main_inner(argv) == 0  # the relay accepts now: sent, once
    assert json.loads(capsys.readouterr().out)["sent_now"] is True
    assert len(relay.mails) == 1 and _record(repo)["sent"] is True


def test_a_refused_list_sends_to_no_list(repo: Path, relay: Relay) -> None:
    relay.refuse_rcpt = {LISTS[1]: "550 5.1.1 no such list"}
    with pytest.raises(RemoteError) as info:
        main_inner([*ARGV, "--config-dir", str(repo)])
    assert not isinstance(info.value, MailInDoubtError)
    assert "550" in info.value.message and LISTS[1] in info.value.message
    assert relay.mails == [] and relay.seen == 0  # the first list did not get it alone
    assert "message_id" not in _record(repo)


def test_a_connection_dropped_after_the_data_is_in_doubt_and_not_resent(repo: Path, relay: Relay) -> None:
    relay.data_replies = ["drop"]
    argv = [*ARGV, "--config-dir", str(repo)]
    with pytest.raises(MailInDoubtError) as info:
        main_inner(argv)
    mid = _record(repo)["message_id"]
    assert mid in (info.value.hint or "") and _record(repo)["sent"] is False
    with pytest.raises(MailInDoubtError):
        main_inner(argv)
    assert relay.seen == 1 and len(relay.mails) == 1


def _raw_relay(talk: Any) -> tuple[int, threading.Event]:
    """A bare TCP server on 127.0.0.1 that runs ``talk(conn, stop)`` for one client, for at most 30 s."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(30)
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            srv.close()
            return
        with conn, srv, contextlib.suppress(OSError):
            talk(conn, stop)

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], stop


def _endless_greeting(conn: socket.socket, stop: threading.Event) -> None:
    end = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < end:
        conn.sendall(b"220-" + b"x" * 1000 + b"\r\n")


def _dripping_greeting(conn: socket.socket, stop: threading.Event) -> None:
    end = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < end:
        conn.sendall(b"2")  # never a whole line, one byte well within any per-read timeout
        stop.wait(0.05)


@pytest.mark.parametrize(
    ("talk", "said"), [(_endless_greeting, "larger than"), (_dripping_greeting, "within")]
)
def test_a_relay_that_never_finishes_its_reply_is_given_up_on(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, talk: Any, said: str
) -> None:
    port, stop = _raw_relay(talk)
    monkeypatch.setenv("SHIPWHEEL_RELEASE_SMTP_PORT", str(port))
    config = load_config(repo)
    ann = make_announcement(config, "1.0.0", git=Git(repo))
    try:
        with pytest.raises(RemoteError) as info:
            send_announcement(config, ann, password=PASSWORD, timeout=1.0)
    finally:
        stop.set()
    assert not isinstance(info.value, MailInDoubtError) and said in info.value.message


@pytest.fixture
def plain_relay() -> Iterator[Relay]:
    """A relay with login and no TLS at all (as on a trusted internal network)."""
    box = Relay(free_port(), Path("/nonexistent"))
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=_authenticator, auth_require_tls=False,
        ready_timeout=30,
    )  # fmt: skip
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.mark.parametrize("opt_in", [False, True])
def test_a_login_without_tls_needs_an_explicit_opt_in(
    tmp_path: Path, plain_relay: Relay, monkeypatch: pytest.MonkeyPatch, opt_in: bool
) -> None:
    more = f"smtp-starttls = false\nsmtp-plain-login = {str(opt_in).lower()}\n"
    repo = _announcing_repo(tmp_path / "kahan", plain_relay.port, more, monkeypatch)
    argv = [*ARGV, "--config-dir", str(repo)]
    if opt_in:
        assert main_inner(argv) == 0
        assert len(plain_relay.mails) == 1
        return
    with pytest.raises(ConfigError) as info:
        main_inner(argv)
    assert "in clear" in info.value.message and "smtp-plain-login" in (info.value.hint or "")
    assert plain_relay.seen == 0 and plain_relay.mails == []  # refused before the password was sent
