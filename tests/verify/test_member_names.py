"""One rule set of member names for both archive kinds: what an sdist is refused for, a wheel is refused for."""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import pytest

from fixtures.defective import SdistSpec, WheelSpec, zip_info
from shipwheel.verify import verify_paths

DEEP = "/".join(["d"] * 3000)

#: A hostile member name (inside the package folder) and the code both archive kinds must give it.
NAMES = {
    "escape": ("demo/evil\x1b]0;pwned\x07.py", "archive-control-character"),
    "newline": ("demo/a\nb.py", "archive-control-character"),
    "bidi": ("demo/evil\u202eyp.py", "archive-control-character"),
    "deep": (f"demo/{DEEP}/x.py", "archive-path-too-deep"),
    "long-component": ("demo/" + "a" * 300 + ".py", "archive-path-too-deep"),
    "long-path": ("demo/" + "/".join(["a" * 200] * 25) + "/x.py", "archive-path-too-deep"),
    "traversal": ("demo/../../evil.py", "archive-path-traversal"),
    "absolute": ("/etc/evil.py", "archive-absolute-path"),
    "backslash": ("demo\\evil.py", "archive-backslash"),
}


def _tar_file(name: str, data: bytes = b"x\n") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _wheel(tmp: Path, name: str) -> Path:
    return WheelSpec(raw=[(zip_info(name), b"x\n")]).build(tmp / "wheel")


def _sdist(tmp: Path, name: str) -> Path:
    inside = name if name.startswith("/") else f"demo-1.0/{name}"
    return SdistSpec(extra=[_tar_file(inside)]).build(tmp / "sdist")


@pytest.mark.parametrize("case", sorted(NAMES))
@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_hostile_member_name_is_an_error_in_wheels_and_sdists_alike(
    case: str, kind: str, tmp_path: Path
) -> None:
    name, code = NAMES[case]
    path = (_wheel if kind == "wheel" else _sdist)(tmp_path, name)
    report = verify_paths([path], jobs=1, check_completeness=False)
    found = [p for p in report.errors if p.code == code]
    assert found, [(p.code, p.message[:100]) for p in report.problems]
    assert not report.ok()
    # A name thousands of characters long is cut in the message, never printed whole.
    assert all(len(p.message) < 400 for p in report.problems)


def test_member_names_real_releases_carry_pass(tmp_path: Path) -> None:
    """Deep, long and non-ASCII names that real wheels have are no problem (no false alarm from the new rules)."""
    names = [
        "demo/share/jupyter/labextensions/@scope/ext/static/vendors-node_modules_a_b_c_d_e_f_js.f00.js",
        "demo/données/日本語.txt",
        "demo/" + "/".join(["level"] * 40) + "/x.py",
    ]
    wheel = WheelSpec(files={"demo/__init__.py": b"", **{n: b"x" for n in names}}).build(tmp_path)
    report = verify_paths([wheel], jobs=1, check_completeness=False)
    assert not report.errors, [(p.code, p.message) for p in report.errors]


def test_sdist_member_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    sdist = SdistSpec(extra=[_tar_file("demo-1.0/demo/caf\udce9.py")]).build(tmp_path)  # b"caf\xe9": Latin-1
    report = verify_paths([sdist], jobs=1, check_completeness=False)
    assert "archive-name-encoding" in {p.code for p in report.errors}


def test_wheel_fifo_member_is_refused_as_in_an_sdist(tmp_path: Path) -> None:
    fifo = zip_info("demo/pipe", mode=stat.S_IFIFO | 0o644)
    fifo.create_system = 3
    wheel = WheelSpec(raw=[(fifo, b"")]).build(tmp_path)
    report = verify_paths([wheel], jobs=1, check_completeness=False)
    assert "archive-special-file" in {p.code for p in report.errors}
