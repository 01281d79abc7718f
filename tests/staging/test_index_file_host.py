"""``fetch --from`` a simple index whose pages point at a file host of their own (PyPI's ``files.pythonhosted.org``):
allowed without ``--allow-host`` when the index is reached over HTTPS, the file is served over HTTPS and the page
pins its sha256; every other host rule stays."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fixtures.defective import make_wheel
from fixtures.hostile import HostileServer
from shipwheel.simple_index import Link
from shipwheel.staging import Entry, Rejected
from shipwheel.staging._containers._listing import accept_link

PYPI = "https://pypi.org/simple/"
FILES = "https://files.pythonhosted.org/packages/b9/a3/1904/numexpr-2.14.2-cp313-cp313-win_arm64.whl"
SHA = "ab" * 32


@pytest.mark.parametrize(
    ("link", "container", "index_page", "accepted"),
    [
        (Link(FILES, sha256=SHA), PYPI, True, True),  # PyPI's own arrangement
        (Link(FILES), PYPI, True, False),  # no hash: the page does not pin what the other host serves
        (Link(FILES.replace("https", "http"), sha256=SHA), PYPI, True, False),  # never a downgrade
        (Link(FILES, sha256=SHA), PYPI, False, False),  # a page that is not an index's
        (Link(FILES, sha256=SHA), PYPI.replace("https", "http"), True, False),  # an index over plain HTTP
    ],
    ids=["pypi-files-host", "no-hash", "http-file", "not-an-index", "http-index"],
)
def test_index_file_host_rule(link: Link, container: str, index_page: bool, accepted: bool) -> None:
    verdict = accept_link(link, container, (), index_page=index_page)
    assert isinstance(verdict, Entry if accepted else Rejected), verdict


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, Path]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield context, ca_file


def _fetch(url: str, dest: Path, ca_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "shipwheel",
            "fetch",
            "demo",
            "1.0",
            "--from",
            url,
            "--retries",
            "0",
            "-w",
            str(dest),
        ],
        capture_output=True,
        text=True,
        cwd=dest.parent,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "SSL_CERT_FILE": str(ca_file)},
    )


def _pep691(files: list[dict[str, object]]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": files}).encode()


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_fetch_from_an_https_index_follows_its_hashed_links_to_its_file_host(
    tmp_path: Path, tls: tuple[ssl.SSLContext, Path]
) -> None:
    context, ca_file = tls
    wheel = make_wheel(tmp_path / "built", "demo", "1.0")
    data = wheel.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with (
        HostileServer(tls=context) as index,
        HostileServer(tls=context) as files,
        HostileServer(tls=context) as other,
    ):
        files.route(f"/packages/{wheel.name}", body=data, ctype="application/octet-stream")
        files.route(f"/moved/{wheel.name}", behaviour="redirect", location=other.url + wheel.name)
        other.route(f"/{wheel.name}", body=data, ctype="application/octet-stream")
        entry = {
            "filename": wheel.name,
            "url": files.url + f"packages/{wheel.name}",
            "hashes": {"sha256": sha},
        }
        json_type = "application/vnd.pypi.simple.v1+json"
        index.route("/simple/demo/", body=_pep691([entry]), ctype=json_type)
        ok = _fetch(index.url + "simple/", tmp_path / "ok", ca_file)
        # The same page without the hash: the other host is not trusted.
        index.route("/simple/demo/", body=_pep691([{**entry, "hashes": {}}]), ctype=json_type)
        unhashed = _fetch(index.url + "simple/", tmp_path / "unhashed", ca_file)
        # A plain listing (no index's content type, no pypi:repository-version) pointing at the same host.
        index.route("/listing/", body=f'<a href="{entry["url"]}#sha256={sha}">{wheel.name}</a>'.encode())
        listing = _fetch(index.url + "listing/", tmp_path / "listing", ca_file)
        # The index's file host redirects the download to a third host: refused.
        moved = {**entry, "url": files.url + f"moved/{wheel.name}"}
        index.route("/simple/demo/", body=_pep691([moved]), ctype=json_type)
        redirected = _fetch(index.url + "simple/", tmp_path / "redirected", ca_file)
        # A PEP 503 HTML page that declares itself an index (PEP 629), as pypiserver and devpi write it.
        html = (
            '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.0"></head><body>'
            f'<a href="{entry["url"]}#sha256={sha}">{wheel.name}</a></body></html>'
        )
        index.route("/simple/demo/", body=html.encode(), ctype="text/html")
        pep503 = _fetch(index.url + "simple/", tmp_path / "pep503", ca_file)
        other_requests = list(other.requests)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "ok" / wheel.name).read_bytes() == data
    assert unhashed.returncode != 0 and "without a sha256 on the index page" in unhashed.stderr, (
        unhashed.stderr
    )
    assert listing.returncode != 0 and "other-host" in listing.stderr, listing.stderr
    assert redirected.returncode != 0 and not (tmp_path / "redirected" / wheel.name).exists()
    assert other_requests == []
    assert pep503.returncode == 0, pep503.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_fetch_from_pypi_itself_needs_no_extra_flag(tmp_path: Path) -> None:
    """The real rule, on the real index: pypi.org's pages point at files.pythonhosted.org."""
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "fetch", "numexpr", "2.14.2", "--from", PYPI, "--only",
         "cp313-win_arm64", "--no-sdist", "-w", str(tmp_path / "wh")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    if proc.returncode != 0 and "cannot read" in proc.stderr:
        pytest.skip(f"PyPI cannot be reached: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "wh").iterdir()] == ["numexpr-2.14.2-cp313-cp313-win_arm64.whl"]
    assert "ignored link" not in proc.stderr  # other versions' odd names are none of this fetch's business
