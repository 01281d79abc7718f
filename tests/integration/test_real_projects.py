"""The release pipeline on real compiled projects nobody here wrote: the sdists of markupsafe and msgpack from PyPI.

Each is built from its own sdist with its own test suite as the test-command (configured through --config-dir, as
for an sdist made elsewhere), for one interpreter to keep the time modest; then verify, stage to a folder, fetch
back, and pip install from the staged simple index. The sdists are downloaded once into ``tests/.cache/sdists``
(git-ignored).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.index_servers import IndexServer, start_pypiserver
from fixtures.processes import stop_process
from fixtures.pypi_sdists import pinned_sdist
from shipwheel.distfiles import file_digests
from shipwheel.interpreters import discover

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PINNED = {"markupsafe": "3.0.3", "msgpack": "1.1.1"}
TESTS = {"markupsafe": "tests", "msgpack": "test"}
# one interpreter, the newest this machine has of those the projects support
PYTHONS = sorted(
    (i for i in discover() if (3, 10) <= i.version[:2] <= (3, 13) and not i.free_threaded),
    key=lambda i: i.version,
)


def sdist(name: str) -> Path:
    """The pinned sdist of ``name``, downloaded from PyPI on first use."""
    return pinned_sdist(name, PINNED[name])


def shipwheel(*args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=timeout,
    )


def config_dir(path: Path, name: str, *, environment: str = "") -> Path:
    """A checkout-like folder holding only the ``[tool.shipwheel]`` of the build."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(
        "[tool.shipwheel]\n"
        'platforms = ["manylinux_x86_64"]\n'
        'test-requires = ["pytest"]\n'
        f'test-command = "python -m pytest -q -p no:cacheprovider {{project}}/{TESTS[name]}"\n'
        + (f"environment = {{ {environment} }}\n" if environment else "")
    )
    return path


def identifier() -> str:
    if not PYTHONS:
        pytest.skip("needs a CPython 3.10 to 3.13")
    newest = PYTHONS[-1]
    return f"cp3{newest.version[1]}-manylinux_x86_64"


def build(project: Path, conf: Path, tmp: Path, cache: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = shipwheel(
        "build", str(project), "--config-dir", str(conf), "--only", identifier(), "--json",
        "--cache-dir", str(cache), "-o", str(tmp / "wh"), "--log-dir", str(tmp / "logs"),
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(proc.stdout)


def interpreter_cflags(python: str) -> list[str]:
    code = "import sysconfig; print(sysconfig.get_config_var('CFLAGS'))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module", params=sorted(PINNED))
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, cache: Path
) -> tuple[str, Path, dict]:
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    proc, data = build(sdist(name), config_dir(tmp / "conf", name), tmp, cache)
    assert proc.returncode == 0, (proc.stderr, data)
    return name, tmp, data


def test_real_sdist_builds_an_optimised_repaired_tested_wheel(built: tuple[str, Path, dict]) -> None:
    _, _, data = built
    (result,) = data["results"]
    assert result["status"] == "ok" and result["repaired"] and result["tested"], result
    assert "manylinux" in result["tag"] and result["tag"].startswith("cp3")
    log = Path(result["log"]).read_text()
    assert " passed" in log and " failed" not in log.split("test-command")[-1]  # the project's own suite ran
    flags = interpreter_cflags(result["interpreter"])
    lines = [line for line in log.splitlines() if " -c " in line and ".c -o " in line]
    assert lines, log[-3000:]
    for line in lines:  # what a plain pip wheel compiles with (-DNDEBUG -O3 …), plus the path mapping
        words = line.split()
        assert all(f in words for f in flags), (flags, line)
        assert any(w.startswith("-ffile-prefix-map=") for w in words), line
    with zipfile.ZipFile(result["wheel"]) as zf:
        assert any(n.endswith(".so") for n in zf.namelist())


def test_real_release_verifies_stages_fetches_and_installs(built: tuple[str, Path, dict]) -> None:
    name, tmp, data = built
    version = PINNED[name]
    proc = shipwheel("verify", str(tmp / "wh"), "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    report = json.loads(proc.stdout)
    assert report["completeness"]["missing"] == []
    staged = tmp / "staged"
    proc = shipwheel("stage", str(tmp / "wh"), "--to", str(staged))
    assert proc.returncode == 0, proc.stderr
    proc = shipwheel("fetch", name, version, "--from", str(staged), "-w", str(tmp / "fetched"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp / "fetched").iterdir() if p.suffix in {".whl", ".gz"}) == sorted(
        p.name for p in (tmp / "wh").iterdir() if p.suffix in {".whl", ".gz"}
    )
    venv = tmp / "venv"
    subprocess.run(["uv", "venv", "-q", "--python", data["results"][0]["interpreter"], str(venv)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-deps", "--only-binary=:all:",
         "--index-url", (staged / "simple").as_uri() + "/", f"{name}=={version}"],
        check=True,
        timeout=300,
    )  # fmt: skip
    module = {"markupsafe": "markupsafe._speedups", "msgpack": "msgpack._cmsgpack"}[name]
    subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"], check=True)


#: The release before the pinned one: on the index before shipwheel publishes, uploaded by twine.
OLDER = {"markupsafe": "3.0.2", "msgpack": "1.1.0"}


@pytest.fixture
def pypiserver(tmp_path: Path) -> Iterator[IndexServer]:
    """A pypiserver of this test's own: the session's may already hold the same real previous release, uploaded
    there by another test of the same worker (tests/integration/test_publish_real.py uploads MarkupSafe 3.0.2)."""
    server = start_pypiserver(tmp_path / "pypiserver")
    yield server
    stop_process(server.proc)


def test_real_release_publish_to_pypiserver_with_older_release(
    built: tuple[str, Path, dict], pypiserver: IndexServer
) -> None:
    """The built release goes to a pypiserver that already holds the previous release of the same project (its
    real sdist from PyPI, uploaded by twine): accepted, listed with the right hashes, and pip installs it."""
    name, tmp, data = built
    older = pinned_sdist(name, OLDER[name])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIPWHEEL_", "TWINE_", "UV_PUBLISH_"))},
        "HOME": str(tmp / "home"),
        "XDG_STATE_HOME": str(tmp / "home" / "state"),
        "SHIPWHEEL_NO_KEYRING": "1",
        "SHIPWHEEL_PASSWORD": pypiserver.password,
    }
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--repository-url", pypiserver.upload_url,
         "-u", pypiserver.user, "-p", pypiserver.password, str(older)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert twine.returncode == 0, twine.stdout + twine.stderr
    release = sorted(p for p in (tmp / "wh").iterdir() if p.suffix in {".whl", ".gz"})
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "publish", *map(str, release), "-r", pypiserver.upload_url,
         "-u", pypiserver.user, "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert sorted(r["status"] for r in json.loads(proc.stdout)["results"]) == ["uploaded"] * len(release)
    listed = pypiserver.files(name)
    assert listed == {p.name: file_digests(p)["sha256"] for p in [older, *release]}
    venv = tmp / "venv-index"
    subprocess.run(["uv", "venv", "-q", "--python", data["results"][0]["interpreter"], str(venv)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-deps", "--only-binary=:all:",
         "--no-cache", "--index-url", pypiserver.simple_url, f"{name}=={PINNED[name]}"],
        check=True, timeout=300,
    )  # fmt: skip
    module = {"markupsafe": "markupsafe._speedups", "msgpack": "msgpack._cmsgpack"}[name]
    subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"], check=True)


def broken_markupsafe(dest: Path) -> Path:
    """markupsafe's real sdist with a compile error in _speedups.c (its setup.py then falls back to pure Python)."""
    src = sdist("markupsafe")
    out = dest / src.name
    with tarfile.open(src) as tin, tarfile.open(out, "w:gz") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith("/_speedups.c"):
                data = b"#error forced by shipwheel's test\n" + (data or b"")
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)
    return out


@pytest.mark.parametrize("name", ["markupsafe", "msgpack"])
def test_real_lost_extension_fails(name: str, tmp_path: Path, cache: Path) -> None:
    if name == "markupsafe":  # a compile error the project falls back from
        project, conf = broken_markupsafe(tmp_path), config_dir(tmp_path / "conf", name)
    else:  # msgpack's own switch to pure Python
        project, conf = (
            sdist(name),
            config_dir(tmp_path / "conf", name, environment='MSGPACK_PUREPYTHON = "1"'),
        )
    proc, data = build(project, conf, tmp_path, cache)
    assert proc.returncode == 1, proc.stderr
    (result,) = data["results"]
    assert result["status"] == "failed" and "came out pure" in result["error"], result
    if name == "markupsafe":
        assert any("forced by shipwheel" in line for line in result["error_lines"]), result
    assert not list((tmp_path / "wh").glob("*.whl"))
    # verify of what is left (the sdist alone) does not call it ready to publish
    report = json.loads(shipwheel("verify", str(tmp_path / "wh"), "--json").stdout)
    assert report["completeness"]["missing"], report["completeness"]
