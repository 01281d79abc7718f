"""``shipwheel check``: each preflight check passes on a good release and fails, with its code and fix, on a bad one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.index_servers import IndexServer, make_release, unique_project
from fixtures.release_repo import git, make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ConfigError, UsageError
from shipwheel.publish import PublishSettings, publish_files
from shipwheel.release import CHECKS, parse_registry, run_checks

DATA = Path(__file__).parents[1] / "data" / "release"
#: NumPy 2.1.3's numpy/_core/code_generators/cversions.txt, unchanged.
CVERSIONS = DATA / "numpy-2.1.3-cversions.txt"
NUMPY_0x13 = "2b8f1f4da822491ff030b2b37dff07e3"
FAST = ["--skip", "version-backend", "--skip", "sdist-complete"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_kahan_repo(tmp_path / "kahan")


def _configure(repo: Path, table: str, *, commit: bool = True) -> None:
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.shipwheel.release]\n" + table)
    if commit:
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "configure")


def _codes(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, dict[str, object]]]:
    capsys.readouterr()
    code = main_inner(argv)
    data = json.loads(capsys.readouterr().out)
    return code, {c["code"]: c for c in data["checks"]}


def test_check_codes_stable() -> None:
    assert list(CHECKS) == [
        "tree-clean", "branch", "version-files", "version-backend", "index-free", "notes-present",
        "fragments-left", "deprecations-expired", "api-registry", "docs-build", "sdist-complete", "pypi-headroom",
    ]  # fmt: skip


@pytest.mark.slow
def test_check_good_release_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole preflight on the example: the backend's version, the sdist against git, nothing failing."""
    code, checks = _codes(
        capsys, ["check", "1.0.0", "--json", "-r", f"file:{repo.parent / 'idx'}", "--config-dir", str(repo)]
    )
    assert code == 0
    assert {c: checks[c]["status"] for c in checks if checks[c]["status"] == "pass"}.keys() >= {
        "tree-clean", "version-files", "version-backend", "index-free", "deprecations-expired", "sdist-complete",
        "pypi-headroom",
    }  # fmt: skip
    assert checks["sdist-complete"]["message"].startswith("kahan-1.0.0.tar.gz")  # type: ignore[union-attr]
    # a tracked file the sdist leaves out (MANIFEST.in does not name it): the project's rules leave it out, which
    # is reported, not fatal
    (repo / "tools").mkdir()
    (repo / "tools" / "release.sh").write_text("echo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tools")
    argv = ["check", "1.0.0", "--json", "--skip", "index-free", "--config-dir", str(repo)]
    code, checks = _codes(capsys, argv)
    assert checks["sdist-complete"]["status"] == "pass"
    assert "1 tracked file(s) are left out by them" in checks["sdist-complete"]["message"]  # type: ignore[operator]
    assert checks["sdist-complete"]["details"] == ["tools/release.sh"]
    # a [tool.check-manifest] table asks for the strict check: then it fails, as check-manifest would
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.check-manifest]\n")
    git(repo, "commit", "-qam", "check-manifest")
    code, checks = _codes(capsys, argv)
    assert code == 1
    assert checks["sdist-complete"]["status"] == "fail"
    assert checks["sdist-complete"]["details"] == [
        "tools/release.sh ([tool.check-manifest]: the project asks for every tracked file)"
    ]


def test_check_each_failure_reported(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "doc" / "release").mkdir(parents=True)
    (repo / "doc" / "release" / "1.1.0-notes.rst").write_text("kahan 1.0.9 release notes\n")
    (repo / "changes").mkdir()
    (repo / "changes" / "12.bugfix.rst").write_text("Fixed a thing.\n")
    (repo / "changes" / "template.rst").write_text("{{ sections }}\n")
    (repo / "src" / "kahan" / "old.py").write_text(
        "# This function will be removed in 1.1 (deprecated in 0.9).\n"
        "@deprecated('use ksum', removal='1.0')\ndef old(): ...\n"
        "# will be removed in 2.0: not yet due\n"
    )
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.towncrier]\ndirectory = "changes"\n')
    _configure(
        repo,
        'branch = "maintenance/1.1.x"\nnotes-file = "doc/release/{version}-notes.rst"\n'
        'docs-command = "python -c \\"import sys; print(\'WARNING: toctree\'); sys.exit(1)\\""\n',
    )
    (repo / "stray.txt").write_text("x\n")
    code, checks = _codes(
        capsys, ["check", "1.1.0", "--json", *FAST, "-r", f"file:{repo / 'idx'}", "--config-dir", str(repo)]
    )
    assert code == 1
    status = {c: v["status"] for c, v in checks.items()}
    assert status == {
        "tree-clean": "fail", "branch": "fail", "version-files": "fail", "version-backend": "skipped",
        "index-free": "pass", "notes-present": "fail", "fragments-left": "fail", "deprecations-expired": "fail",
        "api-registry": "skipped", "docs-build": "fail", "sdist-complete": "skipped", "pypi-headroom": "skipped",
    }  # fmt: skip
    assert checks["tree-clean"]["details"] == ["stray.txt"]
    assert checks["branch"]["fix"] == "git switch maintenance/1.1.x"
    assert "pyproject.toml: 1.0.0 (expected 1.1.0)" in checks["version-files"]["details"]  # type: ignore[operator]
    assert checks["version-files"]["fix"] == "run: shipwheel version VERSION"
    assert checks["notes-present"]["message"] == "doc/release/1.1.0-notes.rst does not name 1.1.0"
    assert checks["fragments-left"]["details"] == ["changes/12.bugfix.rst"]
    assert checks["deprecations-expired"]["details"] == [
        "src/kahan/old.py:1: will be removed in 1.1 (due by 1.1)",
        "src/kahan/old.py:2: @deprecated('use ksum', removal='1.0' (due by 1.0)",
    ]
    assert "WARNING: toctree" in checks["docs-build"]["details"]  # type: ignore[operator]
    # the table form names every failing code and its fix
    capsys.readouterr()
    assert main_inner(["check", "1.1.0", *FAST, "-r", f"file:{repo / 'idx'}", "--config-dir", str(repo)]) == 1
    out = capsys.readouterr().out
    assert "fix: git switch maintenance/1.1.x" in out and "5 failed" not in out and "7 failed" in out


def test_check_version_already_on_index(
    repo: Path, pypiserver: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique_project("kahan")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('name = "kahan"', f'name = "{name}"'))
    git(repo, "commit", "-qam", "rename")
    files = make_release(tmp_path / "dist", name, "1.0.0", wheels=1)
    settings = PublishSettings(
        repository=pypiserver.upload_url,
        username=pypiserver.user,
        password=pypiserver.password,
        journal_dir=tmp_path / "journal",
    )
    publish_files(files, settings)
    code, checks = _codes(
        capsys, ["check", "1.0.0", "--json", *FAST, "-r", pypiserver.upload_url, "--config-dir", str(repo)]
    )
    assert code == 1 and checks["index-free"]["status"] == "fail"
    assert checks["index-free"]["details"] == sorted(f.name for f in files)
    _, checks = _codes(
        capsys, ["check", "1.0.1", "--json", *FAST, "-r", pypiserver.upload_url, "--config-dir", str(repo)]
    )
    assert checks["index-free"]["status"] == "pass"


def test_check_index_down_is_a_failure(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fixtures.processes import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    _, checks = _codes(capsys, ["check", "1.0.0", "--json", *FAST, "-r", url, "--config-dir", str(repo)])
    assert checks["index-free"]["status"] == "fail"
    assert checks["index-free"]["message"].startswith(f"cannot ask {url}")  # type: ignore[union-attr]


def test_check_api_registry_numpy_format(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """NumPy's own cversions.txt: the recorded hash passes; a changed hash without a new API version fails with
    the line to add, as NumPy's verify_c_api_version.py does."""
    registry = parse_registry(CVERSIONS.read_text())
    assert registry[0x13] == NUMPY_0x13 and registry[0x0D] == "5b0e8bbded00b166125974fc71e80a33"
    assert 0x09 in registry and registry[0x09] != "327bd114df09c2eb7a0bcc6901e2a3ed"  # the commented-out line
    (repo / "api").mkdir()
    shutil.copy(CVERSIONS, repo / "api" / "cversions.txt")
    (repo / "api" / "hash.txt").write_text(NUMPY_0x13 + "\n")
    _configure(
        repo,
        'api-command = "python -c \\"print(open(\'api/hash.txt\').read())\\""\n'
        'api-registry = "api/cversions.txt"\napi-version = "0x00000013"\n',
    )
    argv = ["check", "2.1.0", "--json", *FAST, "--skip", "index-free", "--config-dir", str(repo)]
    _, checks = _codes(capsys, argv)
    assert checks["api-registry"]["status"] == "pass"
    (repo / "api" / "hash.txt").write_text("0123456789abcdef0123456789abcdef\n")
    _, checks = _codes(capsys, argv)
    assert checks["api-registry"]["status"] == "fail"
    assert checks["api-registry"]["details"] == ["add: 0x00000014 = 0123456789abcdef0123456789abcdef"]
    assert "bump the API version to 0x00000014" in checks["api-registry"]["fix"]  # type: ignore[operator]
    # the new version declared and its line added: passes again
    with (repo / "api" / "cversions.txt").open("a") as fh:
        fh.write("# Version 20 (kahan 2.2.0)\n0x00000014 = 0123456789abcdef0123456789abcdef\n")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"0x00000013"', '"0x00000014"'))
    _, checks = _codes(capsys, argv)
    assert checks["api-registry"]["status"] == "pass"


def test_check_bad_input(repo: Path) -> None:
    with pytest.raises(UsageError, match="not a PEP 440 version"):
        run_checks(load_config(repo), "1.0.0-final")
    with pytest.raises(UsageError, match="unknown check"):
        run_checks(load_config(repo), "1.0.0", skip=["tree-dirty"])
    with pytest.raises(ConfigError, match="line 2"):
        parse_registry("# comment\n0x13 2b8f\n")


@pytest.mark.slow
def test_check_backend_version_setuptools_scm_fallback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setuptools-scm project whose clone has no tag: the backend's version is not the release's."""
    project = tmp_path / "scmdemo"
    (project / "scmdemo").mkdir(parents=True)
    (project / "scmdemo" / "__init__.py").write_text('"""demo"""\n')
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69", "setuptools-scm>=8"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "scmdemo"\ndynamic = ["version"]\n[tool.setuptools_scm]\n'
        '[tool.shipwheel.release]\nversion-files = ["scmdemo/__init__.py"]\n'
        'version-patterns = {"scmdemo/__init__.py" = "(?P<version>\\\\d+\\\\.\\\\d+\\\\.\\\\d+)"}\n'
    )
    (project / "scmdemo" / "__init__.py").write_text('"""demo 1.0.0"""\n')
    git(project, "init", "-q", "-b", "main")
    git(project, "-c", "user.name=a", "-c", "user.email=a@b.invalid", "add", "-A")
    git(project, "-c", "user.name=a", "-c", "user.email=a@b.invalid", "commit", "-qm", "init")
    argv = ["check", "1.0.0", "--json", "--skip", "index-free", "--config-dir", str(project)]
    code, checks = _codes(capsys, argv)
    assert code == 1
    assert checks["version-files"]["status"] == "pass"
    assert checks["version-backend"]["status"] == "fail"
    assert str(checks["version-backend"]["message"]).startswith("the build backend reports 0.1.dev1+g")
    git(project, "-c", "user.name=a", "-c", "user.email=a@b.invalid", "tag", "-a", "-m", "1.0.0", "v1.0.0")
    code, checks = _codes(capsys, argv)
    assert checks["version-backend"]["status"] == "pass", checks["version-backend"]


def test_check_project_quota(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The project's total on the index plus the new files, against its quota (the index says every size)."""
    index = tmp_path / "index"
    old = make_release(tmp_path / "old", "kahan", "0.9.0", wheels=2)
    publish_files(old, PublishSettings(repository=f"file:{index}", journal_dir=tmp_path / "journal"))
    make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=2)
    argv = [
        "check",
        "1.0.0",
        "--json",
        *FAST,
        "--skip",
        "tree-clean",
        "-r",
        f"file:{index}",
        "--config-dir",
        str(repo),
    ]
    _, checks = _codes(capsys, argv)
    assert checks["pypi-headroom"]["status"] == "pass"
    assert "of its 10 GiB quota" in str(checks["pypi-headroom"]["message"])
    held = sum(p.stat().st_size for p in old)
    monkeypatch.setenv("SHIPWHEEL_RELEASE_PROJECT_QUOTA", str(held + 10))
    _, checks = _codes(capsys, argv)
    assert checks["pypi-headroom"]["status"] == "fail"
    assert "over its quota" in str(checks["pypi-headroom"]["message"])
