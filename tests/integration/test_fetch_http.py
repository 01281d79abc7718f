"""``shipwheel fetch`` against Python's http.server on 127.0.0.1, with injected faults and hostile listings."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

from fixtures.http_servers import ListingServer
from fixtures.processes import server_process
from shipwheel._retry import RetryPolicy
from shipwheel.cli import main_inner
from shipwheel.manifest import format_manifest
from shipwheel.staging import (
    Expected,
    FetchEvent,
    NothingToFetchError,
    Selection,
    TransferError,
    download_file,
    fetch_release,
    open_container,
)

pytestmark = pytest.mark.integration

WHEELS = [
    "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "demo-1.0-cp312-cp312-win_amd64.whl",
    "demo-1.0-cp313-cp313-macosx_11_0_arm64.whl",
]
SDIST = "demo-1.0.tar.gz"
NO_WAIT = RetryPolicy(retries=3, sleep=lambda _s: None)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    for i, name in enumerate([*WHEELS, SDIST, "demo-1.01-py3-none-any.whl"]):
        (root / name).write_bytes(hashlib.sha256(name.encode()).digest() * (3000 + 100 * i))
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.iterdir()}
    (root / "SHA256SUMS").write_text(format_manifest(digests))
    return root


def _fetch(url: str, dest: Path, **kwargs: object) -> tuple[list[str], dict[str, str]]:
    container = open_container(url)
    try:
        report = fetch_release(
            container, Selection(project="demo", version="1.0"), dest, policy=NO_WAIT, **kwargs
        )  # type: ignore[arg-type]
    finally:
        container.close()
    return [f.status for f in report.files], {f.filename: f.error or "" for f in report.files}


def test_directory_listing_of_http_server(served: Path, tmp_path: Path) -> None:
    events: list[FetchEvent] = []
    with ListingServer(served) as server:
        container = open_container(server.url)
        report = fetch_release(
            container, Selection(project="demo", version="1.0"), tmp_path / "wh", on_event=events.append
        )
        container.close()
    assert report.ok
    assert sorted(f.filename for f in report.files) == sorted([*WHEELS, SDIST])
    assert all(f.verified_by[0] == "sha256 (SHA256SUMS)" for f in report.files)
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted([*WHEELS, SDIST])
    assert {e.kind for e in events} >= {"listed", "start", "progress", "done"}


@pytest.mark.parametrize("fault", ["truncate", "reset", "500", "503"])
def test_transient_faults_are_retried_and_resumed(served: Path, tmp_path: Path, fault: str) -> None:
    name = WHEELS[1]
    with ListingServer(served) as server:
        server.fault(name, fault, fault)
        statuses, _ = _fetch(server.url, tmp_path / "wh")
        requests = server.requests_for(name)
    assert statuses == ["downloaded"] * 4
    assert (tmp_path / "wh" / name).read_bytes() == (served / name).read_bytes()
    assert len(requests) == 3
    if fault in {"truncate", "reset"}:
        assert requests[1][2].startswith("bytes=") and requests[1][2] != "bytes=0-"  # resumed, not restarted
    assert not list((tmp_path / "wh").glob("*.part"))


def test_wrong_bytes_are_reported_and_leave_nothing(served: Path, tmp_path: Path) -> None:
    name = WHEELS[0]
    with ListingServer(served) as server:
        server.fault(name, *["corrupt"] * 10)
        statuses, errors = _fetch(server.url, tmp_path / "wh")
    assert sorted(statuses) == ["downloaded"] * 3 + ["failed"]
    assert "sha256" in errors[name] and "differs from the published" in errors[name]
    assert not (tmp_path / "wh" / name).exists()
    assert not list((tmp_path / "wh").glob("*.part"))


def test_persistent_server_error_gives_up_cleanly(served: Path, tmp_path: Path) -> None:
    name = SDIST
    with ListingServer(served) as server:
        server.fault(name, *["503"] * 10)
        statuses, errors = _fetch(server.url, tmp_path / "wh")
    assert statuses.count("failed") == 1 and "HTTP 503" in errors[name]
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted(WHEELS)


def test_hostile_listing_is_refused_link_by_link(served: Path, tmp_path: Path) -> None:
    hostile = f"""<html><body>
      <a href="../../../etc/passwd">..</a>
      <a href="..%2F..%2Fdemo-1.0-cp312-cp312-win_amd64.whl">../../escape</a>
      <a href="sub%2Fdemo-1.0-py3-none-any.whl">with a separator</a>
      <a href="http://127.0.0.2:1/demo-1.0-cp311-cp311-win_amd64.whl">other host</a>
      <a href="/{WHEELS[2]}">{WHEELS[2]}</a>
    </body></html>"""
    with ListingServer(served) as server:
        url = server.page("/hostile/", hostile)
        container = open_container(url)
        listing = container.listing("demo")
        report = fetch_release(
            container, Selection(project="demo", version="1.0"), tmp_path / "wh", policy=NO_WAIT
        )
        container.close()
    reasons = {r.name: r.reason.split(":")[0] for r in listing.rejected}
    assert reasons == {
        "../../escape": "bad-name",
        "with a separator": "bad-name",
        "other host": "other-host",
    }
    assert [f.filename for f in report.files] == [WHEELS[2]]
    assert [p.name for p in (tmp_path / "wh").iterdir()] == [WHEELS[2]]
    assert not (tmp_path / "escape").exists() and not (tmp_path / "wh" / "sub").exists()


def test_redirects_to_other_hosts_and_loops_are_refused(served: Path, tmp_path: Path) -> None:
    with ListingServer(served) as server:
        server.fault(WHEELS[0], *["redirect-away"] * 10)
        server.fault(WHEELS[1], *["redirect-loop"] * 10)
        statuses, errors = _fetch(server.url, tmp_path / "wh")
    assert statuses.count("failed") == 2
    assert "redirects to another host" in errors[WHEELS[0]]
    assert "redirects too often" in errors[WHEELS[1]]
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted([WHEELS[2], SDIST])


def test_paginated_listings_rel_next_json_and_s3_xml(served: Path, tmp_path: Path) -> None:
    digests = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in served.iterdir() if p.name != "SHA256SUMS"
    }
    size = (served / SDIST).stat().st_size
    with ListingServer(served) as server:
        # HTML pages chained by rel="next", the last one pointing back at the first (a loop is read once).
        server.page("/p1/", f'<a href="/{WHEELS[0]}">a</a><a rel="next" href="/p2/">next</a>')
        server.page("/p2/", f'<a href="/{WHEELS[1]}">b</a><a rel="next" href="/p1/">next</a>')
        container = open_container(server.url + "p1/")
        assert sorted(container.listing("demo").entries) == sorted(WHEELS[:2])
        container.close()
        # PEP 691 JSON with a "next" page and hashes.
        server.page(
            "/json/",
            json.dumps(
                {
                    "files": [
                        {
                            "filename": WHEELS[2],
                            "url": f"/{WHEELS[2]}",
                            "hashes": {"sha256": digests[WHEELS[2]]},
                        }
                    ],
                    "meta": {"next": "/json2/"},
                }
            ),
            "application/vnd.pypi.simple.v1+json",
        )
        server.page(
            "/json2/",
            json.dumps(
                {
                    "files": [
                        {
                            "filename": SDIST,
                            "url": f"/{SDIST}",
                            "hashes": {"sha256": digests[SDIST]},
                            "size": size,
                        }
                    ]
                }
            ),
            "application/vnd.pypi.simple.v1+json",
        )
        container = open_container(server.url + "json/")
        listing = container.listing("demo")
        assert {n: (e.sha256, e.size) for n, e in listing.entries.items()} == {
            WHEELS[2]: (digests[WHEELS[2]], None),
            SDIST: (digests[SDIST], size),
        }
        report = fetch_release(
            container, Selection(project="demo", version="1.0"), tmp_path / "wh", policy=NO_WAIT
        )
        assert report.ok and all(f.verified_by[0] == "sha256 (index)" for f in report.files)
        container.close()
        # An S3-style XML bucket listing over plain HTTP, truncated, continued with a token.
        xml = '<?xml version="1.0"?><ListBucketResult><IsTruncated>{t}</IsTruncated>{tok}{items}</ListBucketResult>'
        server.page(
            "/bucket?list-type=2",
            xml.format(
                t="true",
                tok="<NextContinuationToken>abc</NextContinuationToken>",
                items=f"<Contents><Key>{WHEELS[0]}</Key><Size>1</Size></Contents>",
            ),
            "application/xml",
        )
        server.page(
            "/bucket?list-type=2&continuation-token=abc",
            xml.format(t="false", tok="", items=f"<Contents><Key>{SDIST}</Key><Size>3300</Size></Contents>"),
            "application/xml",
        )
        container = open_container(server.url + "bucket?list-type=2")
        assert sorted(container.listing("demo").entries) == sorted([WHEELS[0], SDIST])
        container.close()


def test_simple_index_root_leads_to_the_project_page(served: Path, tmp_path: Path) -> None:
    with ListingServer(served) as server:
        server.page("/simple/", '<a href="demo/">demo</a><a href="other/">other</a>')
        server.page("/simple/demo/", "".join(f'<a href="../../{n}">{n}</a>' for n in [*WHEELS, SDIST]))
        container = open_container(server.url + "simple/")
        assert sorted(container.listing("Demo").entries) == sorted([*WHEELS, SDIST])
        container.close()
        # An index root (PyPI's lists every project) is not read when the project page exists.
        assert [r[1] for r in server.state.requests] == ["/simple/demo/"]
        # A plain listing without the project's files: its project folder is tried next.
        server.page("/staging/", '<a href="README.txt">README.txt</a>')
        server.page("/staging/demo/", f'<a href="/{SDIST}">{SDIST}</a>')
        container = open_container(server.url + "staging/")
        assert list(container.listing("demo").entries) == [SDIST]
        container.close()
        with pytest.raises(TransferError, match="does not exist"):
            open_container(server.url + "missing/").listing("demo")


def test_cli_fetch_over_http_with_old_wheel_uploader_form(
    served: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ListingServer(served) as server:
        code = main_inner(["fetch", "-u", server.url, "-w", str(tmp_path / "wh"), "-t", "win", "demo", "1.0"])
    assert code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 downloaded" in out and "0 failed" in out and "2 left out by filters" in out
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted([WHEELS[1], SDIST])


def test_redirect_to_another_host_is_followed_only_when_allowed(served: Path, tmp_path: Path) -> None:
    mirror_root = tmp_path / "mirror"
    mirror_root.mkdir()
    (mirror_root / WHEELS[0]).write_bytes((served / WHEELS[0]).read_bytes())
    with ListingServer(served) as server, ListingServer(mirror_root) as mirror:
        server.state.away = mirror.url + WHEELS[0]
        server.fault(WHEELS[0], "redirect-away", "redirect-away")
        statuses, errors = _fetch(server.url, tmp_path / "refused")
        assert statuses.count("failed") == 1 and "127.0.0.1" in errors[WHEELS[0]]
        container = open_container(server.url, allow_hosts=[f"127.0.0.1:{mirror.port}"])
        report = fetch_release(
            container, Selection(project="demo", version="1.0"), tmp_path / "allowed", policy=NO_WAIT
        )
        container.close()
        assert report.ok
        assert len(mirror.requests_for(WHEELS[0])) == 1


def test_plain_python_http_server_process(served: Path, tmp_path: Path) -> None:
    """The unmodified ``python -m http.server`` (no ranges, its own listing page), as a separate process."""
    argv = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(served)]
    with server_process(argv) as (_proc, port):
        statuses, _ = _fetch(f"http://127.0.0.1:{port}/", tmp_path / "wh")
    assert statuses == ["downloaded"] * 4
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted([*WHEELS, SDIST])


@pytest.mark.parametrize("fault", ["truncate", "reset", "503"])
def test_a_failed_parallel_segment_costs_only_a_resume(tmp_path: Path, fault: str) -> None:
    root = tmp_path / "served"
    root.mkdir()
    name = "big-1.0-py3-none-any.whl"
    data = os.urandom((6 << 20) + 999)
    (root / name).write_bytes(data)
    expected = Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",))
    with ListingServer(root) as server:
        server.fault(name, "ok", fault)  # the first helper connection fails
        container = open_container(server.url)
        entry = container.listing().entries[name]
        outcome = download_file(container, entry, tmp_path, expected, policy=NO_WAIT, segments=3)
        container.close()
        ranges = [r[2] for r in server.requests_for(name)]
    assert outcome.status == "downloaded" and outcome.attempts == 2, outcome.error
    assert (tmp_path / name).read_bytes() == data
    assert len(ranges) == 4 and ranges[0] == "" and all(r.startswith("bytes=") for r in ranges[1:])
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_no_parallel_segments_without_range_support(served: Path, tmp_path: Path) -> None:
    name = "big-1.0-py3-none-any.whl"
    data = os.urandom(5 << 20)
    (served / name).write_bytes(data)
    argv = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(served)]
    with server_process(argv) as (_proc, port):
        container = open_container(f"http://127.0.0.1:{port}/")
        entry = container.listing().entries[name]
        expected = Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",))
        outcome = download_file(container, entry, tmp_path, expected, policy=NO_WAIT, segments=4)
        container.close()
    assert outcome.status == "downloaded" and outcome.attempts == 1


def test_parallel_segments_over_http_use_closed_ranges(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    name = "big-1.0-py3-none-any.whl"
    data = os.urandom((6 << 20) + 5)
    (root / name).write_bytes(data)
    expected = Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",))
    with ListingServer(root) as server:
        container = open_container(server.url)
        entry = container.listing().entries[name]
        outcome = download_file(container, entry, tmp_path, expected, policy=NO_WAIT, segments=3)
        container.close()
        ranges = sorted(r[2] for r in server.requests_for(name))
    assert outcome.status == "downloaded" and outcome.attempts == 1, outcome.error
    assert (tmp_path / name).read_bytes() == data
    size = -(-len(data) // 3)
    assert ranges == ["", f"bytes={size}-{2 * size - 1}", f"bytes={2 * size}-{len(data) - 1}"]


def test_files_only_on_other_hosts_give_a_message_that_says_so(served: Path, tmp_path: Path) -> None:
    with ListingServer(served) as server:
        server.page(
            "/simple/demo/", "".join(f'<a href="https://files.example.invalid/{n}">{n}</a>' for n in WHEELS)
        )
        server.page("/simple/other/", '<a href="https://files.example.invalid/other-1.0.tar.gz">x</a>')
        container = open_container(server.url + "simple/")
        with pytest.raises(
            NothingToFetchError, match=r"3 links were refused.*other-host: files\.example\.invalid"
        ) as info:
            fetch_release(
                container, Selection(project="demo", version="1.0"), tmp_path / "wh", policy=NO_WAIT
            )
        container.close()
    assert "--allow-host" in info.value.hint
    assert not (tmp_path / "wh").exists()


def test_index_hash_and_sha256sums_that_disagree_fail_the_file(served: Path, tmp_path: Path) -> None:
    wrong = "0" * 64
    links = "".join(f'<a href="/{n}#sha256={wrong if n == SDIST else ""}">{n}</a>' for n in [*WHEELS, SDIST])
    with ListingServer(served) as server:
        server.page("/release/", links + '<a href="/SHA256SUMS">SHA256SUMS</a>')
        statuses, errors = _fetch(server.url + "release/", tmp_path / "wh")
    assert sorted(statuses) == ["downloaded"] * 3 + ["failed"]
    assert "two different sha256" in errors[SDIST]
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted(WHEELS)


def test_ctrl_c_keeps_part_files_and_the_next_run_resumes_them(tmp_path: Path) -> None:
    import importlib.util
    import signal
    import subprocess

    spec = importlib.util.spec_from_file_location("_longlink_for_fetch", REPO / "benchmarks" / "_longlink.py")
    assert spec is not None and spec.loader is not None
    longlink = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = longlink  # dataclasses look their module up
    spec.loader.exec_module(longlink)
    root = tmp_path / "served"
    root.mkdir()
    data = {"slow-1.0-cp312-cp312-win_amd64.whl": os.urandom(3 << 20), "slow-1.0.tar.gz": os.urandom(3 << 20)}
    for name, content in data.items():
        (root / name).write_bytes(content)
    wh = tmp_path / "wh"
    argv = [sys.executable, "-m", "shipwheel", "fetch", "slow", "1.0", "-w", str(wh), "-j", "2", "--json"]
    with (
        ListingServer(root) as server,
        longlink.LongLink(("127.0.0.1", server.port), rtt=0.01, conn_bps=256e3, total_bps=1e9) as link,
    ):
        url = f"http://127.0.0.1:{link.port}/"
        proc = subprocess.Popen(
            [*argv, "--from", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(p.stat().st_size > 100_000 for p in wh.glob("*.part")):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "run the same command again to resume" in err
        parts = {p.name: p.stat().st_size for p in wh.glob("*.part")}
        assert parts and all(0 < size < 3 << 20 for size in parts.values())
        assert not [p for p in wh.iterdir() if not p.name.endswith(".part")]
    # Again, at full speed: the partial files are resumed, not downloaded again.
    with ListingServer(root) as server:
        done = subprocess.run([*argv, "--from", server.url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    resumed = {f["filename"]: f["resumed_from"] for f in report["files"]}
    assert any(resumed[name.removesuffix(".part")] > 0 for name in parts)
    assert sorted(p.name for p in wh.iterdir()) == sorted(data)
    assert all((wh / name).read_bytes() == content for name, content in data.items())


def test_a_long_paginated_listing_is_read_to_its_end(served: Path, tmp_path: Path) -> None:
    pages = 40
    with ListingServer(served) as server:
        for i in range(pages):
            others = "".join(
                f'<a href="/demo-0.{i}.{j}-py3-none-any.whl">demo-0.{i}.{j}-py3-none-any.whl</a>\n'
                for j in range(100)
            )
            last = i == pages - 1
            tail = (
                f'<a href="/{SDIST}">{SDIST}</a>' if last else f'<a rel="next" href="/long/{i + 1}/">next</a>'
            )
            server.page(f"/long/{i}/", others + tail)
        container = open_container(server.url + "long/0/")
        listing = container.listing("demo")
        report = fetch_release(
            container, Selection(project="demo", version="1.0"), tmp_path / "wh", policy=NO_WAIT
        )
        container.close()
    assert listing.pages == pages and len(listing.entries) == pages * 100 + 1
    assert [f.filename for f in report.files] == [SDIST] and report.ok
