"""``shipwheel announce``: the text and Markdown, and one mail through a real SMTP server (aiosmtpd, STARTTLS, login)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fixtures.index_servers import free_port
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.errors import AuthenticationError, RemoteError

USER, PASSWORD = "release-bot", "s3cret-smtp"
LISTS = ["numpy-discussion@python.invalid", "python-announce-list@python.invalid"]


@dataclass
class Mailbox:
    """What the server received: (envelope recipients, raw message) per mail."""

    port: int
    ca_file: Path
    mails: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1: STARTTLS required (a trustme CA), then LOGIN; stopped at the end."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    box = Mailbox(free_port(), ca_file)
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, tls_context=server_ctx, require_starttls=True,
        authenticator=_authenticator, auth_require_tls=True, ready_timeout=30,
    )  # fmt: skip
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example with a tagged 1.0.0, two contributions and a merged pull request, tagged 1.0.1."""
    repo = make_kahan_repo(tmp_path / "kahan")
    git(repo, "tag", "-a", "-m", "kahan 1.0.0", "v1.0.0")
    git(repo, "remote", "add", "origin", "https://github.com/example/kahan.git")
    (repo / "README.md").write_text("better\n")
    git(repo, "commit", "-qam", "DOC: better readme",
        env={"GIT_AUTHOR_NAME": "Ada Newcomer", "GIT_AUTHOR_EMAIL": "ada@example.invalid"})  # fmt: skip
    git(repo, "switch", "-q", "-c", "fix")
    (repo / "native" / "kahan.h").write_text((repo / "native" / "kahan.h").read_text() + "\n")
    git(repo, "commit", "-qam", "BUG: fix header")
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge pull request #12 from ada/fix\n\nBUG: fix header", "fix")
    return repo


def _configure(repo: Path, box: Mailbox, port: int | None = None) -> None:
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.shipwheel.release]\n"
            'announce-from = "Release Manager <rm@kahan.invalid>"\n'
            f"announce-to = {json.dumps(LISTS)}\n"
            f'smtp-host = "127.0.0.1"\nsmtp-port = {port or box.port}\nsmtp-user = "{USER}"\n'
            f'smtp-ca-file = "{box.ca_file}"\n'
        )
    git(repo, "commit", "-qam", "configure")
    git(repo, "tag", "-a", "-m", "kahan 1.0.1", "v1.0.1")


def test_i12_announce_text_and_markdown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "tag", "-a", "-m", "kahan 1.0.1", "v1.0.1")
    assert main_inner(["announce", "1.0.1", "--json", "--config-dir", str(repo)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sent_now"] is False and out["message_id"] is None
    text = Path(out["text_file"]).read_text()
    assert text.startswith("Subject: ANN: kahan 1.0.1 released\n")
    assert "A total of 2 people contributed to this release, 1 of them for the first time" in text
    assert "* Ada Newcomer +" in text and "* #12: BUG: fix header" in text
    md = Path(out["markdown_file"]).read_text()
    assert "* [#12](https://github.com/example/kahan/pull/12): BUG: fix header" in md


def test_i12_announce_sent_once_bcc(
    repo: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(repo, smtp_server)
    monkeypatch.setenv("SHIPWHEEL_SMTP_PASSWORD", PASSWORD)
    argv = ["announce", "1.0.1", "--send", "--json", "--config-dir", str(repo)]
    assert main_inner(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["sent_now"] is True
    assert len(smtp_server.mails) == 1
    rcpt, raw = smtp_server.mails[0]
    assert sorted(rcpt) == sorted(LISTS)
    msg = message_from_bytes(raw)
    assert msg["To"] == "Release Manager <rm@kahan.invalid>" and msg["Bcc"] is None
    assert not any(a in raw.decode() for a in LISTS)  # the lists are in the envelope only
    assert msg["Message-ID"] == first["message_id"]
    record = json.loads((repo / ".shipwheel" / "releases" / "1.0.1.json").read_text())
    assert record["steps"]["announce"]["data"]["message_id"] == first["message_id"]
    assert record["steps"]["announce"]["data"]["sent"] is True
    # again: not sent twice
    assert main_inner(argv) == 0
    assert json.loads(capsys.readouterr().out)["sent_before"] is True
    assert len(smtp_server.mails) == 1


def test_i12_announce_smtp_down_then_up(
    repo: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(repo, smtp_server, port=free_port())  # nothing listens there
    monkeypatch.setenv("SHIPWHEEL_SMTP_PASSWORD", PASSWORD)
    argv = ["announce", "1.0.1", "--send", "--json", "--config-dir", str(repo)]
    with pytest.raises(RemoteError, match="could not send"):
        main_inner(argv)
    record = json.loads((repo / ".shipwheel" / "releases" / "1.0.1.json").read_text())
    assert "message_id" not in record["steps"]["announce"]["data"]  # nothing left the machine: not in doubt
    monkeypatch.setenv("SHIPWHEEL_RELEASE_SMTP_PORT", str(smtp_server.port))
    assert main_inner(argv) == 0
    assert len(smtp_server.mails) == 1


def test_i12_announce_wrong_password(
    repo: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(repo, smtp_server)
    monkeypatch.setenv("SHIPWHEEL_SMTP_PASSWORD", "wrong")
    with pytest.raises(AuthenticationError) as info:
        main_inner(["announce", "1.0.1", "--send", "--config-dir", str(repo)])
    assert info.value.exit_code == 7 and smtp_server.mails == []
