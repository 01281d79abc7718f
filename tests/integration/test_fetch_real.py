"""stage and fetch on real release files nobody here wrote: MarkupSafe 3.0.2's wheels and sdist from PyPI.

The files are downloaded once with pip into ``tests/.cache/markupsafe-3.0.2/`` (git-ignored); the test is
skipped when they cannot be downloaded. They are staged into a folder, served by Python's own ``http.server``
(a process), fetched back by family, and pip downloads from the staged index: every side must agree on the
bytes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.processes import server_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "markupsafe-3.0.2"
PLATFORMS = ["manylinux_2_17_x86_64", "musllinux_1_2_x86_64", "win_amd64", "macosx_11_0_arm64"]


def _pip_download(*args: str, dest: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *args, "-d", str(dest)],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def real_release() -> Path:
    """MarkupSafe 3.0.2: four cp312 wheels (one per family) and the sdist, as PyPI serves them."""
    if len(list(CACHE.glob("*"))) < len(PLATFORMS) + 1:
        try:
            for platform in PLATFORMS:
                _pip_download("--only-binary=:all:", "--platform", platform, "--python-version", "3.12",
                              "markupsafe==3.0.2", dest=CACHE)  # fmt: skip
            _pip_download("--no-binary=:all:", "markupsafe==3.0.2", dest=CACHE)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot download MarkupSafe 3.0.2 from the package index: {exc}")
    return CACHE


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipwheel(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *argv], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_real_wheels_staged_served_and_fetched_by_family(real_release: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    # The sdist and the Linux wheel first: a release without Windows wheels yet.
    first = [p for p in real_release.iterdir() if "manylinux" in p.name or p.name.endswith(".tar.gz")]
    assert _shipwheel("stage", *map(str, first), "--to", str(staging), cwd=tmp_path).returncode == 0
    argv = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(staging)]
    with server_process(argv) as (_proc, port):
        url = f"http://127.0.0.1:{port}/"
        win = _shipwheel(
            "fetch", "MarkupSafe", "3.0.2", "--from", url, "-t", "win", "-w", "wh-win", cwd=tmp_path
        )
        assert win.returncode == 1
        assert "has no win wheels (it has wheels for manylinux)" in " ".join(win.stderr.split())
        # Now every family; fetched from the static PEP 503 pages this time.
        assert _shipwheel("stage", str(real_release), "--to", str(staging), cwd=tmp_path).returncode == 0
        for family in ("win", "macosx", "musllinux", "manylinux"):
            proc = _shipwheel("fetch", "markupsafe", "3.0.2", "--from", url + "simple/", "-t", family,
                              "--no-sdist", "-w", f"wh-{family}", "--json", cwd=tmp_path)  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            files = json.loads(proc.stdout)["files"]
            assert len(files) == 1 and family in files[0]["filename"]
            fetched = tmp_path / f"wh-{family}" / files[0]["filename"]
            assert _sha(fetched) == _sha(real_release / files[0]["filename"])
        # pip, the established client, reads the staged index and gets the same bytes.
        _pip_download("--index-url", url + "simple/", "--only-binary=:all:", "--platform", "win_amd64",
                      "--python-version", "3.12", "markupsafe==3.0.2", dest=tmp_path / "pip")  # fmt: skip
    (wheel,) = (tmp_path / "pip").iterdir()
    assert _sha(wheel) == _sha(real_release / wheel.name)
