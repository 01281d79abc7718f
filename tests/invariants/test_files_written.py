"""Invariant (a): nothing is written outside the target folder or through a symbolic link, for every command
that writes files.

Each test plants a link where the command writes (the output file, or a folder the command creates) pointing to
a file or folder outside the target, runs the command, and checks that the outside stays as it was. The rule
everywhere (fetch's): the file or folder the user *named* may be a link (a wheelhouse on another disk, ``-o``
into a linked folder); a link planted at a name the command writes is replaced, never written through.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.gpg import GpgHome
from fixtures.index_servers import make_release
from fixtures.release_repo import git, make_kahan_repo
from shipwheel import _fs
from shipwheel._fs import write_file, write_inside
from shipwheel.cli import main_inner
from shipwheel.errors import ShipwheelError

VICTIM = b"outside: must never change\n"


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A folder outside every target, holding one file; at the end it must hold exactly that file, unchanged."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim").write_bytes(VICTIM)
    yield folder
    assert sorted(p.name for p in folder.iterdir()) == ["victim"], "something was written outside the target"
    assert (folder / "victim").read_bytes() == VICTIM, "a file outside the target was written through a link"


def _run(argv: list[str]) -> int:
    """The exit code; a refusal (one of ours) is as good as a write that replaced the link."""
    try:
        return main_inner(argv)
    except ShipwheelError as exc:
        return exc.exit_code


def _link(at: Path, to: Path) -> None:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(to, target_is_directory=to.is_dir())


def _not_a_link(path: Path) -> None:
    assert not path.is_symlink(), f"{path} is still a link"


# -- the helper itself ----------------------------------------------------------------------------------------


def test_invariant_a_write_file_replaces_a_link(tmp_path: Path, outside: Path) -> None:
    target = tmp_path / "out.txt"
    _link(target, outside / "victim")
    write_file(target, "new\n")
    _not_a_link(target)
    assert target.read_text() == "new\n"


def test_invariant_a_write_file_keeps_the_mode_of_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "tool.sh"
    target.write_text("old\n")
    target.chmod(0o751)
    write_file(target, "new\n")
    assert target.stat().st_mode & 0o777 == 0o751


def test_invariant_a_write_file_into_a_linked_folder_the_user_named(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    _link(tmp_path / "named", real)
    write_file(tmp_path / "named" / "out.txt", "x")
    assert (real / "out.txt").read_text() == "x"


def test_invariant_a_write_inside_replaces_a_linked_folder(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "root"
    _link(root / "sub", outside)
    write_inside(root, "sub/victim", "new")
    _not_a_link(root / "sub")
    assert (root / "sub" / "victim").read_text() == "new"
    with pytest.raises(ValueError, match="not a path inside"):
        write_inside(root, "../outside/victim", "x")


def test_invariant_a_write_inside_a_linked_folder_another_writer_replaced_first(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stage writes index pages from several threads: between our look (a link) and our unlink, another writer
    # removes the link and makes the real folder. Ours then meets a folder where it saw a link: not an error.
    root = tmp_path / "root"
    _link(root / "simple", outside)
    real_unlink = os.unlink
    raced = []

    def other_writer_first(name: str, *, dir_fd: int | None = None) -> None:
        if not raced:
            raced.append(name)
            real_unlink(name, dir_fd=dir_fd)
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        real_unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(_fs.os, "unlink", other_writer_first)
    write_inside(root, "simple/index.json", "{}")
    assert raced == ["simple"]
    _not_a_link(root / "simple")
    assert (root / "simple" / "index.json").read_text() == "{}"


@pytest.mark.parametrize("dir_fd", [True, False], ids=["descriptors", "paths (no dir_fd: Windows)"])
def test_invariant_a_many_writers_into_one_linked_folder(
    tmp_path: Path, outside: Path, dir_fd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_fs, "_DIR_FD", dir_fd)
    for round_ in range(20):
        root = tmp_path / f"root{round_}"
        _link(root / "simple", outside)
        with ThreadPoolExecutor(max_workers=8) as pool:
            done = list(
                pool.map(lambda n, r=root: write_inside(r, f"simple/p{n}/index.html", str(n)), range(16))
            )
        assert len(done) == 16
        _not_a_link(root / "simple")
        assert sorted(p.name for p in (root / "simple").iterdir()) == sorted(f"p{n}" for n in range(16))


# -- notes / changelog -o, verify --html, status --html -------------------------------------------------------


@pytest.fixture
def kahan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_kahan_repo(tmp_path / "kahan")
    git(repo, "tag", "-a", "-m", "kahan 1.0.0", "v1.0.0")
    monkeypatch.chdir(repo)
    return repo


def test_invariant_a_changelog_output_link(kahan: Path, tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "changelog.md"
    _link(out, outside / "victim")
    assert _run(["changelog", "v1.0.0..HEAD", "--repo", str(kahan), "-o", str(out)]) == 0
    _not_a_link(out)


def test_invariant_a_notes_output_link(kahan: Path, tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "notes.rst"
    _link(out, outside / "victim")
    assert _run(["notes", "1.0.1", "--project", str(kahan), "--range", "none", "-o", str(out)]) == 0
    _not_a_link(out)


def test_invariant_a_verify_html_link(tmp_path: Path, outside: Path) -> None:
    make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    html = tmp_path / "report.html"
    _link(html, outside / "victim")
    _run(["verify", str(tmp_path / "dist"), "--no-completeness", "--html", str(html)])
    _not_a_link(html)
    assert "<html" in html.read_text(encoding="utf-8").lower()


def test_invariant_a_status_html_link(kahan: Path, tmp_path: Path, outside: Path) -> None:
    html = tmp_path / "status.html"
    _link(html, outside / "victim")
    _run(["status", "1.0.1", "--html", str(html)])
    _not_a_link(html)


# -- sign: .asc, SHA256SUMS, SHA256SUMS.asc and their temporaries ---------------------------------------------


@pytest.mark.parametrize("planted", ["SHA256SUMS", "SHA256SUMS.part", "SHA256SUMS.asc", "{wheel}.asc"])
def test_invariant_a_sign_outputs_link(
    tmp_path: Path, outside: Path, gnupg_home: GpgHome, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    dist = tmp_path / "dist"
    files = make_release(dist, "demo", "1.0", wheels=1)
    _link(dist / planted.format(wheel=files[0].name), outside / "victim")
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home.home))
    assert _run(["sign", str(dist), "--key", gnupg_home.fingerprint]) == 0
    for name in ("SHA256SUMS", "SHA256SUMS.asc", f"{files[0].name}.asc"):
        _not_a_link(dist / name)


# -- publish -r file:PATH -------------------------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["simple", "{wheel}", "simple/demo"])
def test_invariant_a_publish_file_repository_link(tmp_path: Path, outside: Path, planted: str) -> None:
    files = make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    index = tmp_path / "index"
    target = outside if planted != "{wheel}" else outside / "victim"
    _link(index / planted.format(wheel=files[0].name), target)
    _run(["publish", str(tmp_path / "dist"), "-r", f"file:{index}", "--no-verify"])
    assert (index / files[0].name).is_file()


# -- the release commands inside the project: record, announcement, notes skeleton, version files -------------


@pytest.mark.parametrize("planted", [".shipwheel", ".shipwheel/releases", ".shipwheel/releases/1.0.1.json"])
def test_invariant_a_release_record_link(kahan: Path, outside: Path, planted: str) -> None:
    target = outside / "victim" if planted.endswith(".json") else outside
    _link(kahan / planted, target)
    _run(["release", "1.0.1", "--only", "check"])
    _run(["announce", "1.0.1"])


@pytest.mark.parametrize("planted", ["1.0.1-announcement.txt", "1.0.1-github-release.md"])
def test_invariant_a_announce_files_link(kahan: Path, outside: Path, planted: str) -> None:
    _link(kahan / ".shipwheel" / "releases" / planted, outside / "victim")
    assert _run(["announce", "1.0.1"]) == 0
    _not_a_link(kahan / ".shipwheel" / "releases" / planted)


@pytest.mark.parametrize("planted", ["doc/release", "doc/release/1.1.0-notes.rst"])
def test_invariant_a_branch_notes_skeleton_link(kahan: Path, outside: Path, planted: str) -> None:
    with (kahan / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.shipwheel.release]\nnotes-file = "doc/release/{version}-notes.rst"\n')
    target = outside if planted == "doc/release" else outside / "missing-notes"
    _link(kahan / planted, target)
    git(kahan, "add", "-A")
    git(kahan, "commit", "-qm", "configure")
    _run(["branch", "1.0", "--no-bump"])
    assert not (outside / "missing-notes").exists()


def test_invariant_a_version_file_link(kahan: Path, outside: Path) -> None:
    (outside / "victim").write_bytes((kahan / "pyproject.toml").read_bytes())
    original = (outside / "victim").read_bytes()
    (kahan / "pyproject.toml").unlink()
    _link(kahan / "pyproject.toml", outside / "victim")
    git(kahan, "add", "-A")
    git(kahan, "commit", "-qm", "a linked pyproject.toml")
    assert _run(["version", "1.0.1"]) == 0
    _not_a_link(kahan / "pyproject.toml")
    assert 'version = "1.0.1"' in (kahan / "pyproject.toml").read_text()
    (outside / "victim").write_bytes(VICTIM)  # the fixture's check; the content was compared below
    assert original != VICTIM


# -- docs: the docs repository ----------------------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["versions.json", "1.0"])
def test_invariant_a_docs_repository_link(tmp_path: Path, outside: Path, planted: str) -> None:
    project = make_kahan_repo(tmp_path / "kahan")
    docs = tmp_path / "docs"
    docs.mkdir()
    git(docs, "init", "-q", "-b", "main")
    git(docs, "config", "user.name", "Docs Bot")
    git(docs, "config", "user.email", "docs@example.invalid")
    _link(docs / planted, outside / "victim" if planted.endswith(".json") else outside)
    git(docs, "add", "-A")
    git(docs, "commit", "-qm", "a hostile docs repository")
    built = tmp_path / "html"
    built.mkdir()
    (built / "index.html").write_text("<html></html>\n")
    argv = ["docs", "1.0.0", "--to", str(docs), "--from", str(built), "--config-dir", str(project)]
    assert _run(argv) == 0
    _not_a_link(docs / planted)
    assert json.loads((docs / "versions.json").read_text())


# -- publish's state folder: the digest cache and the journal ---------------------------------------------------


@pytest.mark.parametrize("planted", ["digests.json", "digests.json.{pid}.tmp"])
def test_invariant_a_publish_digest_cache_link(tmp_path: Path, outside: Path, planted: str) -> None:
    from shipwheel.publish._plan import digest_files

    files = make_release(tmp_path / "dist", "demo", "1.0", wheels=1)
    state = tmp_path / "state"
    _link(state / planted.format(pid=__import__("os").getpid()), outside / "victim")
    digest_files(files, jobs=1, cache=state / "digests.json")
    _not_a_link(state / "digests.json")
    assert json.loads((state / "digests.json").read_text())


def test_invariant_a_publish_journal_link(tmp_path: Path, outside: Path) -> None:
    from shipwheel.publish._journal import Journal

    journal = Journal.open(tmp_path / "state", "https://upload.example.invalid/", "demo", "1.0")
    _link(journal.path, outside / "victim")
    journal.record("uploaded", "demo-1.0.tar.gz", "0" * 64)
    journal.close()
    _not_a_link(journal.path)


# -- build -o and --log-dir --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_invariant_a_build_outputs_and_logs_link(tmp_path: Path, outside: Path) -> None:
    sdist = make_release(tmp_path / "dist", "demo", "1.0", wheels=0)[0]
    out, logs = tmp_path / "out", tmp_path / "logs"
    target = "cp312-manylinux_x86_64"
    for planted in (out / sdist.name, out / "demo-1.0-py3-none-any.whl", logs / f"{target}.log"):
        _link(planted, outside / "victim")
    argv = ["build", str(sdist), "-o", str(out), "--log-dir", str(logs), "--only", target, "--no-test"]
    assert _run(argv) == 0
    for written in (out / sdist.name, out / "demo-1.0-py3-none-any.whl", logs / f"{target}.log"):
        _not_a_link(written)
        assert written.stat().st_size > 0
