"""Benchmark: the whole release of ``examples/kahan`` to a fresh pypiserver, shipwheel against the same steps by hand.

shipwheel: ``shipwheel release 1.0.1 --select ... -r URL`` (preflight with an isolated sdist build, version commit,
tag, parallel build with cached uv environments, verify, publish, announcement file, bump). By hand, the usual
tools one after another: the version edited and committed, ``git tag -a``, the native library built once,
``python -m build --sdist``, then for each interpreter in turn ``python -m build --wheel`` and ``auditwheel
repair``, ``twine check``, ``twine upload`` (wheels, then the sdist), the next version committed. Both leave the
example's own tests out (``SHIPWHEEL_TEST_COMMAND=""``) and build the same identifiers, every CPython 3.x found
here, manylinux_x86_64. Each run gets a fresh repository, a fresh pypiserver and empty build caches; the tools'
venvs are made once, untimed. Then ``release`` again on the finished release and ``--dry-run`` are timed.

    python benchmarks/bench_release.py [--rounds 1]

Prints the times and the ratio; the figures go into benchmarks/RESULTS.md by hand, with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from fixtures.index_servers import start_pypiserver  # noqa: E402
from fixtures.processes import stop_process  # noqa: E402
from fixtures.release_repo import git, make_kahan_repo  # noqa: E402
from shipwheel.interpreters import discover  # noqa: E402

WORK = HERE / ".work" / "release"


def interpreters() -> dict[tuple[int, int], Path]:
    """One CPython per minor version from 3.10 on (the example's requires-python), as shipwheel finds them."""
    found: dict[tuple[int, int], Path] = {}
    for i in discover():  # the first of each minor, as shipwheel's own matching takes it
        if not i.free_threaded and i.version[:2] >= (3, 10):
            found.setdefault(i.version[:2], i.path)
    if not found:
        raise SystemExit("no CPython >= 3.10 found")
    return dict(sorted(found.items()))


def tools_venv(python: Path, where: Path) -> Path:
    """A venv with pypa/build for the interpreter's wheel (made once, not timed); auditwheel and twine run from
    this benchmark's own environment, once for all, as a release script does."""
    if not (where / "bin" / "python").exists():
        subprocess.run([str(python), "-m", "venv", str(where)], check=True)
        subprocess.run(
            [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "build"],
            check=True,
        )
    return where / "bin" / "python"


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, check=False, capture_output=True, text=True)
    if proc.returncode != 0:  # a failed step says why, instead of a bare CalledProcessError
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )


def _set_version(repo: Path, old: str, new: str) -> None:
    for rel in ("pyproject.toml", "src/kahan/__init__.py"):
        path = repo / rel
        path.write_text(
            re.sub(rf'(version\w*\s*=\s*")({re.escape(old)})"', rf'\g<1>{new}"', path.read_text())
        )


def by_hand(repo: Path, pythons: dict[tuple[int, int], Path], url: str, user: str, password: str) -> float:
    env = {**os.environ, "PIP_CACHE_DIR": str(WORK / "pip-cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # pip's download cache is kept across rounds, as uv's is for shipwheel: neither side downloads twice.
    prefix = repo.parent / "prefix"
    # The same flags as shipwheel's build: the interpreter's own CFLAGS (-O3 -DNDEBUG), and libc recorded as a
    # dependency (Debian's GCC links --as-needed, and auditwheel refuses an extension without libc.so.6:
    # "couldn't detect libc"; shipwheel.builder appends the same argument to LDFLAGS).
    env.update(
        CPATH=str(prefix / "include"),
        LIBRARY_PATH=str(prefix / "lib"),
        LD_LIBRARY_PATH=str(prefix / "lib"),
        LDFLAGS="-Wl,--push-state,--no-as-needed,-lc,--pop-state",
    )
    env.pop("CFLAGS", None)
    tools = {v: tools_venv(p, WORK / f"tools-{v[0]}{v[1]}") for v, p in pythons.items()}
    main_tool = Path(sys.executable)
    start = time.perf_counter()
    _set_version(repo, "1.0.0", "1.0.1")
    git(repo, "commit", "-qam", "REL: Release 1.0.1")
    git(repo, "tag", "-a", "-m", "kahan 1.0.1", "v1.0.1")
    _run(["make", "-C", "native", "install", f"PREFIX={prefix}"], repo, env)
    dist = repo.parent / "dist"
    _run([str(main_tool), "-m", "build", "--sdist", "--outdir", str(dist), str(repo)], repo, env)
    wheelhouse = repo.parent / "wheelhouse"
    for v, tool in tools.items():
        raw = repo.parent / f"raw-{v[0]}{v[1]}"
        _run([str(tool), "-m", "build", "--wheel", "--outdir", str(raw), str(repo)], repo, env)
        wheel = str(next(raw.glob("*.whl")))
        _run(
            [str(main_tool), "-m", "auditwheel", "repair", "--plat", "auto", "-w", str(wheelhouse), wheel],
            repo,
            env,
        )
    files = sorted(wheelhouse.glob("*.whl")) + sorted(dist.glob("*.tar.gz"))
    _run([str(main_tool), "-m", "twine", "check", *map(str, files)], repo, env)
    upload = [str(main_tool), "-m", "twine", "upload", "--repository-url", url, "-u", user, "-p", password]
    _run([*upload, *map(str, files[:-1])], repo, env)
    _run([*upload, str(files[-1])], repo, env)
    _set_version(repo, "1.0.1", "1.0.2.dev0")
    git(repo, "commit", "-qam", "MAINT: Prepare for 1.0.2.dev0 development")
    return time.perf_counter() - start


def with_shipwheel(repo: Path, select: str, url: str, env: dict[str, str]) -> tuple[float, float, float]:
    cmd = [sys.executable, "-m", "shipwheel", "release", "1.0.1", "--select", select, "-r", url]
    start = time.perf_counter()
    _run(cmd, repo, env)
    first = time.perf_counter() - start
    start = time.perf_counter()
    _run(cmd, repo, env)
    again = time.perf_counter() - start
    start = time.perf_counter()
    _run([*cmd, "--dry-run"], repo, env)
    dry = time.perf_counter() - start
    return first, again, dry


def main() -> None:
    # Both ways run many short Python processes: let them keep their bytecode, as on a developer's machine.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    pythons = interpreters()
    for v, p in pythons.items():
        tools_venv(p, WORK / f"tools-{v[0]}{v[1]}")
    select = " ".join(f"cp{a}{b}-manylinux_x86_64" for a, b in pythons)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"identifiers: {select}")
    for rnd in range(args.rounds):
        results = {}
        for tool in ("by-hand", "shipwheel"):
            root = WORK / tool
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            repo = make_kahan_repo(root / "kahan")
            server = start_pypiserver(root / "index", server="gunicorn")
            try:
                if tool == "by-hand":
                    results[tool] = (by_hand(repo, pythons, server.upload_url, server.user, server.password),)
                else:
                    env = {
                        **os.environ, "SHIPWHEEL_USERNAME": server.user, "SHIPWHEEL_PASSWORD": server.password,
                        "SHIPWHEEL_TEST_COMMAND": "", "SHIPWHEEL_CACHE_DIR": str(root / "cache"),
                    }  # fmt: skip
                    results[tool] = with_shipwheel(repo, select, server.upload_url, env)
                listed = sorted(p.name for p in (root / "index" / "packages").iterdir())
                assert len(listed) == len(pythons) + 1, listed
            finally:
                stop_process(server.proc)
        hand, (sw, again, dry) = results["by-hand"][0], results["shipwheel"]
        print(f"round {rnd + 1}: {len(pythons)} wheels and the sdist on the index, each way")
        print(f"  by hand {hand:7.1f} s   shipwheel release {sw:7.1f} s   ratio {hand / sw:5.2f}x")
        print(f"  shipwheel release again (all done) {again:5.2f} s   --dry-run {dry:5.2f} s")


if __name__ == "__main__":
    main()
