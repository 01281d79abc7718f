"""``shipwheel publish`` of a release with a hole sends nothing: a wheel its other wheels imply (their Python
versions times their platforms) or a file the staging manifest lists; ``--allow-incomplete`` publishes anyway."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from fixtures.defective import make_wheel
from fixtures.index_servers import IndexServer, make_release, make_sdist, unique_project
from fixtures.pypi_releases import release_file_names
from shipwheel.cli import main_inner
from shipwheel.distfiles import DistFile
from shipwheel.manifest import write_manifest
from shipwheel.publish import IncompleteReleaseError, missing_from_release

#: The platform tags of a release like MarkupSafe 3.0's: CPython 3.9 to 3.13 on nine platforms, and the
#: free-threaded 3.13 build on the six Linux and macOS ones only (no hole: a build of its own kind).
_PLATFORMS = (
    "macosx_10_9_universal2", "macosx_11_0_arm64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64", "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_5_i686.manylinux1_i686", "musllinux_1_2_aarch64", "musllinux_1_2_x86_64",
    "win32", "win_amd64",
)  # fmt: skip
_FREE_THREADED = _PLATFORMS[:6]


def _markupsafe_like(folder: Path, project: str, *, leave_out: str = "") -> list[Path]:
    tags = [f"cp3{m}-cp3{m}-{p}" for m in range(9, 14) for p in _PLATFORMS]
    tags += [f"cp313-cp313t-{p}" for p in _FREE_THREADED]
    files = [make_wheel(folder, project, "3.0.2", t) for t in tags if t != leave_out]
    return [*files, make_sdist(folder, project, "3.0.2")]


def _posts(server: IndexServer) -> int:
    log = server.root.parent / "requests.log"
    return log.read_text(errors="replace").count("POST") if log.is_file() else 0


@pytest.mark.integration
def test_publish_sends_nothing_when_one_wheel_of_the_release_is_missing(
    pypiserver: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = unique_project("markupsafe")
    files = _markupsafe_like(tmp_path / "dist", project, leave_out="cp313-cp313-win_amd64")
    assert len(files) == 5 * 9 + 6 - 1 + 1
    for name, value in pypiserver.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    argv = ["publish", str(tmp_path / "dist"), "--no-verify", "--json"]
    before = _posts(pypiserver)
    with pytest.raises(IncompleteReleaseError) as info:
        main_inner(argv)
    assert (
        f"{canonicalize_name(project)} 3.0.2 is incomplete: no file for cp313-win_amd64;"
        in info.value.message
    )
    assert "--allow-incomplete" in info.value.hint and info.value.exit_code == 1
    assert pypiserver.files(project) == {} and _posts(pypiserver) == before  # not one request sent
    assert main_inner([*argv, "--allow-incomplete"]) == 0
    assert sorted(pypiserver.files(project)) == sorted(f.name for f in files)


def test_publish_sends_nothing_when_the_staging_manifest_lists_a_file_that_is_not_there(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "staging"
    files = make_release(folder, "demo", "1.0", wheels=3)
    lost = make_wheel(tmp_path / "elsewhere", "demo", "1.0", "cp313-cp313-win_amd64")
    write_manifest(folder / "SHA256SUMS", {p.name: "0" * 64 for p in [*files, lost]})
    index = tmp_path / "index"
    argv = ["publish", str(folder), "-r", f"file:{index}", "--no-verify"]
    with pytest.raises(IncompleteReleaseError, match=rf"no file for {lost.name}; nothing was uploaded"):
        main_inner(argv)
    assert not index.exists() or not any(index.rglob("*.whl"))
    assert main_inner([*argv, "--allow-incomplete"]) == 0
    assert sorted(p.name for p in index.rglob("*.whl")) == sorted(f.name for f in files if f.suffix == ".whl")


@pytest.mark.parametrize(
    ("names", "missing"),
    [
        # a hole in the middle of the grid, named by its identifier
        (["cp311-cp311-win_amd64", "cp312-cp312-win_amd64", "cp311-cp311-manylinux_2_28_x86_64"], ["cp312-manylinux_x86_64"]),
        # one abi3 wheel per platform stands for every later version: no hole
        (["cp39-abi3-win_amd64", "cp39-abi3-manylinux_2_17_x86_64"], []),
        # free-threaded wheels on fewer platforms than the others: a kind of their own, no hole
        (["cp313-cp313-win_amd64", "cp313-cp313-macosx_11_0_arm64", "cp313-cp313t-macosx_11_0_arm64"], []),
        # but a free-threaded version missing a platform its other free-threaded versions have is one
        (["cp313-cp313t-win_amd64", "cp313-cp313t-macosx_11_0_arm64", "cp314-cp314t-win_amd64"], ["cp314t-macosx_arm64"]),
        # pure wheels and plain linux tags imply nothing
        (["py3-none-any", "cp312-cp312-linux_x86_64"], []),
    ],
)  # fmt: skip
def test_the_identifiers_a_release_implies(names: list[str], missing: list[str]) -> None:
    files = [(Path(n), d) for t in names if (d := DistFile.parse(n := f"demo-1.0-{t}.whl")) is not None]
    assert len(files) == len(names)
    assert missing_from_release(files) == missing


#: real releases whose platforms start at different Pythons (win_arm64 from 3.11, riscv64 abi3 only, lxml's
#: older Pythons on fewer architectures): none of them has a hole
REAL_RELEASES = [
    ("numpy", "2.4.6"), ("numpy", "2.2.6"), ("scipy", "1.18.1"), ("pandas", "3.1.1"), ("pillow", "13.0.0"),
    ("numexpr", "2.14.2"), ("multidict", "6.7.1"), ("pyzmq", "27.3.0"), ("markupsafe", "3.0.3"),
    ("matplotlib", "3.10.8"), ("lxml", "6.0.2"),
]  # fmt: skip


@pytest.mark.parametrize(("project", "version"), REAL_RELEASES, ids=[f"{p}-{v}" for p, v in REAL_RELEASES])
def test_real_releases_are_complete_and_one_wheel_less_is_a_hole(project: str, version: str) -> None:
    from shipwheel.distfiles import DistFile

    names = release_file_names(project, version)
    files = [(Path(n), DistFile.parse(n)) for n in names]
    assert missing_from_release(files) == []  # type: ignore[arg-type]
    if any(n.endswith("-none-any.whl") for n in names):
        return  # multidict's pure wheel installs wherever a compiled one is missing: no hole is possible
    # on a platform with three or more CPythons (GIL builds), its newest wheel and a wheel in the middle are holes
    by_platform: dict[str, list[tuple[int, str]]] = {}
    for n in names:
        dist = DistFile.parse(n)
        if dist is None or dist.kind != "wheel" or "abi3" in n or len(dist.identifiers) != 1:
            continue
        ident = dist.identifiers[0]
        if not ident.free_threaded:
            by_platform.setdefault(ident.platform, []).append((ident.minor, n))
    platform, versions = max(by_platform.items(), key=lambda kv: (len(kv[1]), kv[0]))
    minors = sorted({m for m, _ in versions})
    assert len(minors) >= 3, (platform, versions)
    for minor in (minors[-1], minors[len(minors) // 2]):
        gone = {
            n for m, n in versions if m == minor
        }  # every wheel of that identifier (numpy has two macOS x86-64)
        rest = [(Path(n), DistFile.parse(n)) for n in names if n not in gone]
        assert missing_from_release(rest) == [f"cp3{minor}-{platform}"], gone  # type: ignore[arg-type]
