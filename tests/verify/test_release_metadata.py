"""Which metadata must agree across the files of one release: name, version, requires-python, dependencies and
extras, compared as their meaning (order and spelling aside); a licence text or summary per platform may differ."""

from __future__ import annotations

from pathlib import Path

from fixtures.defective import SdistSpec, WheelSpec, metadata_text
from shipwheel.verify import verify_paths

PYD = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}
PLATFORMS = ("win_amd64", "win_arm64", "win32")


def _wheels(tmp: Path, *extras: str, requires_python: str = ">=3.11") -> list[Path]:
    return [
        WheelSpec(
            tags=f"cp312-cp312-{platform}",
            files=PYD,
            metadata=metadata_text(requires_python=requires_python, extra=extra),
        ).build(tmp)
        for platform, extra in zip(PLATFORMS, extras, strict=False)
    ]


def _inconsistent(paths: list[Path]) -> list[tuple[str, str]]:
    report = verify_paths(paths, jobs=1, check_completeness=False)
    return [(p.file, p.message) for p in report.problems if p.code == "metadata-inconsistent"]


def test_licence_text_and_summary_per_platform_are_no_problem(tmp_path: Path) -> None:
    # NumPy's wheels carry the licences of the libraries bundled on each platform: different License texts.
    paths = _wheels(
        tmp_path,
        "License: BSD-3-Clause\n\n  OpenBLAS: BSD\nLicense-File: LICENSE.txt\n",
        "License: BSD-3-Clause\n\n  OpenBLAS, gfortran runtime: GPL with exception\n",
        "License: BSD-3-Clause\n",
    )
    paths.append(SdistSpec(pkg_info=metadata_text(extra="License: BSD-3-Clause\n")).build(tmp_path))
    assert _inconsistent(paths) == []


def test_requirements_that_mean_the_same_compare_equal(tmp_path: Path) -> None:
    paths = _wheels(
        tmp_path,
        "Requires-Dist: numpy>=2\nRequires-Dist: tzdata ; sys_platform=='win32'\nProvides-Extra: Test\n",
        'Requires-Dist: tzdata; sys_platform == "win32"\nRequires-Dist: numpy >= 2\nProvides-Extra: test\n',
    )
    assert _inconsistent(paths) == []


def test_requires_python_that_differs_names_the_field_both_values_and_the_files(tmp_path: Path) -> None:
    paths = _wheels(tmp_path, "", "")
    odd = WheelSpec(tags="cp312-cp312-win32", files=PYD, metadata=metadata_text(requires_python=">=3.8"))
    paths.append(odd.build(tmp_path))
    [(file, message)] = _inconsistent(paths)
    assert file == paths[-1].name
    assert "requires-python differs: '>=3.8' in 1 file(s), '>=3.11' in the 2 other(s)" in message
    assert all(p.name in message for p in paths[:2])


def test_dependencies_and_extras_that_differ_are_each_named(tmp_path: Path) -> None:
    paths = _wheels(
        tmp_path,
        "Requires-Dist: numpy>=2\nProvides-Extra: test\n",
        "Requires-Dist: numpy>=2\nProvides-Extra: test\n",
        "Requires-Dist: numpy>=1\n",
    )
    found = _inconsistent(paths)
    assert {f for f, _ in found} == {paths[2].name}
    messages = sorted(m.split(":")[0] for _, m in found)
    assert messages == ["dependencies differs", "extras differs"]
    assert any("'numpy>=1' in 1 file(s), 'numpy>=2' in the 2 other(s)" in m for _, m in found)
    assert any("extras differs: none in 1 file(s), 'test'" in m for _, m in found)


def test_sdist_fields_left_to_the_build_are_not_compared(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path, "Requires-Dist: numpy>=2\n", "Requires-Dist: numpy>=2\n")
    # Metadata-Version 2.1: every field but name and version may be decided by the build (PEP 643).
    old = SdistSpec(pkg_info=metadata_text(requires_python=">=3.8")).build(tmp_path / "old")
    assert _inconsistent([*wheels, old]) == []
    # 2.2 with the fields marked Dynamic: the same.
    dynamic = metadata_text(
        metadata_version="2.2",
        requires_python=">=3.8",
        extra="Dynamic: Requires-Python\nDynamic: Requires-Dist\n",
    )
    assert _inconsistent([*wheels, SdistSpec(pkg_info=dynamic).build(tmp_path / "dyn")]) == []


def test_sdist_static_fields_must_match_the_wheels(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path, "Requires-Dist: numpy>=2\n", "Requires-Dist: numpy>=2\n")
    static = metadata_text(metadata_version="2.2", requires_python=">=3.8", extra="Requires-Dist: numpy>=2\n")
    sdist = SdistSpec(pkg_info=static).build(tmp_path / "static")
    found = _inconsistent([*wheels, sdist])
    assert [(f, m.split(":")[0]) for f, m in found] == [(sdist.name, "requires-python differs")]


def test_expected_identifiers_replace_the_inferred_matrix(tmp_path: Path) -> None:
    """What release passes as its recorded selection: a selected identifier with no wheel is an error."""
    import pytest

    from shipwheel.errors import UsageError

    paths = _wheels(tmp_path, "", "")  # cp312 win_amd64 and win_arm64
    report = verify_paths(paths, jobs=1, expected=["cp312-win_amd64", "cp312-win_arm64", "cp313-win_amd64"])
    assert report.completeness.source == "selection"
    assert report.completeness.missing == ["cp313-win_amd64"]
    assert [(p.code, p.severity.value) for p in report.errors] == [("matrix-missing", "error")]
    exact = verify_paths(paths, jobs=1, expected=["cp312-win_amd64", "cp312-win_arm64"])
    assert exact.ok(strict=True) and exact.completeness.missing == []
    with pytest.raises(UsageError, match="cp3x"):
        verify_paths(paths, jobs=1, expected=["cp3x-win_amd64"])
