"""One upload through the legacy upload API (``:action=file_upload``), the way PyPI expects it.

The form carries every core-metadata field of the file's own METADATA / PKG-INFO under the names warehouse
reads (the ones twine sends), the sha256 and blake2_256 digests, and the PEP 740 attestations found next to the
file (``<file>.publish.attestation``, twine's convention). The body is streamed from disk with a known length, so
we know whether it was sent entirely: a failure after that is *ambiguous* (the index may have stored the file)
and the caller asks the index before sending again.
"""

from __future__ import annotations

import html.parser
import json
import re
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, Literal

import httpx
from packaging.metadata import parse_email

from .._http import redact
from ..distfiles import DistFile
from ..errors import RemoteError, VerificationError

__all__ = [
    "ProgressFile",
    "SendOutcome",
    "attestations_for",
    "error_text",
    "form_fields",
    "multipart_parts",
    "read_core_metadata",
    "send_file",
]

#: packaging's raw metadata keys -> the upload form's field names (warehouse's ``_FORM_TO_RAW_MAPPING``: the raw
#: name, except platform, supported_platform, license_file, import_name, import_namespace).
_FIELDS: dict[str, str] = {
    "metadata_version": "metadata_version",
    "name": "name",
    "version": "version",
    "platforms": "platform",
    "summary": "summary",
    "description": "description",
    "keywords": "keywords",
    "home_page": "home_page",
    "author": "author",
    "author_email": "author_email",
    "license": "license",
    "supported_platforms": "supported_platform",
    "download_url": "download_url",
    "classifiers": "classifiers",
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "requires_dist": "requires_dist",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires_python": "requires_python",
    "requires_external": "requires_external",
    "project_urls": "project_urls",
    "description_content_type": "description_content_type",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
    "license_expression": "license_expression",
    "license_files": "license_file",
    # Metadata 2.5 (PEP 794), under warehouse's singular form names.
    "import_names": "import_name",
    "import_namespaces": "import_namespace",
}


def read_core_metadata(path: Path, dist: DistFile) -> bytes:
    """The METADATA (wheel) or PKG-INFO (sdist) bytes inside the release file.

    :raises VerificationError: the file is not a readable archive or has no metadata file.
    """
    try:
        if dist.kind == "wheel" or path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                if dist.kind == "wheel":
                    wanted = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
                else:
                    wanted = [n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                if wanted:
                    return zf.read(wanted[0])
        else:
            with tarfile.open(path, "r:gz") as tf:
                for member in tf:
                    if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                        fh = tf.extractfile(member)
                        if fh is not None:
                            return fh.read()
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise VerificationError(f"{path.name} is not a readable archive: {exc}", hint="rebuild it") from exc
    what = "METADATA" if dist.kind == "wheel" else "PKG-INFO"
    raise VerificationError(f"{path.name} has no {what}", hint="rebuild it with a standard build backend")


def _python_version(dist: DistFile) -> str:
    if dist.kind == "sdist":
        return "source"
    # The python tag of the filename, as twine sends it (``cp312``, ``py3``, ``py2.py3``).
    return dist.filename[:-4].split("-")[-3]


def form_fields(
    dist: DistFile, metadata: bytes, digests: dict[str, str], attestations: list[object] | None = None
) -> list[tuple[str, str]]:
    """The form fields of an upload, in order, lists as repeated fields (the ``content`` part excluded)."""
    raw, _unparsed = parse_email(metadata)
    out: list[tuple[str, str]] = [(":action", "file_upload"), ("protocol_version", "1")]
    for key, value in raw.items():
        field = _FIELDS.get(key)
        if field is None or value is None:
            continue
        if key == "name" and isinstance(value, str):
            value = re.sub("[^A-Za-z0-9.]+", "-", value)
        if isinstance(value, dict):
            out.extend((field, f"{label}, {url}") for label, url in value.items())
        elif key == "keywords" and isinstance(value, list):
            out.append((field, ", ".join(value)))
        elif isinstance(value, list):
            out.extend((field, str(item)) for item in value)
        else:
            out.append((field, str(value)))
    out.append(("filetype", "bdist_wheel" if dist.kind == "wheel" else "sdist"))
    out.append(("pyversion", _python_version(dist)))
    out.append(("sha256_digest", digests["sha256"]))
    if digests.get("blake2b"):
        out.append(("blake2_256_digest", digests["blake2b"]))
    if digests.get("md5"):
        out.append(("md5_digest", digests["md5"]))
    if attestations:
        out.append(("attestations", json.dumps(attestations)))
    return out


def attestations_for(path: Path) -> tuple[Path, ...]:
    """The PEP 740 attestation files next to ``path`` (``<file>.<kind>.attestation``, e.g. ``.publish.``)."""
    return tuple(sorted(path.parent.glob(f"{path.name}.*.attestation")))


def load_attestations(files: tuple[Path, ...]) -> list[object]:
    """The attestation objects of ``files``, each a JSON document."""
    out: list[object] = []
    for att in files:
        try:
            out.append(json.loads(att.read_bytes()))
        except (OSError, ValueError) as exc:
            raise VerificationError(
                f"{att.name} is not valid JSON", hint="regenerate the attestation"
            ) from exc
    return out


class ProgressFile:
    """The release file as httpx's multipart encoder reads it (``files=``): each block read is reported to
    ``on_bytes``, and ``complete`` says the end of the file was reached, after which only the closing boundary
    is left to send. httpx streams the body from this object and takes its Content-Length from ``fileno``.

    httpx's own encoder replaced a hand-written streaming body (issue 11): it streams with a Content-Length and
    flat memory, and was not slower (benchmarks/bench_publish.py --links loopback --tools shipwheel --repeat 2,
    numpy 2.4.6: 13.73 and 13.63 s against 13.26 and 14.21 s with the hand-written body)."""

    #: Progress is reported per this many bytes (and at the end): httpx reads 64 KiB at a time, and a report per
    #: read (a progress event, the adaptive limit's clock) cost 11% more CPU than the 1 MiB blocks of the
    #: hand-written body did (numpy 2.4.6 over loopback, -j 8: 4.32 against 3.87 CPU-seconds).
    REPORT_EVERY = 1 << 20

    def __init__(self, fh: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> None:
        self._fh = fh
        self._on_bytes = on_bytes
        self._unreported = 0
        self.complete = False

    def read(self, size: int = -1) -> bytes:
        block = self._fh.read(size)
        self._unreported += len(block)
        if not block:
            self.complete = True
        if (
            self._on_bytes is not None
            and self._unreported
            and (not block or self._unreported >= self.REPORT_EVERY)
        ):
            self._on_bytes(self._unreported)
            self._unreported = 0
        return block

    def seek(self, offset: int, whence: int = 0) -> int:
        self.complete = False  # httpx rewinds before it renders the body
        self._unreported = 0
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()


def multipart_parts(
    fields: list[tuple[str, str]],
    content: ProgressFile,
    filename: str,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> list[tuple[str, Any]]:
    """The ``files=`` of an upload: the form fields in their order (repeated names stay where they are), the
    ``attachments`` (``(field, filename, bytes)``), then the release file as ``content``."""
    parts: list[tuple[str, Any]] = [(name, (None, value)) for name, value in fields]
    parts += [
        (name, (attached, data, "application/octet-stream")) for name, attached, data in attachments or ()
    ]
    parts.append(("content", (filename, content, "application/octet-stream")))
    return parts


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one attempt gave: ``uploaded``; ``exists`` (the index says it has that name); ``retry`` (a transient
    failure before the index could have stored anything); ``ambiguous`` (the body was sent, then the answer was
    lost: ask the index); ``denied`` (401/403: the caller says why, for its target); ``reused`` (the index keeps
    the name of a deleted file and never takes it again)."""

    status: Literal["uploaded", "exists", "retry", "ambiguous", "denied", "reused"]
    detail: str = ""
    code: int = 0


class _Text(html.parser.HTMLParser):
    """The visible text of an HTML error page (no title, script or style)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"title", "script", "style", "head"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"title", "script", "style", "head"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def error_text(response: httpx.Response, limit: int = 160) -> str:
    """The index's reason in one short line: warehouse's status line when it carries a message, else the text of
    the body (HTML reduced to its words), cut at ``limit`` characters."""
    status = response.status_code
    reason = " ".join((response.reason_phrase or "").split())
    standard = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    if reason and reason.lower() != standard.lower():
        text = reason  # warehouse puts its message in the status line
    else:
        try:
            body = response.read()[:65536].decode("utf-8", "replace")
        except httpx.HTTPError:
            body = ""
        if "<" in body:
            parser = _Text()
            parser.feed(body)
            body = " ".join(parser.parts)
        text = " ".join(body.split())
        # Error pages repeat the status first ("Error: 401 Unauthorized", "401 Forbidden: ..."): said already.
        text = re.sub(rf"^(error:?\s*)?{status}\s*({re.escape(standard)})?[\s:.-]*", "", text, flags=re.I)
        # bottle's default page (pypiserver): "Sorry, the requested URL '…' caused an error: <reason>".
        bottle = re.fullmatch(r"Sorry, the requested URL .* caused an error:\s*(.*)", text)
        if bottle:
            text = "" if bottle[1] in {"", "None"} else bottle[1]
    text = "".join(c if c.isprintable() else " " for c in text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"HTTP {status}: {text}" if text else f"HTTP {status}" + (f" {standard}" if standard else "")


#: warehouse's refusals of a name: "File already exists", and the name of a deleted file ("This filename was
#: previously used ..."; older warehouse: "This filename has already been used").
_REUSED = ("filename was previously used", "filename has already been used")


def send_file(
    client: httpx.Client,
    upload_url: str,
    path: Path,
    fields: list[tuple[str, str]],
    *,
    auth: httpx.Auth | None = None,
    on_bytes: Callable[[int], None] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> SendOutcome:
    """Send one file; classify the answer.

    :raises RemoteError: a refusal that another attempt cannot change (400 invalid metadata, 413 too large).

    ``attachments`` are extra file parts, ``(field, filename, bytes)``: the ``gpg_signature`` for indexes that
    still take one. The ``detail`` of an outcome may hold the index's own words: the caller scrubs secrets.
    """
    with path.open("rb") as fh:
        content = ProgressFile(fh, on_bytes)
        try:
            response = client.post(
                upload_url,
                files=multipart_parts(fields, content, path.name, attachments),
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            kind = type(exc).__name__
            if content.complete and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                return SendOutcome("ambiguous", f"{kind} after the file was sent")
            return SendOutcome("retry", kind)
    status = response.status_code
    if status in {200, 201}:
        return SendOutcome("uploaded")
    reason = error_text(response)
    if status in {401, 403}:
        return SendOutcome("denied", reason, status)
    if status == 400 and any(words in reason.lower() for words in _REUSED):
        return SendOutcome("reused", reason, status)
    if status == 409 or (status == 400 and "exist" in reason.lower()):
        return SendOutcome("exists", reason, status)
    if status == 429 or status >= 500:
        return SendOutcome("retry", f"HTTP {status}", status)
    if status == 413:
        raise RemoteError(
            f"{path.name} is larger than {redact(upload_url)} accepts (HTTP 413)",
            hint="ask the index for a higher file size limit",
        )
    if 300 <= status < 400:
        where = response.headers.get("location", "")
        raise RemoteError(
            f"{redact(upload_url)} redirects uploads to {redact(where)}",
            hint="use the upload URL the index documents (for warehouse, …/legacy/)",
        )
    raise RemoteError(
        f"{redact(upload_url)} refused {path.name} ({reason})",
        hint="fix what the index says and publish again",
    )
