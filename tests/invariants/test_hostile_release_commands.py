"""Hostile cases for the release commands, by class, written from the README and ``--help`` alone (what someone
who did not read the code would try): release, check, version, bump, tag, branch, docs, announce, status, ci.

Each case says what must hold; a refusal with a one-line error and a documented exit code is always acceptable
where the case says so (the configuration checks of another room may refuse a value before this room sees it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fixtures.hostile import HostileServer, Route
from fixtures.release_repo import git
from invariants.walk import RAW_CONTROLS, FifoWatch, Run, files_under, one_line_error, run

SECRET = "Zq7SeKrEt-hostile-9xK"
CRED_URL = "http://alice:{secret}@127.0.0.1:{port}/"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
NO_BUILD = ["--skip", "version-backend", "--skip", "docs-build", "--skip", "sdist-complete"]


def _configure(project: Path, text: str, *, commit: bool = True) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write("\n" + text.strip("\n") + "\n")
    if commit:
        git(project, "commit", "-qam", "configure")


def _no_secret(result: Run, *folders: Path) -> None:
    for name, text in (("stdout", result.out), ("stderr", result.err)):
        assert SECRET not in text, f"the secret is in {name}:\n{text}"
    for folder in folders:
        for path in files_under(folder):
            if path.name == "pyproject.toml":
                continue  # where the test put it
            assert SECRET.encode() not in path.read_bytes(), f"the secret is in {path}"


def _no_raw_controls(result: Run) -> None:
    for name, text in (("stdout", result.out), ("stderr", result.err)):
        assert not RAW_CONTROLS.findall(text), f"raw control characters in {name}:\n{text!r}"


def _html_folder(tmp_path: Path) -> Path:
    built = tmp_path / "html"
    built.mkdir()
    (built / "index.html").write_text("<html>docs</html>\n")
    return built


def _docs_repo(tmp_path: Path) -> Path:
    docs = tmp_path / "docs-repo"
    docs.mkdir()
    git(docs, "init", "-q", "-b", "main")
    git(docs, "config", "user.name", "Docs Bot")
    git(docs, "config", "user.email", "docs@example.invalid")
    git(docs, "commit", "-q", "--allow-empty", "-m", "start")
    return docs


# == files =====================================================================================================


def test_docs_from_a_tree_with_a_link_to_a_private_key_copies_nothing_of_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY----- hostile\n")
    built = _html_folder(tmp_path)
    (built / "key.txt").symlink_to("../id_rsa")
    docs = _docs_repo(tmp_path)
    result = run(["docs", "1.0.0", "--from", str(built), "--to", str(docs)], capsys)
    one_line_error(result)
    assert result.code != 0
    assert (
        b"PRIVATE KEY"
        not in subprocess.run(
            ["git", "-C", str(docs), "log", "-p", "--all"], capture_output=True, check=True
        ).stdout
    )
    assert not any("PRIVATE KEY" in p.read_text(errors="replace") for p in files_under(docs))


def test_docs_from_a_tree_with_a_link_to_a_folder_outside_copies_nothing(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token").write_text("hostile-token\n")
    built = _html_folder(tmp_path)
    (built / "static").symlink_to(secrets, target_is_directory=True)
    docs = _docs_repo(tmp_path)
    result = run(["docs", "1.0.0", "--from", str(built), "--to", str(docs)], capsys)
    one_line_error(result)
    assert result.code != 0
    assert not any("hostile-token" in p.read_text(errors="replace") for p in files_under(docs))


def test_docs_from_a_tree_holding_a_fifo_is_one_line(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _html_folder(tmp_path)
    docs = _docs_repo(tmp_path)
    with FifoWatch() as watch:
        watch.plant(built / "_static" / "pipe.js")
        result = run(["docs", "1.0.0", "--from", str(built), "--to", str(docs)], capsys)
    one_line_error(result)
    assert result.code != 0 and not watch.opened


def test_docs_keeps_a_link_inside_the_tree_as_a_link(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _html_folder(tmp_path)
    (built / "latest.html").symlink_to("index.html")
    docs = _docs_repo(tmp_path)
    result = run(["docs", "1.0.0", "--from", str(built), "--to", str(docs)], capsys)
    assert result.code == 0, result
    assert os.readlink(docs / "1.0" / "latest.html") == "index.html"


def test_status_with_a_fifo_as_the_record_does_not_block(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        watch.plant(project / ".shipwheel" / "releases" / "1.0.1.json")
        result = run(["status", "1.0.1"], capsys)
    one_line_error(result)
    assert not watch.opened


def test_release_dry_run_with_a_fifo_as_the_record_does_not_block(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        watch.plant(project / ".shipwheel" / "releases" / "1.0.1.json")
        result = run(["release", "1.0.1", "--dry-run", "-r", f"file:{tmp_path}"], capsys)
    one_line_error(result)
    assert not watch.opened


def test_announce_with_a_fifo_as_the_release_notes_does_not_block(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(project, '[tool.shipwheel.release]\nnotes-file = "doc/{version}-notes.rst"')
    with FifoWatch() as watch:
        watch.plant(project / "doc" / "1.0.1-notes.rst")
        result = run(["announce", "1.0.1"], capsys)
    one_line_error(result)
    assert not watch.opened


def test_ci_check_with_a_fifo_as_the_workflow_fails_without_blocking(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        watch.plant(project / ".github" / "workflows" / "wheels.yml")
        result = run(["ci", "github", "--check"], capsys)
    one_line_error(result)
    assert result.code != 0 and not watch.opened


def test_check_with_a_fifo_as_pyproject_does_not_block(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FifoWatch() as watch:
        watch.plant(project / "pyproject.toml")
        result = run(["check", "1.0.1", "-r", f"file:{project}", *NO_BUILD], capsys)
    one_line_error(result)
    assert result.code != 0 and not watch.opened


def test_version_with_a_fifo_as_a_version_file_does_not_block(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(project, '[tool.shipwheel.release]\nversion-files = ["src/kahan/_version.py"]')
    with FifoWatch() as watch:
        watch.plant(project / "src" / "kahan" / "_version.py")
        result = run(["version", "1.0.1"], capsys)
    one_line_error(result)
    assert result.code != 0 and not watch.opened


def test_changelog_titles_fifo_does_not_block(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FifoWatch() as watch:
        titles = watch.plant(project.parent / "titles.json")
        result = run(["changelog", "v1.0.0..HEAD", "--titles", str(titles)], capsys)
    one_line_error(result)
    assert result.code != 0 and not watch.opened


# == secrets ===================================================================================================


def test_release_with_a_password_in_the_repository_url_never_shows_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = CRED_URL.format(secret=SECRET, port=9)
    results = [run(["release", "1.0.1", "-r", url], capsys)]
    assert results[0].code != 0
    results.append(run(["status", "1.0.1"], capsys))
    results.append(run(["status", "1.0.1", "--json"], capsys))
    results.append(run(["status", "1.0.1", "--html", str(tmp_path / "status.html")], capsys))
    for result in results:
        one_line_error(result)
        _no_secret(result, tmp_path)
    assert "127.0.0.1:9" in results[0].err + results[0].out  # the URL is shown, without its password


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_check_with_a_password_in_the_repository_url_never_shows_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    with HostileServer() as server:
        server.route("/simple/kahan/", status=401)
        url = CRED_URL.format(secret=SECRET, port=server.port)
        result = run(["check", "1.0.1", "-r", url, *NO_BUILD, *extra], capsys)
    one_line_error(result)
    assert result.code != 0
    _no_secret(result, tmp_path)


def test_release_with_a_token_in_the_query_string_never_shows_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(["release", "1.0.1", "-r", f"http://127.0.0.1:9/simple/?token={SECRET}"], capsys)
    one_line_error(result)
    _no_secret(result, tmp_path)


def test_an_index_echoing_the_authorization_header_never_shows_the_password(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWHEEL_PASSWORD", SECRET)
    monkeypatch.setenv("SHIPWHEEL_USERNAME", "alice")
    with HostileServer() as server:
        echo = json.dumps({"detail": f"bad password {SECRET} in Authorization: Basic xyz"}).encode()
        server.route("/simple/kahan/", status=500, body=echo, ctype="application/json")
        result = run(["release", "1.0.1", "-r", server.url], capsys)
    one_line_error(result)
    _no_secret(result, tmp_path)


def test_docs_push_to_a_remote_with_a_password_never_shows_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = _docs_repo(tmp_path)
    git(docs, "remote", "add", "origin", f"http://alice:{SECRET}@127.0.0.1:9/docs.git")
    built = _html_folder(tmp_path)
    result = run(["docs", "1.0.0", "--from", str(built), "--to", str(docs), "--push"], capsys)
    one_line_error(result)
    assert result.code != 0
    _no_secret(result)


def test_version_commit_message_never_holds_a_password(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = f"release 1.0.1 (index http://alice:{SECRET}@127.0.0.1:9/simple/)"
    result = run(["version", "1.0.1", "--message", message], capsys)
    one_line_error(result)
    assert SECRET not in git(project, "log", "-1", "--format=%B")
    _no_secret(result)


# == time ======================================================================================================


def _shipwheel(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int | None, float]:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "shipwheel", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **env}, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - start
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, time.monotonic() - start


@pytest.mark.parametrize(
    "behaviour", [Route(behaviour="drip-headers", interval=0.5), Route(behaviour="drip", body=b"{" * 4000, ctype=JSON_TYPE, interval=0.5)],
    ids=["headers", "body"],
)  # fmt: skip
@pytest.mark.parametrize("command", ["check", "release"])
def test_a_dripping_index_is_given_up_on(project: Path, command: str, behaviour: Route) -> None:
    with HostileServer() as server:
        server.route("/simple/kahan/", behaviour)
        extra = NO_BUILD if command == "check" else ["--only", "check"]
        code, _ = _shipwheel(
            [command, "1.0.1", "-r", server.url, *extra],
            project,
            {"SHIPWHEEL_PUBLISH_TIMEOUT": "1", "SHIPWHEEL_PUBLISH_RETRIES": "0"},
            timeout=90,
        )
    assert code is not None, f"{command} against a dripping index did not finish"
    assert code != 0


def test_docs_push_to_a_silent_git_server_is_given_up_on(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipwheel._git

    monkeypatch.setattr(shipwheel._git, "NETWORK_DEADLINE", 3.0)
    docs = _docs_repo(tmp_path)
    with HostileServer() as server:
        server.route("/docs.git/info/refs", behaviour="drip-headers", interval=1.0)
        git(docs, "remote", "add", "origin", server.url + "docs.git")
        result = run(
            ["docs", "1.0.0", "--from", str(_html_folder(tmp_path)), "--to", str(docs), "--push"], capsys
        )
    one_line_error(result)
    assert result.code != 0


# == text that reaches other languages =========================================================================

HOSTILE_NAME = "kahan\r\nBcc: victim@example.invalid"


def _rename(project: Path, name: str) -> None:
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('name = "kahan"', f"name = {json.dumps(name)}", 1))
    git(project, "commit", "-qam", "rename")


def test_announce_with_crlf_in_the_project_name_forges_no_header(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rename(project, HOSTILE_NAME)
    result = run(["announce", "1.0.1"], capsys)
    one_line_error(result)
    mail = project / ".shipwheel" / "releases" / "1.0.1-announcement.txt"
    if result.code == 0:
        assert not any(line.startswith("Bcc:") for line in mail.read_text().splitlines())


def test_tag_with_crlf_in_the_project_name_writes_a_one_line_subject(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rename(project, HOSTILE_NAME)
    result = run(["tag", "1.0.1"], capsys)
    one_line_error(result)
    if result.code == 0:
        message = git(project, "tag", "-l", "--format=%(contents)", "v1.0.1")
        assert not any(line.startswith("Bcc:") for line in message.splitlines()), message


def test_docs_with_crlf_in_the_project_name_writes_a_one_line_commit(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rename(project, HOSTILE_NAME)
    docs = _docs_repo(tmp_path)
    result = run(["docs", "1.0.0", "--from", str(_html_folder(tmp_path)), "--to", str(docs)], capsys)
    one_line_error(result)
    if result.code == 0:
        assert not any(line.startswith("Bcc:") for line in git(docs, "log", "-1", "--format=%B").splitlines())


@pytest.mark.parametrize(
    "table",
    [
        'environment = {"A${{ github.token }}" = "1"}',
        'environment = {"A: 1\\n      B" = "2"}',
        'environment = {A = "${{ secrets.PYPI_TOKEN }}"}',
        'test-command = "pytest\\nevil: ${{ github.token }}"',
        'test-requires = ["pytest\\n      - run: curl evil"]',
    ],
    ids=[
        "expression-in-key",
        "yaml-in-key",
        "expression-in-value",
        "expression-in-command",
        "yaml-in-require",
    ],
)
def test_ci_writes_no_expression_nor_yaml_from_a_value(
    project: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace(
            "[tool.shipwheel]\n", f"[tool.shipwheel]\nplatforms = ['manylinux_x86_64']\n{table}\n", 1
        )
    )
    result = run(["ci", "github"], capsys)
    one_line_error(result)
    if result.code == 0:
        assert "github.token" not in result.out and "secrets.PYPI_TOKEN" not in result.out, result.out
        workflow = yaml.safe_load(result.out)
        steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
        assert not any(s.get("run") == "curl evil" for s in steps)


def test_status_html_escapes_a_detail(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipwheel.config import load_config
    from shipwheel.release import load_state

    load_state(load_config(project), "1.0.1").set("check", "failed", "<script>alert(1)</script>")
    result = run(["status", "1.0.1", "--html", str(tmp_path / "s.html")], capsys)
    assert result.code == 0
    assert "<script>alert(1)" not in (tmp_path / "s.html").read_text()


@pytest.mark.parametrize(
    ("template", "why"),
    [("{{ 1/0 }}", "ZeroDivisionError"), ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
     ("{{ name.upper.__globals__ }}", None), ("{{ cycler.__init__.__globals__.os }}", None),
     ("{% for x in range(10) %}{{ x.y.z() }}{% endfor %}", "")],
    ids=["division", "subclasses", "globals", "cycler-os", "undefined-call"],
)  # fmt: skip
def test_a_notes_template_runs_sandboxed_and_fails_in_one_line(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, why: str | None
) -> None:
    path = tmp_path / "notes.j2"
    path.write_text(template)
    result = run(["notes", "1.0.1", "--range", "none", "--template", str(path)], capsys)
    one_line_error(result)
    if why is None:  # the sandbox gives nothing of Python's internals: an empty value, or a refusal
        assert "builtins" not in result.out and "<module" not in result.out, result.out
        return
    assert result.code != 0
    assert str(path) in result.err and why in result.err, result.err


# == terminal ==================================================================================================


def test_status_shows_escape_sequences_of_a_record_visibly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipwheel.config import load_config
    from shipwheel.release import load_state

    load_state(load_config(project), "1.0.1").set("build", "failed", "\x1b]0;pwned\x07\x1b[2Jgone\rover")
    result = run(["status", "1.0.1"], capsys)
    _no_raw_controls(result)
    assert "\\x1b]0;pwned" in result.out


def test_status_shows_brackets_of_a_hint_as_written(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipwheel.config import load_config
    from shipwheel.release import load_state

    hint = "set [project] version, or list the files in [tool.shipwheel.release] version-files"
    load_state(load_config(project), "1.0.1").set("version", "failed", hint)
    result = run(["status", "1.0.1"], capsys)
    assert hint in result.out.replace("\n", " ") or "[project] version" in result.out, result.out


def test_check_shows_an_untracked_file_name_with_escapes_visibly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "evil\x1b[2J\x1b]0;pwned\x07.txt").write_text("x")
    result = run(["check", "1.0.1", "-r", f"file:{project.parent}", *NO_BUILD], capsys)
    one_line_error(result)
    _no_raw_controls(result)


def test_release_shows_a_repository_with_escapes_visibly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(
        ["release", "1.0.1", "--dry-run", "-r", "http://127.0.0.1:9/\x1b[2J\x1b]0;pwned\x07/"], capsys
    )
    one_line_error(result)
    _no_raw_controls(result)


def test_tag_shows_a_ref_with_markup_as_written(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(["tag", "1.0.1", "--ref", "[bold red]main[/]"], capsys)
    one_line_error(result)
    assert result.code != 0 and "[bold red]main[/]" in result.err, result.err


def test_branch_shows_a_ref_with_escapes_visibly(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(["branch", "1.0", "--ref", "x\x1b[31mred\x9b2J"], capsys)
    one_line_error(result)
    _no_raw_controls(result)


def test_bump_shows_an_escape_in_the_version_file_visibly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('version = "1.0.0"', 'version = "1.0.0\\u001b[2J"', 1)
    )
    result = run(["bump"], capsys)
    one_line_error(result)
    _no_raw_controls(result)


def test_ci_check_shows_a_diff_with_escapes_visibly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = project / ".github" / "workflows" / "wheels.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: \x1b]0;pwned\x07\x1b[2J\n")
    result = run(["ci", "github", "--check"], capsys)
    assert result.code == 1
    _no_raw_controls(result)


# == fail closed ===============================================================================================


@pytest.mark.parametrize(
    "body",
    [b'{"files": [{"filename": 1, "url": 2}]}', b'{"meta": {"api-version": "1.0"}, "name": "kahan"}', b"[]",
     b'{"files": "kahan-1.0.1.tar.gz"}', b"not json at all"],
    ids=["wrong-types", "no-files", "a-list", "files-a-string", "not-json"],
)  # fmt: skip
def test_check_fails_index_free_on_a_malformed_pep691_answer(
    project: Path, capsys: pytest.CaptureFixture[str], body: bytes
) -> None:
    with HostileServer() as server:
        server.route("/simple/kahan/", body=body, ctype=JSON_TYPE)
        result = run(["check", "1.0.1", "-r", server.url, *NO_BUILD, "--json"], capsys)
    one_line_error(result)
    report = json.loads(result.out)
    index_free = [r for r in report["checks"] if r["code"] == "index-free"]
    assert index_free and index_free[0]["status"] == "fail", index_free
    assert result.code != 0


def test_ci_check_never_prints_what_a_linked_workflow_points_to(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    workflow = project / ".github" / "workflows" / "wheels.yml"
    workflow.parent.mkdir(parents=True)
    workflow.symlink_to(tmp_path / "secret.txt")
    result = run(["ci", "github", "--check"], capsys)
    assert result.code == 1
    assert "TOP-SECRET-CONTENT" not in result.out + result.err
