"""Credentials for an upload: where they come from, in order, and how they are kept out of every output.

Order, first found wins (the user name and the password are looked up separately, the same way):

1. the arguments of :func:`resolve_credentials` (the command line's ``--username``, ``--password``, ``--token``),
2. ``SHIPWHEEL_USERNAME`` / ``SHIPWHEEL_PASSWORD``,
3. ``TWINE_USERNAME`` / ``TWINE_PASSWORD``,
4. ``UV_PUBLISH_USERNAME`` / ``UV_PUBLISH_PASSWORD``, or ``UV_PUBLISH_TOKEN``,
5. the repository's ``.pypirc`` section,
6. the system keyring (when the ``keyring`` package is installed), for the password, keyed by the upload URL.

A password without a user name is an API token: the user name is ``__token__`` (a token, ``--token`` or
``UV_PUBLISH_TOKEN``, always goes with that name). Neither value is ever printed,
logged or written; :class:`Credentials` hides the password from ``repr`` and ``str``.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from .._http import register_secret
from ..errors import ShipwheelError
from ._repository import Repository

__all__ = [
    "TOKEN_USERNAME",
    "Credentials",
    "auth_hint",
    "refusal_message",
    "resolve_credentials",
    "scrub",
    "scrub_error",
]

log = logging.getLogger("shipwheel")

TOKEN_USERNAME = "__token__"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password for the upload API; ``source`` says where the password came from."""

    username: str
    password: str = field(repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        # wherever it came from (.pypirc, the keyring, a variable), the password is hidden at every sink
        register_secret(self.password, username=self.username)

    def __str__(self) -> str:
        return f"{self.username} (password from {self.source})"

    @property
    def is_token(self) -> bool:
        """Whether this is an API token (``__token__``)."""
        return self.username == TOKEN_USERNAME

    def forms(self) -> list[str]:
        """Every form in which the password could come back in an index's answer: as given, URL-quoted, and
        inside a ``Basic`` ``Authorization`` header (base64 of ``user:password``)."""
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        found = {self.password, quote(self.password, safe=""), basic, basic.rstrip("=")}
        return sorted((f for f in found if len(f) >= 4), key=len, reverse=True)


def scrub(text: str, credentials: Credentials | None) -> str:
    """``text`` with every form of the password replaced by ``***`` (an index may echo the request's headers)."""
    if credentials is None or not text:
        return text
    for form in credentials.forms():
        text = text.replace(form, "***")
    return text


def scrub_error(exc: ShipwheelError, credentials: Credentials | None) -> ShipwheelError:
    """``exc`` with the password removed from its message (and from ``str(exc)``, which ``--debug`` shows)."""
    if credentials is not None:
        exc.message = scrub(exc.message, credentials)
        exc.hint = scrub(exc.hint, credentials)
        exc.args = (exc.message,)
    return exc


def auth_hint(repository: Repository, credentials: Credentials | None) -> str:
    """How to fix a refusal, for this target: a PyPI API token only for PyPI and TestPyPI."""
    if repository.kind == "pypi":
        where = "pypi" if repository.name == "pypi" else "testpypi"
        if credentials is None:
            return (
                f"set SHIPWHEEL_PASSWORD (or TWINE_PASSWORD) to an API token (pypi-…), or add it as the password "
                f"of the [{where}] section of ~/.pypirc"
            )
        return (
            "use an API token that may upload to this project, with the user name __token__ "
            f"(the password came from {credentials.source})"
        )
    if credentials is None:
        section = f"the [{repository.pypirc.name}] section" if repository.pypirc else "a section"
        return (
            "give this index's user name and password: --username and --password, SHIPWHEEL_USERNAME and "
            f"SHIPWHEEL_PASSWORD (or TWINE_*), or {section} in ~/.pypirc"
        )
    return (
        f"check the user name ({credentials.username}) and the password for this index "
        f"(the password came from {credentials.source})"
    )


def refusal_message(where: str, credentials: Credentials | None, detail: str) -> str:
    """The one line for a 401/403: whether credentials were sent at all, and the index's words (scrubbed)."""
    if credentials is None:
        return f"{where} asks for credentials and none were given ({detail})"
    return f"{where} refused the credentials ({scrub(detail, credentials)})"


def _keyring_password(service: str, username: str) -> str | None:
    try:
        import keyring  # optional; may be slow or fail without a backend
    except ImportError:
        return None
    try:
        value = keyring.get_password(service, username)
    except Exception as exc:  # any backend failure means "no password there"
        log.debug("keyring lookup failed: %s", type(exc).__name__)
        return None
    return value if isinstance(value, str) and value else None


def resolve_credentials(
    repository: Repository,
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> Credentials | None:
    """The credentials for ``repository``, or ``None`` when none are configured anywhere."""
    env = os.environ if environ is None else environ
    section = repository.pypirc
    if token:
        return Credentials(username=TOKEN_USERNAME, password=token, source="the command line")

    def first(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
        for value, source in candidates:
            if value:
                return value, source
        return None, ""

    user, _ = first(
        (username, "the command line"),
        (env.get("SHIPWHEEL_USERNAME"), "SHIPWHEEL_USERNAME"),
        (env.get("TWINE_USERNAME"), "TWINE_USERNAME"),
        (env.get("UV_PUBLISH_USERNAME"), "UV_PUBLISH_USERNAME"),
        (TOKEN_USERNAME if env.get("UV_PUBLISH_TOKEN") else None, "UV_PUBLISH_TOKEN"),
        (section.username if section else None, ".pypirc"),
    )
    secret, source = first(
        (password, "the command line"),
        (env.get("SHIPWHEEL_PASSWORD"), "SHIPWHEEL_PASSWORD"),
        (env.get("TWINE_PASSWORD"), "TWINE_PASSWORD"),
        (env.get("UV_PUBLISH_PASSWORD"), "UV_PUBLISH_PASSWORD"),
        (env.get("UV_PUBLISH_TOKEN"), "UV_PUBLISH_TOKEN"),
        (section.password if section else None, ".pypirc"),
    )
    if (
        secret is None
        and use_keyring
        and repository.upload_url
        and env.get("SHIPWHEEL_NO_KEYRING", "") in {"", "0"}
    ):
        secret = _keyring_password(repository.upload_url, user or TOKEN_USERNAME)
        source = "keyring"
    if secret is None:
        return None
    return Credentials(username=user or TOKEN_USERNAME, password=secret, source=source)
