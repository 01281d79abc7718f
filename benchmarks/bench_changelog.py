"""Benchmark: ``shipwheel changelog`` on a generated 40,000-commit history, against the raw git commands it needs.

The history (``_git_history.generate``: merges, squash merges, homu merges, co-authors, 3,000 authors, a
``.mailmap``) is built once with ``git fast-import`` and cached in ``benchmarks/.cache/``. For each range the
benchmark records the git commands shipwheel runs, then times:

* ``raw git``: those same commands (same formats, same mailmap configuration), run one after the other by
  themselves, output captured through a pipe as shipwheel does;
* ``shipwheel (library)``: ``make_changelog`` + ``render`` in this process;
* ``shipwheel (CLI)``: ``python -m shipwheel changelog A..B > /dev/null``, interpreter start included, and the
  start alone (``python -m shipwheel --version``);
* ``numpy's git part``: the git commands of NumPy's ``tools/changelog.py`` (two ``git shortlog``, two ``git log
  --oneline``); the script then needs one GitHub API call per pull request, which cannot run offline.

Each figure is the best (and the median) of ``--repeat`` interleaved rounds. Usage: ``python benchmarks/bench_changelog.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _git_history import generate

import shipwheel._git
from shipwheel.notes import make_changelog, render

CACHE = Path(__file__).resolve().parent / ".cache"
PR_URL = "https://github.com/example/project/pull/{number}"


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def record_git_commands(repo: Path, revision_range: str) -> list[list[str]]:
    """The argv of every git process one ``make_changelog`` runs (``subprocess.run`` goes through ``Popen``)."""
    seen: list[list[str]] = []
    module = shipwheel._git.subprocess
    original_popen = module.Popen

    def spy_popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        seen.append(list(args))
        return original_popen(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    module.Popen = spy_popen  # type: ignore[assignment, misc]
    try:
        make_changelog(repo, revision_range, pr_url=PR_URL)
    finally:
        module.Popen = original_popen  # type: ignore[misc]
    return seen


def run_all(commands: list[list[str]]) -> None:
    for argv in commands:
        subprocess.run(argv, capture_output=True, check=True)


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return f"{os.cpu_count()} cores, {model}, {mem:.1f} GiB, {git}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--commits", type=int, default=40_000)
    args = parser.parse_args()

    repo = CACHE / f"changelog-{args.commits}.git"
    done = repo / "shipwheel-generated"
    if not done.exists():
        if repo.exists():
            subprocess.run(["rm", "-rf", str(repo)], check=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate(repo, commits=args.commits)
        done.write_text("ok\n")
        print(f"generated {repo} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    tags = subprocess.run(
        ["git", "-C", str(repo), "tag", "--sort=creatordate"], capture_output=True, text=True, check=True
    ).stdout.split()
    total = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"machine: {machine()}")
    print(f"history: {total} commits, tags {tags[0]}..{tags[-1]}; best of {args.repeat}")
    ranges = [f"{tags[-2]}..{tags[-1]}", f"{tags[0]}..{tags[-1]}"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    startup = best(
        lambda: subprocess.run(
            [sys.executable, "-m", "shipwheel", "--version"], capture_output=True, check=True, env=env
        ),
        args.repeat,
    )
    print(f"CLI start alone (python -m shipwheel --version): {startup:.3f} s")
    header = f"{'range':<14} {'commits':>7} {'PRs':>6} {'people':>6} {'raw git':>8} {'library':>8} {'ratio':>6} {'CLI':>7} {'ratio':>6} {'numpy git':>9}"
    print(header)
    for revision_range in ranges:
        count = subprocess.run(
            ["git", "-C", str(repo), "rev-list", "--count", revision_range],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commands = record_git_commands(repo, revision_range)
        log = make_changelog(repo, revision_range, pr_url=PR_URL)
        start_rev = revision_range.split("..")[0]
        grp = ["--group=author", "--group=trailer:co-authored-by"]
        numpy_cmds = [
            ["git", "-C", str(repo), "shortlog", "-s", *grp, revision_range],
            ["git", "-C", str(repo), "shortlog", "-s", *grp, start_rev],
            ["git", "-C", str(repo), "log", "--oneline", "--merges", revision_range],
            ["git", "-C", str(repo), "log", "--oneline", "--no-merges", "--first-parent", revision_range],
        ]
        cli_argv = [sys.executable, "-m", "shipwheel", "changelog", revision_range, "--repo", str(repo)]
        cli_argv += ["--pr-url", PR_URL]
        contenders: dict[str, Callable[[], object]] = {
            "raw": lambda c=commands: run_all(c),  # type: ignore[misc]
            "lib": lambda r=revision_range: render(make_changelog(repo, r, pr_url=PR_URL)),  # type: ignore[misc]
            "cli": lambda a=cli_argv: subprocess.run(  # type: ignore[misc]
                a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env
            ),
            "numpy": lambda c=numpy_cmds: run_all(c),  # type: ignore[misc]
        }
        # Interleaved rounds: a load swing of the shared machine hits every contender, not one block of runs.
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for _ in range(args.repeat):
            for key, fn in contenders.items():
                times[key].append(best(fn, 1))
        raw, lib, cli, numpy_git = (min(times[k]) for k in ("raw", "lib", "cli", "numpy"))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"{revision_range:<14} {count:>7} {len(log.pull_requests):>6} {len(log.contributors):>6} "
            f"{raw:>7.3f}s {lib:>7.3f}s {lib / raw:>5.2f}x {cli:>6.3f}s {cli / raw:>5.2f}x {numpy_git:>8.3f}s"
        )
        print(
            f"  medians: raw git {med['raw']:.3f}s, library {med['lib']:.3f}s ({med['lib'] / med['raw']:.2f}x), "
            f"CLI {med['cli']:.3f}s ({med['cli'] / med['raw']:.2f}x), numpy git {med['numpy']:.3f}s"
        )
        names = [
            next(a for a in c if a in {"rev-parse", "log", "cat-file", "check-mailmap"}) for c in commands
        ]
        print(f"  git processes per run: {len(commands)} ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
