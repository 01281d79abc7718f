"""``shipwheel fetch`` on local containers: exact selection, filters, resume, verification, retry policy, CLI."""

from __future__ import annotations

import hashlib
import itertools
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from shipwheel._retry import RetryPolicy, is_retryable_status
from shipwheel.cli import main_inner
from shipwheel.errors import SelectorError, UsageError
from shipwheel.manifest import format_manifest
from shipwheel.matrix import Selector
from shipwheel.staging import (
    Expected,
    FetchCancelled,
    FetchEvent,
    Listing,
    NothingToFetchError,
    Selection,
    TransferError,
    download_file,
    fetch_release,
    select_entries,
)
from shipwheel.staging._containers._local import LocalContainer

NAMES = [
    "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    "numpy-2.4.6-cp312-cp312-musllinux_1_2_x86_64.whl",
    "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
    "numpy-2.4.6-cp313-cp313-win_amd64.whl",
    "numpy-2.4.6-1-cp312-cp312-win_amd64.whl",  # build tag
    "numpy-2.4.6.tar.gz",
    "numpy-2.4.60-cp312-cp312-win_amd64.whl",
    "numpy-2.4.6rc1-cp312-cp312-win_amd64.whl",
    "numpy_quaternion-2.4.6-cp312-cp312-win_amd64.whl",
    "numpy-2.4.6-cp312-cp312-win_amd64.whl.asc",
    "NumPy-2.4.6-py3-none-any.whl",
]


@pytest.fixture
def container(tmp_path: Path) -> Path:
    root = tmp_path / "container"
    root.mkdir()
    for i, name in enumerate(NAMES):
        (root / name).write_bytes(hashlib.sha256(name.encode()).digest() * (100 + i))
    return root


def _digests(root: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.iterdir()
        if p.name.endswith((".whl", ".tar.gz"))
    }


def _names(listing: Listing, selection: Selection) -> list[str]:
    return [e.filename for e in select_entries(listing, selection)[0]]


def test_selection_is_exact_never_a_prefix(container: Path) -> None:
    listing = LocalContainer(container).listing()
    names = _names(listing, Selection(project="NumPy", version="2.4.6"))
    wheels = sorted(
        [
            "NumPy-2.4.6-py3-none-any.whl",
            "numpy-2.4.6-1-cp312-cp312-win_amd64.whl",
            "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "numpy-2.4.6-cp312-cp312-musllinux_1_2_x86_64.whl",
            "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
            "numpy-2.4.6-cp313-cp313-win_amd64.whl",
        ]
    )
    assert names == [*wheels, "numpy-2.4.6.tar.gz"]
    _, _, others = select_entries(listing, Selection(project="numpy", version="2.4.6"))
    assert others == ["2.4.6rc1", "2.4.60"]


@pytest.mark.parametrize(
    ("families", "expected"),
    [
        (("win",), {"numpy-2.4.6-1-cp312-cp312-win_amd64.whl", "numpy-2.4.6-cp313-cp313-win_amd64.whl"}),
        (("manylinux",), {"numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"}),
        (("musllinux",), {"numpy-2.4.6-cp312-cp312-musllinux_1_2_x86_64.whl"}),
        (
            ("linux",),
            {
                "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                "numpy-2.4.6-cp312-cp312-musllinux_1_2_x86_64.whl",
            },
        ),
        (
            ("macosx", "win"),
            {
                "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
                "numpy-2.4.6-1-cp312-cp312-win_amd64.whl",
                "numpy-2.4.6-cp313-cp313-win_amd64.whl",
            },
        ),
    ],
)
def test_family_filter_keeps_pure_wheels_and_sdist(
    container: Path, families: tuple[str, ...], expected: set[str]
) -> None:
    listing = LocalContainer(container).listing()
    names = set(_names(listing, Selection(project="numpy", version="2.4.6", families=families)))
    assert names == expected | {"NumPy-2.4.6-py3-none-any.whl", "numpy-2.4.6.tar.gz"}


def test_only_selectors_and_no_sdist(container: Path) -> None:
    listing = LocalContainer(container).listing()
    selection = Selection(project="numpy", version="2.4.6", only=Selector.parse("cp313-*"), sdist=False)
    assert _names(listing, selection) == [
        "NumPy-2.4.6-py3-none-any.whl",
        "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
        "numpy-2.4.6-cp313-cp313-win_amd64.whl",
    ]


def test_unknown_family_and_bad_selector_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown platform family 'windows'"):
        Selection(project="numpy", version="1", families=("windows",))
    with pytest.raises(SelectorError):
        Selector.parse("cp3.12-*")


def test_fetch_verifies_against_sha256sums_and_skips_identical_files(container: Path, tmp_path: Path) -> None:
    (container / "SHA256SUMS").write_text(format_manifest(_digests(container)))
    dest = tmp_path / "wheelhouse"
    selection = Selection(project="numpy", version="2.4.6", families=("win",), sdist=False)
    report = fetch_release(LocalContainer(container), selection, dest, jobs=2)
    assert report.ok
    assert [f.status for f in report.files] == ["downloaded"] * 3
    assert all("sha256 (SHA256SUMS)" in f.verified_by for f in report.files)
    assert sorted(p.name for p in dest.iterdir()) == sorted(f.filename for f in report.files)
    again = fetch_release(LocalContainer(container), selection, dest, jobs=2)
    assert [f.status for f in again.files] == ["present"] * 3


def test_fetch_reports_a_hash_mismatch_and_leaves_nothing(container: Path, tmp_path: Path) -> None:
    digests = _digests(container)
    digests["numpy-2.4.6-cp313-cp313-win_amd64.whl"] = "0" * 64
    (container / "SHA256SUMS").write_text(format_manifest(digests))
    dest = tmp_path / "wheelhouse"
    policy = RetryPolicy(retries=2, sleep=lambda _s: None)
    report = fetch_release(
        LocalContainer(container),
        Selection(project="numpy", version="2.4.6", families=("win",), sdist=False),
        dest,
        policy=policy,
    )
    assert not report.ok
    failed = [f for f in report.files if f.status == "failed"]
    assert [f.filename for f in failed] == ["numpy-2.4.6-cp313-cp313-win_amd64.whl"]
    assert failed[0].error is not None and "differs from the published" in failed[0].error
    assert failed[0].attempts == 2  # one fresh retry decides, not all five
    assert sorted(p.name for p in dest.iterdir()) == [
        "NumPy-2.4.6-py3-none-any.whl",
        "numpy-2.4.6-1-cp312-cp312-win_amd64.whl",
    ]


def test_download_resumes_a_partial_file(container: Path, tmp_path: Path) -> None:
    name = "numpy-2.4.6-cp313-cp313-win_amd64.whl"
    data = (container / name).read_bytes()
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    (dest / f"{name}.part").write_bytes(data[:1000])
    entry = LocalContainer(container).listing().entries[name]
    outcome = download_file(
        LocalContainer(container),
        entry,
        dest,
        Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",)),
    )
    assert outcome.status == "downloaded" and outcome.resumed_from == 1000
    assert (dest / name).read_bytes() == data
    assert not (dest / f"{name}.part").exists()


def test_stale_partial_file_is_detected_and_downloaded_afresh(container: Path, tmp_path: Path) -> None:
    name = "numpy-2.4.6-cp313-cp313-win_amd64.whl"
    data = (container / name).read_bytes()
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    (dest / f"{name}.part").write_bytes(b"\0" * 1000)  # from another build of the same name
    entry = LocalContainer(container).listing().entries[name]
    outcome = download_file(
        LocalContainer(container),
        entry,
        dest,
        Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",)),
        policy=RetryPolicy(sleep=lambda _s: None),
    )
    assert outcome.status == "downloaded" and outcome.attempts == 2
    assert (dest / name).read_bytes() == data


def test_nothing_to_fetch_names_the_versions_it_saw(container: Path, tmp_path: Path) -> None:
    with pytest.raises(
        NothingToFetchError,
        match=r"has no files of numpy 2\.4\.7; it has numpy 2\.4\.6rc1, 2\.4\.6, 2\.4\.60",
    ):
        fetch_release(LocalContainer(container), Selection(project="numpy", version="2.4.7"), tmp_path / "w")
    with pytest.raises(NothingToFetchError, match=r"has no macosx wheels \(it has wheels for win\)"):
        fetch_release(
            LocalContainer(container),
            Selection(project="numpy_quaternion", version="2.4.6", families=("macosx",)),
            tmp_path / "w",
        )
    with pytest.raises(NothingToFetchError, match="left out by the filters"):
        fetch_release(
            LocalContainer(container),
            Selection(project="numpy_quaternion", version="2.4.6", only=Selector.parse("cp313-*")),
            tmp_path / "w",
        )
    assert not (tmp_path / "w").exists()


def test_retry_policy_backoff_is_bounded_full_jitter() -> None:
    policy = RetryPolicy(retries=6, base=0.5, cap=4.0)
    rng = random.Random(1)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (10, 4.0)]:
        delays = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spans the window
    slept: list[float] = []
    policy = RetryPolicy(retries=2, base=0.1, cap=1.0, sleep=slept.append)
    tries = 0
    with pytest.raises(TransferError):
        for attempt in policy.attempts():
            tries += 1
            attempt.failed(TransferError("boom", retryable=True), retry_after=0.7)
    assert tries == 3 and len(slept) == 2 and all(0.7 <= s <= 1.0 for s in slept)
    assert is_retryable_status(503) and is_retryable_status(429) and not is_retryable_status(404)


def test_cli_fetch_from_a_folder(container: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "wh"
    code = main_inner(
        ["fetch", "numpy", "2.4.6", "-u", str(container), "-w", str(dest), "-t", "macosx", "--json"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert '"ok": true' in out
    assert sorted(p.name for p in dest.iterdir()) == [
        "NumPy-2.4.6-py3-none-any.whl",
        "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
        "numpy-2.4.6.tar.gz",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["fetch", "numpy", "2.4.6"], 2, "no container to fetch from; pass --from"),
        (
            ["fetch", "numpy", "2.4.6", "--from", "CONTAINER", "-t", "windows"],
            2,
            "unknown platform family 'windows'",
        ),
        (["fetch", "numpy", "2.4.6", "--from", "CONTAINER", "--only", "cp3.12-*"], 2, "cp3.12-*"),
        (["fetch", "numpy", "9.9", "--from", "CONTAINER"], 1, "has no files of numpy 9.9"),
        (["fetch", "numpy", "2.4.x", "--from", "CONTAINER"], 2, "'2.4.x' is not a valid version"),
        (["fetch", "numpy", "2.4.6", "--from", "gopher://x/"], 2, "unsupported container URL scheme"),
        (["fetch", "numpy", "2.4.6", "--from", "MISSING"], 6, "does not exist"),
    ],
)
def test_cli_errors_are_one_line_without_traceback(
    container: Path, tmp_path: Path, argv: list[str], code: int, message: str
) -> None:
    argv = [
        a.replace("CONTAINER", str(container)).replace("MISSING", str(tmp_path / "missing")) for a in argv
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", *argv, "-w", str(tmp_path / "wh")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert message in " ".join(proc.stderr.split())
    assert not (tmp_path / "wh").exists()


def test_an_interrupted_download_keeps_its_part_file_and_the_next_run_resumes(tmp_path: Path) -> None:
    root = tmp_path / "container"
    root.mkdir()
    name = "big-1.0-py3-none-any.whl"
    data = random.Random(7).randbytes(3 << 20)
    (root / name).write_bytes(data)
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    entry = LocalContainer(root).listing().entries[name]
    expected = Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",))
    cancel = threading.Event()

    def interrupt(event: FetchEvent) -> None:
        if event.kind == "progress":
            cancel.set()  # what Ctrl-C does to the download threads

    with pytest.raises(FetchCancelled):
        download_file(LocalContainer(root), entry, dest, expected, on_event=interrupt, cancel=cancel)
    part = dest / f"{name}.part"
    assert part.is_file() and 0 < part.stat().st_size < len(data)
    assert not (dest / name).exists()
    kept = part.stat().st_size
    outcome = download_file(LocalContainer(root), entry, dest, expected)
    assert outcome.status == "downloaded" and outcome.resumed_from == kept
    assert (dest / name).read_bytes() == data and not part.exists()


def test_split_ranges_cover_the_rest_exactly() -> None:
    from shipwheel.staging._download import _split

    assert _split(0, 10 << 20, 1) == []
    assert _split(0, 3 << 20, 4) == []  # too small to be worth more connections
    ranges = _split(1000, (10 << 20) + 7, 4)
    assert len(ranges) == 4 and ranges[0][0] == 1000 and ranges[-1][1] == (10 << 20) + 7
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(end - start >= 1 << 20 for start, end in ranges)


@pytest.mark.parametrize("segments", [2, 4])
def test_segmented_download_of_a_large_file(tmp_path: Path, segments: int) -> None:
    root = tmp_path / "container"
    root.mkdir()
    name = "big-1.0-py3-none-any.whl"
    data = random.Random(segments).randbytes((9 << 20) + 12345)
    (root / name).write_bytes(data)
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    entry = LocalContainer(root).listing().entries[name]
    events: list[FetchEvent] = []
    outcome = download_file(
        LocalContainer(root),
        entry,
        dest,
        Expected(hashlib.sha256(data).hexdigest(), len(data), ("sha256",)),
        on_event=events.append,
        segments=segments,
    )
    assert outcome.status == "downloaded", outcome.error
    assert (dest / name).read_bytes() == data
    assert [p.name for p in dest.iterdir()] == [name]  # no .part, no segment files
    assert max(e.done for e in events if e.kind == "progress") == len(data)


def test_cli_wheelhouse_that_is_a_file(container: Path, tmp_path: Path) -> None:
    (tmp_path / "wh").write_text("a file where the wheelhouse should be")
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "fetch", "numpy", "2.4.6", "--from", str(container), "-w", "wh"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "cannot create the wheelhouse" in proc.stderr


@pytest.fixture
def linux_only(tmp_path: Path) -> Path:
    root = tmp_path / "linux-only"
    root.mkdir()
    for name in (
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl",
        "demo-1.0.tar.gz",
    ):
        (root / name).write_bytes(name.encode())
    return root


def test_a_family_the_release_has_no_wheels_for_is_an_error(linux_only: Path, tmp_path: Path) -> None:
    selection = Selection(project="demo", version="1.0", families=("win",))
    with pytest.raises(
        NothingToFetchError, match=r"has no win wheels \(it has wheels for macosx, manylinux\)"
    ):
        fetch_release(LocalContainer(linux_only), selection, tmp_path / "wh")
    assert not (tmp_path / "wh").exists()
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "fetch", "demo", "1.0", "-u", str(linux_only), "-t", "win",
         "-w", str(tmp_path / "wh")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "-t sdist" in " ".join(proc.stderr.split())


def test_the_sdist_alone_when_asked_for_and_pure_wheels_in_every_family(
    linux_only: Path, tmp_path: Path
) -> None:
    report = fetch_release(
        LocalContainer(linux_only),
        Selection(project="demo", version="1.0", families=("sdist",)),
        tmp_path / "a",
    )
    assert [f.filename for f in report.files] == ["demo-1.0.tar.gz"]
    (linux_only / "demo-1.0-py3-none-any.whl").write_bytes(b"pure")
    report = fetch_release(
        LocalContainer(linux_only),
        Selection(project="demo", version="1.0", families=("win",)),
        tmp_path / "b",
    )
    assert sorted(f.filename for f in report.files) == ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]
    both = Selection(project="demo", version="1.0", families=("manylinux", "win"))
    assert len(fetch_release(LocalContainer(linux_only), both, tmp_path / "c").files) == 3
