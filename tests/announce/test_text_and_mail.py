"""``shipwheel announce``: the text and Markdown, and one mail through a real SMTP server (aiosmtpd, STARTTLS, login)."""

from __future__ import annotations

import json
from email import message_from_bytes
from pathlib import Path

import pytest

from fixtures.processes import free_port
from fixtures.release_repo import git, make_kahan_repo
from fixtures.smtp_server import LISTS, PASSWORD, USER, Mailbox
from shipwheel.cli import main_inner
from shipwheel.errors import AuthenticationError, RemoteError


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


def test_announce_text_and_markdown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
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


def test_announce_sent_once_bcc(
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


def test_announce_smtp_down_then_up(
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


def test_announce_wrong_password(repo: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(repo, smtp_server)
    monkeypatch.setenv("SHIPWHEEL_SMTP_PASSWORD", "wrong")
    with pytest.raises(AuthenticationError) as info:
        main_inner(["announce", "1.0.1", "--send", "--config-dir", str(repo)])
    assert info.value.exit_code == 7 and smtp_server.mails == []
