"""``shipwheel publish`` on a real release nobody here wrote: markupsafe 3.0.3 (its compiled wheels and sdist as
published on PyPI) onto a pypiserver that already holds the previous release, 3.0.2, uploaded there by twine;
then ``pip install`` from that index.

The files are downloaded once with ``pip download`` (pinned versions) into ``tests/.cache/publish-real/``, which
git ignores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fixtures.index_servers import IndexServer
from shipwheel.distfiles import file_digests

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "publish-real"
PROJECT = "markupsafe"
OLD, NEW = "3.0.2", "3.0.3"
PYTHONS = ("3.11", "3.12", "3.13")


def _pip_download(version: str) -> list[Path]:
    """The sdist and the manylinux x86_64 wheels of ``version`` for CPython 3.11-3.13, downloaded once."""
    folder = CACHE / version
    if folder.is_dir():
        return sorted(folder.iterdir())
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE, prefix=".download-"))
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(work)]
    try:
        for python in PYTHONS:
            subprocess.run(
                [*pip, "--only-binary=:all:", "--implementation", "cp", "--python-version", python,
                 "--platform", "manylinux2014_x86_64", f"{PROJECT}=={version}"],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
        subprocess.run(
            [*pip, "--no-binary=:all:", f"{PROJECT}=={version}"], check=True, capture_output=True, timeout=600
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip(f"cannot download {PROJECT} {version} from PyPI: {exc}")
    try:
        work.rename(folder)  # atomic: a second worker finds all the files or none
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(folder.iterdir())


def _env(server: IndexServer, home: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIPWHEEL_", "TWINE_", "UV_PUBLISH_"))},
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "SHIPWHEEL_NO_KEYRING": "1",
        "COLUMNS": "200",
    }


def test_publish_real_release_next_to_the_previous_one(pypiserver: IndexServer, tmp_path: Path) -> None:
    old, new = _pip_download(OLD), _pip_download(NEW)
    assert len(new) == len(PYTHONS) + 1 and any(p.name.endswith(".tar.gz") for p in new)
    env = _env(pypiserver, tmp_path / "home")
    # The previous release, uploaded by the established tool.
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--repository-url", pypiserver.upload_url,
         "-u", pypiserver.user, "-p", pypiserver.password, *map(str, old)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert twine.returncode == 0, twine.stdout + twine.stderr
    # The new release, by shipwheel with its defaults (verify on), credentials the twine way.
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for path in new:
        shutil.copy2(path, wheelhouse / path.name)
    args = [
        sys.executable,
        "-m",
        "shipwheel",
        "publish",
        str(wheelhouse),
        "--repository-url",
        pypiserver.upload_url,
    ]
    args += ["-u", pypiserver.user, "-p", pypiserver.password, "--json"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert sorted(r["status"] for r in result["results"]) == ["uploaded"] * len(new)
    listed = pypiserver.files(PROJECT)
    assert listed == {p.name: file_digests(p)["sha256"] for p in [*old, *new]}
    # A second run finds everything there and sends nothing.
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and all(
        r["status"] == "skipped" for r in json.loads(again.stdout)["results"]
    )
    # pip installs the new release's wheel from the index, and the compiled speedups load.
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:", "--no-cache-dir",
         "--index-url", pypiserver.simple_url, "--target", str(target), f"{PROJECT}=={NEW}"],
        env={**{k: v for k, v in env.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert pypiserver.simple_url in pip.stdout  # from this index, not a local wheel folder
    check = subprocess.run(
        [sys.executable, "-c", "import markupsafe, markupsafe._speedups; print(markupsafe.__version__)"],
        env={**env, "PYTHONPATH": str(target)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.stdout.strip() == NEW, check.stderr
