"""``s3://`` containers have an overall deadline per request, not only botocore's per-read timeout: a server (a
proxy in front of moto's S3 server here) that drips its answer one byte at a time is given up on with a one-line
:class:`TransferError`, for a listing, a download and the request that completes a multipart upload."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

import pytest

from fixtures.defective import make_wheel
from fixtures.http_servers import MotoS3
from fixtures.s3_front import _HOP, S3Front, _Handler
from shipwheel.staging import TransferError
from shipwheel.staging._containers._s3 import S3Container

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


class _DripHandler(_Handler):
    """Relays every request to moto; the answer to the chosen one is sent one byte every half second."""

    server: _DripServer  # type: ignore[assignment]

    def _relay(self) -> None:
        front = self.server.front
        if not (self.command == front.drip_method and front.drip_match in self.path):
            super()._relay()
            return
        body = self._read_body(None)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(front.upstream_host, front.upstream_port, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            head = f"HTTP/1.1 {response.status} {response.reason}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in response.getheaders() if k.lower() not in _HOP
            )
        finally:
            upstream.close()
        answer = f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data
        self.close_connection = True
        with front.lock:
            front.dripped += 1
        try:
            for i in range(len(answer)):
                self.wfile.write(answer[i : i + 1])
                self.wfile.flush()
                if front.stop.wait(0.5):
                    return
        except OSError:
            return  # the client gave up


class _DripServer:
    front: DripFront


class DripFront(S3Front):
    """:class:`S3Front` whose answer to ``method`` requests whose path contains ``match`` drips."""

    def __init__(self, upstream: str, method: str, match: str) -> None:
        super().__init__(upstream)
        self.drip_method, self.drip_match = method, match
        self.dripped = 0
        self.stop = threading.Event()
        self._server.RequestHandlerClass = _DripHandler

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        super().__exit__(kind, exc, tb)


def _wheel(folder: Path, size: int = 4096) -> Path:
    return make_wheel(folder, "demo", "1.0", "cp312-cp312-win_amd64", payload=b"x" * size)


def test_a_dripping_s3_listing_is_given_up_on(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("drip-listing")
    moto_s3.client.put_object(Bucket=bucket, Key="rc/demo-1.0-py3-none-any.whl", Body=b"x")
    with DripFront(moto_s3.endpoint, "GET", "list-type=2") as front:
        container = S3Container(bucket, "rc", endpoint_url=front.url, timeout=1)
        try:
            with pytest.raises(TransferError, match="too slowly") as caught:
                container.listing()
        finally:
            container.close()
    assert front.dripped == 1
    assert "\n" not in str(caught.value) and caught.value.retryable


def test_a_dripping_s3_download_is_given_up_on(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("drip-download")
    wheel = _wheel(tmp_path)
    moto_s3.client.upload_file(str(wheel), bucket, wheel.name)
    direct = S3Container(bucket, endpoint_url=moto_s3.endpoint, timeout=1)
    entry = direct.listing().entries[wheel.name]
    with direct.stream(entry) as opened:  # the same read, answered at once, is whole
        assert b"".join(opened.chunks) == wheel.read_bytes()
    direct.close()
    with DripFront(moto_s3.endpoint, "GET", wheel.name) as front:
        container = S3Container(bucket, endpoint_url=front.url, timeout=1)
        try:
            with pytest.raises(TransferError, match="too slowly"), container.stream(entry) as opened:
                b"".join(opened.chunks)
        finally:
            container.close()
    assert front.dripped == 1


def test_a_multipart_upload_never_completed_is_given_up_on(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("drip-multipart")
    wheel = _wheel(tmp_path, size=11 << 20)  # two parts of at least 5 MiB, sent at once
    with DripFront(moto_s3.endpoint, "POST", "uploadId=") as front:
        container = S3Container(bucket, endpoint_url=front.url, timeout=1)
        try:
            with pytest.raises(TransferError, match="too slowly"):
                container.put_file(wheel, wheel.name, connections=2)
        finally:
            container.close()
    assert front.dripped == 1 and front.puts >= 2  # the parts went through; their completion dripped


def test_stage_to_a_dripping_s3_server_is_one_line(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("drip-stage")
    wheel = _wheel(tmp_path / "wheelhouse")
    with DripFront(moto_s3.endpoint, "PUT", wheel.name) as front:
        proc = subprocess.run(
            [sys.executable, "-m", "shipwheel", "stage", str(wheel), "--to", f"s3://{bucket}/rc",
             "--endpoint-url", front.url, "--timeout", "1", "--retries", "0"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ},
        )  # fmt: skip
    assert front.dripped >= 1
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "too slowly" in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
