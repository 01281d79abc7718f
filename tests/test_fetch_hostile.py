"""fetch and stage against hostile wheelhouses, listings and servers (issue 10): nothing written through a link,
names from URLs only, credentials kept to their origin, every wait bounded, one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from fixtures.http_servers import ListingServer, make_wheel
from shipwheel._retry import RetryPolicy
from shipwheel.containers import open_container
from shipwheel.containers._local import LocalContainer
from shipwheel.fetch import Expected, NothingToFetchError, Selection, download_file, fetch
from shipwheel.stage import stage

NO_WAIT = RetryPolicy(retries=1, sleep=lambda _s: None)
WHEEL = "demo-1.0.0-py3-none-any.whl"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A folder container holding one wheel of demo 1.0.0 (about 2 MB)."""
    root = tmp_path / "source"
    root.mkdir()
    (root / WHEEL).write_bytes(os.urandom(2 << 20))
    return root


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A file outside the wheelhouse that a planted link points at."""
    path = tmp_path / "elsewhere" / "precious.txt"
    path.parent.mkdir()
    path.write_bytes(b"do not touch\n")
    return path


def _fetch(container_url: str, dest: Path) -> list[str]:
    container = open_container(container_url)
    try:
        report = fetch(container, Selection(project="demo", version="1.0.0"), dest, policy=NO_WAIT)
    finally:
        container.close()
    return [f.status for f in report.files]


@pytest.mark.parametrize("planted", ["part", "target"])
def test_i10_1_links_in_the_wheelhouse_are_replaced_never_written(
    source: Path, elsewhere: Path, tmp_path: Path, planted: str
) -> None:
    dest = tmp_path / "wh"
    dest.mkdir()
    link = dest / (f"{WHEEL}.part" if planted == "part" else WHEEL)
    link.symlink_to(elsewhere)
    assert _fetch(str(source), dest) == ["downloaded"]
    assert elsewhere.read_bytes() == b"do not touch\n"
    assert not (dest / WHEEL).is_symlink()
    assert (dest / WHEEL).read_bytes() == (source / WHEEL).read_bytes()
    assert not (dest / f"{WHEEL}.part").exists()


def test_i10_1_a_linked_part_that_looks_resumable_is_not_appended_to(source: Path, tmp_path: Path) -> None:
    # The link's target holds the first half of the wheel: a resume would append the rest to it.
    data = (source / WHEEL).read_bytes()
    victim = tmp_path / "victim.bin"
    victim.write_bytes(data[: len(data) // 2])
    dest = tmp_path / "wh"
    dest.mkdir()
    (dest / f"{WHEEL}.part").symlink_to(victim)
    with ListingServer(source) as server:
        assert _fetch(server.url, dest) == ["downloaded"]
    assert victim.read_bytes() == data[: len(data) // 2]
    assert (dest / WHEEL).read_bytes() == data and not (dest / WHEEL).is_symlink()


def test_i10_1_linked_segment_files_are_never_written(tmp_path: Path, elsewhere: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    data = os.urandom(9 << 20)
    (root / WHEEL).write_bytes(data)
    dest = tmp_path / "wh"
    dest.mkdir()
    for i in range(1, 5):
        (dest / f"{WHEEL}.part.{i}").symlink_to(elsewhere)
    expected = Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",))
    with ListingServer(root) as server:
        container = open_container(server.url)
        try:
            entry = container.listing("demo").entries[WHEEL]
            outcome = download_file(container, entry, dest, expected, policy=NO_WAIT, segments=4)
        finally:
            container.close()
    assert outcome.status == "downloaded", outcome.error
    assert elsewhere.read_bytes() == b"do not touch\n"
    assert (dest / WHEEL).read_bytes() == data


def test_i10_1_stage_never_writes_through_links_in_the_container(tmp_path: Path, elsewhere: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheel = make_wheel(wheelhouse, "demo", "1.0.0")
    target = tmp_path / "staging"
    target.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "SHA256SUMS").symlink_to(elsewhere)
    (target / wheel.name).symlink_to(elsewhere)
    (target / "simple").symlink_to(outside, target_is_directory=True)
    stage([wheelhouse], LocalContainer(target))
    assert elsewhere.read_bytes() == b"do not touch\n"
    assert list(outside.iterdir()) == []
    for path in (target / "SHA256SUMS", target / wheel.name, target / "simple"):
        assert not path.is_symlink()
    assert (target / wheel.name).read_bytes() == wheel.read_bytes()
    assert (target / "simple" / "demo" / "index.html").is_file()


def test_i10_1_stage_replaces_a_linked_project_folder_of_the_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    make_wheel(wheelhouse, "demo", "1.0.0")
    target = tmp_path / "staging"
    (target / "simple").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "simple" / "demo").symlink_to(outside, target_is_directory=True)
    stage([wheelhouse], LocalContainer(target))
    assert list(outside.iterdir()) == []
    assert not (target / "simple" / "demo").is_symlink()
    assert (target / "simple" / "demo" / "index.json").is_file()


def test_i10_2_the_file_name_comes_from_the_url_never_the_link_text(tmp_path: Path) -> None:
    root = tmp_path / "served"
    (root / "files").mkdir(parents=True)
    (root / "files" / "payload.bin").write_bytes(b"not a wheel")
    with ListingServer(root) as server:
        server.page("/staging/", f'<a href="/files/payload.bin">{WHEEL}</a>')
        container = open_container(server.url + "staging/")
        try:
            with pytest.raises(NothingToFetchError, match="refused") as info:
                fetch(container, Selection(project="demo", version="1.0.0"), tmp_path / "wh", policy=NO_WAIT)
        finally:
            container.close()
    assert "bad-name" in str(info.value)
    assert not (tmp_path / "wh").exists() or list((tmp_path / "wh").iterdir()) == []


def test_i10_2_a_pep691_filename_never_renames_the_url(tmp_path: Path) -> None:
    root = tmp_path / "served"
    (root / "files").mkdir(parents=True)
    (root / "files" / "payload.bin").write_bytes(b"not a wheel")
    page = {
        "meta": {"api-version": "1.1"},
        "files": [{"filename": WHEEL, "url": "/files/payload.bin", "hashes": {}}],
    }
    with ListingServer(root) as server:
        server.page("/simple/demo/", json.dumps(page), "application/vnd.pypi.simple.v1+json")
        container = open_container(server.url + "simple/")
        try:
            with pytest.raises(NothingToFetchError):
                fetch(container, Selection(project="demo", version="1.0.0"), tmp_path / "wh", policy=NO_WAIT)
        finally:
            container.close()
    assert not (tmp_path / "wh" / WHEEL).exists()
