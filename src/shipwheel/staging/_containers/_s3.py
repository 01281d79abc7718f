"""An S3 bucket (or a prefix of one) as a container, through boto3 (the ``s3`` extra, imported only here).

Credentials and region come from boto3's usual chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, ``~/.aws/credentials`` and ``~/.aws/config``, instance roles. Another S3 server (MinIO, moto,
Ceph) is named by ``?endpoint=URL`` in the container URL, ``--endpoint-url`` or ``AWS_ENDPOINT_URL``. Listings are
paginated (``list_objects_v2``); only the top level of the prefix is listed.

botocore builds and signs every request, but shipwheel's one HTTP client (:func:`shipwheel._http.make_client`)
sends it, through botocore's ``before-send`` event: so every S3 request (a listing page, a GET, a PUT, each part
of a multipart upload and the request that completes it) has the same overall deadline as the other transfers,
``4 * timeout`` plus one second per 16 KiB moved, enforced at the socket. botocore's own ``read_timeout`` bounds
each read only, and a server that drips one byte a second never lets a read time out.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..._http import make_client
from ...distfiles import DistFile
from ...errors import AuthenticationError, EnvironmentNotReadyError
from ._base import MANIFEST, Entry, Listing, Opened, TransferError

__all__ = ["S3Container"]

_CHUNK = 1 << 20
#: S3's smallest part of a multipart upload (but the last).
_MIN_PART = 5 << 20
_RETRYABLE_CODES = {
    "500",
    "502",
    "503",
    "504",
    "InternalError",
    "SlowDown",
    "ServiceUnavailable",
    "RequestTimeout",
    "429",
    "TooManyRequests",
    "Throttling",
    "ThrottlingException",
}
_AUTH_CODES = {"403", "401", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise EnvironmentNotReadyError(
            "s3:// containers need boto3, which is not installed", hint="pip install 'shipwheel[s3]'"
        ) from exc
    return boto3


class S3Container:
    """``s3://bucket/prefix``: objects directly under the prefix are the container's files."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        max_connections: int = 16,
        page_size: int = 1000,
        timeout: float = 60.0,
    ) -> None:
        boto3 = _boto3()
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.page_size = page_size
        self.display = f"s3://{bucket}/{self.prefix}"
        config = BotoConfig(
            max_pool_connections=max_connections,
            # One attempt, no retry inside botocore: shipwheel's own RetryPolicy retries every read and upload,
            # and a 503 SlowDown that botocore retried silently would never reach the adaptive controller of
            # stage and fetch (shipwheel._adaptive), which must halve its connections on exactly that signal.
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=min(timeout, 15.0),
            read_timeout=timeout,
        )
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)
        ca_bundle = os.environ.get("AWS_CA_BUNDLE")
        self._http = make_client(
            timeout=timeout,
            max_connections=max_connections,
            verify=ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True,
        )
        self.client.meta.events.register("before-send.s3", functools.partial(_send, self._http))

    def _error(self, exc: Exception, what: str) -> Exception:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            return AuthenticationError(
                f"no AWS credentials for {self.display}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials",
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _AUTH_CODES or status in {401, 403}:
                return AuthenticationError(
                    f"S3 refused {what} in {self.display} ({code})",
                    hint="check the AWS credentials and the bucket policy",
                )
            if code in {"NoSuchBucket"}:
                return TransferError(
                    f"bucket {self.bucket!r} does not exist", hint="check the s3:// URL and the endpoint"
                )
            return TransferError(
                f"S3 error on {what} in {self.display}: {code} {error.get('Message', '')}".strip(),
                hint="try again later" if code in _RETRYABLE_CODES else "check the s3:// URL",
                retryable=code in _RETRYABLE_CODES
                or (isinstance(status, int) and (status >= 500 or status == 429)),
                status=status if isinstance(status, int) else None,
            )
        if isinstance(exc, BotoCoreError):
            return TransferError(
                f"S3 connection failed on {what} in {self.display}: {exc}",
                hint="check the endpoint and the network",
                retryable=True,
            )
        return exc

    def listing(self, project: str | None = None) -> Listing:
        """Objects directly under the prefix, every page of them."""
        from botocore.exceptions import BotoCoreError, ClientError

        listing = Listing()
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=self.bucket,
                Prefix=self.prefix,
                Delimiter="/",
                PaginationConfig={"PageSize": self.page_size},
            )
            for page in pages:
                listing.pages += 1
                for obj in page.get("Contents", []):
                    key: str = obj["Key"]
                    name = key[len(self.prefix) :]
                    if name == MANIFEST:
                        listing.manifest = key
                        continue
                    dist = DistFile.parse(name)
                    if dist is not None:
                        listing.add(Entry(dist, key, int(obj.get("Size", 0)), None))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "listing") from exc
        return listing

    @contextlib.contextmanager
    def stream(self, entry: Entry, offset: int = 0, end: int | None = None) -> Iterator[Opened]:
        """GET the object, from ``offset`` (to ``end``) with a range."""
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, str] = {"Bucket": self.bucket, "Key": entry.location}
        if offset or end is not None:
            kwargs["Range"] = f"bytes={offset}-{end - 1 if end is not None else ''}"
        try:
            response = self.client.get_object(**kwargs)
        except ClientError as exc:
            if offset and exc.response.get("Error", {}).get("Code") == "InvalidRange":
                with self.stream(entry, 0, end) as opened:
                    yield opened
                return
            raise self._error(exc, entry.filename) from exc
        except BotoCoreError as exc:
            raise self._error(exc, entry.filename) from exc
        body = response["Body"]
        start, total = 0, response.get("ContentLength")
        content_range = response.get("ContentRange") or ""
        if content_range:
            span, _, size = content_range.partition(" ")[2].partition("/")
            start = int(span.partition("-")[0])
            total = int(size) if size.isdigit() else None

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(_CHUNK)
            except (BotoCoreError, ClientError) as exc:
                raise self._error(exc, entry.filename) from exc

        try:
            yield Opened(start, total, chunks())
        finally:
            body.close()

    def read_small(self, location: str, limit: int = 16 << 20) -> bytes:
        """The content of a small object."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=location)["Body"]
            try:
                data: bytes = body.read(limit)
            finally:
                body.close()
            return data
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, location) from exc

    def close(self) -> None:
        """Release connections."""
        with contextlib.suppress(Exception):
            self.client.close()
        self._http.close()

    def put_file(
        self, path: Path, name: str, progress: Callable[[int], None] | None = None, connections: int = 1
    ) -> None:
        """Upload ``path`` as ``prefix/name`` (multipart for large files; S3 makes objects appear whole).

        ``progress`` receives the bytes sent as they go (negative when botocore rewinds a part to send it
        again). ``connections`` above one sends a large file as that many parts at once.
        """
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        size = path.stat().st_size
        if connections > 1 and size >= 2 * _MIN_PART:
            part = max(_MIN_PART, -(-size // connections))
            config = TransferConfig(
                multipart_threshold=part, multipart_chunksize=part, max_concurrency=connections
            )
        else:
            # No threads of boto3's own: one upload is one connection, so the caller's count of uploads at once
            # is the count of connections (the adaptive controller's unit); parts go one after another.
            config = TransferConfig(use_threads=False)
        try:
            self.client.upload_file(
                str(path), self.bucket, self.prefix + name, Callback=progress, Config=config
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, name) from exc
        except Exception as exc:  # boto3's S3UploadFailedError wraps the ClientError
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, (BotoCoreError, ClientError)):
                raise self._error(cause, name) from exc
            raise

    def put_bytes(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write ``data`` as ``prefix/name``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, name) from exc


# -- sending botocore's requests through shipwheel's HTTP client ---------------------------------------------


@functools.cache
def _send_error() -> Callable[..., Exception]:
    """A botocore error whose message is the HTTP client's own (``the server answers too slowly: …``)."""
    from botocore.exceptions import HTTPClientError

    class SendError(HTTPClientError):  # type: ignore[misc]
        fmt = "{error}"

    return SendError


def _describe(exc: httpx.HTTPError) -> str:
    return str(exc) or type(exc).__name__


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _file_chunks(body: _Readable) -> Iterator[bytes]:
    # botocore's file bodies (a part of the file, aws-chunked with a trailing checksum) count the bytes read for
    # the progress callbacks, so they are read as they are sent
    while chunk := body.read(_CHUNK):
        yield chunk


def _send(http: httpx.Client, request: Any, **_: Any) -> Any:
    """Send botocore's signed ``request`` with ``http`` (its deadline); botocore's ``AWSResponse`` of it."""
    from botocore.awsrequest import AWSResponse

    # Expect: 100-continue is botocore's own handshake (not signed); the client sends the body at once
    headers = {k: v for k, v in request.headers.items() if k.lower() != "expect"}
    body = request.body
    content = _file_chunks(body) if hasattr(body, "read") else body
    try:
        response = http.send(
            http.build_request(request.method, request.url, headers=headers, content=content), stream=True
        )
    except httpx.HTTPError as exc:
        raise _send_error()(error=_describe(exc)) from exc
    return AWSResponse(request.url, response.status_code, dict(response.headers.items()), _Body(response))


class _Body:
    """An open httpx response as botocore reads a body: ``read(amt)``, ``stream()``, ``close()``; the bytes as
    they came (no decompression), as botocore's own urllib3 bodies give them."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks = response.iter_raw()
        self._buffer = bytearray()

    def _more(self) -> bool:
        try:
            chunk = next(self._chunks, None)
        except httpx.HTTPError as exc:
            self._response.close()
            raise _send_error()(error=_describe(exc)) from exc
        if chunk is None:
            return False
        self._buffer += chunk
        return True

    def read(self, amt: int | None = None) -> bytes:
        while (amt is None or len(self._buffer) < amt) and self._more():
            pass
        size = len(self._buffer) if amt is None else min(amt, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def stream(self, amt: int = 1 << 16, decode_content: bool | None = None) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._response.close()
