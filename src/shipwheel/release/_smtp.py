"""One mail through an SMTP relay, told apart in three outcomes: accepted, refused (nothing sent), in doubt.

:mod:`smtplib` alone blurs them: ``send_message`` raises the same way for a relay that refused the message (a
``5xx`` or ``4xx`` reply to ``MAIL``, ``RCPT`` or ``DATA``: nothing was delivered, sending again is right) and for a
connection that broke after the message's final dot (the relay may have queued it: sending again may send it
twice). Here the conversation is held step by step, so only the second is *in doubt*.

Every reply is read against a deadline (a relay that drips one byte a second is given up on, where a socket
timeout alone waits forever) and is bounded in size (a relay that sends an endless multi-line reply is refused).
"""

from __future__ import annotations

import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from .._redact import redact_text
from .._terminal import visible

__all__ = ["MAX_REPLY", "BoundedSMTP", "SmtpInDoubt", "SmtpRefused", "deliver"]

#: Bytes of one reply (all its lines) at most; RFC 5321 allows 512 per line, real relays send a few lines.
MAX_REPLY = 64 * 1024


class SmtpRefused(Exception):
    """The relay answered a command with an error reply: the message was not delivered."""

    def __init__(self, command: str, code: int, reply: bytes) -> None:
        self.command, self.code = command, code
        self.reply = redact_text(visible(reply.decode("utf-8", errors="replace"), lines=False))
        super().__init__(f"{command}: {code} {self.reply}")


class SmtpInDoubt(Exception):
    """The connection broke (or the reply did not come) after the whole message was handed to the relay."""


class BoundedSMTP(smtplib.SMTP):
    """:class:`smtplib.SMTP` whose replies are read against a deadline per reply (``timeout``) and bounded to
    :data:`MAX_REPLY` bytes."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self._rbuf = b""
        super().__init__(host, port, timeout=timeout)

    def _readline(self, deadline: float) -> bytes:
        sock = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        while b"\n" not in self._rbuf:
            if len(self._rbuf) > MAX_REPLY:
                raise smtplib.SMTPServerDisconnected(f"a reply line longer than {MAX_REPLY} bytes")
            left = deadline - time.monotonic()
            if left <= 0:
                raise smtplib.SMTPServerDisconnected(f"no complete reply within {self.timeout:g} s")
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                raise smtplib.SMTPServerDisconnected(f"no complete reply within {self.timeout:g} s") from None
            if not chunk:
                raise smtplib.SMTPServerDisconnected("the relay closed the connection")
            self._rbuf += chunk
        line, _, self._rbuf = self._rbuf.partition(b"\n")
        return line + b"\n"

    def getreply(self) -> tuple[int, bytes]:
        """The relay's next reply (code, text), or :class:`smtplib.SMTPServerDisconnected` when it does not come
        complete within ``timeout`` seconds, is larger than :data:`MAX_REPLY`, or the connection breaks."""
        deadline = time.monotonic() + float(self.timeout)
        lines: list[bytes] = []
        size = 0
        code = -1
        try:
            while True:
                line = self._readline(deadline)
                size += len(line)
                if size > MAX_REPLY:
                    raise smtplib.SMTPServerDisconnected(f"a reply larger than {MAX_REPLY} bytes")
                match = re.match(rb"^(\d{3})([ -]?)(.*)$", line.rstrip(b"\r\n"), re.DOTALL)
                if match is None:
                    raise smtplib.SMTPServerDisconnected(f"not an SMTP reply: {line[:40]!r}")
                code = int(match.group(1))
                lines.append(match.group(3))
                if match.group(2) != b"-":
                    break
        except OSError as exc:
            self.close()
            raise smtplib.SMTPServerDisconnected(f"the connection broke: {exc}") from None
        except smtplib.SMTPServerDisconnected:
            self.close()
            raise
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)
        return code, b"\n".join(lines)

    def starttls(  # type: ignore[override]
        self, *, context: ssl.SSLContext | None = None
    ) -> tuple[int, bytes]:
        result = super().starttls(context=context)
        # Whatever came before the handshake in clear text is not to be read as the relay's words after it.
        self._rbuf = b""
        return result

    def close(self) -> None:
        self._rbuf = b""
        super().close()


def _expect(smtp: BoundedSMTP, command: str, reply: tuple[int, bytes], ok: tuple[int, ...]) -> None:
    code, text = reply
    if code not in ok:
        raise SmtpRefused(command, code, text)


def deliver(smtp: BoundedSMTP, msg: EmailMessage, sender: str, recipients: list[str]) -> None:
    """Hand ``msg`` to the relay for ``recipients``, one command at a time.

    :raises SmtpRefused: an error reply to MAIL, RCPT (any recipient: the lists get the mail together or not at
        all) or DATA, before or after the message: nothing was delivered.
    :raises smtplib.SMTPServerDisconnected: the connection broke before the message was complete.
    :raises SmtpInDoubt: the connection broke, or no reply came, after the message's final dot.
    """
    payload = msg.as_bytes(policy=SMTP_POLICY)
    _expect(smtp, "MAIL FROM", smtp.mail(sender), (250,))
    for rcpt in recipients:
        code, text = smtp.rcpt(rcpt)
        if code not in (250, 251):
            smtp.rset()
            raise SmtpRefused(f"RCPT TO {rcpt}", code, text)
    _expect(smtp, "DATA", smtp.docmd("DATA"), (354,))
    body = re.sub(rb"(?m)^\.", b"..", payload)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body + b".\r\n")  # a break here: the relay has no complete message, nothing to doubt
    try:
        reply = smtp.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise SmtpInDoubt(str(exc)) from None
    _expect(smtp, "the message (after DATA)", reply, (250,))
