"""Credentials for an upload: where they come from, in order, and how they are kept out of every output.

Order, first found wins (the user name and the password are looked up separately, the same way):

1. the arguments of :func:`resolve_credentials` (the command line's ``--username``),
2. ``SHIPWHEEL_USERNAME`` / ``SHIPWHEEL_PASSWORD``,
3. ``TWINE_USERNAME`` / ``TWINE_PASSWORD``,
4. the repository's ``~/.pypirc`` section,
5. the system keyring (when the ``keyring`` package is installed), for the password, keyed by the upload URL.

A password without a user name is an API token: the user name is ``__token__``. Neither value is ever printed,
logged or written; :class:`Credentials` hides the password from ``repr`` and ``str``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._repository import Repository

__all__ = ["TOKEN_USERNAME", "Credentials", "resolve_credentials"]

log = logging.getLogger("shipwheel")

TOKEN_USERNAME = "__token__"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password for the upload API; ``source`` says where the password came from."""

    username: str
    password: str = field(repr=False)
    source: str = ""

    def __str__(self) -> str:
        return f"{self.username} (password from {self.source})"

    @property
    def is_token(self) -> bool:
        """Whether this is an API token (``__token__``)."""
        return self.username == TOKEN_USERNAME


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
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> Credentials | None:
    """The credentials for ``repository``, or ``None`` when none are configured anywhere."""
    env = os.environ if environ is None else environ
    section = repository.pypirc

    def first(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
        for value, source in candidates:
            if value:
                return value, source
        return None, ""

    user, _ = first(
        (username, "command line"),
        (env.get("SHIPWHEEL_USERNAME"), "SHIPWHEEL_USERNAME"),
        (env.get("TWINE_USERNAME"), "TWINE_USERNAME"),
        (section.username if section else None, "~/.pypirc"),
    )
    secret, source = first(
        (password, "command line"),
        (env.get("SHIPWHEEL_PASSWORD"), "SHIPWHEEL_PASSWORD"),
        (env.get("TWINE_PASSWORD"), "TWINE_PASSWORD"),
        (section.password if section else None, "~/.pypirc"),
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
