"""fetch and stage against hostile wheelhouses, listings and servers: nothing written through a link,
names from URLs only, credentials kept to their origin, every wait bounded, one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from fixtures.defective import make_wheel
from fixtures.hostile import HostileServer, gzip_bomb
from fixtures.http_servers import ListingServer
from shipwheel._retry import RetryPolicy
from shipwheel.simple_index import parse_project_page
from shipwheel.staging import (
    Expected,
    NothingToFetchError,
    Selection,
    TransferError,
    download_file,
    fetch_release,
    open_container,
    stage_files,
)
from shipwheel.staging._containers._local import LocalContainer

NO_WAIT = RetryPolicy(retries=1, sleep=lambda _s: None)
WHEEL = "demo-1.0.0-py3-none-any.whl"
BASE = "http://127.0.0.1:8000/simple/demo/"


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
        report = fetch_release(container, Selection(project="demo", version="1.0.0"), dest, policy=NO_WAIT)
    finally:
        container.close()
    return [f.status for f in report.files]


@pytest.mark.parametrize("planted", ["part", "target"])
def test_links_in_the_wheelhouse_are_replaced_never_written(
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


def test_a_linked_part_that_looks_resumable_is_not_appended_to(source: Path, tmp_path: Path) -> None:
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


def test_linked_segment_files_are_never_written(tmp_path: Path, elsewhere: Path) -> None:
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


def test_stage_never_writes_through_links_in_the_container(tmp_path: Path, elsewhere: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheel = make_wheel(wheelhouse, "demo", "1.0.0")
    target = tmp_path / "staging"
    target.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "SHA256SUMS").symlink_to(elsewhere)
    (target / wheel.name).symlink_to(elsewhere)
    (target / "simple").symlink_to(outside, target_is_directory=True)
    stage_files([wheelhouse], LocalContainer(target))
    assert elsewhere.read_bytes() == b"do not touch\n"
    assert list(outside.iterdir()) == []
    for path in (target / "SHA256SUMS", target / wheel.name, target / "simple"):
        assert not path.is_symlink()
    assert (target / wheel.name).read_bytes() == wheel.read_bytes()
    assert (target / "simple" / "demo" / "index.html").is_file()


def test_stage_replaces_a_linked_project_folder_of_the_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    make_wheel(wheelhouse, "demo", "1.0.0")
    target = tmp_path / "staging"
    (target / "simple").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "simple" / "demo").symlink_to(outside, target_is_directory=True)
    stage_files([wheelhouse], LocalContainer(target))
    assert list(outside.iterdir()) == []
    assert not (target / "simple" / "demo").is_symlink()
    assert (target / "simple" / "demo" / "index.json").is_file()


def test_the_file_name_comes_from_the_url_never_the_link_text(tmp_path: Path) -> None:
    root = tmp_path / "served"
    (root / "files").mkdir(parents=True)
    (root / "files" / "payload.bin").write_bytes(b"not a wheel")
    with ListingServer(root) as server:
        server.page("/staging/", f'<a href="/files/payload.bin">{WHEEL}</a>')
        container = open_container(server.url + "staging/")
        try:
            with pytest.raises(NothingToFetchError, match="refused") as info:
                fetch_release(
                    container, Selection(project="demo", version="1.0.0"), tmp_path / "wh", policy=NO_WAIT
                )
        finally:
            container.close()
    assert "bad-name" in str(info.value)
    assert not (tmp_path / "wh").exists() or list((tmp_path / "wh").iterdir()) == []


def test_a_pep691_filename_never_renames_the_url(tmp_path: Path) -> None:
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
                fetch_release(
                    container, Selection(project="demo", version="1.0.0"), tmp_path / "wh", policy=NO_WAIT
                )
        finally:
            container.close()
    assert not (tmp_path / "wh" / WHEEL).exists()


# -- credentials -----------------------------------------------------------------------------------------

OTHER = "demo-1.0.0-cp312-cp312-win_amd64.whl"


def _serve_release_across_two_origins(home: HostileServer, cdn: HostileServer) -> None:
    """The listing on ``home`` links one wheel on ``cdn`` and redirects the other one there."""
    first = cdn.route(f"/files/{WHEEL}", body=b"one", ctype="application/octet-stream")
    second = cdn.route(f"/files/{OTHER}", body=b"two", ctype="application/octet-stream")
    home.route(f"/staging/{OTHER}", behaviour="redirect", location=second)
    home.route("/staging/", body=f'<a href="{first}">{WHEEL}</a> <a href="{OTHER}">{OTHER}</a>'.encode())


def _authorized(server: HostileServer) -> set[str]:
    return {path for _, path, headers in server.requests if "Authorization" in headers}


@pytest.mark.parametrize("source", ["userinfo", "netrc"])
def test_credentials_go_only_to_the_container_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    with HostileServer() as home, HostileServer() as cdn:
        _serve_release_across_two_origins(home, cdn)
        url = f"http://127.0.0.1:{home.port}/staging/"
        if source == "userinfo":
            url = f"http://alice:s3cr%40t@127.0.0.1:{home.port}/staging/"
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login alice password s3cr@t\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        container = open_container(url, allow_hosts=[f"127.0.0.1:{cdn.port}"])
        try:
            report = fetch_release(
                container, Selection(project="demo", version="1.0.0"), tmp_path / "wh", policy=NO_WAIT
            )
        finally:
            container.close()
    assert sorted(f.status for f in report.files) == ["downloaded", "downloaded"]
    assert _authorized(home) == {"/staging/", f"/staging/{OTHER}"}
    assert home.headers_for("/staging/")[0]["Authorization"] == "Basic YWxpY2U6czNjckB0"  # alice:s3cr@t
    assert _authorized(cdn) == set(), "credentials leaked to another allowed host"


# -- bounded waits ---------------------------------------------------------------------------------------


def _run(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("behaviour", ["drip", "drip-headers"])
def test_fetch_gives_up_on_a_dripping_listing(tmp_path: Path, behaviour: str) -> None:
    with HostileServer() as server:
        server.route("/staging/", behaviour=behaviour, body=f'<a href="{WHEEL}">{WHEEL}</a>'.encode() * 50)
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "--timeout", "2",
                    "--retries", "0", "-w", str(tmp_path / "wh"), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "too slowly" in _one_line_error(proc)


@pytest.mark.timeout(90)
def test_the_deadline_holds_through_a_proxy_from_the_environment(tmp_path: Path) -> None:
    with HostileServer() as proxy:
        # A proxy receives the absolute URL: this one drips its answer.
        proxy.route("http://staging.invalid/staging/", behaviour="drip", body=b"<html>" * 100)
        proc = _run("fetch", "demo", "1.0.0", "--from", "http://staging.invalid/staging/", "--timeout", "2",
                    "--retries", "0", "-w", str(tmp_path / "wh"), cwd=tmp_path,
                    HTTP_PROXY=proxy.url, http_proxy=proxy.url, NO_PROXY="", no_proxy="")  # fmt: skip
    assert [p for _, p, _ in proxy.requests] == ["http://staging.invalid/staging/"]
    assert proc.returncode == 6, proc.stderr
    assert "too slowly" in _one_line_error(proc)


@pytest.mark.timeout(90)
def test_environment_proxies_and_no_proxy_are_honoured(tmp_path: Path) -> None:
    with HostileServer() as server:
        server.route("/staging/", body=f'<a href="{WHEEL}">{WHEEL}</a>'.encode())
        server.route(f"/staging/{WHEEL}", body=b"wheel", ctype="application/octet-stream")
        dead = "http://127.0.0.1:9"  # nothing listens: a request through this proxy fails
        args = ("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "--retries", "0")
        direct = _run(*args, "-w", str(tmp_path / "a"), cwd=tmp_path, HTTP_PROXY=dead, http_proxy=dead,
                      NO_PROXY="example.org,127.0.0.1", no_proxy="example.org,127.0.0.1")  # fmt: skip
        proxied = _run(*args, "-w", str(tmp_path / "b"), cwd=tmp_path, HTTP_PROXY=dead, http_proxy=dead,
                       NO_PROXY="", no_proxy="")  # fmt: skip
    assert direct.returncode == 0, direct.stderr
    assert proxied.returncode == 6 and "Traceback" not in proxied.stderr


@pytest.mark.timeout(90)
def test_fetch_gives_up_on_a_dripping_file(tmp_path: Path) -> None:
    with HostileServer() as server:
        server.route("/staging/", body=f'<a href="{WHEEL}">{WHEEL}</a>'.encode())
        server.route(
            f"/staging/{WHEEL}", behaviour="drip", body=b"x" * 1000, ctype="application/octet-stream"
        )
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "--timeout", "2",
                    "--retries", "0", "-w", str(tmp_path / "wh"), "--json", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    files = json.loads(proc.stdout)["files"]
    assert [f["status"] for f in files] == ["failed"] and "too slowly" in files[0]["error"]
    assert not (tmp_path / "wh" / WHEEL).exists()


@pytest.mark.timeout(90)
def test_stage_to_an_index_gives_up_on_a_dripping_server(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wh", "demo", "1.0.0")
    with HostileServer() as server:
        server.route("/legacy/", behaviour="drip", body=b"OK" * 100)
        proc = subprocess.run(
            [sys.executable, "-m", "shipwheel", "stage", str(tmp_path / "wh"), "--to", server.url + "legacy/",
             "--timeout", "2", "--retries", "0"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env={**os.environ, "SHIPWHEEL_USERNAME": "u", "SHIPWHEEL_PASSWORD": "p"},
        )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "Traceback" not in proc.stderr


# -- clear errors instead of tracebacks ------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_deeply_nested_pep691_json_is_a_clean_error(tmp_path: Path) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    with HostileServer() as server:
        server.route("/simple/demo/", body=nested, ctype="application/vnd.pypi.simple.v1+json")
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "simple/", "-w", str(tmp_path / "wh"),
                    cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "nested too deeply" in _one_line_error(proc)


def test_the_public_project_page_parser_has_the_same_limits() -> None:
    with pytest.raises(TransferError, match="nested too deeply"):
        parse_project_page(b'{"files": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "application/json", BASE)
    page = {
        "files": [
            {"filename": WHEEL, "url": f"/files/{WHEEL}", "hashes": {"sha256": "AB" * 32}, "size": 3,
             "upload-time": "2025-01-02T03:04:05.000000Z"},
            {"filename": WHEEL, "url": "/files/payload.bin", "hashes": {}},
        ]
    }  # fmt: skip
    files = parse_project_page(json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json", BASE)
    assert [(f.filename, f.sha256, f.size, f.upload_time and f.upload_time.year) for f in files] == [
        (WHEEL, "ab" * 32, 3, 2025)
    ]
    html = f'<a href="/files/{WHEEL}#sha256={"CD" * 32}">x</a><a href="/p.bin">{WHEEL}</a>'.encode()
    assert [(f.filename, f.sha256) for f in parse_project_page(html, "text/html", BASE)] == [
        (WHEEL, "cd" * 32)
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "http://127.0.0.1:99999/staging/"], "port"),
        (["--from", "CONTAINER", "--timeout", "0"], "argument --timeout: '0' is not a number above 0"),
        (["--from", "CONTAINER", "--timeout", "nan"], "argument --timeout: 'nan' is not a number above 0"),
        (["--from", "CONTAINER", "--timeout", "inf"], "argument --timeout: 'inf' is not a number above 0"),
        (["--from", "CONTAINER", "--timeout", "-1"], "argument --timeout: '-1' is not a number above 0"),
        (["--from", "CONTAINER", "--retries", "-1"], "argument --retries"),
        (["--from", "CONTAINER", "-j", "-3"], "argument -j/--jobs"),
    ],
)
def test_bad_numbers_and_ports_are_one_line_usage_errors(
    source: Path, tmp_path: Path, argv: list[str], message: str
) -> None:
    argv = [a.replace("CONTAINER", str(source)) for a in argv]
    proc = _run("fetch", "demo", "1.0.0", *argv, "-w", str(tmp_path / "wh"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in _one_line_error(proc)
    assert not (tmp_path / "wh").exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("location", ["ftp://127.0.0.1/files/x.whl", "file:///etc/passwd"])
def test_a_redirect_to_another_scheme_says_so(tmp_path: Path, location: str) -> None:
    with HostileServer() as server:
        server.route("/staging/", behaviour="redirect", location=location)
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "-w", str(tmp_path / "wh"),
                    cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "redirects to a URL that is not http(s)" in _one_line_error(proc)


# -- hostile listings and bodies --------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("attack", ["gzip-bomb", "endless"])
def test_a_listing_page_stops_at_64_mib_decompressed(tmp_path: Path, attack: str) -> None:
    with HostileServer() as server:
        if attack == "gzip-bomb":
            # 128 MiB of zeros in about 128 KB: the limit counts what the page expands to.
            server.route("/staging/", body=gzip_bomb(128 << 20), headers={"Content-Encoding": "gzip"})
        else:
            server.route("/staging/", behaviour="endless", body=b"<p>no end</p>\n")
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "--retries", "0",
                    "-w", str(tmp_path / "wh"), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "larger than 64 MiB" in _one_line_error(proc)


@pytest.mark.timeout(60)
def test_a_reset_listing_is_a_clean_network_error(tmp_path: Path) -> None:
    with HostileServer() as server:
        server.route("/staging/", behaviour="reset", body=f'<a href="{WHEEL}">{WHEEL}</a>'.encode() * 1000)
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "--retries", "1",
                    "-w", str(tmp_path / "wh"), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "cannot read" in _one_line_error(proc)


@pytest.mark.timeout(60)
def test_an_endless_file_stops_at_its_published_size(tmp_path: Path) -> None:
    page = {
        "meta": {"api-version": "1.1"},
        "files": [{"filename": WHEEL, "url": WHEEL, "hashes": {}, "size": 1000}],
    }
    with HostileServer() as server:
        server.route(
            "/simple/demo/", body=json.dumps(page).encode(), ctype="application/vnd.pypi.simple.v1+json"
        )
        server.route(
            f"/simple/demo/{WHEEL}", behaviour="endless", body=b"z", ctype="application/octet-stream"
        )
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "simple/", "--retries", "0",
                    "-w", str(tmp_path / "wh"), "--json", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    files = json.loads(proc.stdout)["files"]
    assert "sends more than 1000 bytes" in files[0]["error"]
    assert list((tmp_path / "wh").iterdir()) == []


@pytest.mark.parametrize("ctype", ["text/html; charset=bogus", "text/html; charset=utf-16", "text/html"])
def test_listings_in_odd_or_unknown_encodings_never_crash(tmp_path: Path, ctype: str) -> None:
    body = f'<a href="{WHEEL}">{WHEEL}</a>\xff\xfe\x80'.encode("latin-1")
    with HostileServer() as server:
        server.route("/staging/", body=body, ctype=ctype)
        server.route(f"/staging/{WHEEL}", body=b"wheel", ctype="application/octet-stream")
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "staging/", "--retries", "0",
                    "-w", str(tmp_path / "wh"), cwd=tmp_path)  # fmt: skip
    assert "Traceback" not in proc.stderr
    assert proc.returncode in {0, 1}, proc.stderr
    if proc.returncode == 0:
        assert (tmp_path / "wh" / WHEEL).read_bytes() == b"wheel"


def test_dot_dot_and_encoded_separators_never_leave_the_wheelhouse(tmp_path: Path) -> None:
    links = [
        f"../../../../{WHEEL}",  # resolves on the server: the file name is still the last segment
        f"..%2F..%2F{WHEEL}",
        f"x%5C..%5C{WHEEL}",
        f"%2e%2e/%2e%2e/{WHEEL}",
    ]
    (tmp_path / "out").mkdir()
    with HostileServer() as server:
        server.route("/a/b/staging/", body="".join(f'<a href="{h}">{WHEEL}</a>' for h in links).encode())
        server.route(f"/{WHEEL}", body=b"wheel", ctype="application/octet-stream")
        proc = _run("fetch", "demo", "1.0.0", "--from", server.url + "a/b/staging/", "--retries", "0",
                    "-w", str(tmp_path / "out" / "wh"), cwd=tmp_path / "out")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [f"out/wh/{WHEEL}"]


@pytest.mark.timeout(60)
def test_an_https_container_never_follows_a_redirect_to_http(tmp_path: Path) -> None:
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    listing = f'<a href="{WHEEL}">{WHEEL}</a>'.encode()
    with HostileServer() as plain, HostileServer(tls=tls) as secure:
        for server in (plain, secure):
            server.route("/staging/", body=listing)
            server.route(f"/staging/{WHEEL}", body=b"wheel", ctype="application/octet-stream")
        secure.route("/moved/", behaviour="redirect", location=plain.url + "staging/")
        common = ("fetch", "demo", "1.0.0", "--retries", "0", "--allow-host", f"127.0.0.1:{plain.port}")
        ok = _run(*common, "--from", secure.url + "staging/", "-w", str(tmp_path / "a"), cwd=tmp_path,
                  SSL_CERT_FILE=str(ca_file))  # fmt: skip
        downgraded = _run(*common, "--from", secure.url + "moved/", "-w", str(tmp_path / "b"), cwd=tmp_path,
                          SSL_CERT_FILE=str(ca_file))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert downgraded.returncode == 6, downgraded.stderr
    assert "redirects from https to http" in _one_line_error(downgraded)
    assert plain.requests == []
