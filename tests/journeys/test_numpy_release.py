"""Journey: NumPy 2.2.5 (meson-python, a vendored meson in a submodule, towncrier with ``single_file = false``)
released again by ``shipwheel release 2.2.5 -r URL --select cp312-manylinux_x86_64`` from the commit before the
maintainers' release commit, compared with that commit, then killed with SIGKILL at random moments and run again.

What "the same as the maintainers" can mean for NumPy (see :mod:`fixtures.journeys_numpy`): on a maintenance
branch the release commit changes no version and removes no fragment; towncrier's output is a git-ignored scratch
file the maintainers merge into ``X.Y.Z-notes.rst`` by hand. So the journey checks

* the version file and the fragments at the tag are the maintainers' (both unchanged from the parent);
* towncrier's section: the ignored ``notes-towncrier.rst`` holds byte for byte what ``towncrier build --yes
  --version 2.2.5`` writes there (NumPy's template, no fragment: "(no release note snippets found)");
* NumPy's changelog format: ``shipwheel changelog`` (the library's ``make_changelog``) of ``v2.2.4..`` the parent
  is the maintainers' ``doc/changelog/2.2.5-changelog.rst`` but for the one line they edited by hand;
* every other file is the maintainers', except :data:`DIFFERENCES` (each with why).

The build uses NumPy's own ``[tool.cibuildwheel]`` with three environment variables (``BUILD_ENV``, each
explained there). The release and the kill chain rebuild NumPy (minutes to an hour on two shared cores): they run
with ``SHIPWHEEL_LONG_TESTS=1``; the comparisons' self-check and the changelog are cheap and always run.
``SHIPWHEEL_JOURNEY_SEED`` replays the kill moments of a failed run.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import journeys_numpy as numpy
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
    release,
    release_argv,
    release_env,
    release_files,
    run_until_killed,
    running,
    wheels_out,
    widen_the_lock_window,
)
from fixtures.mirrors import mirror_of
from fixtures.release_repo import git
from shipwheel.notes import make_changelog, render

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LONG = pytest.mark.skipif(
    os.environ.get("SHIPWHEEL_LONG_TESTS") != "1",
    reason="NumPy from source takes 20-60 minutes on two shared cores: set SHIPWHEEL_LONG_TESTS=1 to run it",
)
SEED = int(os.environ.get("SHIPWHEEL_JOURNEY_SEED", "20261207"))
VERSION = numpy.VERSION
TAG = f"v{VERSION}"
PREFIX = f"numpy-{VERSION}"
SDIST = f"{PREFIX}.tar.gz"
#: The wheel's name up to its platform tag: built natively (no container), auditwheel tags it with what the
#: machine's glibc and libstdc++ give NumPy's code (manylinux_2_35 on Debian 12), not the manylinux2014 of
#: NumPy's own wheels, which cibuildwheel builds in the manylinux2014 image ([tool.cibuildwheel.linux]).
WHEEL = re.compile(rf"{re.escape(PREFIX)}-cp312-cp312-manylinux_2_\d+_x86_64\.whl")
UPLOAD_DELAY = 0.5

#: What towncrier build --yes --version 2.2.5 writes into the ignored notes-towncrier.rst at the parent (NumPy's
#: template with no fragment); checked against towncrier itself by the self-check below.
TOWNCRIER_SECTION = "(no release note snippets found)\n"

#: The files of the maintainers' release commit a release by shipwheel does not write, and why.
DIFFERENCES = {
    numpy.CHANGELOG: "made by tools/changelog.py from GitHub; shipwheel's `changelog` command makes the same "
    "(test_numpy_changelog_is_the_maintainers_but_their_hand_edit), the release does not commit it",
    numpy.NOTES: "the maintainers' prose plus the changelog pasted in by hand (NumPy's release walkthrough); "
    "towncrier's part of it, the ignored notes-towncrier.rst, is compared byte for byte instead",
    ".mailmap": "a line for a new contributor, added by hand while reading the changelog",
}


@pytest.fixture(autouse=True)
def _mirror() -> None:
    mirror_of(numpy.REPOSITORY, numpy.RELEASE)  # skips without the mirror


def _towncrier(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("towncrier")), "build", "--yes", "--version", VERSION],
        cwd=repo, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


# --- cheap: the comparisons checked, and NumPy's changelog ---------------------------------------------------------


def test_the_comparisons_say_same_for_the_maintainers_own_steps(tmp_path: Path) -> None:
    """The maintainers' steps (towncrier build, their hand-made files, an annotated tag) are 'the same' for every
    comparison; the parent is not; and shipwheel leaves exactly :data:`DIFFERENCES` unwritten."""
    repo = numpy.clone_before_release(tmp_path / "numpy")
    assert numpy.tree_differences(repo, "HEAD", allowed={}) != []  # the comparisons can fail
    assert numpy.tree_differences(repo, "HEAD", allowed=DIFFERENCES) == []  # the parent differs in those only
    assert sorted(git(repo, "diff", "--name-only", numpy.PARENT, numpy.RELEASE).split()) == sorted(
        DIFFERENCES
    )
    assert numpy.fragments(repo, "HEAD") == set() == numpy.fragments(repo, numpy.RELEASE)
    assert numpy.version_of(repo, "HEAD") == VERSION  # set when 2.2.x was prepared for further development

    made = _towncrier(repo)
    assert made.returncode == 0, made.stdout + made.stderr
    git(repo, "checkout", numpy.RELEASE, "--", *DIFFERENCES)
    git(repo, "commit", "-qm", f"REL: Prepare for the NumPy {VERSION} release")
    git(repo, "tag", "-a", TAG, "-m", f"NumPy {VERSION} release")

    assert numpy.tree_differences(repo, TAG, allowed={}) == []
    assert (repo / numpy.TOWNCRIER_FILE).read_text() == TOWNCRIER_SECTION
    assert git(repo, "ls-files", "--", numpy.TOWNCRIER_FILE) == ""  # towncrier's git add failed: ignored


def test_numpy_changelog_is_the_maintainers_but_their_hand_edit() -> None:
    """``shipwheel changelog v2.2.4..PARENT`` (the maintainers' .mailmap of the release commit) against
    doc/changelog/2.2.5-changelog.rst: the pull requests byte for byte; the contributors too, but for the line the
    maintainers placed by hand (out of order, a trailing blank) when they mapped the new contributor."""
    mirror = mirror_of(numpy.REPOSITORY, numpy.RELEASE)
    log = make_changelog(
        mirror,
        f"v{numpy.PREVIOUS}..{numpy.PARENT}",
        mailmap_from=numpy.RELEASE,
        pr_url="https://github.com/numpy/numpy/pull/{number}",
        bots=("Homu", "dependabot-preview"),
        detect_bots=False,
    )
    ours = render(log)
    theirs = git(mirror, "show", f"{numpy.RELEASE}:{numpy.CHANGELOG}")
    hand = "* Baskar Gopinath + \n"
    assert hand in theirs
    by_hand = theirs.replace(hand, "").replace(
        "* Charles Harris\n", "* Baskar Gopinath +\n* Charles Harris\n"
    )
    assert ours == by_hand


# --- the release (long) -----------------------------------------------------------------------------------------


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    """A pypiserver with the real 2.2.4 files, uploads delayed so a kill during publish lands mid-upload."""
    with preloaded_index(
        tmp_path / "pypiserver", "numpy", numpy.previous_release(), delay=UPLOAD_DELAY
    ) as found:
        yield found


def _argv(index: Index, *extra: str) -> list[str]:
    return release_argv(VERSION, index.url, numpy.SELECT, *extra)


def _env(index: Index, staging: Path) -> dict[str, str]:
    return release_env(index.server, staging, **numpy.BUILD_ENV)


def assert_released_whole(repo: Path, index: Index, staging: Path, why: str) -> None:
    """One annotated tag on the commit that holds 2.2.5 (the parent: nothing tracked changes), the tree the
    maintainers' but :data:`DIFFERENCES`, towncrier's section written, the files on the index once each."""
    assert git(repo, "tag", "-l", "v2.2.5*").split() == [TAG], why
    assert git(repo, "cat-file", "-t", TAG).strip() == "tag", why
    tagged = git(repo, "rev-list", "-n1", TAG).strip()
    assert tagged == numpy.PARENT, (why, "a release commit with nothing in it", tagged)
    assert numpy.version_of(repo, TAG) == VERSION, why
    assert numpy.tree_differences(repo, TAG, allowed=DIFFERENCES) == [], why
    assert (repo / numpy.TOWNCRIER_FILE).read_text() == TOWNCRIER_SECTION, why
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == "", why
    built = release_files(repo / "wheelhouse", PREFIX)
    wheels = [n for n in built if n.endswith(".whl")]
    assert len(built) == 2 and SDIST in built and len(wheels) == 1 and WHEEL.fullmatch(wheels[0]), (
        why,
        built,
    )
    assert_index_holds_release_once(index, "numpy", PREFIX, built, staging, why)


def assert_rerun_changes_nothing(repo: Path, index: Index, env: dict[str, str], why: str) -> None:
    head, names = git(repo, "rev-parse", "HEAD"), sorted(listed(index.server, "numpy"))
    built = release_files(repo / "wheelhouse", PREFIX)
    again = release(repo, _argv(index, "--json"), env)
    assert again.returncode == 0, (why, again.stdout[-3000:], again.stderr[-3000:])
    ran = [s["step"] for s in json.loads(again.stdout)["steps"] if s["outcome"] == "ran"]
    assert ran == [], (why, "a finished release ran steps again", ran)
    assert git(repo, "rev-parse", "HEAD") == head, why
    assert sorted(listed(index.server, "numpy")) == names, why
    assert release_files(repo / "wheelhouse", PREFIX) == built, why


@LONG
@pytest.mark.timeout(2 * 3600)
def test_numpy_release_from_its_own_files_matches_the_maintainers_commit(
    tmp_path: Path, index: Index
) -> None:
    repo = numpy.clone_before_release(tmp_path / "numpy")
    staging = tmp_path / "staging"
    env = _env(index, staging)

    done = release(repo, _argv(index), env, timeout=7200)

    assert done.returncode == 0, (
        f"{' '.join(_argv(index))} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    assert_released_whole(repo, index, staging, "one uninterrupted release")
    assert_rerun_changes_nothing(repo, index, env, "the re-run of a finished release")


# --- kill -9 at random moments (long) -----------------------------------------------------------------------------


def _sdist_out(seen: Seen) -> bool:
    return seen.steps.get("build") == "running" and any(f.endswith(".tar.gz") for f in seen.wheelhouse)


def _compiled(repo: Path, steps: int) -> Callable[[Seen], bool]:
    """The build is running and ninja has started ``steps`` of the wheel's compile steps (its ``[N/516]`` lines in
    the identifier's log): a moment in the compile itself, however fast ccache makes it."""
    log = repo / "shipwheel-logs" / f"{numpy.SELECT}.log"

    def seen_compiling(seen: Seen) -> bool:
        if seen.steps.get("build") != "running":
            return False
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return False
        return len(re.findall(r"^\[\d+/\d+\] ", text, re.MULTILINE)) >= steps

    return seen_compiling


def chain(repo: Path, rng: random.Random) -> list[KillPoint]:
    """One chain, a release from the parent to its end: each point fires once, then the same command runs again.
    Kills inside the build cost a rebuild (ccache keeps the objects, so a rebuild takes minutes, not the first
    build's twenty): four there, at seeded moments of the sdist and the compile, the rest after it."""
    return [
        KillPoint(
            "build: making the sdist (meson setup, meson dist)", "build", running("build"), (2.0, 40.0)
        ),
        KillPoint("build: sdist out, the wheel compiling", "build", _sdist_out, (0.0, 5.0)),
        KillPoint("build: compiling, later", "build", _compiled(repo, rng.randrange(50, 450)), (0.0, 2.0)),
        KillPoint("build: the wheel out (repair, record next)", "build", wheels_out(1), (0.0, 0.3)),
        KillPoint("verify started", "verify", running("verify")),
        KillPoint("verify running", "verify", running("verify"), (0.0, 1.0)),
        KillPoint("stage started", "stage", running("stage")),
        KillPoint(
            "stage: one file staged",
            "stage",
            lambda s: s.steps.get("stage") == "running" and len(s.staged) >= 1,
            arm=lambda s: s.steps.get("verify") == "done",
        ),
        KillPoint("publish started", "publish", running("publish"), (0.0, 0.3)),
        KillPoint("publish: the wheel on its way", "publish", running("publish"), (0.0, UPLOAD_DELAY)),
        KillPoint(
            "publish: the wheel stored, the sdist next", "publish", lambda s: s.stored >= 1, (0.0, 0.2)
        ),
        KillPoint(
            "bump: git holding the index lock",
            "git",
            lambda s: s.steps.get("bump") == "running" and s.index_locked,
        ),
    ]


@LONG
@pytest.mark.timeout(6 * 3600)
def test_numpy_release_killed_at_random_moments_ends_whole(tmp_path: Path, index: Index) -> None:
    rng = random.Random(SEED)
    repo = numpy.clone_before_release(tmp_path / "numpy")
    widen_the_lock_window(repo)
    staging = tmp_path / "staging"
    env = _env(index, staging)
    log = repo.parent / "release.log"
    kills = Kills()

    def watch() -> Seen:
        return look(repo, VERSION, staging, index.proxy, "numpy-", numpy.VERSION_FILE, "version = ")

    for point in chain(repo, rng):
        proc = run_until_killed(point, _argv(index), repo, env, watch, rng, timeout=7200)
        why = f"seed {SEED} (SHIPWHEEL_JOURNEY_SEED), at {point.name!r}"
        if proc.returncode == -signal.SIGKILL:
            note_kill(kills, point, watch(), strict=True)
            continue
        tail = log.read_text(errors="replace")[-4000:]
        assert proc.returncode == 0, f"{why}: the release exited {proc.returncode} instead:\n{tail}"
        kills.missed.append(point.name)
        break

    done = release(repo, _argv(index), env, timeout=7200)
    why = f"seed {SEED}, after kills {kills.fired}"
    assert done.returncode == 0, f"{why}: the last run exited {done.returncode}:\n{done.stdout[-4000:]}"
    assert_released_whole(repo, index, staging, why)
    assert_rerun_changes_nothing(repo, index, env, why)
    assert kills.missed == [], (why, "kill points that never came", kills.missed)
    assert kills.misplaced == [], (why, "kills that landed outside the step they watch", kills.misplaced)
    assert len(kills.fired) >= 10, kills.fired
