"""What a wheel says about itself, on real wheels from PyPI: a module version that is not the release's, and a
grafted native library with no licence for it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fixtures.defective import WheelSpec, metadata_text
from fixtures.pypi_releases import pinned_release_files
from shipwheel.verify import verify_paths

PYWT = "pywavelets-1.9.0-cp313-cp313-win32.whl"
PYZMQ = "pyzmq-27.3.0-cp312-abi3-manylinux_2_26_x86_64.manylinux_2_28_x86_64.whl"


def _problems(path: Path, code: str) -> list[str]:
    report = verify_paths([path], jobs=1, check_completeness=False)
    return [p.message for p in report.problems if p.code == code]


def _without(wheel: Path, member_suffix: str, dest: Path) -> Path:
    """The same wheel without the member ending in ``member_suffix`` (and its RECORD row), as a build that lost
    it would be."""
    dest.mkdir()
    out = dest / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename.endswith(member_suffix):
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                rows = [
                    r for r in data.decode().splitlines(keepends=True) if member_suffix not in r.split(",")[0]
                ]
                data = "".join(rows).encode()
            dst.writestr(info, data)
    return out


@pytest.mark.slow
def test_pywavelets_wheel_that_reports_another_version_is_warned_about() -> None:
    [wheel] = pinned_release_files("pywavelets", "1.9.0", [PYWT])
    assert _problems(wheel, "module-version-mismatch") == [
        "pywt/version.py sets version = '1.8.0', but the release is 1.9.0"
    ]
    report = verify_paths([wheel], jobs=1, check_completeness=False)
    assert report.ok() and not report.ok(strict=True)  # a warning: the wheel installs


@pytest.mark.slow
def test_pyzmq_wheel_without_the_licence_of_its_grafted_libzmq_is_warned_about(tmp_path: Path) -> None:
    [wheel] = pinned_release_files("pyzmq", "27.3.0", [PYZMQ])
    assert _problems(wheel, "grafted-library-licence") == []  # the real wheel carries LICENSE.zeromq.txt
    stripped = _without(wheel, "licenses/LICENSE.zeromq.txt", tmp_path / "stripped")
    assert _problems(stripped, "grafted-library-licence") == [
        "pyzmq.libs/libzmq-2f02442c.so.5.2.5 is grafted into the wheel, but no licence file in it names 'zmq'"
    ]
    # libsodium's licence is still there: only libzmq is named.
    none = _without(stripped, "licenses/LICENSE.libsodium.txt", tmp_path / "none")
    assert len(_problems(none, "grafted-library-licence")) == 2


def test_version_strings_that_match_or_are_no_version_pass(tmp_path: Path) -> None:
    files = {
        "demo/__init__.py": b"from demo._version import __version__\n",
        "demo/_version.py": b"__version__ = version = '1.0'\n__version_tuple__ = (1, 0)\nshort_version = '1'\n",
        "other.py": b"VERSION = 'unknown'\n",
        "demo/sub/version.py": b"version = '9.9'\n",  # not a top-level package's version file
    }
    wheel = WheelSpec(files=files, metadata=metadata_text()).build(tmp_path)
    assert _problems(wheel, "module-version-mismatch") == []
    bad = WheelSpec(files={"demo/__init__.py": b"__version__: str = '0.9'\n"}).build(tmp_path / "bad")
    assert _problems(bad, "module-version-mismatch") == [
        "demo/__init__.py sets __version__ = '0.9', but the release is 1.0"
    ]


def test_compiler_runtimes_and_libraries_a_licensed_one_loads_need_no_licence_of_their_own(
    tmp_path: Path,
) -> None:
    libs = {
        "demo/__init__.py": b"",
        "demo/_x.pyd": b"MZ",
        "demo.libs/msvcp140-0123abcd.dll": b"MZ",
        "demo.libs/libgcc_s-0cd532bd.so.1": b"\0",
        "demo.libs/libwebpmux-8fb1c9f6.so.3.1.2": b"\0",
        "demo.libs/libz-1a2b3c4d.so.1.3": b"\0",
        "demo-1.0.dist-info/licenses/LICENSE": b"Bundled: libwebp (BSD) and zlib (Zlib licence)\n",
    }
    wheel = WheelSpec(tags="cp312-cp312-win_amd64", files=libs).build(tmp_path)
    assert _problems(wheel, "grafted-library-licence") == []
