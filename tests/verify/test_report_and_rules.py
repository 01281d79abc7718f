"""Units of shipwheel.verify: the report's shape, the policy derivation, PyPI's platform rules, the grid."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.defective import ElfKit, SdistSpec, WheelSpec, fat_macho, macho, pe
from shipwheel.verify import CODES, Problem, Report, Severity, matrix_grid, report_json, verify_paths
from shipwheel.verify._elf import ElfInfo, derive_policy, load_policies
from shipwheel.verify._file import pypi_accepts_platform
from shipwheel.verify._stable_abi import stable_abi


def test_public_api_shape(tmp_path: Path) -> None:
    report: Report = verify_paths([WheelSpec(version="1.0+x").build(tmp_path)], jobs=1)
    assert isinstance(report.problems[0], Problem)
    p = report.problems[0]
    assert (p.code, p.severity, p.file) == ("version-local", Severity.ERROR, "demo-1.0+x-py3-none-any.whl")
    assert p.message and p.fix
    assert report.errors == [p] and report.warnings == []
    assert not report.ok() and not report.ok(strict=True)
    f = report.files[0]
    assert (
        f.filename == "demo-1.0+x-py3-none-any.whl"
        and f.kind == "wheel"
        and len(f.sha256) == 64
        and f.size > 0
    )
    data = report_json(report)
    assert data["ok"] is False and data["errors"] == 1
    assert data["problems"][0]["code"] == "version-local"
    assert {"filename", "size", "sha256", "kind", "identifiers", "derived_platform"} <= set(data["files"][0])


def test_warnings_fail_only_when_strict(tmp_path: Path) -> None:
    report = verify_paths([WheelSpec(filename="Demo-1.0-py3-none-any.whl").build(tmp_path)], jobs=1)
    assert [p.code for p in report.warnings] == ["name-not-normalized"]
    assert report.ok() and not report.ok(strict=True)


def test_every_code_has_severity_and_fix() -> None:
    for code, (severity, fix) in CODES.items():
        assert code == code.lower() and " " not in code
        assert isinstance(severity, Severity) and fix


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("manylinux_2_28_x86_64", True),
        ("manylinux2014_aarch64", True),
        ("musllinux_1_2_aarch64", True),
        ("macosx_11_0_arm64", True),
        ("macosx_10_9_x86_64", True),
        ("win_amd64", True),
        ("any", True),
        ("linux_x86_64", False),
        ("linux_aarch64", False),
        ("manylinux_2_28_sparc", False),
        ("macosx_11_0_sparc", False),
        ("freebsd_14_amd64", False),
    ],
)
def test_pypi_platform_rules(tag: str, ok: bool) -> None:
    assert pypi_accepts_platform(tag) is ok


def test_policy_derivation_from_symbol_versions() -> None:
    policies = load_policies("manylinux", "x86_64")
    if not policies:
        pytest.skip("auditwheel's policy data is not installed")
    assert policies[0].name == "manylinux_2_5" and policies[-1].name == "linux"

    def elf(*versions: str, needed: tuple[str, ...] = ("libc.so.6",)) -> ElfInfo:
        return ElfInfo(path="x.so", arch="x86_64", needed=needed, versions={"libc.so.6": set(versions)})

    assert derive_policy(policies, [elf("GLIBC_2.2.5")], set()).name == "manylinux_2_5"
    assert derive_policy(policies, [elf("GLIBC_2.2.5", "GLIBC_2.17")], set()).name == "manylinux_2_17"
    assert derive_policy(policies, [elf("GLIBC_2.27"), elf("GLIBC_2.14")], set()).name == "manylinux_2_27"
    external = elf("GLIBC_2.2.5", needed=("libc.so.6", "libfoo.so.1"))
    assert derive_policy(policies, [external], set()).name == "linux"
    assert derive_policy(policies, [external], {"libfoo.so.1"}).name == "manylinux_2_5"
    isa = elf("GLIBC_2.2.5")
    isa.isa_level = 3
    assert derive_policy(policies, [isa], set()).name == "linux"


def test_musllinux_policy_is_the_newest() -> None:
    policies = load_policies("musllinux", "aarch64")
    if not policies:
        pytest.skip("auditwheel's policy data is not installed")
    assert [p.name for p in policies] == ["musllinux_1_2", "linux"]
    assert "libc.musl-aarch64.so.1" in policies[0].whitelist


#: Symbols and the version that added them, as CPython's Misc/stable_abi.toml gives them (checked by hand against
#: the generated table shipwheel carried before it used abi3info): functions and data, old and new.
_KNOWN_STABLE_ABI = {
    "PyModule_Create2": (3, 2),
    "PyCFunction_New": (3, 4),
    "Py_EncodeLocale": (3, 7),
    "Py_EnterRecursiveCall": (3, 9),
    "Py_GetArgcArgv": (3, 10),
    "_Py_IncRef": (3, 10),
    "PyBuffer_Release": (3, 11),
    "PyEval_GetFrameBuiltins": (3, 13),
    "PyUnicode_EqualToUTF8AndSize": (3, 13),
    "_Py_SetRefcnt": (3, 13),
    "PyABIInfo_Check": (3, 15),
    "PyModule_GetToken_DuringGC": (3, 15),
    "PyBaseObject_Type": (3, 2),
    "_Py_NoneStruct": (3, 2),
    "_PyWeakref_RefType": (3, 2),
}


def test_stable_abi_data() -> None:
    table = stable_abi()
    # names AND versions: a table that lost the versions (or shifted them) fails here
    assert {name: table.get(name) for name in _KNOWN_STABLE_ABI} == _KNOWN_STABLE_ABI
    assert "PyCode_NewEmpty" not in table and "_PyObject_GetDictPtr" not in table
    assert len(table) >= 968  # what CPython 3.15's stable ABI holds; a new CPython only adds
    assert all(isinstance(v, tuple) and v >= (3, 2) for v in table.values())


def test_grid_and_completeness_from_files(tmp_path: Path) -> None:
    pyd = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}
    specs = [
        WheelSpec(tags="cp312-cp312-win_amd64", files=pyd),
        WheelSpec(tags="cp313-cp313-win_amd64", files=pyd),
        WheelSpec(tags="cp312-cp312-win_arm64", files=pyd),
    ]
    paths = [s.build(tmp_path) for s in specs] + [SdistSpec(pkg_info=None).build(tmp_path)]
    report = verify_paths(paths, jobs=1)
    comp = report.completeness
    assert comp.status == "checked" and comp.source == "files"
    assert comp.missing == ["cp313-win_arm64"]
    # inferred from the files: a hole is a warning, not an error
    assert [p.code for p in report.warnings] == ["matrix-missing"] and report.ok()
    rows, cols, cells = matrix_grid(report)
    assert rows == ["cp312", "cp313"] and cols == ["win_amd64", "win_arm64"]
    assert cells[("cp313", "win_arm64")].state == "missing"
    assert cells[("cp312", "win_amd64")].state == "ok"


def test_completeness_skipped_for_pure_projects(tmp_path: Path) -> None:
    report = verify_paths([WheelSpec().build(tmp_path)], jobs=1, check_completeness=True)
    # a pure project is expected to ship one pure wheel, and nothing is missing
    assert report.completeness.status == "checked" and report.completeness.source == "pure"
    assert report.completeness.missing == []


def test_abi3_wheel_covers_later_versions(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nrequires-python = ">=3.12"\n[tool.shipwheel]\nplatforms = ["win_amd64"]\n'
        "free-threaded = false\n"  # an abi3 wheel covers no free-threaded interpreter
    )
    from shipwheel.config import load_config

    wheel = WheelSpec(tags="cp312-abi3-win_amd64", files={"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"})
    report = verify_paths([wheel.build(tmp_path / "d")], config=load_config(tmp_path / "p"), jobs=1)
    assert report.completeness.source == "config"
    assert report.completeness.missing == [] and report.problems == []


def _mutations() -> st.SearchStrategy[tuple[int, int, int]]:
    return st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.integers(0, 3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_mutations(), min_size=1, max_size=4), cut=st.integers(0, 100))
def test_corrupted_files_never_raise(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, int, int]], cut: int
) -> None:
    """Flipped bytes and truncations anywhere in a wheel or sdist become problems, never exceptions."""
    from shipwheel.verify._archive import Limits
    from shipwheel.verify._file import check_file

    folder = tmp_path_factory.mktemp("fuzz")
    for spec in (WheelSpec(files={"demo/__init__.py": b"x = 1\n" * 50}), SdistSpec()):
        path = spec.build(folder)
        blob = bytearray(path.read_bytes())
        for pos, value, _ in edits:
            blob[pos % len(blob)] = value
        if cut:
            blob = blob[: max(1, len(blob) * (100 - cut) // 100)]
        path.write_bytes(bytes(blob))
        result = check_file(str(path), Limits())
        assert result.sha256 and result.size == len(blob)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_mutations(), min_size=1, max_size=6))
def test_corrupted_elf_never_raises(
    elf_kit: ElfKit, tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, int, int]]
) -> None:
    """Garbage inside a compiled member (headers, dynamic section, version tables) is a problem, not a crash."""
    from shipwheel.verify._archive import Limits
    from shipwheel.verify._file import check_file

    universal = fat_macho(macho("x86_64"), macho("arm64", (11, 0)))
    for tag, binary in (
        ("manylinux_2_17_x86_64", elf_kit.new_glibc),
        ("macosx_10_9_universal2", universal),
        ("win_amd64", pe()),
    ):
        data = bytearray(binary)
        for pos, value, width in edits:
            at = pos % len(data)
            data[at : at + width + 1] = bytes([value]) * (width + 1)
        files = {"demo/__init__.py": b"", "demo/_e.so": bytes(data)}
        spec = WheelSpec(tags=f"cp312-cp312-{tag}", files=files)
        result = check_file(str(spec.build(tmp_path_factory.mktemp("bin"))), Limits())
        assert result.kind == "wheel"


def _reference(data: bytes) -> tuple[list[str], str | None, list[str], dict[str, set[str]]]:
    """The same facts read with pyelftools, to check the struct-based reader against."""
    import io

    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    elf = ELFFile(io.BytesIO(data))
    needed: list[str] = []
    soname = None
    rpaths: list[str] = []
    versions: dict[str, set[str]] = {}
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            for tag in section.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag == "DT_SONAME":
                    soname = tag.soname
                elif tag.entry.d_tag in {"DT_RPATH", "DT_RUNPATH"}:
                    rpaths.extend(str(getattr(tag, tag.entry.d_tag[3:].lower())).split(":"))
        elif isinstance(section, GNUVerNeedSection):
            for verneed, aux in section.iter_versions():
                versions.setdefault(verneed.name, set()).update(a.name for a in aux)
    return needed, soname, rpaths, versions


def test_struct_reader_matches_pyelftools(elf_kit: ElfKit) -> None:
    import zipfile

    from shipwheel.verify._elfread import parse_headers

    blobs = [
        elf_kit.plain,
        elf_kit.new_glibc,
        elf_kit.external_rpath,
        elf_kit.libfoo,
        elf_kit.isa_v3,
        elf_kit.blacklisted,
    ]
    cached = sorted(
        (Path(__file__).parents[2] / "benchmarks" / ".cache" / "numexpr-2.14.2").glob("*linux*.whl")
    )
    for wheel in cached[:4]:
        with zipfile.ZipFile(wheel) as zf:
            blobs += [zf.read(n) for n in zf.namelist() if n.endswith(".so") or ".so." in n]
    for data in blobs:
        h = parse_headers(data)
        assert (h.needed, h.soname, h.rpaths, h.versions) == _reference(data)
    assert parse_headers(elf_kit.isa_v3).isa_needed & 4


def test_record_with_sha512_is_accepted(tmp_path: Path) -> None:
    import base64
    import hashlib

    files = {"demo/__init__.py": b"VALUE = 1\n", "demo/data.txt": b"x" * 100}

    def sha512(rows: list[list[str]]) -> None:
        for row in rows:
            if row[0] in files:
                digest = hashlib.sha512(files[row[0]]).digest()
                row[1] = "sha512=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    report = verify_paths([WheelSpec(files=files, record_edit=sha512).build(tmp_path)], jobs=1)
    assert report.problems == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_is_reported_per_file_and_order_is_kept(tmp_path: Path, jobs: int) -> None:
    paths = [WheelSpec(version=v).build(tmp_path / v) for v in ("1.0", "1.1", "1.2")]
    lines: list[str] = []
    report = verify_paths(paths, project="demo", version="1.1", jobs=jobs, progress=lines.append)
    assert len(lines) == 3 and all(": " in line for line in lines)
    assert [f.filename for f in report.files] == [p.name for p in paths]
    assert sorted(p.code for p in report.errors) == ["release-wrong-version", "release-wrong-version"]


def test_dependencies_compared_between_wheels_only(tmp_path: Path) -> None:
    from fixtures.defective import metadata_text

    pyd = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ"}
    deps = metadata_text(extra="Requires-Dist: numpy>=2\n")
    wheels = [
        WheelSpec(tags=f"cp312-cp312-{p}", files=pyd, metadata=deps) for p in ("win_amd64", "win_arm64")
    ]
    sdist = SdistSpec(pkg_info=metadata_text(extra="Dynamic: Requires-Dist\n", metadata_version="2.2"))
    report = verify_paths([*(w.build(tmp_path) for w in wheels), sdist.build(tmp_path)], jobs=1)
    assert [p.code for p in report.problems] == []
    odd = WheelSpec(
        tags="cp313-cp313-win_amd64", files=pyd, metadata=metadata_text(extra="Requires-Dist: numpy>=1\n")
    )
    report = verify_paths(
        [*(w.build(tmp_path) for w in wheels), odd.build(tmp_path)], jobs=1, check_completeness=False
    )
    assert [(p.code, p.file) for p in report.problems] == [
        ("metadata-inconsistent", odd.build(tmp_path / "x").name)
    ]


def test_huge_file_is_hashed_not_loaded(tmp_path: Path) -> None:
    """A file far over the limit (here a sparse 1.1 GiB one) is hashed in chunks and reported, not read whole."""
    from shipwheel.verify._archive import Limits
    from shipwheel.verify._file import check_file

    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with path.open("wb") as fh:
        fh.truncate(1100 * 1024 * 1024)
    result = check_file(str(path), Limits(max_file_size=100 * 1024 * 1024))
    assert [p.code for p in result.problems] == ["file-too-large"]
    assert result.size == 1100 * 1024 * 1024 and len(result.sha256) == 64 and result.kind == "wheel"
