"""One defect per release file, each found with its exact problem code (and valid files give no problem)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures.defective import ElfKit, SdistSpec, WheelSpec, fat_macho, macho, metadata_text, pe, zip_info
from shipwheel.config import load_config
from shipwheel.verify import Severity, verify_paths

Build = Callable[[Path], tuple[list[Path], dict[str, Any]]]

LINUX = "cp312-cp312-manylinux_2_17_x86_64"


def _one(spec: WheelSpec | SdistSpec, **kwargs: Any) -> Build:
    def build(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
        return [spec.build(tmp)], kwargs

    return build


def _many(*specs: WheelSpec | SdistSpec, **kwargs: Any) -> Build:
    def build(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
        return [s.build(tmp) for s in specs], kwargs

    return build


def _twice(spec: WheelSpec | SdistSpec) -> Build:
    """The same file in two folders."""

    def build(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
        return [spec.build(tmp / "a"), spec.build(tmp / "b")], {}

    return build


def _with_config(spec: WheelSpec | SdistSpec, toml: str) -> Build:
    def build(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
        (tmp / "proj").mkdir()
        (tmp / "proj" / "pyproject.toml").write_text(toml)
        return [spec.build(tmp / "dist")], {"config": load_config(tmp / "proj")}

    return build


def _raw(name: str, data: bytes) -> Build:
    def build(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
        (tmp / name).write_bytes(data)
        return [tmp / name], {}

    return build


def _crc(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
    path = WheelSpec(raw=[(_stored("demo/data.txt"), b"A" * 64)]).build(tmp)
    blob = bytearray(path.read_bytes())
    at = blob.find(b"A" * 64)
    blob[at + 10] = ord("B")
    path.write_bytes(bytes(blob))
    return [path], {}


def _stored(name: str) -> zipfile.ZipInfo:
    info = zip_info(name)
    info.compress_type = zipfile.ZIP_STORED
    return info


def _encrypted(tmp: Path) -> tuple[list[Path], dict[str, Any]]:
    """zipfile cannot write encrypted members: set the flag in the central directory entry by hand."""
    path = WheelSpec(late={"demo/secret.py": b"x = 1\n"}).build(tmp)
    blob = bytearray(path.read_bytes())
    at = blob.find(b"PK\x01\x02", blob.find(b"PK\x01\x02"))
    while at != -1:
        name_len = int.from_bytes(blob[at + 28 : at + 30], "little")
        if blob[at + 46 : at + 46 + name_len] == b"demo/secret.py":
            blob[at + 8] |= 0x1
        at = blob.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(blob))
    return [path], {}


def _fifo() -> tarfile.TarInfo:
    info = tarfile.TarInfo("demo-1.0/pipe")
    info.type = tarfile.FIFOTYPE
    return info


def _drop_hash(path: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        for row in rows:
            if row[0] == path:
                row[1] = ""

    return edit


def _set(path: str, column: int, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        for row in rows:
            if row[0] == path:
                row[column] = value

    return edit


def _pyproject(platforms: str) -> str:
    return (
        '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.12"\n\n'
        f"[tool.shipwheel]\nplatforms = [{platforms}]\n"
    )


def _bad_rst() -> str:
    return metadata_text(
        readme="Title\n=====\n\n.. no-such-directive::\n\n   body\n", content_type="text/x-rst"
    )


PURE = {"demo/__init__.py": b"VALUE = 1\n"}

#: code -> how to make one file (or release) that has that defect and no other error.
DEFECTS: dict[str, Build] = {
    "name-invalid": _raw("demo-1.0.whl", b"PK\x05\x06" + b"\0" * 18),
    "name-not-normalized": _one(WheelSpec(filename="Demo-1.0-py3-none-any.whl")),
    "version-not-normalized": _one(WheelSpec(filename="demo-1.00-py3-none-any.whl")),
    "version-local": _one(WheelSpec(version="1.0+local")),
    "sdist-name-pep625": _one(SdistSpec(filename="Demo-1.0.tar.gz")),
    "sdist-zip": _raw("demo-1.0.zip", b"PK\x05\x06" + b"\0" * 18),
    "release-multiple-projects": _many(
        WheelSpec(), WheelSpec(name="other", files={"other/__init__.py": b""})
    ),
    "release-multiple-versions": _many(WheelSpec(), WheelSpec(version="1.1")),
    "release-wrong-project": _one(WheelSpec(), project="other"),
    "release-wrong-version": _one(WheelSpec(), version="2.0"),
    "release-duplicate-file": _twice(WheelSpec()),
    "elf-invalid": _one(
        WheelSpec(tags=LINUX, files={**PURE, "demo/_x.so": b"\x7fELF\x02\x01\x01" + b"\xff" * 20})
    ),
    "release-multiple-sdists": _many(SdistSpec(), SdistSpec(filename="demo-1.0.zip")),
    "file-empty": _raw("demo-1.0-py3-none-any.whl", b""),
    "archive-invalid": _raw("demo-1.0-py3-none-any.whl", b"this is not a zip file at all"),
    "archive-crc": _crc,
    "archive-absolute-path": _one(WheelSpec(raw=[(zip_info("/etc/evil.py"), b"x")])),
    "archive-path-traversal": _one(WheelSpec(raw=[(zip_info("../evil.py"), b"x")])),
    "archive-backslash": _one(WheelSpec(raw=[(zip_info("demo\\evil.py"), b"x")])),
    "archive-link": _one(WheelSpec(raw=[(zip_info("demo/link", mode=stat.S_IFLNK | 0o777), b"/etc/passwd")])),
    "archive-duplicate": _one(WheelSpec(raw=[(zip_info("demo/__init__.py"), b"VALUE = 2\n")])),
    "archive-compression-ratio": _one(WheelSpec(raw=[(zip_info("demo/zeros.bin"), b"\0" * (32 << 20))])),
    "archive-encrypted": _encrypted,
    "archive-special-file": _one(SdistSpec(extra=[(_fifo(), None)])),
    "dist-info-missing": _one(WheelSpec(dist_info="demo-1.0.info")),
    "dist-info-multiple": _one(WheelSpec(raw=[(zip_info("other-1.0.dist-info/METADATA"), b"")])),
    "dist-info-mismatch": _one(WheelSpec(dist_info="other-1.0.dist-info")),
    "record-missing": _one(WheelSpec(record=False)),
    "record-invalid": _one(WheelSpec(record_edit=lambda rows: rows.append(["demo/x.py", "sha256=abc"]))),
    "record-hash-mismatch": _one(WheelSpec(record_edit=_set("demo/__init__.py", 1, "sha256=" + "A" * 43))),
    "record-size-mismatch": _one(WheelSpec(record_edit=_set("demo/__init__.py", 2, "999"))),
    "record-weak-hash": _one(
        WheelSpec(record_edit=_set("demo/__init__.py", 1, "md5=1B2M2Y8AsgTpgAmY7PhCfg"))
    ),
    "record-no-hash": _one(WheelSpec(record_edit=_drop_hash("demo/__init__.py"))),
    "record-unlisted": _one(WheelSpec(late={"demo/backdoor.py": b"import os\n"})),
    "record-missing-file": _one(
        WheelSpec(record_edit=lambda rows: rows.append(["demo/gone.py", "sha256=x", "1"]))
    ),
    "wheel-file-missing": _one(WheelSpec(wheel="")),
    "wheel-file-invalid": _one(
        WheelSpec(wheel="Wheel-Version: 2.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    ),
    "wheel-tags-mismatch": _one(
        WheelSpec(wheel="Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py2-none-any\n")
    ),
    "wheel-build-mismatch": _one(
        WheelSpec(build_tag="1", wheel="Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    ),
    "wheel-data-unknown": _one(WheelSpec(files={**PURE, "demo-1.0.data/elsewhere/x.txt": b"x"})),
    "metadata-missing": _one(WheelSpec(metadata="")),
    "metadata-invalid": _one(WheelSpec(metadata=metadata_text(extra="Requires-Dist: numpy >=>= 2\n"))),
    "metadata-license-file": _one(WheelSpec(metadata=metadata_text(extra="License-File: LICENSE\n"))),
    "metadata-name-mismatch": _one(WheelSpec(metadata=metadata_text(name="other"))),
    "metadata-version-mismatch": _one(WheelSpec(metadata=metadata_text(version="1.1"))),
    "readme-invalid": _one(WheelSpec(metadata=_bad_rst())),
    "readme-missing": _one(WheelSpec(metadata=metadata_text(readme=None, content_type=None))),
    "readme-content-type-missing": _one(
        WheelSpec(metadata=metadata_text(content_type=None, readme="Title\n=====\n"))
    ),
    "metadata-inconsistent": _many(
        WheelSpec(),
        WheelSpec(
            tags="py3-none-win_amd64",
            files={**PURE, "demo/x.pyd": b"MZ"},
            metadata=metadata_text(requires_python=">=3.8"),
        ),
        SdistSpec(),
    ),
    "platform-tag-unsupported": _one(
        WheelSpec(tags="py3-none-linux_x86_64", files={**PURE, "demo/x.so": b"\0"})
    ),
    "wheel-no-binary": _one(WheelSpec(tags="py3-none-win_amd64")),
    "wheel-binary-in-pure": _one(WheelSpec(files={**PURE, "demo/_x.pyd": b"MZ\0\0"})),
    "macho-min-version": _one(
        WheelSpec(
            tags="cp312-cp312-macosx_10_9_x86_64", files={**PURE, "demo/_x.so": macho("x86_64", (11, 0))}
        )
    ),
    "macho-external-library": _one(
        WheelSpec(
            tags="cp312-cp312-macosx_11_0_arm64",
            files={**PURE, "demo/_x.so": macho("arm64", (11, 0), ("/opt/homebrew/lib/libomp.dylib",))},
        )
    ),
    "macho-arch-mismatch": _one(
        WheelSpec(tags="cp312-cp312-macosx_10_9_universal2", files={**PURE, "demo/_x.so": macho("x86_64")})
    ),
    "binary-invalid": _one(
        WheelSpec(tags="cp312-cp312-macosx_11_0_arm64", files={**PURE, "demo/_x.so": macho("arm64")[:40]})
    ),
    "pe-arch-mismatch": _one(
        WheelSpec(tags="cp312-cp312-win_amd64", files={**PURE, "demo/_x.pyd": pe(0xAA64)})
    ),
    "sdist-top-dir": _one(SdistSpec(extra=[(tarfile.TarInfo("stray.txt"), b"")])),
    "sdist-pkg-info-missing": _one(SdistSpec(pkg_info="")),
    "sdist-pyproject-missing": _one(SdistSpec(pyproject=None)),
    "sdist-pyproject-invalid": _one(SdistSpec(pyproject="[build-system\n")),
    "matrix-missing": _with_config(
        WheelSpec(tags="cp312-cp312-win_amd64", files={**PURE, "demo/_x.pyd": b"MZ"}),
        _pyproject('"win_amd64"'),
    ),
    "matrix-unexpected": _with_config(
        WheelSpec(tags="cp312-abi3-win_arm64", files={**PURE, "demo/_x.pyd": b"MZ"}),
        _pyproject('"win_amd64"'),
    ),
    "matrix-duplicate": _many(
        WheelSpec(tags="cp312-cp312-win_amd64", files={**PURE, "demo/_x.pyd": b"MZ"}),
        WheelSpec(tags="cp312-cp312-win_amd64", build_tag="1", files={**PURE, "demo/_x.pyd": b"MZ"}),
    ),
}


def _elf_defects(kit: ElfKit) -> dict[str, Build]:
    def so(data: bytes, name: str = "demo/_ext.cpython-312-x86_64-linux-gnu.so") -> dict[str, bytes]:
        return {**PURE, name: data}

    return {
        "wheel-purelib-mismatch": _one(WheelSpec(tags=LINUX, purelib=True, files=so(kit.plain))),
        "elf-arch-mismatch": _one(WheelSpec(tags="cp312-cp312-manylinux_2_17_aarch64", files=so(kit.plain))),
        "elf-libc-mismatch": _one(WheelSpec(tags="cp312-cp312-musllinux_1_2_x86_64", files=so(kit.plain))),
        "elf-external-library": _one(WheelSpec(tags=LINUX, files=so(kit.external))),
        "elf-tag-unsatisfied": _one(WheelSpec(tags=LINUX, files=so(kit.new_glibc))),
        "abi3-violation": _one(WheelSpec(tags="cp312-abi3-manylinux_2_17_x86_64", files=so(kit.not_abi3))),
        "abi3-too-new": _one(WheelSpec(tags="cp312-abi3-manylinux_2_17_x86_64", files=so(kit.abi3_new))),
        "elf-isa-extension": _one(WheelSpec(tags=LINUX, files=so(kit.isa_v3))),
        "elf-blacklisted-symbol": _one(WheelSpec(tags=LINUX, files=so(kit.blacklisted))),
    }


def _codes(build: Build, tmp: Path) -> tuple[set[str], list[str]]:
    paths, kwargs = build(tmp)
    report = verify_paths(paths, jobs=1, **kwargs)
    errors = [f"{p.code}: {p.message}" for p in report.errors]
    return {p.code for p in report.problems}, errors


@pytest.mark.parametrize("code", sorted(DEFECTS))
def test_defect_is_found(code: str, tmp_path: Path) -> None:
    codes, errors = _codes(DEFECTS[code], tmp_path)
    assert code in codes, errors
    # The defect is the only reason for errors (except its own consequences, which share its prefix).
    from shipwheel.verify import CODES

    if CODES[code][0] is Severity.ERROR:
        assert errors, codes


ELF_CODES = [
    "wheel-purelib-mismatch",
    "elf-arch-mismatch",
    "elf-libc-mismatch",
    "elf-external-library",
    "elf-tag-unsatisfied",
    "abi3-violation",
    "abi3-too-new",
    "elf-isa-extension",
    "elf-blacklisted-symbol",
]


@pytest.mark.parametrize("code", ELF_CODES)
def test_elf_defect_is_found(code: str, elf_kit: ElfKit, tmp_path: Path) -> None:
    codes, errors = _codes(_elf_defects(elf_kit)[code], tmp_path)
    assert code in codes, errors


def test_at_least_thirty_kinds() -> None:
    assert len(DEFECTS) + len(ELF_CODES) >= 30


def test_valid_files_have_no_problem(tmp_path: Path) -> None:
    paths = [WheelSpec().build(tmp_path), SdistSpec().build(tmp_path)]
    report = verify_paths(paths, jobs=1)
    assert report.problems == []
    assert report.ok(strict=True)
    assert report.project == "demo" and report.version == "1.0"
    assert report.completeness.status == "checked" and report.completeness.source == "pure"  # pure: complete


def test_valid_compiled_wheels(elf_kit: ElfKit, tmp_path: Path) -> None:
    """Real ELF: an old-glibc extension passes as manylinux_2_17; one needing GLIBC_2.27 passes as 2_28; a bundled
    library is not external; an abi3 module inside the stable ABI passes."""
    so = "demo/_ext.cpython-312-x86_64-linux-gnu.so"
    specs = [
        WheelSpec(tags=LINUX, files={**PURE, so: elf_kit.plain}),
        WheelSpec(tags="cp313-cp313-manylinux_2_28_x86_64", files={**PURE, so: elf_kit.new_glibc}),
        WheelSpec(
            tags="cp311-cp311-manylinux_2_17_x86_64",
            files={
                **PURE,
                so: elf_kit.external_rpath,
                "demo.libs/libfoo.so.1": elf_kit.libfoo,
                "demo-1.0.dist-info/licenses/LICENSE.libfoo.txt": b"libfoo: MIT\n",  # a grafted library's terms
            },
        ),
        WheelSpec(
            tags="cp314-abi3-manylinux_2_17_x86_64", files={**PURE, "demo/_a.abi3.so": elf_kit.abi3_new}
        ),
    ]
    report = verify_paths([s.build(tmp_path) for s in specs], jobs=2)
    assert [f"{p.code}: {p.message}" for p in report.problems] == []
    derived = {f.filename: f.derived_platform for f in report.files}
    assert derived["demo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl"] == "manylinux_2_27_x86_64"
    assert derived["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"] is not None


def test_every_metadata_problem_at_once(tmp_path: Path) -> None:
    meta = metadata_text(extra="Requires-Dist: numpy >=>= 2\nProject-URL: nocomma\nDynamic: Name\n")
    report = verify_paths([WheelSpec(metadata=meta).build(tmp_path)], jobs=1)
    assert sum(p.code == "metadata-invalid" for p in report.problems) >= 2


def test_file_too_large_and_archive_limits(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.shipwheel.verify]\nmax-file-size = 200\nmax-uncompressed-size = 100\n'
    )
    config = load_config(tmp_path / "proj")
    report = verify_paths([WheelSpec().build(tmp_path / "dist")], config=config, jobs=1)
    assert {"file-too-large", "archive-too-large"} <= {p.code for p in report.problems}


def test_ignore_codes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.shipwheel.verify]\nignore = ["version-local"]\n')
    report = verify_paths(
        [WheelSpec(version="1.0+x").build(tmp_path / "d")], config=load_config(tmp_path), jobs=1
    )
    assert report.problems == [] and report.ignored == ("version-local",)


SAMPLE = [
    "record-hash-mismatch",
    "archive-path-traversal",
    "archive-invalid",
    "metadata-invalid",
    "sdist-top-dir",
    "name-invalid",
]


@pytest.mark.parametrize("code", SAMPLE)
def test_console_script_reports_code_without_traceback(code: str, tmp_path: Path) -> None:
    paths, _ = DEFECTS[code](tmp_path)
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", "--json", "-j", "1", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert code in {p["code"] for p in data["problems"]}


def test_bundled_library_needs_an_rpath(elf_kit: ElfKit, tmp_path: Path) -> None:
    """A library in the wheel that the extension cannot find (no $ORIGIN RUNPATH) is external, as for the loader."""
    files = {**PURE, "demo/_ext.so": elf_kit.external, "demo.libs/libfoo.so.1": elf_kit.libfoo}
    report = verify_paths([WheelSpec(tags=LINUX, files=files).build(tmp_path)], jobs=1)
    assert "elf-external-library" in {p.code for p in report.problems}
    assert report.files[0].derived_platform == "linux_x86_64"


def test_valid_macos_and_windows_binaries(tmp_path: Path) -> None:
    """A universal2 wheel tagged 10.9 whose arm64 slice needs 11.0 is fine (arm64 Macs start at 11); macOS 11+ tags
    match on the major version; system libraries and bundled ones (@loader_path); PE machines that match their tags."""
    universal = fat_macho(macho("x86_64", (10, 9)), macho("arm64", (11, 0)))
    specs = [
        WheelSpec(tags="cp312-cp312-macosx_10_9_universal2", files={**PURE, "demo/_x.so": universal}),
        WheelSpec(
            tags="cp312-cp312-macosx_11_0_arm64", files={**PURE, "demo/_x.so": macho("arm64", (11, 3))}
        ),
        WheelSpec(
            tags="cp313-cp313-macosx_11_0_arm64",
            files={
                **PURE,
                "demo/_x.so": macho(
                    "arm64", (11, 0), ("/usr/lib/libSystem.B.dylib", "@loader_path/.dylibs/libomp.dylib")
                ),
                "demo/.dylibs/libomp.dylib": macho("arm64", (11, 0)),
                "demo-1.0.dist-info/licenses/LICENSE.openmp.txt": b"LLVM OpenMP: Apache-2.0 WITH LLVM-exception\n",
            },
        ),
        WheelSpec(tags="cp312-cp312-win_amd64", files={**PURE, "demo/_x.pyd": pe(0x8664)}),
        WheelSpec(tags="cp312-cp312-win32", files={**PURE, "demo/_x.pyd": pe(0x14C)}),
        WheelSpec(tags="cp312-cp312-win_arm64", files={**PURE, "demo/_x.pyd": pe(0xAA64)}),
    ]
    report = verify_paths([s.build(tmp_path) for s in specs], jobs=1, check_completeness=False)
    assert [f"{p.code}: {p.message}" for p in report.problems] == []


def test_pure_wheel_may_carry_launchers(tmp_path: Path) -> None:
    """pip and setuptools ship Windows launcher .exe files in their py3-none-any wheels: not compiled modules."""
    files = {**PURE, "demo/cli-64.exe": pe(0x8664), "demo/w32.exe": pe(0x14C)}
    report = verify_paths([WheelSpec(files=files).build(tmp_path)], jobs=1)
    assert [p.code for p in report.problems] == []


def test_macos_library_missing_from_the_wheel(tmp_path: Path) -> None:
    files = {**PURE, "demo/_x.so": macho("arm64", (11, 0), ("@loader_path/.dylibs/libomp.dylib",))}
    report = verify_paths(
        [WheelSpec(tags="cp312-cp312-macosx_11_0_arm64", files=files).build(tmp_path)], jobs=1
    )
    assert [p.code for p in report.problems] == ["macho-external-library"]
