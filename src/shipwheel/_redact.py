"""Redaction: the one rule that keeps credentials out of every sink (the terminal, logs, ``--json``, HTML
pages, records, journals, commit and tag messages). Apart from :mod:`shipwheel._http` so that modules that only
show text (git messages, the configuration) do not import the HTTP client."""

from __future__ import annotations

import base64
import html
import os
import re
import threading
import typing
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "redact",
    "redact_data",
    "redact_text",
    "register_environment_secrets",
    "register_secret",
]


def redact(url: str) -> str:
    """``url`` with any user name and password removed, for messages and logs."""
    try:
        parts = urlsplit(url)
    except (
        ValueError
    ):  # not a URL one can split (an unclosed "[" of an IPv6 host): hide what looks like userinfo
        return redact_text(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


# -- redaction: the one rule for every sink ------------------------------------------------------------------

#: Secrets known to this process (passwords, tokens), in every form a server could echo them; see
#: :func:`register_secret`. A set, not a list: the same token is read by several steps of a release.
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_SECRET_PATTERN: re.Pattern[str] | None = None
#: Shorter values are not secrets worth hiding (and would blank out ordinary words).
_MIN_SECRET = 6
#: Environment variables whose values are secrets wherever they are shown (``GITHUB_TOKEN``,
#: ``SHIPWHEEL_PASSWORD``, ``TWINE_PASSWORD``, ``AWS_SECRET_ACCESS_KEY``, ``SHIPWHEEL_SMTP_PASSWORD`` ...).
_SECRET_NAMES = re.compile(
    r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|AUTHORIZATION", re.IGNORECASE
)  # not a bare AUTH: GIT_AUTHOR_EMAIL is no secret
# scheme://user:password@host (and scheme://token@host): the userinfo of any URL in any text
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@\"'<>]*@")
# Authorization: Basic ..., Bearer ..., token ...; headers quoted as Python reprs or JSON too
_AUTH_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:(basic|bearer|token|digest|aws4-hmac-sha256)\s+)?"
    r"[^\s'\",}]+"
)
# ?token=..., &password=..., X-Amz-Signature=...: secrets in a query string
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:[a-z0-9_.-]*(?:token|password|passwd|secret|signature|credential|api_?key))=)[^&\s#\"'<>]+"
)
REDACTED = "***"
_NOT_SECRET_SUFFIXES = ("_FILE", "_PATH", "_SOCK", "_DIR", "_URL_FILE", "AUTHORITY")


def register_secret(value: str | None, *, username: str | None = None) -> None:
    """Remember ``value`` as a secret: from now on :func:`redact_text` hides it in every form a server could
    echo it (as given, URL-quoted, inside a ``Basic`` header for ``username`` or the usual token user names)."""
    if not value or len(value) < _MIN_SECRET:
        return
    forms = {value, quote(value, safe=""), quote(value), html.escape(value)}
    for user in {username or "", "__token__", "x-access-token", "oauth2", "token"}:
        basic = base64.b64encode(f"{user}:{value}".encode()).decode()
        forms |= {basic, basic.rstrip("=")}
    global _SECRET_PATTERN
    with _SECRETS_LOCK:
        if forms <= _SECRETS:
            return
        _SECRETS.update(f for f in forms if len(f) >= _MIN_SECRET)
        # longest first, so that a secret inside a longer form is not replaced before the longer form
        _SECRET_PATTERN = re.compile("|".join(re.escape(f) for f in sorted(_SECRETS, key=len, reverse=True)))


def register_environment_secrets(environ: typing.Mapping[str, str] | None = None) -> None:
    """Register the values of the environment variables named like secrets (``*TOKEN*``, ``*PASSWORD*``,
    ``*SECRET*`` ...): whatever step reads them, their values are hidden at every sink."""
    for name, value in (os.environ if environ is None else environ).items():
        if not _SECRET_NAMES.search(name) or name.upper().endswith(_NOT_SECRET_SUFFIXES):
            continue  # SSH_AUTH_SOCK, GITHUB_TOKEN_FILE: where a secret is, not the secret
        if value.isalpha() and value.islower() and len(value) < 16:
            continue  # "enabled", "always": a setting, and hiding the word everywhere would garble messages
        register_secret(value)


def redact_text(text: str) -> str:
    """``text`` with every secret removed: the user name and password of any URL in it, the value of an
    ``Authorization`` header, secret query parameters (``?token=``), and every registered secret
    (:func:`register_secret`). The one redaction of every sink: the terminal, logs, ``--json``, HTML pages,
    records, journals, commit and tag messages."""
    if "://" in text:
        text = _USERINFO.sub(r"\1", text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTH_HEADER.sub(lambda m: m[1] + (f"{m[2]} " if m[2] else "") + REDACTED, text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: m[1] + REDACTED, text)
    pattern = _SECRET_PATTERN
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return text


def redact_data(data: typing.Any) -> typing.Any:
    """``data`` (JSON-ready: dicts, lists, strings, numbers) with :func:`redact_text` applied to every string,
    keys included."""
    if isinstance(data, str):
        return redact_text(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(v) for v in data]
    return data
