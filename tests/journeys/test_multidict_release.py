"""Journey: aio-libs/multidict 6.7.1 released again by ``shipwheel release``, compared with the maintainers' own
release commit, then killed with SIGKILL at random moments and run again until it finishes.

The release starts from the commit before the maintainers' "Release 6.7.1" commit, with nothing of shipwheel's
configuration added: the steps, the changelog (towncrier.toml), the version file and the build come from the
project's own files and shipwheel's defaults; the command line has ``-r`` and ``--select`` only, the credentials
and the staging folder come from ``SHIPWHEEL_*`` variables. The index is a pypiserver holding the real 6.7.0
files. ``SHIPWHEEL_JOURNEY_SEED`` replays the kill moments of a failed run (each failure message names its seed).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.journeys import (
    Index,
    KillPoint,
    Kills,
    Seen,
    assert_index_holds_release_once,
    listed,
    look,
    note_kill,
    preloaded_index,
    release_env,
    release_files,
    run_until_killed,
    running,
    wheels_out,
    widen_the_lock_window,
)
from fixtures.journeys_multidict import (
    NEWS,
    PARENT,
    RELEASE,
    REPOSITORY,
    VERSION,
    VERSION_FILE,
    changelog_with_date_of,
    clone_before_release,
    fragments,
    previous_release,
    release,
    release_argv,
    tree_differences,
)
from fixtures.mirrors import mirror_of
from fixtures.release_repo import git

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = int(os.environ.get("SHIPWHEEL_JOURNEY_SEED", "20260125"))
TAG = f"v{VERSION}"
SDIST = f"multidict-{VERSION}.tar.gz"
#: Seconds each upload of a killed release spends between the proxy and the index: a kill during publish lands
#: while a file is on its way (the index may store it after the client died).
UPLOAD_DELAY = 0.3


@pytest.fixture(autouse=True)
def _mirror() -> None:
    mirror_of(REPOSITORY, RELEASE)  # skips without the mirror


@contextlib.contextmanager
def _index(root: Path, *, delay: float = 0.0) -> Iterator[Index]:
    with preloaded_index(root, "multidict", previous_release(), delay=delay) as found:
        yield found


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    """The index of one release, 6.7.0 on it."""
    with _index(tmp_path / "pypiserver") as found:
        yield found


@pytest.fixture
def slow_index(tmp_path: Path) -> Iterator[Index]:
    """The same, with uploads that take ``UPLOAD_DELAY`` each between the proxy reading the body and the index
    storing it: a kill during publish lands while a file is on its way."""
    with _index(tmp_path / "pypiserver", delay=UPLOAD_DELAY) as found:
        yield found


# --- what must hold after every finished release ------------------------------------------------------------------


def _listed(index: Index) -> list[str]:
    return listed(index.server, "multidict")


def _release_files(repo: Path) -> dict[str, str]:
    return release_files(repo / "wheelhouse", f"multidict-{VERSION}")


def _subjects(repo: Path) -> list[str]:
    return git(repo, "log", "--format=%s", f"{PARENT}..HEAD").splitlines()


def assert_released_whole(repo: Path, index: Index, staging: Path, why: str) -> None:
    """The invariants of a finished release: git, the tree against the maintainers' commit, the wheelhouse,
    the staging folder and the index."""
    # git: one annotated tag, on the one release commit; the notes commit before it, the bump after it
    assert git(repo, "tag", "-l", "v6.7.1*").split() == [TAG], why
    assert git(repo, "cat-file", "-t", TAG).strip() == "tag", why
    subjects = _subjects(repo)
    assert subjects.count(f"REL: Release {VERSION}") == 1, (why, subjects)
    assert subjects == [
        "MAINT: Prepare for 6.7.2.dev0 development",
        f"REL: Release {VERSION}",
        f"DOC: Release notes for {VERSION}",
    ], (why, subjects)
    tagged = git(repo, "rev-list", "-n1", TAG).strip()
    assert git(repo, "log", "-1", "--format=%s", tagged).strip() == f"REL: Release {VERSION}", why
    assert tree_differences(repo, TAG) == [], why
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == "", why
    # the wheelhouse: the selected wheels and the sdist, nothing else of 6.7.1
    built = _release_files(repo)
    assert sorted(built) == [
        "multidict-6.7.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "multidict-6.7.1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        SDIST,
    ], (why, built)
    assert_index_holds_release_once(index, "multidict", f"multidict-{VERSION}", built, staging, why)


def assert_rerun_changes_nothing(repo: Path, index: Index, env: dict[str, str], why: str) -> None:
    head, names = git(repo, "rev-parse", "HEAD"), sorted(_listed(index))
    built = _release_files(repo)
    again = release(repo, index.url, env, "--json")
    assert again.returncode == 0, (why, again.stdout[-3000:], again.stderr[-3000:])
    ran = [s["step"] for s in json.loads(again.stdout)["steps"] if s["outcome"] == "ran"]
    assert ran == [], (why, "a finished release ran steps again", ran)
    assert git(repo, "rev-parse", "HEAD") == head, why
    assert sorted(_listed(index)) == names, why
    assert _release_files(repo) == built, why


# --- the release, once ----------------------------------------------------------------------------------------


def test_multidict_release_from_its_own_files_matches_the_maintainers_commit(
    tmp_path: Path, index: Index
) -> None:
    repo = clone_before_release(tmp_path / "multidict")
    staging = tmp_path / "staging"
    env = release_env(index.server, staging)

    done = release(repo, index.url, env)

    assert done.returncode == 0, (
        f"{' '.join(release_argv(index.url))} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    assert_released_whole(repo, index, staging, "one uninterrupted release")
    # the section, byte for byte but its date; the rest of the history untouched; the fragment gone; the version
    produced = git(repo, "show", f"{TAG}:{NEWS}")
    theirs = git(repo, "show", f"{RELEASE}:{NEWS}")
    assert changelog_with_date_of(produced, theirs) == theirs
    assert fragments(repo, PARENT) - fragments(repo, TAG) == {"CHANGES/1284.bugfix.rst"}
    assert '__version__ = "6.7.1"\n' in git(repo, "show", f"{TAG}:{VERSION_FILE}")
    assert_rerun_changes_nothing(repo, index, env, "the re-run of a finished release")


def test_the_comparisons_say_same_for_the_maintainers_own_steps(tmp_path: Path) -> None:
    """The oracle checked: towncrier build, the version edit and an annotated tag, as the maintainers did, are
    'the same' for every comparison the journey makes, and the starting point is not."""
    repo = clone_before_release(tmp_path / "multidict")
    assert tree_differences(repo, "HEAD") != []  # the comparisons can fail
    towncrier = subprocess.run(
        [str(Path(sys.executable).with_name("towncrier")), "build", "--yes", "--version", VERSION],
        cwd=repo, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert towncrier.returncode == 0, towncrier.stdout + towncrier.stderr
    init = repo / VERSION_FILE
    init.write_text(init.read_text().replace('__version__ = "6.7.1.dev0"', f'__version__ = "{VERSION}"'))
    git(repo, "commit", "-qam", f"Release {VERSION}")
    git(repo, "tag", "-a", TAG, "-m", f"multidict {VERSION}")

    assert tree_differences(repo, TAG) == []
    assert fragments(repo, PARENT) - fragments(repo, TAG) == {"CHANGES/1284.bugfix.rst"}


# --- kill -9 at random moments ------------------------------------------------------------------------------


def _written(step: str, version: str) -> Callable[[Seen], bool]:
    """``step`` is running and has written ``version`` into the work tree: its commit comes next."""
    return lambda seen: seen.steps.get(step) == "running" and f'"{version}"' in seen.version


#: Three chains of kills, each a release from the parent to its end: every kill point fires once, then the same
#: command runs again (and is killed at the next point). Points are read from the record (the step running) and
#: from the files (the wheelhouse, the staging folder, what the index stored), each with a random delay.
CHAINS: dict[str, list[KillPoint]] = {
    "early": [
        KillPoint("notes committing", "git", running("notes")),
        KillPoint("build started", "build", running("build"), (0.0, 1.5)),
        KillPoint("build: first wheel out", "build", wheels_out(1), (0.0, 0.3)),
        KillPoint("verify running", "verify", running("verify"), (0.0, 0.2)),
        KillPoint("stage running", "stage", running("stage"), arm=lambda s: s.steps.get("verify") == "done"),
        KillPoint("publish: one file stored", "publish", lambda s: s.stored >= 1, (0.0, 0.2)),
        KillPoint("bump: version written, commit next", "git", _written("bump", "6.7.2.dev0")),
    ],
    "late": [
        KillPoint("version: written, commit next", "git", _written("version", VERSION)),
        KillPoint("tag running", "git", running("tag")),
        KillPoint("build half-way", "build", running("build"), (2.0, 6.0)),
        KillPoint("verify started", "verify", running("verify")),
        KillPoint(
            "stage: one file staged",
            "stage",
            lambda s: s.steps.get("stage") == "running" and len(s.staged) >= 1,
            arm=lambda s: s.steps.get("verify") == "done",
        ),
        KillPoint("publish started", "publish", running("publish"), (0.0, 0.3)),
        KillPoint("publish: wheels stored, sdist next", "publish", lambda s: s.stored >= 2, (0.0, 0.1)),
        KillPoint("announce running", "git", running("announce")),
        # kill -9 of the whole group takes git with it mid-commit: git's own lock stays behind
        KillPoint(
            "bump: git holding the index lock",
            "git",
            lambda s: s.steps.get("bump") == "running" and s.index_locked,
        ),
    ],
    "anywhere": [
        KillPoint("during version", "git", running("version"), (0.0, 0.05)),
        KillPoint("during the build", "build", running("build"), (0.0, 10.0)),
        KillPoint("during verify", "verify", running("verify"), (0.0, 0.5)),
        KillPoint("during stage", "stage", running("stage"), (0.0, 0.1)),
        KillPoint("during publish", "publish", running("publish"), (0.0, 3 * UPLOAD_DELAY)),
    ],
}


def _look(repo: Path, staging: Path, index: Index) -> Seen:
    return look(repo, VERSION, staging, index.proxy, "multidict-", VERSION_FILE, "__version__")


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_multidict_release_killed_at_random_moments_ends_whole(
    chain: str, tmp_path: Path, slow_index: Index
) -> None:
    index = slow_index
    seed = SEED + sorted(CHAINS).index(chain)
    rng = random.Random(seed)
    repo = clone_before_release(tmp_path / "multidict")
    if any(p.name.endswith("index lock") for p in CHAINS[chain]):
        widen_the_lock_window(repo)
    staging = tmp_path / "staging"
    env = release_env(index.server, staging)
    log = repo.parent / "release.log"
    kills = Kills()

    for point in CHAINS[chain]:
        proc = run_until_killed(
            point, release_argv(index.url), repo, env, lambda: _look(repo, staging, index), rng
        )
        why = f"chain {chain}, seed {seed} (SHIPWHEEL_JOURNEY_SEED={SEED}), at {point.name!r}"
        if proc.returncode == -signal.SIGKILL:
            note_kill(kills, point, _look(repo, staging, index), strict=chain != "anywhere")
            continue
        tail = log.read_text(errors="replace")[-4000:]
        assert proc.returncode == 0, f"{why}: the release exited {proc.returncode} instead:\n{tail}"
        kills.missed.append(point.name)  # it finished before the moment came: the rest cannot fire either
        break

    done = release(repo, index.url, env)
    why = f"chain {chain}, seed {seed}, after kills {kills.fired}"
    assert done.returncode == 0, (
        f"{why}: the last run exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    )
    assert_released_whole(repo, index, staging, why)
    assert_rerun_changes_nothing(repo, index, env, why)
    # every point fired: a chain whose moments never came tested nothing
    assert kills.missed == [], (why, "kill points that never came", kills.missed)
    # and the kills landed where the chain meant them: in the step each point watches (the wide random delays
    # of "anywhere" may carry a kill into a later step, which is fine, but the four steps must each be hit)
    assert kills.misplaced == [], (why, "kills that landed outside the step they watch", kills.misplaced)
