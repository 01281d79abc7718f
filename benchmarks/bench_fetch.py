"""Benchmark ``shipwheel fetch`` against numpy's former ``tools/download-wheels.py`` over a long, shaped link.

Serves the real numpy 2.4.6 release (72 files, ~918 MB) from Python's http.server (directory listing, with
ranges and sendfile; tests/fixtures/http_servers.py) behind benchmarks/_longlink.py (50 ms round trip, 100 Mbit/s
per connection, 1 Gbit/s in all), then downloads the release with:

* ``baseline``: numpy's download-wheels.py approach, reimplemented faithfully: one urllib3 PoolManager, the
  listing page scraped for text matching ``^.*numpy-<version>(-.*\\.whl$|\\.tar\\.gz$|\\.zip$)`` (the script used
  BeautifulSoup's ``find_all(string=regex)``; html.parser gives the same strings here), then every file one
  after the other with ``shutil.copyfileobj`` — no verification, no resume;
* ``shipwheel, defaults``: ``shipwheel fetch numpy 2.4.6 --from URL`` as a new user runs it (adaptive
  concurrency, at most 16 at once; sha256-verified against SHA256SUMS): the headline figure;
* ``shipwheel, tuned``: the same with ``-j N --fixed-jobs`` (N connections from the start).

Each runs in its own process; the server and the proxy too. Also measures the proxy's own ceiling (no delay, no
rate limit) and the client's ceiling (no proxy). Usage::

    python benchmarks/bench_fetch.py [--runs 2] [--jobs 16] [--skip-baseline] [--project P --version V]

Any release of PyPI can stand in for numpy's (``--project kiwisolver --version 1.4.8``); the baseline then scrapes
that project's names the way numpy's script does.
"""

from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVER = REPO / "tests" / "fixtures" / "http_servers.py"
PROXY = HERE / "_longlink.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early: {proc.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


@contextmanager
def _process(argv: list[str], port: int) -> Iterator[None]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def serve(
    root: Path, *, rtt_ms: float, conn_mbit: float, total_mbit: float, proxy: bool = True
) -> Iterator[str]:
    """The release folder over HTTP, behind the shaping proxy; yields the listing URL."""
    port = _free_port()
    with _process([sys.executable, str(SERVER), str(root), "--port", str(port)], port):
        if not proxy:
            yield f"http://127.0.0.1:{port}/"
            return
        pport = _free_port()
        argv = [
            sys.executable, str(PROXY), "--listen", f"127.0.0.1:{pport}", "--upstream", f"127.0.0.1:{port}",
            "--rtt-ms", str(rtt_ms), "--conn-mbit", str(conn_mbit), "--total-mbit", str(total_mbit),
        ]  # fmt: skip
        with _process(argv, pport):
            yield f"http://127.0.0.1:{pport}/"


# -- the baseline: numpy's tools/download-wheels.py, one file after another ------------------------------------


class _Strings(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.strings: list[str] = []

    def handle_data(self, data: str) -> None:
        self.strings.append(data)


def baseline_worker(url: str, project: str, version: str, wheelhouse: Path) -> None:
    """numpy's ``download_wheels(version, wheelhouse)``: scrape names, then GET each file in turn."""
    import urllib3

    prefix = project
    suffix = r"(-.*\.whl$|\.tar\.gz$|\.zip$)"
    http = urllib3.PoolManager()
    tmpl = re.compile(rf"^.*{prefix}-{version}{suffix}")
    index = http.request("GET", url)
    parser = _Strings()
    parser.feed(index.data.decode())
    names = [s for s in parser.strings if tmpl.match(s)]
    for name in names:
        with open(wheelhouse / name, "wb") as f, http.request("GET", url + name, preload_content=False) as r:
            shutil.copyfileobj(r, f)
    print(len(names))


# -- runs ------------------------------------------------------------------------------------------------------


def _run(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"{argv[:4]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return elapsed, proc.stdout


#: the connections each shipwheel run ended with at its most (adaptive runs), by label
PEAKS: dict[str, list[int]] = {}


def run_shipwheel(url: str, dest: Path, release: tuple[str, str, int], tuned: list[str], label: str) -> float:
    """One ``shipwheel fetch``: the defaults when ``tuned`` is empty, else with those options."""
    project, version, count = release
    shutil.rmtree(dest, ignore_errors=True)
    cmd = [sys.executable, "-m", "shipwheel", "fetch", project, version, "--from", url, "-w", str(dest), *tuned, "--json"]  # fmt: skip
    elapsed, out = _run(cmd)
    report = json.loads(out)
    assert report["ok"] and len(report["files"]) == count and not report["unverified"], report
    assert all(f["status"] == "downloaded" for f in report["files"])
    PEAKS.setdefault(label, []).append(max(report["connections"]))
    return elapsed


def run_baseline(url: str, dest: Path, release: tuple[str, str, int]) -> float:
    project, version, count = release
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    elapsed, out = _run([sys.executable, __file__, "--baseline-worker", url, project, version, str(dest)])
    assert out.strip() == str(count), out
    return elapsed


def _check(dest: Path, digests: dict[str, str]) -> None:
    got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in dest.iterdir()}
    assert got == digests, "downloaded files differ from the release"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--project", default="numpy")
    parser.add_argument("--version", default="2.4.6")
    parser.add_argument(
        "--baseline-worker", nargs=4, metavar=("URL", "P", "V", "DEST"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.baseline_worker:
        url, project, version, dest = args.baseline_worker
        baseline_worker(url, project, version, Path(dest))
        return

    sys.path.insert(0, str(HERE))
    from _release import download_release

    from shipwheel.distfiles import file_digests
    from shipwheel.manifest import format_manifest

    release = download_release(args.project, args.version)
    files = sorted(p for p in release.iterdir() if p.is_file() and not p.name.endswith(".part"))
    total = sum(p.stat().st_size for p in files)
    limit = total * 8 / 1e9
    what = (args.project, args.version, len(files))
    tuned = ["-j", str(args.jobs), "--fixed-jobs"]
    # Hard links in the cache's file system: http.server lists symlinks as "name@", which no scraper matches.
    with tempfile.TemporaryDirectory(prefix="bench-fetch-", dir=release.parent) as tmp:
        root = Path(tmp) / "served"
        root.mkdir()
        for p in files:
            os.link(p, root / p.name)
        digests = {p.name: file_digests(p)["sha256"] for p in files}
        (root / "SHA256SUMS").write_text(format_manifest(digests))
        dest = Path(tmp) / "wheelhouse"
        print(
            f"{args.project} {args.version}: {len(files)} files, {total / 1e6:.1f} MB; "
            f"the long link's limit: {limit:.2f} s at 1 Gbit/s in all (100 Mbit/s per connection, 50 ms RTT)"
        )
        print(f"machine: {os.cpu_count()} cores; defaults (no -j) and tuned ({' '.join(tuned)})")

        results: dict[str, list[float]] = {}
        shaped = {"rtt_ms": 50.0, "conn_mbit": 100.0, "total_mbit": 1000.0}

        def both(url: str, where: str) -> None:
            for label, options in ((f"defaults, {where}", []), (f"tuned, {where}", tuned)):
                results[label] = [run_shipwheel(url, dest, what, options, label) for _ in range(args.runs)]
                _check(dest, digests)

        with serve(root, rtt_ms=0, conn_mbit=1e6, total_mbit=1e6, proxy=False) as url:
            both(url, "loopback")
        with serve(root, **shaped) as url:
            both(url, "long link")
            if not args.skip_baseline:
                results["baseline, long link"] = [
                    run_baseline(url, dest, what) for _ in range(max(1, args.runs - 1))
                ]
                _check(dest, digests)
        print()
        for name, times in results.items():
            mbit = total * 8 / min(times) / 1e6
            peaks = f"   most connections {PEAKS[name]}" if name in PEAKS else ""
            print(
                f"{name:<24} "
                + "  ".join(f"{t:6.2f} s" for t in times)
                + f"   best {mbit:7.0f} Mbit/s{peaks}"
            )
        print()
        for label in ("defaults, long link", "tuned, long link"):
            best = min(results[label])
            line = f"{label:<20} {best / limit:.2f}x the link's limit ({best:.2f} s vs {limit:.2f} s; target <= 1.2x)"
            if "baseline, long link" in results:
                line += f"; {min(results['baseline, long link']) / best:.1f}x the baseline (target >= 8x)"
            print(line)


if __name__ == "__main__":
    main()
