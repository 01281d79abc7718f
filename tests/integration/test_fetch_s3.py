"""``shipwheel stage`` and ``fetch`` with S3 buckets, against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from fixtures.http_servers import MotoS3
from shipwheel.cli import main_inner
from shipwheel.manifest import parse_manifest
from shipwheel.staging import Selection, fetch_release, stage_files
from shipwheel.staging._containers._s3 import S3Container

pytestmark = pytest.mark.integration


def _release(folder: Path, version: str = "1.0") -> list[Path]:
    files = [
        make_wheel(folder, "demo", version, tag, payload=tag.encode() * 5000)
        for tag in ("cp312-cp312-win_amd64", "cp312-cp312-manylinux_2_17_x86_64", "py3-none-any")
    ]
    sdist = folder / f"demo-{version}.tar.gz"
    sdist.write_bytes(b"sdist " * 1000)
    return [*files, sdist]


def test_stage_to_s3_then_fetch_with_the_cli(
    moto_s3: MotoS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = moto_s3.bucket("staging-cli")
    files = _release(tmp_path / "wheelhouse")
    url = f"s3://{bucket}/rc/numpy?endpoint={moto_s3.endpoint}"
    assert main_inner(["stage", str(tmp_path / "wheelhouse"), "--to", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_files"] == 4
    keys = {o["Key"] for o in moto_s3.client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        "rc/numpy/SHA256SUMS",
        "rc/numpy/simple/demo/index.html",
        "rc/numpy/simple/demo/index.json",
    } <= keys
    body = moto_s3.client.get_object(Bucket=bucket, Key="rc/numpy/SHA256SUMS")["Body"].read().decode()
    assert parse_manifest(body) == {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}

    code = main_inner(
        ["fetch", "demo", "1.0", "--from", f"s3://{bucket}/rc/numpy", "--endpoint-url", moto_s3.endpoint,
         "-w", str(tmp_path / "out"), "-t", "manylinux", "--json"]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["unverified"] == []
    assert sorted(f["filename"] for f in report["files"]) == [
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]
    for f in report["files"]:
        assert (tmp_path / "out" / f["filename"]).read_bytes() == (
            tmp_path / "wheelhouse" / f["filename"]
        ).read_bytes()


def test_s3_listing_pages_and_resume(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("staging-pages")
    for i in range(23):  # other releases, listed over many small pages
        moto_s3.client.put_object(Bucket=bucket, Key=f"demo-0.{i}-py3-none-any.whl", Body=b"x")
    files = _release(tmp_path / "wheelhouse")
    stage_files(files, S3Container(bucket, "", endpoint_url=moto_s3.endpoint))
    container = S3Container(bucket, "", endpoint_url=moto_s3.endpoint, page_size=5)
    listing = container.listing()
    assert listing.pages >= 6 and len(listing.entries) == 27
    assert listing.manifest == "SHA256SUMS"
    # A partial download left by an interrupted run is resumed with a range request.
    name = files[0].name
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / f"{name}.part").write_bytes(files[0].read_bytes()[:777])
    report = fetch_release(container, Selection(project="demo", version="1.0"), dest)
    assert report.ok
    resumed = {f.filename: f.resumed_from for f in report.files}
    assert resumed[name] == 777
    assert (dest / name).read_bytes() == files[0].read_bytes()


def test_s3_errors_are_one_line(moto_s3: MotoS3, tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "fetch", "demo", "1.0", "--from", "s3://no-such-bucket/x",
         "--endpoint-url", moto_s3.endpoint, "-w", str(tmp_path / "out"), "--retries", "0"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "Traceback" not in proc.stderr and "bucket 'no-such-bucket' does not exist" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_endpoint_and_credentials_from_the_aws_environment_and_files(
    moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = moto_s3.bucket("staging-env")
    files = _release(tmp_path / "wheelhouse")
    stage_files(files, S3Container(bucket, "rc", endpoint_url=moto_s3.endpoint))
    # No endpoint in the URL and no key in the environment: AWS_ENDPOINT_URL and ~/.aws/credentials.
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[release]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "release")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    code = main_inner(["fetch", "demo", "1.0", "--from", f"s3://{bucket}/rc/", "-w", str(tmp_path / "out")])
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f.name for f in files)
