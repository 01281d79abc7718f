"""verify on real releases from PyPI (markupsafe 3.0.2, msgpack 1.1.0: manylinux wheels and sdists) and on broken
copies of them: truncated, corrupted, bombs, wrong encodings. Every variant is an error in the report, never an
exception; ``twine check`` passes several of them (corrupted sdists, bombs), which is the gap verify closes.

The files are downloaded once into ``tests/.cache/`` (git-ignored).
"""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shipwheel.verify import verify_paths

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "verify-hostile"
PINS = ["markupsafe==3.0.2", "msgpack==1.1.0"]


@pytest.fixture(scope="module")
def real_files() -> list[Path]:
    """Two real manylinux wheels and two real sdists, downloaded once."""
    wheels, sdists = CACHE / "wheels", CACHE / "sdists"
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
    try:
        if len(list(wheels.glob("*.whl"))) < 2:
            subprocess.run(
                [*pip, "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.12",
                 *PINS, "-d", str(wheels)],
                check=True, capture_output=True, timeout=600,
            )  # fmt: skip
        if len(list(sdists.glob("*.tar.gz"))) < 2:
            subprocess.run(
                [*pip, "--no-binary=:all:", *PINS, "-d", str(sdists)],
                check=True,
                capture_output=True,
                timeout=600,
            )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"PyPI not reachable: {exc}")
    return sorted(wheels.glob("*.whl")) + sorted(sdists.glob("*.tar.gz"))


def _rezip(data: bytes, edit: Callable[[str, bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edit(info.filename, zin.read(info)))
    return out.getvalue()


def _retar(
    data: bytes,
    extra: tuple[tarfile.TarInfo, bytes] | None = None,
    edit: Callable[[str, bytes], bytes] | None = None,
) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as tin, tarfile.open(fileobj=out, mode="w:gz") as tout:
        for member in tin.getmembers():
            if member.isfile():
                content = tin.extractfile(member).read()  # type: ignore[union-attr]
                content = edit(member.name, content) if edit else content
                member.size = len(content)
                tout.addfile(member, io.BytesIO(content))
            else:
                tout.addfile(member)
        if extra:
            tout.addfile(extra[0], io.BytesIO(extra[1]))
    return out.getvalue()


def _flip(data: bytes, seed: int) -> bytes:
    rnd = random.Random(seed)
    out = bytearray(data)
    for _ in range(20):
        out[rnd.randrange(len(out))] ^= 0xFF
    return bytes(out)


def _bomb_tar(data: bytes) -> bytes:
    info = tarfile.TarInfo(data and "msgpack-1.1.0/bomb.bin")
    info.size = 64 << 20
    return _retar(data, (info, b"\0" * info.size))


def _latin1(name: str, content: bytes) -> bytes:
    return (
        content.replace(b"Summary: ", "Summary: Ünïcödé ".encode("latin-1"))
        if name.endswith(("METADATA", "/PKG-INFO"))
        else content
    )


VARIANTS: dict[str, tuple[str, Callable[[bytes], bytes], set[str]]] = {
    # name: (which file, how it is broken, the error codes any one of which verify must report)
    "wheel-truncated": ("msgpack-1.1.0-", lambda d: d[: len(d) // 2], {"archive-invalid"}),
    "wheel-flipped": ("msgpack-1.1.0-", lambda d: _flip(d, 1), {"archive-crc", "archive-invalid"}),
    "wheel-latin1-metadata": ("msgpack-1.1.0-", lambda d: _rezip(d, _latin1), {"metadata-invalid"}),
    "wheel-bomb": (
        "msgpack-1.1.0-",
        lambda d: _rezip(d, lambda n, c: b"\0" * (64 << 20) if n.endswith("top_level.txt") else c),
        {"archive-compression-ratio"},
    ),
    "sdist-truncated": ("msgpack-1.1.0.tar.gz", lambda d: d[: len(d) // 2], {"archive-invalid"}),
    "sdist-flipped": ("msgpack-1.1.0.tar.gz", lambda d: _flip(d, 2), {"archive-crc", "archive-invalid"}),
    "sdist-not-gzip": (
        "markupsafe-3.0.2.tar.gz",
        lambda d: gzip.compress(b"\0" * 10) + d[10:],
        {"archive-invalid", "archive-crc"},
    ),
    "sdist-bomb": ("msgpack-1.1.0.tar.gz", _bomb_tar, {"archive-compression-ratio"}),
    "sdist-latin1-pkg-info": (
        "markupsafe-3.0.2.tar.gz",
        lambda d: _retar(d, edit=_latin1),
        {"metadata-invalid"},
    ),
}


def test_real_releases_pass(real_files: list[Path]) -> None:
    for project in ("markupsafe", "msgpack"):
        files = [f for f in real_files if f.name.lower().startswith(project)]
        report = verify_paths(files, check_completeness=False, jobs=1)
        assert report.errors == [], [f"{p.file}: {p.code}: {p.message}" for p in report.errors]
        assert report.ok(strict=False) and len(report.files) == 2


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_copies_of_real_releases_are_errors(
    variant: str, real_files: list[Path], tmp_path: Path
) -> None:
    prefix, breaker, codes = VARIANTS[variant]
    original = next(f for f in real_files if f.name.startswith(prefix))
    broken = tmp_path / original.name
    broken.write_bytes(breaker(original.read_bytes()))
    report = verify_paths([broken], check_completeness=False, jobs=1)
    found = {p.code for p in report.errors}
    assert found & codes, (variant, [f"{p.code}: {p.message}" for p in report.problems])
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", str(broken), "--no-completeness"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
