"""``shipwheel changelog`` against NumPy's own published changelogs, on NumPy's real history (from the mirror).

The oracle is the file NumPy published (``doc/changelog/X-changelog.rst``, made with ``tools/changelog.py``) as
of the last commit that touched it before the tag: the range is the one NumPy's release walkthrough gives
(``PREVIOUS..maintenance/X.Y.x`` when the changelog was made, i.e. up to that commit's parent), the ``.mailmap``
the one of that commit, and NumPy's script leaves out only ``Homu`` and ``dependabot-preview``. The releases
here are ones whose published file is exactly what the script prints (not edited by hand). 2.4.6 is the release
whose pull-request list differed while squash merges were looked for off the first-parent line.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from fixtures.mirrors import mirror_of
from shipwheel.notes import make_changelog, render

REPOSITORY = "numpy/numpy"
NEWEST = "48fecee5453aa1d31e6b79dcb3969dc1a6d1a891"  # REL: Prepare for the NumPy 2.5.2 release (tag v2.5.2)
URL = "https://github.com/numpy/numpy/pull/{number}"

#: version -> (the range's start as NumPy's maintainers gave it, the last commit that wrote the changelog)
RELEASES = {
    "2.4.6": ("v2.4.5", "57cc147d2ceacffc6534642bfbdebb3a80428e1e"),
    "2.5.2": ("v2.5.1", "48fecee5453aa1d31e6b79dcb3969dc1a6d1a891"),
    "2.3.5": ("v2.3.4", "11451fa35d49d8c809cdef87106417833bdacfbe"),
    "2.2.6": ("v2.2.5", "ed418286bf91434d6f8af7133645de7b4ea3f807"),
    "1.26.4": ("v1.26.3", "114ed25180c9d1f17b13b2c674d7137a931d6fbf"),
    # a feature release: the range starts where 2.4.0's development branched off main
    "2.4.0": ("v2.4.0.dev0^", "c683481c9bace3c6a3ba487f50b34539832377a8"),
    "2.2.0": ("v2.1.0", "1ed7b6712f94082ffbc15b4009fce94143624afc"),
}


@pytest.fixture(scope="module")
def numpy_repo() -> Path:
    return mirror_of(REPOSITORY, NEWEST)


def _published(repo: Path, commit: str, version: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:doc/changelog/{version}-changelog.rst"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("version", list(RELEASES))
def test_lists_equal_numpys_published_changelog(numpy_repo: Path, version: str) -> None:
    start, commit = RELEASES[version]
    published = _published(numpy_repo, commit, version)
    log = make_changelog(
        numpy_repo,
        f"{start}..{commit}^",
        mailmap_from=commit,
        pr_url=URL,
        bots=("Homu", "dependabot-preview"),
        detect_bots=False,
    )
    text = render(log)
    people, _, pulls = published.partition("Pull requests merged")
    ours_people, _, ours_pulls = text.partition("Pull requests merged")
    # The contributor half is byte for byte NumPy's (names, "+", order, counts sentence).
    assert ours_people == people
    numbers = [int(n) for n in re.findall(r"^\* `#(\d+) <", pulls, re.M)]
    assert [p.number for p in log.pull_requests] == numbers
    assert f"A total of {len(numbers)} pull requests were merged" in ours_pulls
    if version == "2.4.6":
        # The squash commit of #31456, merged onto the maintenance branch by #31460's merge: not NumPy's.
        assert 31456 not in numbers and 31456 not in {p.number for p in log.pull_requests}
