"""Real releases from PyPI pass ``verify --strict``: no false error or warning.

Each release is a pinned subset that keeps what made false warnings before: wheels of different platforms (their
licence texts differ on purpose, one per metadata variant of the release) and the sdist.
"""

from __future__ import annotations

import pytest

from fixtures.pypi_releases import pinned_release_files
from shipwheel.verify import verify_paths

SUBSETS: dict[tuple[str, str], list[str]] = {
    ("numpy", "2.2.6"): [
        "numpy-2.2.6-cp313-cp313-macosx_14_0_arm64.whl",
        "numpy-2.2.6-cp313-cp313-win32.whl",
        "numpy-2.2.6-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "numpy-2.2.6.tar.gz",
    ],
    ("numpy", "2.4.6"): [
        "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
        "numpy-2.4.6-cp313-cp313-win32.whl",
        "numpy-2.4.6-cp313-cp313-musllinux_1_2_x86_64.whl",
        "numpy-2.4.6.tar.gz",
    ],
    ("scipy", "1.18.1"): [
        "scipy-1.18.1-cp313-cp313-macosx_14_0_arm64.whl",
        "scipy-1.18.1-cp313-cp313-win_arm64.whl",
        "scipy-1.18.1.tar.gz",
    ],
    ("pandas", "3.1.1"): [
        "pandas-3.1.1-cp313-cp313-win_amd64.whl",
        "pandas-3.1.1-cp313-cp313-musllinux_1_2_x86_64.whl",
        "pandas-3.1.1-cp312-cp312-pyemscripten_2024_0_wasm32.whl",
        "pandas-3.1.1.tar.gz",
    ],
    ("pillow", "13.0.0"): [
        "pillow-13.0.0-cp313-cp313-ios_13_0_x86_64_iphonesimulator.whl",
        "pillow-13.0.0-cp313-cp313-win_arm64.whl",
        "pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "pillow-13.0.0.tar.gz",
    ],
    ("numexpr", "2.14.2"): [
        "numexpr-2.14.2-cp313-cp313-macosx_11_0_arm64.whl",
        "numexpr-2.14.2-cp313-cp313-win_arm64.whl",
        "numexpr-2.14.2-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "numexpr-2.14.2.tar.gz",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("release", sorted(SUBSETS), ids=lambda r: f"{r[0]}-{r[1]}")
def test_real_release_passes_verify_strict_with_no_problem(release: tuple[str, str]) -> None:
    project, version = release
    paths = pinned_release_files(project, version, SUBSETS[release])
    # The subset is a few identifiers of the release, not its matrix: completeness is the whole release's.
    report = verify_paths(paths, jobs=2, check_completeness=False)
    assert [(p.code, p.file, p.message) for p in report.problems] == []
    assert report.ok(strict=True)
    assert report.project == project and report.version == version
