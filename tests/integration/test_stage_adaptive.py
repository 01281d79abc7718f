"""Issue 15: ``shipwheel stage`` to a bucket adapts its uploads: grows on a link that rewards more connections,
halves on S3's 503 SlowDown / 429 and sends those files again, never above -j; ``--fixed-jobs`` and ``jobs = N``
in the configuration keep N. Against moto's S3 server behind a shaping, fault-injecting proxy on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from fixtures.http_servers import MotoS3
from fixtures.s3_front import S3Front
from shipwheel._retry import RetryPolicy
from shipwheel.cli import main_inner
from shipwheel.manifest import parse_manifest
from shipwheel.staging import StageEvent, stage_files
from shipwheel.staging._containers._s3 import S3Container

pytestmark = pytest.mark.integration


def _release(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(1, count + 1):
        path = folder / f"demo-1.0.0-{i}-py3-none-any.whl"
        path.write_bytes(os.urandom(size + i))  # sizes differ by a byte or two: the order is checkable
        files.append(path)
    return files


def _check_bucket(moto_s3: MotoS3, bucket: str, prefix: str, files: list[Path]) -> None:
    """Every file is in the bucket, byte for byte, and SHA256SUMS lists each one's sha256."""
    for path in files:
        body = moto_s3.client.get_object(Bucket=bucket, Key=f"{prefix}/{path.name}")["Body"].read()
        assert body == path.read_bytes(), path.name
    sums = moto_s3.client.get_object(Bucket=bucket, Key=f"{prefix}/SHA256SUMS")["Body"].read().decode()
    assert parse_manifest(sums) == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_stage_grows_on_a_link_that_limits_each_connection(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("adaptive-grow")
    files = _release(tmp_path / "wh", 32, 1 << 20)
    events: list[StageEvent] = []
    with S3Front(moto_s3.endpoint, conn_bps=1 << 20) as front:  # 1 MiB/s per connection, no limit in all
        container = S3Container(bucket, "rc", endpoint_url=front.url, max_connections=16)
        try:
            report = stage_files(files, container, jobs=16, on_event=events.append)
        finally:
            container.close()
    assert report.connections[0] == 4 and max(report.connections) > 4, report.connections
    assert max(report.connections) <= 16 and front.most_in_flight <= 16
    assert all(f.status == "staged" for f in report.files) and len(report.files) == 32
    _check_bucket(moto_s3, bucket, "rc", files)
    # Largest first; every byte of every file was counted through boto3's callback.
    started = [e.name for e in events if e.kind == "uploading"]
    assert started == [p.name for p in sorted(files, key=lambda p: -p.stat().st_size)]
    assert sum(e.done for e in events if e.kind == "progress") == sum(p.stat().st_size for p in files)
    shown = [e.done for e in events if e.kind == "connections"]
    assert shown == report.connections


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("status", "code"), [(503, "SlowDown"), (429, "TooManyRequests"), (500, "InternalError")]
)
def test_stage_shrinks_on_s3_push_back_and_sends_those_files_again(
    moto_s3: MotoS3, tmp_path: Path, status: int, code: str
) -> None:
    bucket = moto_s3.bucket(f"adaptive-{status}")
    files = _release(tmp_path / "wh", 8, 64 << 10)
    with S3Front(moto_s3.endpoint, slowdown=6, status=status, code=code) as front:
        container = S3Container(bucket, "rc", endpoint_url=front.url)
        try:
            report = stage_files(files, container, jobs=8, policy=RetryPolicy(retries=5, base=0.05))
        finally:
            container.close()
    # Each push-back reached the controller (botocore retried none of them on its own) and halved it.
    assert front.refused == 6 and front.puts == 8 + 6 + 1 + 4  # files, refusals, SHA256SUMS, 4 index pages
    assert report.connections[0] == 4 and report.connections[-1] == 1, report.connections
    assert all(f.status == "staged" for f in report.files) and len(report.files) == 8
    _check_bucket(moto_s3, bucket, "rc", files)


@pytest.mark.timeout(120)
def test_stage_shrinks_on_connection_resets_and_sends_those_files_again(
    moto_s3: MotoS3, tmp_path: Path
) -> None:
    bucket = moto_s3.bucket("adaptive-reset")
    files = _release(tmp_path / "wh", 8, 64 << 10)
    with S3Front(moto_s3.endpoint, resets=2) as front:
        container = S3Container(bucket, "rc", endpoint_url=front.url)
        try:
            report = stage_files(files, container, jobs=8, policy=RetryPolicy(retries=5, base=0.05))
        finally:
            container.close()
    assert front.dropped == 2 and report.connections[:3] == [4, 2, 1], report.connections
    _check_bucket(moto_s3, bucket, "rc", files)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_stage_multipart_file_refused_midway_is_sent_again_whole(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("adaptive-multipart")
    big = tmp_path / "wh" / "demo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    big.parent.mkdir()
    big.write_bytes(os.urandom(17 << 20))  # three parts of boto3's 8 MiB
    small = _release(tmp_path / "wh", 2, 64 << 10)
    events: list[StageEvent] = []
    with S3Front(moto_s3.endpoint, slowdown=1, match="partNumber=2") as front:  # a part midway is refused
        container = S3Container(bucket, "rc", endpoint_url=front.url)
        try:
            report = stage_files(
                [big, *small], container, policy=RetryPolicy(retries=3, base=0.05), on_event=events.append
            )
        finally:
            container.close()
    assert [e.name for e in events if e.kind == "retry"] == [big.name]
    assert report.connections == [4, 2]
    # The progress of the refused try was taken back: what was counted is each file once.
    assert sum(e.done for e in events if e.kind == "progress" and e.name == big.name) == big.stat().st_size
    _check_bucket(moto_s3, bucket, "rc", [big, *small])
    assert (
        moto_s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    )  # the refused one aborted


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_stage_last_large_file_goes_up_in_parts_at_once(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("adaptive-tail")
    big = tmp_path / "wh" / "demo-1.0.0.tar.gz"
    big.parent.mkdir()
    big.write_bytes(os.urandom(12 << 20))
    with S3Front(moto_s3.endpoint, conn_bps=8 << 20) as front:
        container = S3Container(bucket, "rc", endpoint_url=front.url, max_connections=64)
        try:
            report = stage_files([big], container)
        finally:
            container.close()
    assert front.most_in_flight >= 2 and report.connections == [4]  # one file: one slot, parts at once
    _check_bucket(moto_s3, bucket, "rc", [big])


@pytest.mark.timeout(120)
def test_stage_fixed_jobs_keeps_the_number_despite_slowdown(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("adaptive-fixed")
    files = _release(tmp_path / "wh", 8, 64 << 10)
    with S3Front(moto_s3.endpoint, slowdown=4) as front:
        container = S3Container(bucket, "rc", endpoint_url=front.url)
        try:
            report = stage_files(
                files, container, jobs=3, adaptive=False, policy=RetryPolicy(retries=5, base=0.05)
            )
        finally:
            container.close()
    assert report.connections == [3] and front.most_in_flight <= 3
    _check_bucket(moto_s3, bucket, "rc", files)


def _cli_stage(
    moto_s3: MotoS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cwd: Path,
    *extra: str,
) -> dict[str, Any]:
    bucket = moto_s3.bucket("adaptive-cli")
    files = _release(tmp_path / "wh", 8, 64 << 10)
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    prefix = cwd.name
    with S3Front(moto_s3.endpoint, slowdown=3) as front:
        code = main_inner(
            ["stage", str(tmp_path / "wh"), "--to", f"s3://{bucket}/{prefix}", "--endpoint-url", front.url,
             "--json", *extra]
        )  # fmt: skip
    assert code == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert front.refused == 3 and report["bytes_uploaded"] == sum(p.stat().st_size for p in files)
    assert max(report["connections"]) >= front.most_in_flight
    _check_bucket(moto_s3, bucket, prefix, files)
    return report


@pytest.mark.timeout(180)
def test_stage_config_jobs_keeps_the_number_fixed(
    moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0.0"\n\n[tool.shipwheel.stage]\njobs = 3\n'
    )
    assert _cli_stage(moto_s3, tmp_path, monkeypatch, capsys, project)["connections"] == [3]
    monkeypatch.setenv("SHIPWHEEL_STAGE_JOBS", "5")
    assert _cli_stage(moto_s3, tmp_path, monkeypatch, capsys, tmp_path / "p2")["connections"] == [5]


@pytest.mark.timeout(180)
def test_stage_cli_json_shows_connections_jobs_is_a_cap_and_fixed_jobs_fixes_it(
    moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    adaptive = _cli_stage(moto_s3, tmp_path, monkeypatch, capsys, tmp_path / "p", "-j", "6")["connections"]
    assert adaptive[0] == 4 and min(adaptive) < 4 and max(adaptive) <= 6, adaptive
    fixed = _cli_stage(moto_s3, tmp_path, monkeypatch, capsys, tmp_path / "q", "-j", "6", "--fixed-jobs")
    assert fixed["connections"] == [6]
