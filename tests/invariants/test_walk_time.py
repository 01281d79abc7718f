"""Time: every network protocol has an overall deadline, not only a per-read timeout.

HTTP (``_http.make_client``: every request's deadline at the socket, fetch, stage, publish and the preflight's
index query through it), S3 (botocore signs, ``make_client`` sends: tests/staging/test_s3_deadline.py), SMTP (the release room's),
git over the network (``_git.Git.run``: ``NETWORK_DEADLINE``, a speed floor, no prompt).

The walker points every option of every command that takes a URL (by its name or metavar) at a server that
drips its answer one byte at a time, with the configured timeouts at one second, and runs the console script:
each command finishes by itself (a documented exit code, no traceback) long before the test's own limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.hostile import HostileServer, Route
from invariants.walk import Slot, argv_for, slots

URL_WORDS = {
    "url",
    "repository",
    "to",
    "from_",
    "index",
    "publish_url",
    "check_url",
    "endpoint_url",
    "integrity_index",
}
URL_METAVARS = {"URL", "CONTAINER", "TARGET", "CONTAINER_URL"}


def _is_url(slot: Slot) -> bool:
    return not slot.is_path and (slot.dest in URL_WORDS or slot.metavar in URL_METAVARS)


URL_SLOTS = [s for s in slots() if _is_url(s)]
FAST_TIMEOUTS = {
    "SHIPWHEEL_PUBLISH_TIMEOUT": "1",
    "SHIPWHEEL_PUBLISH_RETRIES": "0",
    "SHIPWHEEL_FETCH_TIMEOUT": "1",
    "SHIPWHEEL_FETCH_RETRIES": "0",
}


def test_the_walker_finds_the_url_options() -> None:
    found = {s.id for s in URL_SLOTS}
    assert {"release --repository", "check --repository", "fetch --url", "stage --to"} <= found, found


@pytest.mark.slow
@pytest.mark.parametrize("slot", URL_SLOTS, ids=lambda s: s.id)
def test_every_url_option_gives_up_on_a_dripping_server(slot: Slot, project: Path, tmp_path: Path) -> None:
    with HostileServer() as server:
        drip = Route(behaviour="drip-headers", interval=0.5)
        for path in ("/", "/simple/", "/simple/kahan/", "/kahan/", "/x/", "/legacy/"):
            server.route(path, drip)
        argv = argv_for(slot.command, tmp_path, slot, server.url)
        if "--timeout" in {a.split("=")[0] for a in argv} or slot.command[0] in {"fetch", "stage"}:
            argv = [a for a in argv if not a.startswith("--timeout")]
            argv += ["--timeout", "1"] if slot.command[0] in {"fetch", "stage", "publish"} else []
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "shipwheel", *argv], cwd=project, capture_output=True, text=True,
                timeout=120, env={**os.environ, **FAST_TIMEOUTS}, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.fail(f"{slot.id} against a dripping server did not finish")
    assert "Traceback" not in proc.stderr, proc.stderr
