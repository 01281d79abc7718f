"""``shipwheel announce``: the release announcement as text (mail) and Markdown (a GitHub release), and its sending.

The mail goes to the lists as Bcc (the visible ``To`` is the sender, so replies do not go to every list). Its
``Message-ID`` is recorded in the release record *before* the mail is handed to the relay and marked sent after;
a record left "in doubt" (a crash in between) refuses to send again until the user says the mail did not arrive.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from .._fs import read_text, write_inside
from .._git import Git
from .._http import redact_text, register_secret
from .._terminal import visible
from ..config import Config
from ..errors import AuthenticationError, ConfigError, ProjectError, RemoteError, ShipwheelError
from ._smtp import BoundedSMTP, SmtpInDoubt, SmtpRefused, deliver
from ._state import ReleaseState

if TYPE_CHECKING:
    from ..notes import Changelog, Checksum

__all__ = [
    "AnnounceResult",
    "Announcement",
    "MailInDoubtError",
    "announce",
    "make_announcement",
    "send_announcement",
]


class MailInDoubtError(RemoteError):
    """The mail may or may not have been sent (exit 6); the record keeps its Message-ID until told otherwise."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """The announcement of one release: the mail subject and body, and the Markdown body of a GitHub release."""

    subject: str
    text: str
    markdown: str
    contributors: int
    pull_requests: int


def _previous_tag(git: Git, ref: str) -> str | None:
    try:
        return git.run("describe", "--tags", "--abbrev=0", f"{ref}^").strip() or None
    except ShipwheelError:
        return None


def _highlights(config: Config, version: Version) -> str:
    """The first paragraph after the title of the release notes, when they exist."""
    if not config.release.notes_file:
        return ""
    path = config.project_dir / config.release.notes_file.format(version=version)
    if not path.is_file():
        return ""
    try:
        notes = read_text(path, errors="replace")
    except OSError as exc:
        raise ProjectError(
            f"cannot read the release notes {path}: {exc.strerror}", hint="make it a regular file"
        ) from None
    paragraphs = [p.strip() for p in notes.split("\n\n") if p.strip()]
    body = [p for p in paragraphs if not set(p.splitlines()[-1]) <= set("=-~^#*") and not p.startswith("#")]
    return body[0] if body else ""


def make_announcement(
    config: Config,
    version: str,
    *,
    git: Git,
    ref: str | None = None,
    repository: str | None = None,
    state: ReleaseState | None = None,
) -> Announcement:
    """Gather the announcement of ``version``: highlights (the notes' first paragraph), contributors and pull
    requests since the previous tag (:func:`shipwheel.notes.make_changelog`), links, and the checksums of the
    release files in the wheelhouse. A pre-release's is a request for testing: how to install the candidate,
    what the downstream projects' tests found (from ``state``'s ``downstream`` step) and whom to tell."""
    from ..notes import checksums
    from ..publish import resolve_repository
    from ._names import project_name
    from ._preflight import configured_repository

    wanted = Version(version)
    # one line, whatever the name holds: it is in the subject and starts lines of the body
    name = visible(project_name(config), lines=False)
    changelog = _changelog(config, version, git, ref)
    people = list(changelog.contributors) if changelog else []
    pulls = list(changelog.pull_requests) if changelog else []
    sums = checksums(config.build.output_dir, name, version) if config.build.output_dir.is_dir() else []
    try:
        page = resolve_repository(repository or configured_repository(config)).project_url(name, version)
    except ShipwheelError:
        page = ""
    highlights = _highlights(config, wanted)
    kind = "pre-release" if wanted.is_prerelease else "release"
    subject = mail_header(f"ANN: {name} {version} released")
    intro = f"On behalf of the {name} team, I am pleased to announce the {kind} of {name} {version}."
    testing: tuple[list[str], list[str]] = ([], [])
    if wanted.is_prerelease:
        from ._testing_request import testing_request

        subject = f"Request for testing: {name} {version}"
        intro = (
            f"On behalf of the {name} team, I am pleased to announce the pre-release {name} {version}, and to ask "
            "you to test it with your projects before the final release."
        )
        testing = testing_request(config, name, version, state=state, repository=repository)
    new = sum(p.first_time for p in people)
    counts = (
        f"A total of {len(people)} people contributed to this release, {new} of them for the first time "
        f"(marked +), and {len(pulls)} pull requests were merged."
        if changelog
        else "This is the first tagged release."
    )
    parts = _Parts(
        name=name,
        version=version,
        intro=intro,
        highlights=highlights,
        testing=testing,
        counts=counts,
        changelog=changelog,
        page=page,
        sums=sums,
        sender=parseaddr(config.release.announce_from)[0] or f"the {name} team",
    )
    return Announcement(subject, _text(parts), _markdown(parts), len(people), len(pulls))


def _changelog(config: Config, version: str, git: Git, ref: str | None) -> Changelog | None:
    """The changelog since the previous tag, up to ``ref`` (default: the release's tag, or ``HEAD`` before
    tagging); ``None`` for a first release."""
    from ..notes import make_changelog
    from ._tag import find_tag, tag_name

    tag = tag_name(config, version)
    end = ref or (tag if find_tag(git, tag) else "HEAD")
    start = _previous_tag(git, end)
    if start is None:
        return None
    return make_changelog(
        git.root,
        f"{start}..{end}",
        pr_url=config.changelog.pr_url or None,
        bots=config.changelog.bots,
        detect_bots=config.changelog.detect_bots,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Parts:
    """What the mail text and the Markdown of one announcement both say."""

    name: str
    version: str
    intro: str
    highlights: str
    testing: tuple[list[str], list[str]]
    counts: str
    changelog: Changelog | None
    page: str
    sums: list[Checksum]
    sender: str


def _text(a: _Parts) -> str:
    """The mail body."""
    people = a.changelog.contributors if a.changelog else ()
    pulls = a.changelog.pull_requests if a.changelog else ()
    text = ["Hi all,", "", a.intro, ""]
    if a.highlights:
        text += [a.highlights, ""]
    text += a.testing[0]
    text += [a.counts, ""]
    if people:
        text += ["Contributors", "============", "", *[f"* {p.display}" for p in people], ""]
    if pulls:
        text += ["Pull requests merged", "====================", ""]
        text += [f"* #{p.number}: {p.title}" for p in pulls]
        text.append("")
    if a.page:
        text += ["Links", "=====", "", f"* {a.name} {a.version}: {a.page}", ""]
    if a.sums:
        text += ["Checksums", "=========", "", "SHA256", "------", ""]
        text += [f"{c.sha256}  {c.name}" for c in a.sums] + [""]
    text += ["Cheers,", "", a.sender, ""]
    return "\n".join(text)


def _markdown(a: _Parts) -> str:
    """The body of the GitHub release."""
    people = a.changelog.contributors if a.changelog else ()
    pulls = a.changelog.pull_requests if a.changelog else ()
    md = [f"# {a.name} {a.version}", "", a.intro, ""]
    if a.highlights:
        md += [a.highlights, ""]
    md += a.testing[1]
    md += [a.counts, ""]
    if people:
        md += ["## Contributors", "", *[f"* {p.display}" for p in people], ""]
    if pulls:
        md += ["## Pull requests merged", ""]
        changelog = a.changelog
        md += [f"* [#{p.number}]({changelog.url(p.number)}): {p.title}" if changelog else "" for p in pulls]
        md.append("")
    if a.page:
        md += ["## Links", "", f"* [{a.name} {a.version}]({a.page})", ""]
    if a.sums:
        md += ["## Checksums", "", "| file | sha256 |", "|---|---|"]
        md += [f"| `{c.name}` | `{c.sha256}` |" for c in a.sums] + [""]
    return "\n".join(md)


def mail_header(value: str) -> str:
    """``value`` as a mail header may hold it: one line, its control characters written as escapes, so that a
    CR/LF in a project name or a version never starts a header of its own (a forged ``Bcc:``)."""
    return visible(value, lines=False)


def _address(value: str, key: str) -> str:
    """A configured address, refused (not escaped) when it holds a control character: an address with a line
    break in it is a header injection, not a typo to send anyway."""
    if visible(value, lines=False) != value:
        raise ConfigError(
            f"release.{key} {visible(value, lines=False)!r} holds a line break or a control character",
            hint='write one address per entry, as "Name <address>"',
        )
    return value


def _mail_sender(config: Config) -> str:
    """The sender, once the settings of a mail (sender, lists, relay, login) are checked.

    :raises ConfigError: a setting is missing, holds a line break, or would send the password in clear.
    """
    opts = config.release
    sender = _address(opts.announce_from, "announce-from")
    for address in opts.announce_to:
        _address(address, "announce-to")
    if not sender or not parseaddr(sender)[1]:
        raise ConfigError("release.announce-from is not set", hint='set it to "Name <address>"')
    if not opts.announce_to:
        raise ConfigError(
            "release.announce-to lists no address", hint="list the mailing lists to announce to"
        )
    if not opts.smtp_host:
        raise ConfigError("release.smtp-host is not set", hint="set the SMTP relay, or leave --send off")
    if opts.smtp_user and not opts.smtp_starttls and not opts.smtp_plain_login:
        raise ConfigError(
            "release.smtp-user is set but smtp-starttls is false: the password would cross the network in clear",
            hint="set smtp-starttls = true, or smtp-plain-login = true for a relay on a network you trust",
        )
    return sender


def send_announcement(
    config: Config,
    announcement: Announcement,
    *,
    password: str | None,
    message_id: str | None = None,
    timeout: float = 60.0,
) -> str:
    """Send ``announcement`` to ``announce-to`` (Bcc) through ``smtp-host``; return its Message-ID.

    :param message_id: the id to use (the one recorded before sending, so a record names the mail it sent).
    :raises ConfigError: no sender, no lists or no relay configured.
    :raises AuthenticationError: the relay refused the login.
    :raises RemoteError: the relay could not be reached, or refused the mail.
    """
    register_secret(password)  # hidden in every message and record, however the caller got it
    opts = config.release
    sender = _mail_sender(config)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = sender  # the lists are Bcc: replies go to the sender, not to every list
    msg["Subject"] = mail_header(announcement.subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or new_message_id(config)
    msg.set_content(announcement.text)
    recipients = [parseaddr(a)[1] for a in opts.announce_to]
    context = None
    if opts.smtp_starttls:
        cafile = str(config.project_dir / opts.smtp_ca_file) if opts.smtp_ca_file else None
        context = ssl.create_default_context(cafile=cafile)
    relay = f"{opts.smtp_host}:{opts.smtp_port}"
    try:
        with BoundedSMTP(opts.smtp_host, opts.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if context is not None:
                smtp.starttls(context=context)
                smtp.ehlo()
            if opts.smtp_user:
                smtp.login(opts.smtp_user, password or "")
            deliver(smtp, msg, parseaddr(sender)[1], recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthenticationError(
            f"the SMTP relay {opts.smtp_host} refused the login of {opts.smtp_user}: {exc.smtp_code}",
            hint="check release.smtp-user and SHIPWHEEL_SMTP_PASSWORD",
        ) from None
    except SmtpInDoubt as exc:
        # The whole message reached the relay, which may have queued it before the connection broke.
        raise MailInDoubtError(
            f"the connection to {relay} broke after the announcement {msg['Message-ID']} was handed over: {exc}",
            hint=f"look for Message-ID {msg['Message-ID']} in the list archive; if it is not there, "
            "run announce again with --force",
        ) from None
    except SmtpRefused as exc:
        later = 400 <= exc.code < 500
        raise RemoteError(
            f"the SMTP relay {relay} refused the announcement at {exc.command}: {exc.code} {exc.reply}",
            hint=(
                "a temporary refusal: nothing was sent; run the same command again later"
                if later
                else "nothing was sent; check release.announce-from, release.announce-to and the relay's "
                "rules, then run the same command again"
            ),
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise RemoteError(
            f"could not send the announcement through {relay}: {redact_text(str(exc))}",
            hint="check the relay and run the same command again (nothing was sent)",
        ) from None
    return str(msg["Message-ID"])


def new_message_id(config: Config) -> str:
    """A fresh Message-ID in the sender's domain."""
    domain = parseaddr(config.release.announce_from)[1].rpartition("@")[2] or None
    return make_msgid(domain=domain)


def write_announcement(announcement: Announcement, folder: Path, version: str) -> tuple[Path, Path]:
    """Write the mail text and the GitHub release Markdown into ``folder``; return both paths."""
    text = folder / f"{version}-announcement.txt"
    md = folder / f"{version}-github-release.md"
    # .shipwheel/releases/ inside the project: links planted there are replaced, never written through.
    root = folder.parents[1]
    subject = mail_header(announcement.subject)
    write_inside(root, text.relative_to(root), redact_text(f"Subject: {subject}\n\n{announcement.text}"))
    write_inside(root, md.relative_to(root), redact_text(announcement.markdown))
    return text, md


@dataclass(frozen=True, slots=True)
class AnnounceResult:
    """What :func:`announce` did: the files it wrote, the Message-ID, whether it sent now or had before."""

    text_file: Path
    markdown_file: Path
    message_id: str | None
    sent_now: bool
    sent_before: bool


def announce(
    config: Config,
    version: str,
    *,
    state: ReleaseState,
    git: Git,
    send: bool,
    force: bool = False,
    password: str | None = None,
) -> AnnounceResult:
    """Write the announcement of ``version`` beside the release record and, with ``send``, mail it once.

    The Message-ID is recorded before the mail goes to the relay and marked sent after, so a mail is never sent
    twice: a record that says sent returns at once, one in doubt raises :class:`MailInDoubtError` unless
    ``force``.
    """
    ann = make_announcement(config, version, git=git, repository=state.repository or None, state=state)
    text_file, md_file = write_announcement(ann, state.path.parent, version)
    data = state.steps["announce"].data
    data.update(file=str(text_file), markdown=str(md_file))
    if not send:
        state.save()
        return AnnounceResult(text_file, md_file, data.get("message_id"), False, bool(data.get("sent")))
    if data.get("message_id") and not force:
        if data.get("sent"):
            return AnnounceResult(text_file, md_file, data["message_id"], False, True)
        raise MailInDoubtError(
            f"the announcement {data['message_id']} may have been sent by an earlier run",
            hint=f"look for Message-ID {data['message_id']} in the list archive; if it is not there, "
            "run announce again with --force",
        )
    mid = new_message_id(config)
    data.update(message_id=mid, sent=False)
    state.save()
    try:
        send_announcement(config, ann, password=password, message_id=mid)
    except MailInDoubtError:
        raise
    except ShipwheelError:
        data.pop("message_id", None)  # nothing left this machine: not in doubt
        data.pop("sent", None)
        state.save()
        raise
    data.update(sent=True, recipients=list(config.release.announce_to))
    state.save()
    return AnnounceResult(text_file, md_file, mid, True, False)
