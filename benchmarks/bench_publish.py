"""Benchmark: publish the numpy 2.4.6 release to a fresh pypiserver with shipwheel, twine and uv, side by side.

Each tool gets a fresh pypiserver (own storage, upload authentication; by default pypiserver's WSGI app under
gunicorn with 3 worker processes of 8 threads, ``--server paste`` for its own threaded server), reached either directly on loopback or through the long-link proxy
(``benchmarks/_longlink.py``: 50 ms round trip, 100 Mbit/s per connection, 1 Gbit/s in all, by default). After
each upload the index is checked to hold exactly the release's files with the right sha256. For shipwheel the
re-run (everything already on the index) is timed too. shipwheel runs three ways:

* ``shipwheel``: the defaults (verify on, adaptive uploads), after ``shipwheel verify`` of the same files (the
  release manager's order; that verify is not timed, its time is printed): the headline figure;
* ``shipwheel-fresh``: the defaults on files never verified before (verify runs in full);
* ``shipwheel-tuned``: ``-j N --fixed-jobs --no-verify``.

    python benchmarks/bench_publish.py                       # numpy 2.4.6, loopback and long link
    python benchmarks/bench_publish.py --project kiwisolver --version 1.4.8 --links long --repeat 2

Prints one line per run and the ratios (other tool's time / shipwheel's time) at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _release import download_release  # noqa: E402

from fixtures.index_servers import IndexServer, start_pypiserver  # noqa: E402
from fixtures.processes import free_port, stop_process  # noqa: E402
from shipwheel.distfiles import file_digests  # noqa: E402

BIN = Path(sys.executable).parent


def _start_longlink(
    upstream: int, rtt_ms: float, conn_mbit: float, total_mbit: float
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [
        sys.executable, str(HERE / "_longlink.py"), "--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{upstream}",
        "--rtt-ms", str(rtt_ms), "--conn-mbit", str(conn_mbit), "--total-mbit", str(total_mbit),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the long-link proxy did not start")


def _command(
    tool: str, files: list[Path], url: str, simple: str, server: IndexServer, jobs: int
) -> list[str]:
    if tool.startswith("shipwheel"):
        cmd = [
            str(BIN / "shipwheel"),
            "publish",
            *map(str, files),
            "--repository",
            url,
            "--index-url",
            simple,
        ]
        return [*cmd, "-j", str(jobs), "--fixed-jobs", "--no-verify"] if tool == "shipwheel-tuned" else cmd
    if tool == "twine":
        return [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar", "--repository-url", url,
                "-u", server.user, "-p", server.password, *map(str, files)]  # fmt: skip
    if tool == "uv":
        return [
            str(BIN / "uv"),
            "publish",
            "--publish-url",
            url,
            "-u",
            server.user,
            "-p",
            server.password,
            *map(str, files),
        ]
    raise SystemExit(f"unknown tool {tool}")


def _run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1800
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"{cmd[0]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return elapsed


def one_run(
    tool: str, link: str, files: list[Path], expected: dict[str, str], args: argparse.Namespace
) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix=f"bench-publish-{tool}-"))
    server = start_pypiserver(root, server=args.server, workers=args.workers)
    proxy = None
    try:
        port = server.port
        if link == "long":
            proxy, port = _start_longlink(server.port, args.rtt_ms, args.conn_mbit, args.total_mbit)
        url = f"http://127.0.0.1:{port}/"
        env = {
            **os.environ, "HOME": str(root), "XDG_STATE_HOME": str(root / "state"), "SHIPWHEEL_USERNAME": server.user,
            "SHIPWHEEL_PASSWORD": server.password, "UV_NO_CACHE": "1",
        }  # fmt: skip
        out: dict[str, float] = {}
        if tool == "shipwheel":  # the release manager's order: verify (and sign) the files, then publish them
            out["verify"] = _run([str(BIN / "shipwheel"), "verify", *map(str, files)], env)
        out["upload"] = _run(_command(tool, files, url, url + "simple/", server, args.jobs), env)
        got = server.files(args.project)
        if got != expected:
            missing = sorted(set(expected) - set(got))
            wrong = sorted(n for n in expected if n in got and got[n] != expected[n])
            raise SystemExit(
                f"{tool}: the index does not hold the release (missing {missing[:3]}, wrong hash {wrong[:3]})"
            )
        if tool == "shipwheel":
            out["rerun"] = _run(_command(tool, files, url, url + "simple/", server, args.jobs), env)
        return out
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        stop_process(server.proc)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--project", default="numpy")
    parser.add_argument("--version", default="2.4.6")
    parser.add_argument("--tools", default="shipwheel,shipwheel-fresh,shipwheel-tuned,twine,uv")
    parser.add_argument("--links", default="loopback,long")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=8, help="shipwheel-tuned's -j")
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--conn-mbit", type=float, default=100.0)
    parser.add_argument("--total-mbit", type=float, default=1000.0)
    parser.add_argument(
        "--server",
        default="gunicorn",
        choices=["gunicorn", "paste", "cherrypy"],
        help="how pypiserver is served",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    args = parser.parse_args()
    folder = download_release(args.project, args.version)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part"))
    size = sum(p.stat().st_size for p in files)
    expected = {p.name: file_digests(p)["sha256"] for p in files}
    limit = size * 8 / (args.total_mbit * 1e6)
    print(
        f"{args.project} {args.version}: {len(files)} files, {size / 1e6:.0f} MB; the long link's limit "
        f"{limit:.2f} s ({args.total_mbit:.0f} Mbit/s in all, {args.conn_mbit:.0f} per connection, {args.rtt_ms:.0f} ms"
        f" RTT); shipwheel-tuned: -j {args.jobs} --fixed-jobs --no-verify; server: pypiserver/{args.server}"
    )
    times: dict[tuple[str, str], list[float]] = {}
    reruns: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for link in args.links.split(","):
            for tool in args.tools.split(","):
                result = one_run(tool, link, files, expected, args)
                times.setdefault((link, tool), []).append(result["upload"])
                if "rerun" in result:
                    reruns.setdefault(link, []).append(result["rerun"])
                extra = f", re-run {result['rerun']:.2f} s" if "rerun" in result else ""
                extra += f" (after shipwheel verify, {result['verify']:.2f} s)" if "verify" in result else ""
                print(
                    f"{link:9} {tool:16} {result['upload']:7.2f} s  {size / 1e6 / result['upload']:7.1f} MB/s{extra}",
                    flush=True,
                )
    print("\nmedians and ratios (tool time / time of shipwheel with the defaults after verify):")
    for link in args.links.split(","):
        base = times.get((link, "shipwheel"))
        for tool in args.tools.split(","):
            t = statistics.median(times[(link, tool)])
            ratio = f"  x{t / statistics.median(base):.1f}" if base and tool != "shipwheel" else ""
            print(f"  {link:9} {tool:16} {t:7.2f} s{ratio}")
        if base and link == "long" and ("loopback", "shipwheel") in times:
            loop = statistics.median(times[("loopback", "shipwheel")])
            print(
                f"  {link:9} shipwheel defaults: {statistics.median(base) / loop:.2f}x the same over loopback"
            )
        if link in reruns:
            print(f"  {link:9} shipwheel re-run (all present) {statistics.median(reruns[link]):.2f} s")


if __name__ == "__main__":
    main()
