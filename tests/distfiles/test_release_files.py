"""Release filenames and the one way commands collect release files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shipwheel.distfiles import (
    DistFile,
    collect_release_files,
    continue_hash,
    file_digests,
    hash_chunks,
    select,
)
from shipwheel.errors import UsageError


@pytest.mark.parametrize(
    ("name", "kind", "family"),
    [
        ("numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "wheel", "manylinux"),
        ("numpy-2.4.6-cp312-cp312-musllinux_1_2_aarch64.whl", "wheel", "musllinux"),
        ("numpy-2.4.6-cp312-cp312-macosx_14_0_arm64.whl", "wheel", "macosx"),
        ("numpy-2.4.6-cp312-cp312-win_amd64.whl", "wheel", "win"),
        ("numpy-2.4.6-1-py3-none-any.whl", "wheel", "any"),
        ("numpy-2.4.6.tar.gz", "sdist", "sdist"),
    ],
)
def test_parse(name: str, kind: str, family: str) -> None:
    dist = DistFile.parse(name)
    assert dist is not None and dist.kind == kind and dist.family() == family
    assert dist.matches("NumPy", "2.4.6")


@pytest.mark.parametrize(
    "name", ["../numpy-2.4.6.tar.gz", "a/numpy-2.4.6.tar.gz", "numpy.whl", "numpy-2.4.6.txt", ""]
)
def test_unsafe_or_invalid_names(name: str) -> None:
    assert DistFile.parse(name) is None


def test_select_is_exact() -> None:
    names = [
        "numpy-2.4.6.tar.gz",
        "numpy-2.4.60-cp312-cp312-win_amd64.whl",
        "numpy_quaternion-2.4.6.tar.gz",
        "numpy-2.4.6-cp312-cp312-win_amd64.whl",
        "numpy-2.4.6rc1.tar.gz",
    ]
    assert [d.filename for d in select(names, "numpy", "2.4.6")] == [
        "numpy-2.4.6-cp312-cp312-win_amd64.whl",
        "numpy-2.4.6.tar.gz",
    ]


def test_collect_release_files(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    house.mkdir()
    wheel = house / "demo-1.0-py3-none-any.whl"
    sdist = house / "demo-1.0.tar.gz"
    for f in (wheel, sdist, house / "demo-1.0.tar.gz.asc", house / "notes.txt", house / "broken.whl"):
        f.write_bytes(b"x")
    assert collect_release_files([house]) == [wheel, sdist]
    # a shell glob (wheelhouse/*) names the signatures too: they are passed over, the same file counts once
    assert collect_release_files([wheel, house / "demo-1.0.tar.gz.asc", sdist, house]) == [wheel, sdist]
    # a checker sees the badly named one, to report it
    assert house / "broken.whl" in collect_release_files([house], lenient=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / wheel.name).write_bytes(b"y")
    cases = [
        ([house / "notes.txt"], "is not a wheel or sdist filename"),
        ([tmp_path / "missing"], "does not exist"),
        ([house, other], "two different files are named demo-1.0-py3-none-any.whl"),
        ([tmp_path / "empty"], "holds no wheel or sdist"),
    ]
    (tmp_path / "empty").mkdir()
    for paths, message in cases:
        with pytest.raises(UsageError, match=message):
            collect_release_files(paths)
    assert len(collect_release_files([house, other], lenient=True)) == 4


def test_one_stream_hashing_helper(tmp_path: Path) -> None:
    # hash_chunks (response bodies, remote files), continue_hash (a resumed download) and file_digests agree.
    data = bytes(range(256)) * 9000  # 2.3 MB: several 1 MiB blocks and a short last one
    path = tmp_path / "pkg-1.0.tar.gz"
    path.write_bytes(data)
    want = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake2b-256": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert hash_chunks(chunks, ("sha256", "blake2b-256")) == (want, len(data))
    assert hash_chunks([]) == ({"sha256": hashlib.sha256(b"").hexdigest()}, 0)
    assert file_digests(path, ("sha256", "blake2b-256")) == want
    # a download resumed after its first 1,000,000 bytes: the prefix hashed from disk, the rest while writing
    path.write_bytes(data[:1_000_000])
    hasher, size = continue_hash(path)
    assert size == 1_000_000
    hasher.update(data[1_000_000:])
    assert hasher.hexdigest() == want["sha256"]
