"""verify against hostile and broken input: links out of an sdist, missing audits, unreadable files."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from fixtures.defective import ElfKit, SdistSpec, WheelSpec
from shipwheel.verify import verify_paths


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _file(name: str, data: bytes = b"x\n") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _data_filter_refuses(sdist: Path, dest: Path) -> bool:
    """What Python's tarfile ``data`` filter (the extraction pip and build use) says about the same archive."""
    dest.mkdir()
    try:
        with tarfile.open(sdist) as tf:
            tf.extractall(dest, filter="data")
    except tarfile.FilterError:
        return True
    return False


def test_sdist_links_that_chain_out_of_the_archive_are_refused(tmp_path: Path) -> None:
    extra = [
        _link("demo-1.0/l1", ".."),
        _link("demo-1.0/l2", "l1/.."),  # l1/.. is the parent of the extraction folder, not demo-1.0
        _file("demo-1.0/l2/pwned.txt", b"pwned\n"),
    ]
    sdist = SdistSpec(extra=extra).build(tmp_path / "dist")
    report = verify_paths([sdist])
    links = [p.message for p in report.errors if p.code == "archive-link"]
    assert any("'demo-1.0/l2' links outside" in m for m in links), links
    assert any("'demo-1.0/l2/pwned.txt' is written outside" in m for m in links), links
    assert not report.ok(strict=False)
    # tarfile's data filter refuses it too (it allows l1 -> .., the extraction folder itself, which verify does
    # not: nothing of an sdist belongs outside its top folder).
    assert _data_filter_refuses(sdist, tmp_path / "out")
    assert not (tmp_path / "pwned.txt").exists()


@pytest.mark.parametrize(
    "extra",
    [
        [_link("demo-1.0/a", "."), _link("demo-1.0/b", "a/a/a/../.."), _file("demo-1.0/b/x.txt")],
        [_link("demo-1.0/sub", "demo"), _link("demo-1.0/sub2", "sub/../.."), _file("demo-1.0/sub2/x")],
        [_link("demo-1.0/h", "demo-1.0/../../etc/passwd", tarfile.LNKTYPE)],
        [_link("demo-1.0/loop1", "loop2"), _link("demo-1.0/loop2", "loop1"), _file("demo-1.0/loop1/x")],
    ],
    ids=["dot-chain", "folder-then-up", "hardlink-up", "loop"],
)
def test_other_link_escapes(extra: list[tuple[tarfile.TarInfo, bytes | None]], tmp_path: Path) -> None:
    sdist = SdistSpec(extra=extra).build(tmp_path / "dist")
    report = verify_paths([sdist])
    assert "archive-link" in {p.code for p in report.errors}, [p.message for p in report.problems]


def test_links_inside_the_top_folder_are_fine(tmp_path: Path) -> None:
    extra = [
        _file("demo-1.0/README.md", b"# demo\n"),
        _link("demo-1.0/docs/README.md", "../README.md"),
        _link("demo-1.0/here", "."),
        _link("demo-1.0/src", "demo"),
        _file("demo-1.0/src/extra.py"),  # written into demo-1.0/demo through the link: still inside
        _link("demo-1.0/same", "demo-1.0/README.md", tarfile.LNKTYPE),
    ]
    sdist = SdistSpec(extra=extra).build(tmp_path / "dist")
    report = verify_paths([sdist])
    assert "archive-link" not in {p.code for p in report.problems}, [p.message for p in report.problems]
    assert not _data_filter_refuses(sdist, tmp_path / "out")


def test_a_very_deep_path_is_no_recursion_error(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 10_000)
    sdist = SdistSpec(extra=[_link(f"demo-1.0/{deep}/up", "../" * 10_001), _file(f"demo-1.0/{deep}/x")])
    report = verify_paths([sdist.build(tmp_path / "dist")])
    # refused for its depth before its link is followed
    assert {"archive-path-too-deep"} <= {p.code for p in report.errors}


def test_auditwheel_is_a_dependency_on_every_platform() -> None:
    import tomllib
    from packaging.requirements import Requirement

    deps = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    auditwheel = [Requirement(d) for d in deps if Requirement(d).name == "auditwheel"]
    assert auditwheel and auditwheel[0].marker is None


def test_a_missing_policy_is_a_visible_warning(
    elf_kit: ElfKit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from shipwheel.verify import _elf

    wheel = WheelSpec(
        tags="cp312-cp312-manylinux_2_17_x86_64",
        files={"demo/__init__.py": b"", "demo/_ext.cpython-312-x86_64-linux-gnu.so": elf_kit.plain},
    ).build(tmp_path)
    assert "elf-audit-skipped" not in {p.code for p in verify_paths([wheel], jobs=1).problems}
    monkeypatch.setitem(sys.modules, "auditwheel", None)  # as if auditwheel were not installed
    _elf.load_policies.cache_clear()
    try:
        report = verify_paths([wheel], jobs=1)
    finally:
        _elf.load_policies.cache_clear()
    skipped = [p for p in report.warnings if p.code == "elf-audit-skipped"]
    assert skipped and "not audited" in skipped[0].message
    assert not report.ok(strict=True)


def _as_nobody() -> list[str]:
    """A command prefix that runs as an unprivileged user (tests run as root, who reads every file)."""
    import os
    import shutil

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a check as another user")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _open_folder() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="shipwheel-verify-"))  # not under pytest's root-only tmp folder
    folder.chmod(0o755)
    return folder


def test_an_unreadable_release_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    from shipwheel.verify._archive import Limits
    from shipwheel.verify._file import check_file

    folder = _open_folder()
    try:
        wheel = WheelSpec().build(folder)
        SdistSpec().build(folder).chmod(0)
        proc = subprocess.run(
            [*_as_nobody(), sys.executable, "-m", "shipwheel", "verify", str(folder), "--json"],
            capture_output=True, text=True, timeout=300, cwd=folder,
        )  # fmt: skip
        assert "Traceback" not in proc.stderr and proc.returncode == 1, proc.stderr
        assert "file-unreadable" in proc.stdout and "Permission denied" in proc.stdout
        assert wheel.name in proc.stdout
    finally:
        shutil.rmtree(folder)
    # A folder named like a wheel, handed to the file check directly (a race, or a caller's list).
    odd = tmp_path / "demo-1.0-py3-none-any.whl"
    odd.mkdir()
    assert [p.code for p in check_file(str(odd), Limits()).problems] == ["file-unreadable"]


@pytest.mark.parametrize("where", ["parent-is-a-file", "read-only-folder"])
def test_html_report_that_cannot_be_written_is_one_line(where: str, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    folder = _open_folder()
    try:
        WheelSpec().build(folder)
        prefix: list[str] = []
        if where == "parent-is-a-file":
            (folder / "taken").write_text("")
            target = folder / "taken" / "report.html"
        else:
            prefix = _as_nobody()
            (folder / "ro").mkdir(mode=0o755)  # owned by root: nobody cannot write there
            target = folder / "ro" / "report.html"
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "shipwheel", "verify", str(folder), "--html", str(target)],
            capture_output=True, text=True, timeout=300, cwd=folder,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert (
            proc.stderr.startswith("error: cannot write the --html report") and "Traceback" not in proc.stderr
        )
        assert len(proc.stderr.strip().splitlines()) == 1 and "; give a file" in proc.stderr
        assert proc.stdout == ""  # refused before any work
    finally:
        shutil.rmtree(folder)


def test_hostile_sdist_bomb_is_caught_before_it_is_read(tmp_path: Path) -> None:
    """A tar.gz compresses as one stream: 64 MiB of zeros in a 70 kB sdist was "ready to publish"."""
    zeros = tarfile.TarInfo("demo-1.0/bomb.bin")
    zeros.size = 64 << 20
    report = verify_paths([SdistSpec(extra=[(zeros, b"\0" * zeros.size)]).build(tmp_path)], jobs=1)
    ratio = [p.message for p in report.errors if p.code == "archive-compression-ratio"]
    assert ratio and "bomb.bin" in ratio[0]


@pytest.mark.parametrize(
    "text",
    [
        b"[console_scripts\ndemo = demo:main\n",
        b"[console_scripts]\ndemo = \xff\n",
        b"[console_scripts]\ndemo = demo\n",
    ],
    ids=["section", "encoding", "no-function"],
)
def test_hostile_entry_points_that_installers_refuse(text: bytes, tmp_path: Path) -> None:
    wheel = WheelSpec(files={"demo/__init__.py": b"", "demo-1.0.dist-info/entry_points.txt": text}).build(
        tmp_path
    )
    assert "entry-points-invalid" in {p.code for p in verify_paths([wheel], jobs=1).errors}


def test_hostile_valid_entry_points_pass(tmp_path: Path) -> None:
    text = b"[console_scripts]\nDemo-Tool = demo.cli:main [extra]\n\n[demo.plugins]\nx = demo\n"
    wheel = WheelSpec(files={"demo/__init__.py": b"", "demo-1.0.dist-info/entry_points.txt": text}).build(
        tmp_path
    )
    assert verify_paths([wheel], jobs=1).problems == []


def test_hostile_wheel_file_not_utf8_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    """Found by mutating msgpack 1.1.0's wheel: a WHEEL value with a non-UTF-8 byte raised AttributeError."""
    wheel_file = b"Wheel-Version: \xd2.0\nRoot-Is-Purelib: true\nTag: py3-none-any\nTag: cp31\xcb-none-any\n"
    wheel = WheelSpec(late={"demo-1.0.dist-info/WHEEL": wheel_file}).build(tmp_path)
    messages = [p.message for p in verify_paths([wheel], jobs=1).errors if p.code == "wheel-file-invalid"]
    assert any("not UTF-8" in m for m in messages) and any("Wheel-Version" in m for m in messages)


def test_hostile_record_that_is_not_csv_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    """Found by mutating a real wheel's RECORD: a bare CR inside a field raised csv.Error."""
    record = b"demo/__init__.py,sha256=x\rmore,1\ndemo-1.0.dist-info/RECORD,,\n"
    wheel = WheelSpec(late={"demo-1.0.dist-info/RECORD": record}).build(tmp_path)
    messages = [p.message for p in verify_paths([wheel], jobs=1).errors if p.code == "record-invalid"]
    assert any("not valid CSV" in m for m in messages), messages


def test_hostile_control_characters_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    sdist = SdistSpec().build(tmp_path)
    hostile = sdist.with_name("demo-1.0\x1b]0;pwned\x07\x1b[2J\u202e.tar.gz")
    sdist.rename(hostile)
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "verify", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    shown = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "name-invalid" in shown, shown
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J" in shown
