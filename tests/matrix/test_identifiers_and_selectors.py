"""Identifiers, selectors (cibuildwheel's syntax) and the expected matrix."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.tags import parse_tag

from shipwheel.config import load_config
from shipwheel.errors import SelectorError
from shipwheel.matrix import (
    ALL_PLATFORMS,
    Identifier,
    Selector,
    identifier_platform,
    wheel_covers,
    wheel_identifiers,
)


@pytest.mark.parametrize(
    "text", ["cp312-manylinux_x86_64", "cp313t-macosx_arm64", "cp38-win32", "cp314-musllinux_aarch64"]
)
def test_identifier_round_trip(text: str) -> None:
    assert str(Identifier.parse(text)) == text


@pytest.mark.parametrize(
    "text", ["cp3.12-manylinux_x86_64", "pp310-manylinux_x86_64", "cp312-linux_x86_64", "cp312"]
)
def test_bad_identifier(text: str) -> None:
    with pytest.raises(SelectorError):
        Identifier.parse(text)


def test_selector_braces_and_lists() -> None:
    sel = Selector.parse("cp31{2,3}-manylinux_* cp310-win_amd64")
    assert sel.matches("cp312-manylinux_x86_64")
    assert sel.matches("cp313-manylinux_aarch64")
    assert sel.matches("cp310-win_amd64")
    assert not sel.matches("cp311-manylinux_x86_64")
    assert not sel.matches("cp313t-manylinux_x86_64")
    assert Selector.parse("cp313t-*").matches("cp313t-win_amd64")
    assert Selector.parse(["cp312-*", "cp313-* cp310-*"]).patterns == ("cp312-*", "cp313-*", "cp310-*")


@pytest.mark.parametrize("text", ["cp3.12-*", "cp312-*;rm", "cp31{2,3-*", "manylinux"])
def test_bad_selectors_are_refused(text: str) -> None:
    with pytest.raises(SelectorError) as info:
        Selector.parse(text)
    assert info.value.exit_code == 2
    assert "shipwheel matrix" in info.value.hint or "fnmatch" in info.value.hint


@given(st.lists(st.sampled_from(["8", "9", "10", "11", "12", "13"]), min_size=1, max_size=4, unique=True))
def test_brace_expansion_equals_the_list_of_patterns(minors: list[str]) -> None:
    braced = Selector.parse("cp3{" + ",".join(minors) + "}-*")
    listed = Selector.parse(" ".join(f"cp3{m}-*" for m in minors))
    for minor in range(8, 15):
        ident = f"cp3{minor}-manylinux_x86_64"
        assert braced.matches(ident) == listed.matches(ident)


def test_expected_matrix_from_requires_python(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nrequires-python = ">=3.11,<3.14"\n'
        '[tool.shipwheel]\nplatforms = ["manylinux_x86_64", "win_amd64"]\nfree-threaded = true\nskip = "*-win_amd64"\n'
        '[tool.shipwheel.ci]\ncibuildwheel-version = "3.4.1"\n'
    )
    ids = [str(i) for i in load_config(tmp_path, environ={}).identifiers()]
    assert ids == [
        "cp311-manylinux_x86_64",
        "cp312-manylinux_x86_64",
        "cp313-manylinux_x86_64",
        "cp313t-manylinux_x86_64",
    ]


def test_requires_python_patch_bound() -> None:
    from shipwheel.matrix import python_versions

    assert (3, 10) in python_versions(SpecifierSet(">=3.10.1"))
    assert (3, 11) not in python_versions(SpecifierSet("!=3.11.*"))


@pytest.mark.parametrize(
    ("tag", "platform"),
    [
        ("manylinux_2_28_x86_64", "manylinux_x86_64"),
        ("manylinux2014_aarch64", "manylinux_aarch64"),
        ("musllinux_1_2_x86_64", "musllinux_x86_64"),
        ("macosx_11_0_arm64", "macosx_arm64"),
        ("macosx_10_9_universal2", "macosx_universal2"),
        ("win_amd64", "win_amd64"),
        ("linux_x86_64", None),
        ("any", None),
    ],
)
def test_identifier_platform(tag: str, platform: str | None) -> None:
    assert identifier_platform(tag) == platform


def test_wheel_identifiers_and_abi3_coverage() -> None:
    name = "numpy-2.4.6-cp313-cp313t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
    assert [str(i) for i in wheel_identifiers(name)] == ["cp313t-manylinux_x86_64"]
    abi3 = parse_tag("cp310-abi3-manylinux_2_17_x86_64")
    assert wheel_covers(abi3, Identifier.parse("cp313-manylinux_x86_64"))
    assert not wheel_covers(abi3, Identifier.parse("cp313t-manylinux_x86_64"))
    assert not wheel_covers(abi3, Identifier.parse("cp39-manylinux_x86_64"))
    assert not wheel_covers(abi3, Identifier.parse("cp312-win_amd64"))
    assert all(p in ALL_PLATFORMS for p in ("win32", "macosx_universal2"))


@pytest.mark.timeout(60)
def test_brace_expansion_is_bounded() -> None:
    with pytest.raises(SelectorError, match="matches no build identifier"):  # 4 million times one pattern
        Selector.parse("cp3" + "{1,1}" * 22 + "-*")
    same = Selector.parse("cp31{2,2}" + "{,}" * 22 + "-manylinux_*")
    assert same.expanded == ("cp312-manylinux_*",) and same.matches("cp312-manylinux_x86_64")
    with pytest.raises(SelectorError, match="expands to more than 1024 patterns") as info:
        Selector.parse("cp31{2,3}" + "{a,b}" * 22 + "-*")
    assert info.value.exit_code == 2


def _sdist(path: Path, pyproject: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        data = pyproject.encode()
        info = tarfile.TarInfo(path.name.removesuffix(".tar.gz") + "/pyproject.toml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def run_matrix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", "matrix", *args], capture_output=True, text=True, check=False
    )


def test_matrix_of_an_sdist_honours_its_requires_python(tmp_path: Path) -> None:
    sdist = _sdist(
        tmp_path / "demo-1.0.tar.gz",
        '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.9"\n\n'
        '[tool.shipwheel]\nplatforms = ["win_amd64"]\n',
    )
    proc = run_matrix(str(sdist), "--json")
    assert proc.returncode == 0, proc.stderr
    ids = [i["identifier"] for i in json.loads(proc.stdout)["identifiers"]]
    assert ids[0] == "cp39-win_amd64" and "cp38-win_amd64" not in ids
    # --config-dir: the [tool.shipwheel] of a checkout, over the sdist's [project]
    conf = tmp_path / "checkout"
    conf.mkdir()
    (conf / "pyproject.toml").write_text('[tool.shipwheel]\nplatforms = ["macosx_arm64"]\nskip = "cp39-*"\n')
    proc = run_matrix(str(sdist), "--config-dir", str(conf), "--json")
    assert proc.returncode == 0, proc.stderr
    ids = [i["identifier"] for i in json.loads(proc.stdout)["identifiers"]]
    assert ids[0] == "cp310-macosx_arm64" and all(i.endswith("-macosx_arm64") for i in ids)
    (conf / "pyproject.toml").write_text(
        '[project]\nname = "other"\n[tool.shipwheel]\nplatforms = ["win32"]\n'
    )
    proc = run_matrix(str(sdist), "--config-dir", str(conf))
    assert proc.returncode != 0 and "configuration of other, not of demo" in proc.stderr
    assert "Traceback" not in proc.stderr
