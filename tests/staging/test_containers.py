"""Container URLs, safe listing parsing (HTML, PEP 691 JSON, S3 XML, Link headers) and static index generation."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipwheel.errors import UsageError
from shipwheel.manifest import MANIFEST, format_manifest, parse_manifest, read_manifest
from shipwheel.simple_index import IndexFile, parse_html, parse_json, render_index
from shipwheel.staging import Entry, Rejected, open_container, write_static_index
from shipwheel.staging._containers._http import HttpContainer
from shipwheel.staging._containers._listing import accept_link, judge, parse_link_header
from shipwheel.staging._containers._local import LocalContainer

BASE = "http://127.0.0.1:8000/staging/"
WHEEL = "numpy-2.4.6-cp312-cp312-win_amd64.whl"
SHA = "ab" * 32


def test_open_container_url_forms(tmp_path: Path) -> None:
    assert isinstance(open_container(str(tmp_path)), LocalContainer)
    local = open_container(tmp_path.as_uri())
    assert isinstance(local, LocalContainer) and local.root == tmp_path
    http = open_container("https://user:secret@example.invalid/simple/")
    assert isinstance(http, HttpContainer)
    assert "secret" not in http.display and "user" not in http.display
    http.close()
    with pytest.raises(UsageError, match="unsupported container URL scheme 'ftp'"):
        open_container("ftp://example.invalid/x")
    with pytest.raises(UsageError, match="no container"):
        open_container("  ")
    with pytest.raises(UsageError, match="names no bucket"):
        open_container("s3:///prefix")


def test_html_listing_links_hashes_and_next_page() -> None:
    page = parse_html(
        f"""<html><head><link rel="next" href="?page=2"></head><body>
        <a href="../">../</a>
        <a href="?C=N;O=D">Name</a>
        <a href="{WHEEL}#sha256={SHA}">{WHEEL}</a>
        <a href="numpy-2.4.6.tar.gz#md5=00">numpy-2.4.6.tar.gz</a>
        </body></html>""",
        BASE,
    )
    assert page.next_url == BASE + "?page=2"
    entries, rejected = judge(page.links, BASE, ())
    assert rejected == []
    assert [(e.filename, e.sha256) for e in entries] == [(WHEEL, SHA), ("numpy-2.4.6.tar.gz", None)]
    assert entries[0].location == BASE + WHEEL


def test_html_base_href_and_anchor_rel_next() -> None:
    page = parse_html(
        f'<base href="/files/"><a href="{WHEEL}">x</a><a rel="next" href="/staging/?marker=2">next</a>', BASE
    )
    assert page.links[0].url == "http://127.0.0.1:8000/files/" + WHEEL
    assert page.next_url == "http://127.0.0.1:8000/staging/?marker=2"


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        (f"http://evil.invalid/{WHEEL}", "other-host"),
        (f"https://127.0.0.1:9999/{WHEEL}", "other-host"),
        ("..%2F..%2Fetc%2Fnumpy-2.4.6-cp312-cp312-win_amd64.whl", "bad-name"),
        ("numpy-2.4.6-cp312-cp312-win_amd64%5C..%5Cx.whl", "bad-name"),
        (f"javascript:alert(1)//{WHEEL}", "bad-scheme"),
        (f"file:///etc/{WHEEL}", "bad-scheme"),
        ("not a wheel.whl", "bad-name"),
        ("numpy-2.4.6-cp312-cp312-win_amd64%00.whl", "bad-name"),
    ],
)
def test_hostile_links_are_rejected_with_a_reason(href: str, reason: str) -> None:
    page = parse_html(f'<a href="{href}">{href}</a>', BASE)
    verdict = accept_link(page.links[0], BASE, ())
    assert isinstance(verdict, Rejected)
    assert verdict.reason.startswith(reason)


def test_links_to_allowed_hosts_and_dotdot_paths_keep_only_the_file_name() -> None:
    page = parse_html(
        f'<a href="http://cdn.invalid/a/{WHEEL}">x</a><a href="../../packages/{WHEEL}">y</a>', BASE
    )
    allowed = accept_link(page.links[0], BASE, ("cdn.invalid",))
    assert isinstance(allowed, Entry) and allowed.filename == WHEEL
    same_host = accept_link(page.links[1], BASE, ())
    assert isinstance(same_host, Entry)
    assert same_host.filename == WHEEL and same_host.location == f"http://127.0.0.1:8000/packages/{WHEEL}"


def test_pep691_json_files_hashes_sizes_and_next() -> None:
    data = {
        "meta": {"api-version": "1.1", "next": "/simple/numpy/?page=2"},
        "name": "numpy",
        "files": [
            {"filename": WHEEL, "url": f"../../files/{WHEEL}", "hashes": {"sha256": SHA.upper()}, "size": 12},
            {"filename": "../../etc/passwd.whl", "url": "x.whl", "hashes": {}},
            {"filename": "numpy-2.4.6.tar.gz", "url": "numpy-2.4.6.tar.gz#sha256=" + "cd" * 32, "hashes": {}},
            "garbage",
        ],
    }
    page = parse_json(data, "http://127.0.0.1:8000/simple/numpy/")
    assert page.next_url == "http://127.0.0.1:8000/simple/numpy/?page=2"
    entries, rejected = judge(page.links, "http://127.0.0.1:8000/simple/", ())
    assert [(e.filename, e.size, e.sha256) for e in entries] == [
        (WHEEL, 12, SHA),
        ("numpy-2.4.6.tar.gz", None, "cd" * 32),
    ]
    assert [(r.name, r.reason.split(":")[0]) for r in rejected] == [("../../etc/passwd.whl", "bad-name")]
    assert parse_json(["not", "an", "object"], BASE).links == []


def test_link_header_next() -> None:
    assert parse_link_header('</a?page=1>; rel="prev", </a?page=3>; rel="next"', BASE) == (
        "http://127.0.0.1:8000/a?page=3"
    )
    assert parse_link_header('</a?page=1>; rel="prev"', BASE) is None


def test_sha256sums_round_trip_ignores_unsafe_names() -> None:
    text = f"{SHA}  {WHEEL}\n{'cd' * 32} *numpy-2.4.6.tar.gz\n{'ef' * 32}  ../../etc/passwd\nnot a line\n"
    digests = parse_manifest(text)
    assert digests == {WHEEL: SHA, "numpy-2.4.6.tar.gz": "cd" * 32}
    assert parse_manifest(format_manifest(digests)) == digests


def test_render_index_is_pep503_and_pep691(tmp_path: Path) -> None:
    pages = render_index(
        [
            IndexFile(WHEEL, sha256=SHA, size=10),
            IndexFile("numpy-2.4.6.tar.gz", sha256="cd" * 32, size=20),
            IndexFile("Foo_Bar-1.0-py3-none-any.whl", sha256="ef" * 32, size=5),
        ]
    )
    assert sorted(pages) == [
        "simple/foo-bar/index.html",
        "simple/foo-bar/index.json",
        "simple/index.html",
        "simple/index.json",
        "simple/numpy/index.html",
        "simple/numpy/index.json",
    ]
    project = json.loads(pages["simple/numpy/index.json"])
    assert project["meta"]["api-version"] == "1.1"
    assert project["versions"] == ["2.4.6"]
    assert project["files"][0] == {
        "filename": WHEEL,
        "url": f"../../{WHEEL}",
        "hashes": {"sha256": SHA},
        "size": 10,
    }
    # Our own HTML parser reads back the same links and hashes.
    page = parse_html(pages["simple/numpy/index.html"].decode(), "http://h/simple/numpy/")
    entries, _ = judge(page.links, "http://h/", ())
    assert {(e.filename, e.sha256) for e in entries} == {(WHEEL, SHA), ("numpy-2.4.6.tar.gz", "cd" * 32)}
    root = json.loads(pages["simple/index.json"])
    assert [p["name"] for p in root["projects"]] == ["foo-bar", "numpy"]


def test_write_static_index_hashes_new_files_and_keeps_the_manifest(tmp_path: Path) -> None:
    (tmp_path / WHEEL).write_bytes(b"wheel")
    (tmp_path / "README.txt").write_text("not a release file")
    written = write_static_index(tmp_path)
    assert tmp_path / "SHA256SUMS" in written
    manifest = read_manifest(tmp_path / MANIFEST)
    assert list(manifest) == [WHEEL]
    (tmp_path / "numpy-2.4.6.tar.gz").write_bytes(b"sdist")
    write_static_index(tmp_path, project="NumPy")
    assert sorted(read_manifest(tmp_path / MANIFEST)) == [
        "numpy-2.4.6-cp312-cp312-win_amd64.whl",
        "numpy-2.4.6.tar.gz",
    ]
    listing = LocalContainer(tmp_path).listing()
    assert sorted(listing.entries) == sorted(read_manifest(tmp_path / MANIFEST))
    assert listing.manifest == str(tmp_path / "SHA256SUMS")


def test_local_container_refuses_symlinks_out_and_bad_names(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    root = tmp_path / "c"
    root.mkdir()
    (root / WHEEL).symlink_to(outside)
    (root / "numpy 2.4.6.whl").write_bytes(b"x")
    listing = LocalContainer(root).listing()
    assert listing.entries == {}
    assert listing.rejected == [Rejected(WHEEL, "outside: a symlink out of the container folder")]
    with pytest.raises(UsageError):
        LocalContainer(root).put_bytes("../escape", b"x")
    assert not (tmp_path / "escape").exists()


_HREF_ALPHABET = "abnumpy0123456789-_.+!/\\%:?#=&@ ~" + "whltarz"


@settings(max_examples=300, deadline=None)
@given(
    href=st.one_of(
        st.text(alphabet=_HREF_ALPHABET, max_size=60),
        st.builds(
            lambda a, b: f"{a}numpy-2.4.6-cp312-cp312-win_amd64{b}.whl",
            st.text(_HREF_ALPHABET, max_size=20),
            st.text(_HREF_ALPHABET, max_size=8),
        ),
    )
)
def test_no_link_ever_becomes_an_unsafe_file_name(href: str) -> None:
    page = parse_html(f'<a href="{html.escape(href, quote=True)}">x</a>', BASE)
    for link in page.links:
        verdict = accept_link(link, BASE, ())
        if isinstance(verdict, Entry):
            name = verdict.filename
            assert "/" not in name and "\\" not in name and name not in {".", ".."}
            assert not name.startswith(".") and "\x00" not in name
            assert verdict.location.startswith("http://127.0.0.1:8000/")


def test_an_https_container_never_downgrades_to_http_even_for_allowed_hosts() -> None:
    from shipwheel.simple_index import Link
    from shipwheel.staging._containers._listing import accept_link, host_allowed

    secure = "https://staging.example.org/rc/"
    assert host_allowed("https://cdn.example.org/x.whl", secure, ["cdn.example.org"])
    assert not host_allowed("http://cdn.example.org/x.whl", secure, ["cdn.example.org"])
    assert not host_allowed("http://staging.example.org:443/rc/x.whl", secure, ())
    verdict = accept_link(Link(f"http://cdn.example.org/{WHEEL}"), secure, ["cdn.example.org"])
    assert isinstance(verdict, Rejected) and verdict.reason.startswith("insecure")
