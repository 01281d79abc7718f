"""Units of ``shipwheel publish``: repository and credential resolution, the upload form, listings, plan, journal,
and the ``file:PATH`` target (a static index pip installs from), none of which needs a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.defective import make_wheel
from fixtures.index_servers import make_release, make_sdist
from shipwheel.cli import main_inner
from shipwheel.distfiles import DistFile
from shipwheel.errors import AuthenticationError, ConfigError, ConflictError, UsageError
from shipwheel.publish import (
    PublishRuleError,
    PublishSettings,
    publish_files,
    resolve_credentials,
    resolve_repository,
)
from shipwheel.publish._journal import Journal
from shipwheel.publish._plan import collect_files, digest_files, make_plan
from shipwheel.publish._upload import ProgressFile, form_fields, multipart_parts, read_core_metadata
from shipwheel.simple_index import IndexFile, parse_project_page


def _pypirc(home: Path, text: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".pypirc").write_text(text)
    return {"HOME": str(home)}


# --- repositories and credentials ---------------------------------------------------------------------------


def test_known_repositories(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    pypi = resolve_repository("pypi", environ=env)
    assert (pypi.kind, pypi.upload_url, pypi.index_url) == (
        "pypi",
        "https://upload.pypi.org/legacy/",
        "https://pypi.org/simple/",
    )
    assert resolve_repository("testpypi", environ=env).index_url == "https://test.pypi.org/simple/"
    assert resolve_repository("https://upload.pypi.org/legacy", environ=env).kind == "pypi"
    local = resolve_repository("http://127.0.0.1:8080", environ=env)
    assert (local.kind, local.upload_url) == ("http", "http://127.0.0.1:8080/")
    folder = resolve_repository(f"file:{tmp_path}/idx", environ=env)
    assert folder.kind == "file" and folder.path == tmp_path / "idx"


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("http://example.org/legacy/", "plain http"),
        ("https://user:pw@example.org/legacy/", "holds credentials"),
        ("nosuchsection", "unknown repository"),
        ("ftp://example.org/", r"not an http\(s\) URL"),
    ],
)
def test_bad_repositories(tmp_path: Path, spec: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle) as info:
        resolve_repository(spec, environ={"HOME": str(tmp_path)})
    assert "pw" not in info.value.one_line()


def test_pypirc_section_and_credentials(tmp_path: Path) -> None:
    env = _pypirc(
        tmp_path / "home",
        "[distutils]\nindex-servers = corp\n\n[corp]\nrepository = https://pkgs.example.org/legacy/\nusername = carol\npassword = hunter2\n\n[pypi]\npassword = pypi-token-from-file\n",
    )
    corp = resolve_repository("corp", environ=env)
    assert (corp.kind, corp.upload_url, corp.pypirc and corp.pypirc.username) == (
        "http",
        "https://pkgs.example.org/legacy/",
        "carol",
    )
    creds = resolve_credentials(corp, environ=env, use_keyring=False)
    assert creds is not None and (creds.username, creds.password, creds.source) == (
        "carol",
        "hunter2",
        ".pypirc",
    )
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds) and "hunter2" not in repr(corp)
    pypi = resolve_credentials(resolve_repository("pypi", environ=env), environ=env, use_keyring=False)
    assert pypi is not None and (pypi.username, pypi.password) == ("__token__", "pypi-token-from-file")


def test_credential_precedence(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "TWINE_USERNAME": "tw",
        "TWINE_PASSWORD": "twpw",
        "SHIPWHEEL_PASSWORD": "swpw",
    }
    repo = resolve_repository("http://127.0.0.1:1/", environ=env)
    creds = resolve_credentials(repo, environ=env, use_keyring=False)
    assert creds is not None and (creds.username, creds.password, creds.source) == (
        "tw",
        "swpw",
        "SHIPWHEEL_PASSWORD",
    )
    assert resolve_credentials(repo, username="cli", environ=env, use_keyring=False).username == "cli"  # type: ignore[union-attr]
    assert resolve_credentials(repo, environ={"HOME": str(tmp_path)}, use_keyring=False) is None


# --- the upload form --------------------------------------------------------------------------------------------


def test_form_fields_follow_warehouse_names(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "Demo.Proj", "1.2.0", "cp312-cp312-manylinux_2_17_x86_64")
    dist = DistFile.parse(wheel.name)
    assert dist is not None
    fields = form_fields(
        dist, read_core_metadata(wheel, dist), {"sha256": "a" * 64, "blake2b": "b" * 64}, [{"k": 1}]
    )
    got: dict[str, list[str]] = {}
    for key, value in fields:
        got.setdefault(key, []).append(value)
    assert got[":action"] == ["file_upload"] and got["protocol_version"] == ["1"]
    assert got["name"] == ["Demo.Proj"] and got["version"] == ["1.2.0"] and got["metadata_version"] == ["2.1"]
    assert got["filetype"] == ["bdist_wheel"] and got["pyversion"] == ["cp312"]
    assert len(got["classifiers"]) == 2 and got["project_urls"] == ["Source, https://example.invalid/src"]
    assert got["requires_python"] == [">=3.8"] and got["description_content_type"] == ["text/markdown"]
    assert got["sha256_digest"] == ["a" * 64] and got["blake2_256_digest"] == ["b" * 64]
    assert json.loads(got["attestations"][0]) == [{"k": 1}]
    assert "# Demo.Proj" in got["description"][0]
    sdist = make_sdist(tmp_path, "demo-proj", "1.2.0")
    sdist_dist = DistFile.parse(sdist.name)
    assert sdist_dist is not None
    sfields = dict(form_fields(sdist_dist, read_core_metadata(sdist, sdist_dist), {"sha256": "c" * 64}))
    assert (sfields["filetype"], sfields["pyversion"]) == ("sdist", "source")


def test_multipart_body_length_matches(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", payload=b"x" * 5000)
    sent: list[int] = []
    with wheel.open("rb") as fh:
        content = ProgressFile(fh, sent.append)
        parts = multipart_parts([("name", "demo"), ("summary", "ünïcode")], content, wheel.name)
        request = httpx.Request("POST", "http://127.0.0.1:9/legacy/", files=parts)
        data = b"".join(request.stream)  # type: ignore[union-attr]
    boundary = request.headers["content-type"].partition("boundary=")[2]
    assert len(data) == int(request.headers["content-length"]) and content.complete
    assert sum(sent) == wheel.stat().st_size
    assert data.endswith(f"--{boundary}--\r\n".encode()) and "ünïcode".encode() in data


# --- listings ---------------------------------------------------------------------------------------------------


def _by_name(files: list[IndexFile]) -> dict[str, IndexFile]:
    return {f.filename: f for f in files}


def test_parse_listing_json_and_html() -> None:
    page = {
        "meta": {"api-version": "1.1"},
        "files": [
            {
                "filename": "a-1.0.tar.gz",
                "url": "../../a-1.0.tar.gz",
                "hashes": {"sha256": "ab" * 32},
                "upload-time": "2024-01-02T03:04:05.000000Z",
            }
        ],
    }
    got = _by_name(
        parse_project_page(
            json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json", "https://idx/simple/a/"
        )
    )
    assert got["a-1.0.tar.gz"].sha256 == "ab" * 32 and got["a-1.0.tar.gz"].url == "https://idx/a-1.0.tar.gz"
    assert got["a-1.0.tar.gz"].upload_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    html = (
        b'<a href="/packages/a-1.0-py3-none-any.whl#sha256=' + b"CD" * 32 + b'">a-1.0-py3-none-any.whl</a>'
        b'<a href="x/a-1.0.zip">a-1.0.zip</a>'
    )
    got = _by_name(parse_project_page(html, "text/html", "http://h/simple/a/"))
    assert got["a-1.0-py3-none-any.whl"].sha256 == "cd" * 32 and got["a-1.0.zip"].sha256 is None


# --- the plan ---------------------------------------------------------------------------------------------------


def test_plan_orders_skips_and_conflicts(tmp_path: Path) -> None:
    files = make_release(tmp_path, "demo", "1.0", wheels=3)
    collected = collect_files([tmp_path])
    assert [d.kind for _, d in collected] == ["wheel", "wheel", "wheel", "sdist"]
    digests = digest_files([p for p, _ in collected])
    repo = resolve_repository("http://127.0.0.1:9/", environ={"HOME": str(tmp_path)})
    have = {files[1].name: IndexFile(files[1].name, "u", digests[files[1]])}
    plan = make_plan(repo, collected, digests, have)
    assert [f.action for f in plan.files] == ["upload", "skip", "upload", "upload"] and plan.files[
        -1
    ].dist.kind == "sdist"
    bad = {files[2].name: IndexFile(files[2].name, "u", "0" * 64)}
    with pytest.raises(ConflictError, match="different contents"):
        make_plan(repo, collected, digests, bad)


def test_pypi_rules_up_front(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "SHIPWHEEL_PASSWORD": "pypi-fake"}
    zipped = make_sdist(tmp_path / "z", "demo", "1.0", fmt="zip")
    with pytest.raises(PublishRuleError, match=r"\.tar\.gz"):
        publish_files(
            [zipped],
            PublishSettings(repository="pypi", environ=env, journal_dir=tmp_path / "j"),
        )
    local = make_wheel(tmp_path / "l", "demo", "1.0+local")
    with pytest.raises(PublishRuleError, match="local versions"):
        publish_files(
            [local],
            PublishSettings(repository="testpypi", environ=env, journal_dir=tmp_path / "j"),
        )
    repo = resolve_repository("pypi", environ=env)
    collected = collect_files([make_wheel(tmp_path / "o", "demo", "2.0")])
    digests = digest_files([p for p, _ in collected])
    old = {
        "demo-2.0.tar.gz": IndexFile(
            "demo-2.0.tar.gz", "u", "1" * 64, upload_time=datetime.now(timezone.utc) - timedelta(days=20)
        )
    }
    with pytest.raises(PublishRuleError, match="over 14 days ago"):
        make_plan(repo, collected, digests, old)
    assert make_plan(
        repo,
        collected,
        digests,
        old,
        max_file_size=10**9,
        now=datetime.now(timezone.utc) - timedelta(days=10),
    ).uploads
    with pytest.raises(PublishRuleError, match="limit"):
        make_plan(repo, collected, digests, {}, max_file_size=10)


def test_collect_refuses_mixed_releases(tmp_path: Path) -> None:
    make_wheel(tmp_path, "demo", "1.0")
    make_wheel(tmp_path, "demo", "1.1")
    with pytest.raises(UsageError, match="several releases"):
        collect_files([tmp_path])
    with pytest.raises(UsageError, match="no wheel or sdist"):
        collect_files([tmp_path / "empty"] if (tmp_path / "empty").mkdir() is None else [])


# --- the journal --------------------------------------------------------------------------------------------------


def test_journal_replays_and_survives_a_torn_line(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, "http://x/", "demo", "1.0")
    journal.record("sending", "a.whl", "1")
    journal.record("done", "a.whl", "1")
    journal.record("sending", "b.whl", "2")
    journal.close()
    with journal.path.open("a") as fh:
        fh.write('{"state": "done", "file": "b.w')  # killed mid-write
    again = Journal.open(tmp_path, "http://x/", "demo", "1.0")
    assert again.done == {"a.whl": "1"} and again.in_doubt() == {"b.whl": "2"}
    again.finish()
    assert not again.path.exists()


def test_journal_bad_records_are_ignored(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, "http://x/", "demo", "1.0")
    journal.record("sending", "a.whl", "1")
    journal.close()
    with journal.path.open("ab") as fh:
        fh.write(b"\xff\xfe not utf-8 \x80\n")
        fh.write(b'{"state": "done", "file": 5, "sha256": []}\n')
        fh.write(b'{"state": ["done"], "file": "a.whl", "sha256": "1"}\n')
        fh.write(b'[1, 2, 3]\n"just a string"\nnull\n')
        fh.write(b'{"state": "done", "file": "b.whl", "sha256": "2"}\n')
    again = Journal.open(tmp_path, "http://x/", "demo", "1.0")
    assert again.done == {"b.whl": "2"} and again.in_doubt() == {"a.whl": "1"}


def test_journal_or_state_folder_in_the_way_is_one_line(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "a", "http://x/", "demo", "1.0")
    journal.path.mkdir(parents=True)  # the journal is a folder
    with pytest.raises(ConfigError, match="cannot use the publish journal") as info:
        Journal.open(tmp_path / "a", "http://x/", "demo", "1.0")
    assert "\n" not in info.value.one_line()
    (tmp_path / "b").write_text("a file where the state folder goes")
    with pytest.raises(ConfigError, match="cannot use the publish journal"):
        Journal.open(tmp_path / "b", "http://x/", "demo", "1.0")


def test_digest_cache_bad_or_in_the_way_is_ignored(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "demo", "1.0")
    want = digest_files([wheel])[wheel]
    cache = tmp_path / "state" / "digests.json"
    cache.parent.mkdir()
    for content in (b"\xff\xfe\x80", b'{"%s": [5, []]}' % str(wheel.resolve()).encode(), b"[1]", b"{{{"):
        cache.write_bytes(content)
        assert digest_files([wheel], cache=cache) == {wheel: want}
    cache.unlink()
    cache.mkdir()  # the cache is a folder
    assert digest_files([wheel], cache=cache) == {wheel: want}
    blocked = tmp_path / "file-state"
    blocked.write_text("")  # the state folder is a file
    assert digest_files([wheel], cache=blocked / "digests.json") == {wheel: want}


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc")
def test_unreadable_release_file_is_one_line(tmp_path: Path) -> None:
    """A release file whose read fails (``/proc/self/mem`` at offset 0 answers EIO, even to root)."""
    folder = tmp_path / "dist"
    make_wheel(folder, "demo", "1.0")
    (folder / "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl").symlink_to("/proc/self/mem")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    for extra in (["--no-verify"], []):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "shipwheel",
                "publish",
                str(folder),
                "-r",
                f"file:{tmp_path / 'idx'}",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert [line for line in proc.stderr.splitlines() if line.strip()] == [
            "error: cannot read demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl: Input/output error; check the "
            "file (its permissions, the disk), or build it again"
        ]


# --- file:PATH ----------------------------------------------------------------------------------------------------


def test_file_target_is_a_static_index_pip_installs_from(tmp_path: Path) -> None:
    files = make_release(tmp_path / "dist", "demo-static", "1.0", wheels=1)
    target = tmp_path / "index"
    result = publish_files(
        files, PublishSettings(repository=f"file:{target}", environ={"HOME": str(tmp_path)})
    )
    assert [r.status for r in result.results] == ["uploaded", "uploaded"]
    page = json.loads((target / "simple" / "demo-static" / "index.json").read_text())
    assert {f["filename"] for f in page["files"]} == {f.name for f in files}
    again = publish_files(
        files, PublishSettings(repository=f"file:{target}", environ={"HOME": str(tmp_path)})
    )
    assert [r.status for r in again.results] == ["skipped", "skipped"]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "pip", "install", "--python", str(venv / "bin" / "python"), "--no-cache", "--index-url", (target / "simple").as_uri(), "demo-static==1.0"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    other = make_wheel(
        tmp_path / "other", "demo-static", "1.0", files[0].name.split("-", 2)[2][:-4], payload=b"changed"
    )
    with pytest.raises(ConflictError):
        publish_files(
            [other],
            PublishSettings(repository=f"file:{target}", environ={"HOME": str(tmp_path)}),
        )


def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = make_release(tmp_path / "dist", "demo-dry", "1.0", wheels=2)
    target = tmp_path / "index"
    assert (
        main_inner(
            [
                "publish",
                str(tmp_path / "dist"),
                "--repository",
                f"file:{target}",
                "--dry-run",
                "--no-verify",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] and [f["action"] for f in out["files"]] == ["upload", "upload", "upload"]
    assert out["files"][-1]["file"] == files[-1].name and not target.exists()


def test_pypi_needs_credentials(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    with pytest.raises(AuthenticationError, match="no credentials"):
        publish_files(
            [wheel],
            PublishSettings(repository="pypi", environ={"HOME": str(tmp_path), "SHIPWHEEL_NO_KEYRING": "1"}),
        )


def test_attestations_next_to_a_file_are_planned(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    (tmp_path / f"{wheel.name}.publish.attestation").write_text('{"version": 1, "envelope": {}}')
    collected = collect_files([tmp_path])
    assert [p.name for p, _ in collected] == [wheel.name]  # the attestation is not a release file
    repo = resolve_repository("http://127.0.0.1:9/", environ={"HOME": str(tmp_path)})
    digests = digest_files([wheel])
    want = [f"{wheel.name}.publish.attestation"]
    # As twine: attestations go to PyPI and TestPyPI; to another index only when asked (--attestations).
    assert make_plan(repo, collected, digests, {}).files[0].attestations == ()
    plan = make_plan(repo, collected, digests, {}, attestations=True)
    assert [a.name for a in plan.files[0].attestations] == want
    pypi = resolve_repository("testpypi", environ={"HOME": str(tmp_path)})
    assert [a.name for a in make_plan(pypi, collected, digests, {}).files[0].attestations] == want
    assert make_plan(pypi, collected, digests, {}, attestations=False).files[0].attestations == ()


def test_twine_variables_choose_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_release(tmp_path / "dist", "demo-env", "1.0", wheels=1)
    monkeypatch.setenv("TWINE_REPOSITORY_URL", f"file:{tmp_path / 'via-twine'}")
    assert main_inner(["publish", str(tmp_path / "dist"), "--no-verify", "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repository"] == f"file:{tmp_path / 'via-twine'}"
    monkeypatch.setenv("SHIPWHEEL_REPOSITORY_URL", f"file:{tmp_path / 'via-shipwheel'}")
    assert main_inner(["publish", str(tmp_path / "dist"), "--no-verify", "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repository"] == f"file:{tmp_path / 'via-shipwheel'}"


@given(
    fields=st.lists(
        st.tuples(st.sampled_from(["name", "summary", "classifiers", "description"]), st.text(max_size=200)),
        max_size=8,
    ),
    payload=st.binary(max_size=4096),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_multipart_body_parses_back(tmp_path: Path, fields: list[tuple[str, str]], payload: bytes) -> None:
    import email.parser
    import email.policy

    target = tmp_path / "demo-1.0-py3-none-any.whl"
    target.write_bytes(payload)
    with target.open("rb") as fh:
        parts = multipart_parts(fields, ProgressFile(fh), target.name, [("gpg_signature", "x.asc", b"sig")])
        request = httpx.Request("POST", "http://127.0.0.1:9/legacy/", files=parts)
        body = b"".join(request.stream)  # type: ignore[union-attr]
    raw = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts = list(message.iter_parts())
    texts = [(p.get_param("name", header="content-disposition"), p.get_payload(decode=True)) for p in parts]
    assert texts[: len(fields)] == [(n, v.encode()) for n, v in fields]
    assert texts[-2] == ("gpg_signature", b"sig") and texts[-1] == ("content", payload)


def test_pypi_takes_one_sdist_per_release(tmp_path: Path) -> None:
    """markupsafe's sdists changed spelling (MarkupSafe-2.1.5.tar.gz, markupsafe-3.0.2.tar.gz): a second sdist of
    one version under the other spelling is refused by warehouse, so before anything is sent."""
    repo = resolve_repository("pypi", environ={"HOME": str(tmp_path)})
    collected = collect_files([make_sdist(tmp_path / "s", "markupsafe", "3.0.2")])
    digests = digest_files([p for p, _ in collected])
    now = datetime.now(timezone.utc)
    there = {"MarkupSafe-3.0.2.tar.gz": IndexFile("MarkupSafe-3.0.2.tar.gz", "u", "1" * 64, upload_time=now)}
    with pytest.raises(
        PublishRuleError, match=r"one sdist per release and already has MarkupSafe-3\.0\.2\.tar\.gz"
    ):
        make_plan(repo, collected, digests, there)
    older = {"MarkupSafe-2.1.5.tar.gz": IndexFile("MarkupSafe-2.1.5.tar.gz", "u", "1" * 64, upload_time=now)}
    assert make_plan(repo, collected, digests, older).uploads


def test_publish_settings_are_typed_frozen_and_keyword_only() -> None:
    import dataclasses

    settings = PublishSettings(repository="testpypi", jobs=2, password="secret", token="pypi-secret")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.jobs = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        PublishSettings("testpypi")  # type: ignore[misc]
    assert "secret" not in repr(settings)
    assert PublishSettings().repository == "pypi" and PublishSettings().check is None
