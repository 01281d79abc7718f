"""Benchmark ``shipwheel verify`` on a real release against its peers run one after another.

Peers: ``twine check`` on every file, ``check-wheel-contents`` on every wheel, ``auditwheel show`` on every Linux
wheel. Baseline: just decompressing and hashing every member of every file, on all cores. Prints the times and
the ratios (peers / shipwheel, shipwheel / baseline)::

    python benchmarks/bench_verify.py                 # numpy 2.4.6, 3 runs of shipwheel, 1 of the peers
    python benchmarks/bench_verify.py numexpr 2.14.2 --repeat 2 --peer-repeat 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _release import download_release


def _bin(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    return found


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    seconds, code, _ = _run_output(cmd, env)
    return seconds, code


def _run_output(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False, env=env
    )
    return time.perf_counter() - start, proc.returncode, proc.stdout


def _fresh_state() -> dict[str, str]:
    """An environment whose state folder is new and empty: ``shipwheel verify`` records passing results there and
    reuses them for the same bytes (issue 15), so every timed run starts without any."""
    return {**os.environ, "XDG_STATE_HOME": tempfile.mkdtemp(prefix="bench-verify-state-")}


_SHOW = re.compile(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"')


def _hash_members(path: str) -> int:
    """Decompress and sha256 every member of one archive; returns the bytes seen."""
    total = 0
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                data = zf.read(info)
                hashlib.sha256(data).digest()
                total += len(data)
    else:
        with tarfile.open(path) as tf:
            for member in tf:
                fh = tf.extractfile(member) if member.isfile() else None
                if fh is not None:
                    data = fh.read()
                    hashlib.sha256(data).digest()
                    total += len(data)
    return total


def baseline(files: list[Path], jobs: int) -> float:
    order = [str(p) for p in sorted(files, key=lambda p: -p.stat().st_size)]
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        sum(pool.map(_hash_members, order))
    return time.perf_counter() - start


def _median(fn: Callable[[], float], n: int) -> tuple[float, list[float]]:
    runs = [fn() for _ in range(n)]
    return statistics.median(runs), runs


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def defect_catch() -> None:
    """Which tool notices each single-file defect of the test generator (tests/fixtures/defective.py)?"""
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from shipwheel.verify import verify_paths
    from verify.test_defects import DEFECTS  # the same generator the tests use

    with tempfile.TemporaryDirectory() as tmp:
        cases: dict[str, Path] = {}
        for code, build in sorted(DEFECTS.items()):
            (Path(tmp) / code).mkdir()
            paths, kwargs = build(Path(tmp) / code)
            if len(paths) == 1 and not kwargs and not code.startswith(("release-", "matrix-")):
                cases[code] = paths[0]
        ours = {
            code: code in {p.code for p in verify_paths([path], jobs=1).problems}
            for code, path in cases.items()
        }
        # One file per run: both tools stop at the first file they cannot open.
        flagged_twine: set[str] = set()
        flagged_cwc: set[str] = set()
        wheels = [str(p) for p in cases.values() if p.name.endswith(".whl")]
        for path in map(str, cases.values()):
            tw = subprocess.run([_bin("twine"), "check", path], capture_output=True, text=True, check=False)
            if tw.returncode != 0 or "warning" in _ANSI.sub("", tw.stdout + tw.stderr).lower():
                flagged_twine.add(path)
            if path in wheels:
                cw = subprocess.run(
                    [_bin("check-wheel-contents"), path], capture_output=True, text=True, check=False
                )
                if cw.returncode != 0:
                    flagged_cwc.add(path)
    print(f"\n{'defect':30} shipwheel  twine  check-wheel-contents")
    for code, path in cases.items():
        tw = "yes" if str(path) in flagged_twine else "no"
        cw = ("yes" if str(path) in flagged_cwc else "no") if str(path) in wheels else "n/a"
        print(f"{code:30} {'yes' if ours[code] else 'NO':9}  {tw:5}  {cw}")
    n = len(cases)
    print(
        f"caught: shipwheel {sum(ours.values())}/{n}, twine check {sum(str(p) in flagged_twine for p in cases.values())}/{n}, "
        f"check-wheel-contents {sum(str(p) in flagged_cwc for p in cases.values())}/{len(wheels)} wheels"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("project", nargs="?", default="numpy")
    parser.add_argument("version", nargs="?", default="2.4.6")
    parser.add_argument("--repeat", type=int, default=3, help="runs of shipwheel and of the baseline")
    parser.add_argument("--peer-repeat", type=int, default=1, help="runs of the peers (slow)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--defects", action="store_true", help="only compare which defects each tool notices")
    args = parser.parse_args()
    if args.defects:
        defect_catch()
        return

    folder = download_release(args.project, args.version)
    files = sorted(p for p in folder.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    wheels = [p for p in files if p.suffix == ".whl"]
    linux = [p for p in wheels if "linux" in p.name]
    size = sum(p.stat().st_size for p in files)
    jobs = os.cpu_count() or 1
    print(
        f"{args.project} {args.version}: {len(files)} files, {size / 2**20:.0f} MiB, {len(linux)} Linux wheels; {jobs} cores"
    )

    shipwheel_cmd = [_bin("shipwheel"), "verify", str(folder), "--json"]
    # shipwheel and the baseline alternate, so that a burst of load on a shared machine hits both alike.
    # CPU seconds (user + system, all processes) are reported too: they move less than wall time under load.
    sw_runs: list[float] = []
    base_runs: list[float] = []
    sw_cpu: list[float] = []
    base_cpu: list[float] = []
    states: list[dict[str, str]] = []
    for _ in range(args.repeat):
        states.append(_fresh_state())
        c = _cpu()
        sw_runs.append(_run(shipwheel_cmd, states[-1])[0])
        sw_cpu.append(_cpu() - c)
        c = _cpu()
        base_runs.append(baseline(files, jobs))
        base_cpu.append(_cpu() - c)
    sw, base = statistics.median(sw_runs), statistics.median(base_runs)
    # Again in the last run's state folder: every file's result is recorded there (what publish reuses).
    again = [_run(shipwheel_cmd, states[-1])[0] for _ in range(2)]
    proc = subprocess.run(shipwheel_cmd, capture_output=True, text=True, check=False, env=_fresh_state())
    report = json.loads(proc.stdout)
    print(f"shipwheel verify: {sw:.2f} s (runs {', '.join(f'{r:.2f}' for r in sw_runs)}, each with an empty state "
          f"folder); exit {proc.returncode}, {report['errors']} errors, {report['warnings']} warnings")  # fmt: skip
    print(f"shipwheel verify again, results recorded: {', '.join(f'{r:.2f}' for r in again)} s")
    for state in states:
        shutil.rmtree(state["XDG_STATE_HOME"], ignore_errors=True)

    print(
        f"baseline (decompress + sha256 every member, {jobs} processes): {base:.2f} s (runs {', '.join(f'{r:.2f}' for r in base_runs)})"
    )

    derived = {f["filename"]: f["derived_platform"] for f in report["files"]}
    disagree: dict[str, tuple[str | None, str]] = {}

    def peers() -> float:
        t_twine, _ = _run([_bin("twine"), "check", *map(str, files)])
        t_cwc, _ = _run([_bin("check-wheel-contents"), *map(str, wheels)])
        t_aw = 0.0
        for w in linux:
            seconds, _, out = _run_output([_bin("auditwheel"), "show", str(w)])
            t_aw += seconds
            m = _SHOW.search(" ".join(out.split()))
            theirs = m[1] if m else "(no tag)"
            if derived.get(w.name) != theirs:
                disagree[w.name] = (derived.get(w.name), theirs)
        print(
            f"  twine check {t_twine:.2f} s, check-wheel-contents {t_cwc:.2f} s, auditwheel show x{len(linux)} {t_aw:.2f} s"
        )
        return t_twine + t_cwc + t_aw

    peer, peer_runs = _median(peers, args.peer_repeat)
    print(f"peers one after another: {peer:.2f} s")
    print(
        f"manylinux/musllinux tag: shipwheel and auditwheel show agree on {len(linux) - len(disagree)} of "
        f"{len(linux)} Linux wheels"
        + "".join(f"\n  {n}: shipwheel {a}, auditwheel {b}" for n, (a, b) in disagree.items())
    )
    print(
        f"ratio peers / shipwheel: {peer / sw:.1f}x (target >= 7x); best runs: {min(peer_runs) / min(sw_runs):.1f}x"
    )
    print(
        f"ratio shipwheel / baseline: {sw / base:.2f} (target <= 1.5); best runs: {min(sw_runs) / min(base_runs):.2f}"
    )
    print(
        f"CPU seconds: shipwheel {statistics.median(sw_cpu):.2f}, baseline {statistics.median(base_cpu):.2f} "
        f"(ratio {statistics.median(sw_cpu) / statistics.median(base_cpu):.2f})"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "project": args.project,
                    "version": args.version,
                    "files": len(files),
                    "bytes": size,
                    "cores": jobs,
                    "machine": platform.machine(),
                    "shipwheel_runs": sw_runs,
                    "baseline_runs": base_runs,
                    "shipwheel_cpu": sw_cpu,
                    "baseline_cpu": base_cpu,
                    "peer_runs": peer_runs,
                    "peers_over_shipwheel": peer / sw,
                    "shipwheel_over_baseline": sw / base,
                    "tag_disagreements": disagree,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
