"""``shipwheel publish`` against an index that drips its answers: it gives up within its timeout, without a
traceback (the upload answer as well as the index page it reads first)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from fixtures.hostile import HostileServer


@pytest.mark.timeout(90)
@pytest.mark.parametrize("dripping", ["index-page", "upload-answer"])
def test_publish_gives_up_on_a_dripping_index(tmp_path: Path, dripping: str) -> None:
    make_wheel(tmp_path / "wh", "demo", "1.0.0")
    with HostileServer() as server:
        if dripping == "index-page":
            server.route("/simple/demo/", behaviour="drip", body=b"<html>" * 100)
        server.route("/legacy/", behaviour="drip", body=b"OK" * 100)
        proc = subprocess.run(
            [sys.executable, "-m", "shipwheel", "publish", str(tmp_path / "wh"), "-r", server.url + "legacy/",
             "--index-url", server.url + "simple/", "--timeout", "2", "--retries", "0", "--no-verify"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env={**os.environ, "SHIPWHEEL_USERNAME": "u", "SHIPWHEEL_PASSWORD": "p"},
        )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "Traceback" not in proc.stderr
