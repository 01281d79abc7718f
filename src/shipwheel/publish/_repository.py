"""Where ``shipwheel publish`` uploads to: ``pypi``, ``testpypi``, a ``.pypirc`` section, a URL or ``file:PATH``.

A repository has an upload endpoint (the legacy upload API) and a simple index that says what it already holds.
For PyPI and TestPyPI both are known. For any other URL the simple index is the one the user gave
(``--index-url``), or derived: ``…/legacy/`` -> ``…/simple/`` (warehouse), otherwise the first of ``URL/simple/``
(pypiserver) and ``URL/+simple/`` (devpi) that answers; see :func:`simple_index_candidates`.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .._fs import read_limited
from .._http import redact
from ..errors import ConfigError, UsageError

__all__ = [
    "PYPI",
    "TESTPYPI",
    "PypircSection",
    "Repository",
    "is_loopback_url",
    "pypirc_path",
    "read_pypirc",
    "resolve_repository",
    "same_origin",
    "simple_index_candidates",
]

PYPI = "https://upload.pypi.org/legacy/"
TESTPYPI = "https://test.pypi.org/legacy/"
_KNOWN: Mapping[str, tuple[str, str, str]] = {
    # name -> (upload URL, simple index, project web page base)
    "pypi": (PYPI, "https://pypi.org/simple/", "https://pypi.org/project/"),
    "testpypi": (TESTPYPI, "https://test.pypi.org/simple/", "https://test.pypi.org/project/"),
}


@dataclass(frozen=True, slots=True)
class PypircSection:
    """One ``[section]`` of ``~/.pypirc``; the password never appears in ``repr``."""

    name: str
    repository: str | None
    username: str | None
    password: str | None
    ca_cert: str | None = None
    client_cert: str | None = None

    def __repr__(self) -> str:
        return (
            f"PypircSection(name={self.name!r}, repository={self.repository!r}, username={self.username!r})"
        )


@dataclass(frozen=True, slots=True)
class Repository:
    """A resolved upload target.

    ``kind`` is ``pypi`` for PyPI and TestPyPI (whose upload rules are checked up front), ``http`` for any other
    index and ``file`` for a static index folder (``path``).
    """

    name: str
    kind: Literal["pypi", "http", "file"]
    upload_url: str = ""
    index_url: str = ""
    web_url: str = ""
    path: Path | None = None
    pypirc: PypircSection | None = None
    ca_cert: Path | None = None
    client_cert: Path | None = None

    @property
    def display(self) -> str:
        """The target as shown to the user (never with credentials)."""
        if self.kind == "file":
            return f"file:{self.path}"
        return redact(self.upload_url)

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What the HTTP client checks the index's certificate with: ``True`` (the system's CAs) unless a
        ``ca_cert`` or a ``client_cert`` was given.

        :raises UsageError: a certificate file that does not load.
        """
        if self.ca_cert is None and self.client_cert is None:
            return True
        try:
            context = ssl.create_default_context(cafile=str(self.ca_cert) if self.ca_cert else None)
            if self.client_cert is not None:
                context.load_cert_chain(str(self.client_cert))
        except (ssl.SSLError, OSError) as exc:
            raise UsageError(
                f"cannot load the certificates for {self.display} ({type(exc).__name__}: {exc.strerror or exc})",
                hint="give a PEM CA bundle (--cert, ca_cert) and a PEM with certificate and key (--client-cert)",
            ) from None
        return context

    def project_url(self, project: str, version: str) -> str:
        """Where a person sees the release: PyPI's project page, else the simple index page."""
        if self.web_url:
            return f"{self.web_url}{project}/{version}/"
        if self.kind == "file":
            return f"file:{self.path}/{project}/"
        return f"{self.index_url}{project}/" if self.index_url else self.display


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    host = (urlsplit(url).hostname or "").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(
            f"{what} {redact(url)!r} is not an http(s) URL",
            hint="give pypi, testpypi, a .pypirc section, an https:// URL or file:PATH",
        )
    if parts.username or parts.password:
        raise UsageError(
            f"{what} {redact(url)!r} holds credentials",
            hint="remove them from the URL and use SHIPWHEEL_USERNAME/SHIPWHEEL_PASSWORD or ~/.pypirc",
        )
    if parts.scheme == "http" and not is_loopback_url(url):
        raise UsageError(
            f"{what} {url!r} uses plain http, which would send your credentials unencrypted",
            hint="use https:// (plain http is allowed only to localhost/127.0.0.1)",
        )
    return url if url.endswith("/") else url + "/"


def pypirc_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$HOME/.pypirc`` (``HOME`` from ``environ``, so tests and sandboxes get their own)."""
    env = os.environ if environ is None else environ
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".pypirc"


def read_pypirc(path: Path, *, required: bool = False) -> dict[str, PypircSection]:
    """The sections of a ``.pypirc`` file (``{}`` when it does not exist, unless ``required``).

    :raises ConfigError: the file does not parse, or is ``required`` and missing or unreadable.
    """
    if not path.is_file():
        if required:
            raise ConfigError(f"config file {path} does not exist", hint="check --config-file")
        return {}
    parser = configparser.RawConfigParser()
    try:
        # bounded: a .pypirc that is /dev/zero or huge is an error, not a full memory
        parser.read_string(read_limited(path, 1 << 20).decode("utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError, OSError) as exc:
        # Only the position: configparser's own messages quote the offending line, which may hold a password.
        # ``from None`` keeps that message out of --debug tracebacks too.
        lineno = getattr(exc, "lineno", None)
        where = f" (line {lineno})" if isinstance(lineno, int) else ""
        raise ConfigError(
            f"{path} is not a valid .pypirc file: {type(exc).__name__}{where}",
            hint="fix it: INI sections such as [pypi] with 'key = value' lines",
        ) from None
    out: dict[str, PypircSection] = {}
    for name in parser.sections():
        if name == "distutils":
            continue
        get = parser[name].get
        out[name] = PypircSection(
            name,
            get("repository"),
            get("username"),
            get("password"),
            get("ca_cert"),
            get("client_cert"),
        )
    for name in ("pypi", "testpypi"):
        out.setdefault(name, PypircSection(name, None, None, None))
    return out


def resolve_repository(
    spec: str,
    *,
    index_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    ca_cert: Path | None = None,
    client_cert: Path | None = None,
) -> Repository:
    """Resolve ``spec``: ``pypi``, ``testpypi``, a ``.pypirc`` section name, an http(s) URL or ``file:PATH``.

    :param config_file: a ``.pypirc`` to read instead of ``~/.pypirc`` (twine's ``--config-file``).
    :param ca_cert: CA bundle to check the index's certificate with; default ``SHIPWHEEL_CERT``, ``TWINE_CERT``,
        then the section's ``ca_cert``. ``client_cert`` (a PEM with certificate and key) likewise, from
        ``SHIPWHEEL_CLIENT_CERT``, ``TWINE_CLIENT_CERT`` and ``client_cert``.
    :raises UsageError: an unknown name, a URL with credentials, plain http to another machine.
    """
    repo = _resolve(spec, index_url, environ, config_file)
    if repo.kind == "file":
        return repo
    env = os.environ if environ is None else environ
    section = repo.pypirc
    ca = (
        ca_cert
        or _env_path(env, "SHIPWHEEL_CERT", "TWINE_CERT")
        or _opt(section.ca_cert if section else None)
    )
    client = (
        client_cert
        or _env_path(env, "SHIPWHEEL_CLIENT_CERT", "TWINE_CLIENT_CERT")
        or _opt(section.client_cert if section else None)
    )
    for what, path in (("CA certificate", ca), ("client certificate", client)):
        if path is not None and not path.is_file():
            raise UsageError(
                f"the {what} {path} does not exist", hint="check --cert / --client-cert or ~/.pypirc"
            )
    return replace(repo, ca_cert=ca, client_cert=client)


def _opt(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _env_path(env: Mapping[str, str], *names: str) -> Path | None:
    return next((Path(env[n]).expanduser() for n in names if env.get(n)), None)


def _resolve(
    spec: str, index_url: str | None, environ: Mapping[str, str] | None, config_file: Path | None
) -> Repository:
    spec = spec.strip()
    if index_url:
        index_url = _check_url(index_url, "index URL")
    if not spec:
        raise UsageError("no repository given", hint="pass --repository pypi|testpypi|NAME|URL|file:PATH")
    if spec.startswith("file:"):
        raw = spec[len("file:") :]
        if raw.startswith("//"):
            raw = urlsplit(spec).path
        if not raw:
            raise UsageError("file: needs a folder", hint="write file:PATH, e.g. file:./index")
        return Repository(name=spec, kind="file", path=Path(raw).expanduser().resolve())
    sections = (
        read_pypirc(config_file.expanduser(), required=True)
        if config_file
        else read_pypirc(pypirc_path(environ))
    )
    section = sections.get(spec)
    if spec in _KNOWN:
        upload, simple, web = _KNOWN[spec]
        if section is not None and section.repository:
            upload = _check_url(section.repository, f".pypirc [{spec}] repository")
            if upload not in {PYPI, TESTPYPI}:
                return _http(spec, upload, index_url, section)
        return _pypi(spec, (upload, simple, web), index_url, section)
    if "://" in spec:
        url = _check_url(spec, "repository URL")
        for name, (upload, simple, web) in _KNOWN.items():
            if url == upload:
                return _pypi(name, (upload, simple, web), index_url, sections.get(name))
        matching = next((s for s in sections.values() if s.repository and _same_url(s.repository, url)), None)
        return _http(url, url, index_url, matching)
    if section is None:
        known = ", ".join(sorted(set(sections) | set(_KNOWN)))
        raise UsageError(
            f"unknown repository {spec!r}",
            hint=f"use one of {known}, an https:// URL or file:PATH, or add a [{spec}] section to ~/.pypirc",
        )
    if not section.repository:
        raise ConfigError(
            f".pypirc section [{spec}] has no repository URL",
            hint=f"add 'repository = https://…' to [{spec}] in ~/.pypirc",
        )
    return _http(spec, _check_url(section.repository, f".pypirc [{spec}] repository"), index_url, section)


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _pypi(
    name: str, urls: tuple[str, str, str], index_url: str | None, section: PypircSection | None
) -> Repository:
    """PyPI or TestPyPI: the upload, simple-index and web URLs of ``urls`` (``index_url`` overrides the index)."""
    upload, simple, web = urls
    return Repository(
        name=name, kind="pypi", upload_url=upload, index_url=index_url or simple, web_url=web, pypirc=section
    )


def _http(name: str, upload: str, index_url: str | None, section: PypircSection | None) -> Repository:
    if upload in {PYPI, TESTPYPI}:
        which = "pypi" if upload == PYPI else "testpypi"
        _u, simple, web = _KNOWN[which]
        return Repository(
            name=name,
            kind="pypi",
            upload_url=upload,
            index_url=index_url or simple,
            web_url=web,
            pypirc=section,
        )
    return Repository(name=name, kind="http", upload_url=upload, index_url=index_url or "", pypirc=section)


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs have the same scheme, host and port (credentials may go to both)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def simple_index_candidates(upload_url: str) -> list[str]:
    """Where the simple index of an upload endpoint may be, most likely first."""
    base = upload_url if upload_url.endswith("/") else upload_url + "/"
    if base.endswith("/legacy/"):
        return [base[: -len("legacy/")] + "simple/"]
    return [base + "simple/", base + "+simple/"]
