"""verify on real releases from PyPI (numexpr 2.14.2, numpy 2.4.6 wheels) and on wheels built from the example.

The manylinux/musllinux tag shipwheel derives from the ELF files must equal what ``auditwheel show`` says, and
real releases must give no error.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.defective import ElfKit, WheelSpec
from shipwheel.config import load_config
from shipwheel.verify import verify_paths

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "benchmarks" / ".cache"
_SHOW = re.compile(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"')

NUMPY_WHEELS = [
    ("manylinux_2_28_x86_64", "3.12", "cp", "cp312"),
    ("musllinux_1_2_aarch64", "3.13", "cp", "cp313t"),
    ("manylinux_2_28_aarch64", "3.11", "pp", "pypy311_pp73"),
]


def _release(project: str, version: str, dest: Path) -> Path:
    """The release's files: the benchmarks' cache when it is complete, else downloaded once into ``dest``."""
    cached = CACHE / f"{project}-{version}"
    if cached.is_dir() and any(cached.glob("*.tar.gz")):
        return cached
    spec = importlib.util.spec_from_file_location("_release", REPO / "benchmarks" / "_release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder: Path = module.download_release(project, version, dest)
    return folder


def _cache(config: pytest.Config, factory: pytest.TempPathFactory, name: str) -> Path:
    """pytest's cache folder (kept between runs), or a temporary one when the cache plugin is off."""
    cache = getattr(config, "cache", None)
    return cache.mkdir(name) if cache is not None else factory.mktemp(name)


@pytest.fixture(scope="session")
def numexpr_release(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _release("numexpr", "2.14.2", _cache(pytestconfig, tmp_path_factory, "numexpr-2.14.2"))


@pytest.fixture(scope="session")
def numpy_wheels(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three numpy 2.4.6 Linux wheels (glibc x86_64, musl aarch64 free-threaded, PyPy aarch64)."""
    cached = CACHE / "numpy-2.4.6"
    dest = _cache(pytestconfig, tmp_path_factory, "numpy-2.4.6")
    out: list[Path] = []
    for platform, python, impl, abi in NUMPY_WHEELS:
        pattern = f"numpy-2.4.6-*-{abi}-*{platform.split('_', 1)[0]}*{platform.rsplit('_', 1)[-1]}*.whl"
        found = sorted(cached.glob(pattern)) if cached.is_dir() else []
        found = found or sorted(dest.glob(pattern))
        if not found:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                 "--platform", platform, "--python-version", python, "--implementation", impl, "--abi", abi,
                 "numpy==2.4.6", "-d", str(dest)],
                check=True, capture_output=True, timeout=600,
            )  # fmt: skip
            found = sorted(dest.glob(pattern))
        assert found, pattern
        out.append(found[0])
    return out


def _auditwheel_tag(wheel: Path) -> str:
    exe = shutil.which("auditwheel") or str(Path(sys.executable).parent / "auditwheel")
    proc = subprocess.run([exe, "show", str(wheel)], capture_output=True, text=True, timeout=300)
    m = _SHOW.search(" ".join(proc.stdout.split()))
    assert m, proc.stdout + proc.stderr
    return m[1]


def _agree(wheels: list[Path], derived: dict[str, str | None]) -> None:
    with ThreadPoolExecutor(2) as pool:
        theirs = dict(zip([w.name for w in wheels], pool.map(_auditwheel_tag, wheels), strict=True))
    ours = {name: derived[name] for name in theirs}
    assert ours == theirs


def test_numexpr_release_has_no_error_and_tags_agree_with_auditwheel(numexpr_release: Path) -> None:
    report = verify_paths([numexpr_release])
    assert [f"{p.file}: {p.code}: {p.message}" for p in report.errors] == []
    assert report.project == "numexpr" and report.version == "2.14.2"
    assert len(report.files) >= 40
    assert report.completeness.status == "checked" and report.completeness.missing == []
    linux = [Path(f.path) for f in report.files if "linux" in f.filename]
    assert len(linux) >= 8
    _agree(linux, {f.filename: f.derived_platform for f in report.files})


def test_numpy_wheels_have_no_error_and_tags_agree_with_auditwheel(numpy_wheels: list[Path]) -> None:
    report = verify_paths(numpy_wheels, check_completeness=False)
    assert [f"{p.file}: {p.code}: {p.message}" for p in report.errors] == []
    assert all(f.elf_files > 0 for f in report.files)
    _agree(numpy_wheels, {f.filename: f.derived_platform for f in report.files})


@pytest.mark.skipif(
    not (CACHE / "numpy-2.4.6").is_dir(), reason="the numpy 2.4.6 release is not in benchmarks/.cache"
)
def test_whole_numpy_release_has_no_error() -> None:
    report = verify_paths([CACHE / "numpy-2.4.6"])
    assert [f"{p.file}: {p.code}: {p.message}" for p in report.errors] == []
    assert report.completeness.status == "checked" and report.completeness.missing == []


def test_wheels_built_from_the_example(tmp_path: Path) -> None:
    """``shipwheel build examples/kahan`` for one identifier, then verify with the example's own matrix: the
    built wheel and the sdist are clean, its tag agrees with auditwheel, and only the identifiers not built here
    are reported missing."""
    from fixtures.builds import build_project as build
    from shipwheel.interpreters import discover

    have = sorted({i.version[:2] for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded})
    if not have:
        pytest.skip("needs a CPython >= 3.10 interpreter")
    ident = f"cp3{have[-1][1]}-manylinux_x86_64"
    repo = tmp_path / "kahan"
    shutil.copytree(
        REPO / "examples" / "kahan",
        repo,
        ignore=shutil.ignore_patterns("wheelhouse", "shipwheel-logs", "build"),
    )
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "v1"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)
    out = tmp_path / "wh"
    result = build(
        repo,
        only=ident,
        overrides={
            "output-dir": str(out),
            "log-dir": str(tmp_path / "logs"),
            "cache-dir": str(tmp_path / "cache"),
            "test-command": "",
        },
    )
    assert result.ok, [r.error for r in result.failed]
    report = verify_paths([out], config=load_config(repo))
    assert report.completeness.source == "config"
    assert {p.code for p in report.errors} <= {"matrix-missing"}
    assert ident not in report.completeness.missing
    wheels = sorted(out.glob("*.whl"))
    _agree(wheels, {f.filename: f.derived_platform for f in report.files})
    assert "kahan-1.0.0.tar.gz" in {f.filename for f in report.files}


def test_compiled_test_wheels_agree_with_auditwheel(elf_kit: ElfKit, tmp_path: Path) -> None:
    """The ELF objects of the defect generator, in wheels, against ``auditwheel show``: old glibc, new glibc,
    an unbundled library, a bundled one found through RUNPATH, x86-64-v3 code, a blacklisted libz symbol."""
    so = "demo/_ext.cpython-312-x86_64-linux-gnu.so"
    pure = {"demo/__init__.py": b""}
    variants = {
        "plain": {so: elf_kit.plain},
        "newglibc": {so: elf_kit.new_glibc},
        "external": {so: elf_kit.external},
        "bundled": {so: elf_kit.external_rpath, "demo.libs/libfoo.so.1": elf_kit.libfoo},
        "isa": {so: elf_kit.isa_v3},
        "blacklisted": {so: elf_kit.blacklisted},
    }
    wheels = [
        WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files={**pure, **files}).build(tmp_path / name)
        for name, files in variants.items()
    ]
    report = verify_paths(wheels, check_completeness=False)
    derived = {f.path: f.derived_platform for f in report.files}
    with ThreadPoolExecutor(2) as pool:
        theirs = dict(zip(map(str, wheels), pool.map(_auditwheel_tag, wheels), strict=True))
    assert {str(w): derived[str(w)] for w in wheels} == theirs
    assert len(set(theirs.values())) >= 3  # the variants really differ


OTHER_WHEELS = [
    ("pillow==11.1.0", "manylinux_2_28_x86_64"),
    ("cryptography==44.0.0", "manylinux_2_28_x86_64"),
]


@pytest.fixture(scope="session")
def other_wheels(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """pillow (bundled libraries that find each other through the extension's RPATH) and cryptography (abi3)."""
    out: list[Path] = []
    for spec, platform in OTHER_WHEELS:
        name = spec.split("==")[0]
        dest = _cache(pytestconfig, tmp_path_factory, f"wheels-{spec.replace('==', '-')}")
        if not any(dest.glob("*.whl")):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                 "--platform", platform, "--python-version", "3.12", spec, "-d", str(dest)],
                check=True, capture_output=True, timeout=600,
            )  # fmt: skip
        found = sorted(dest.glob(f"{name}-*.whl"))
        assert found, spec
        out.append(found[0])
    return out


def test_other_real_wheels_agree_with_auditwheel(other_wheels: list[Path]) -> None:
    report = verify_paths(other_wheels, check_completeness=False)
    assert {p.code for p in report.errors} <= {"release-multiple-projects"}
    assert {p.code for p in report.warnings} <= {"metadata-license-file"}
    _agree(other_wheels, {f.filename: f.derived_platform for f in report.files})
