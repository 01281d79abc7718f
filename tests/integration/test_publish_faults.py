"""``shipwheel publish`` against an index that misbehaves or says no: a real HTTP server on 127.0.0.1 whose pages
and answers each test sets (PyPI-shaped PEP 691 pages, 401s with HTML bodies, echoed headers, gzip bombs, deeply
nested JSON, warehouse's refusals of a reused name).

The project pages follow PyPI's own JSON shape (``meta``, ``versions``, ``files`` with ``core-metadata``,
``hashes``, ``requires-python``, ``size``, ``upload-time``, ``url`` on the file host, ``yanked``), rebuilt for
markupsafe's release history, which begins on 2010-06-22.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixtures.defective import make_wheel
from fixtures.index_servers import IndexServer, make_release, make_sdist, unique_project
from shipwheel.errors import AuthenticationError, ConflictError, RemoteError
from shipwheel.publish import PublishRuleError, PublishSettings, Repository, publish_files

pytestmark = pytest.mark.integration

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class FakeIndex:
    """An index on 127.0.0.1: ``page`` answers GET of the project page, ``upload`` answers each POST."""

    base: str = ""
    page: Callable[[BaseHTTPRequestHandler], Answer] = lambda _h: (404, {}, b"")
    upload: Callable[[BaseHTTPRequestHandler, bytes], Answer] = lambda _h, _b: (200, {}, b"OK")
    posts: list[bytes] = field(default_factory=list)
    stored: list[tuple[str, str, str]] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def repository(self, kind: str = "http") -> Repository:
        """This server as a publish target; ``kind="pypi"`` applies PyPI's rules as for PyPI itself."""
        return Repository(
            name="fake", kind=kind, upload_url=f"{self.base}legacy/", index_url=f"{self.base}simple/"
        )  # type: ignore[arg-type]


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    state = FakeIndex()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, answer: Answer) -> None:
            status, headers, body = answer
            self.send_response(status, headers.pop("X-Reason", None))
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with state.lock:
                state.gets.append(self.path)
            self._answer(state.page(self))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.posts.append(body)
            answer = state.upload(self, body)
            if answer[0] == 200:
                name = re.search(rb'name="content"; filename="([^"]+)"', body)
                digest = re.search(rb'name="sha256_digest"\r\n\r\n([0-9a-f]{64})', body)
                assert name and digest
                with state.lock:
                    state.stored.append(
                        (name[1].decode(), _stamp(datetime.now(timezone.utc)), digest[1].decode())
                    )
            self._answer(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# --- a PyPI-shaped project page --------------------------------------------------------------------------------

#: (version, first upload, filenames) of markupsafe releases, oldest first, as PyPI lists them.
MARKUPSAFE = [
    ("0.9", "2010-06-22T13:56:30.128479Z", ["MarkupSafe-0.9.tar.gz"]),
    ("0.11", "2010-09-21T14:36:40.453418Z", ["MarkupSafe-0.11.tar.gz"]),
    ("0.23", "2014-05-08T11:38:56.476285Z", ["MarkupSafe-0.23.tar.gz"]),
    ("1.0", "2017-03-16T14:48:22.960958Z", ["MarkupSafe-1.0.tar.gz"]),
    (
        "1.1.1",
        "2019-02-24T01:04:53.418362Z",
        ["MarkupSafe-1.1.1-cp37-cp37m-manylinux1_x86_64.whl", "MarkupSafe-1.1.1.tar.gz"],
    ),
    (
        "2.1.5",
        "2024-02-02T16:30:04.105682Z",
        [
            "MarkupSafe-2.1.5-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "MarkupSafe-2.1.5-cp312-cp312-win_amd64.whl",
            "MarkupSafe-2.1.5.tar.gz",
        ],
    ),
    (
        "3.0.2",
        "2024-10-18T15:20:51.447962Z",
        [
            "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "MarkupSafe-3.0.2-cp313-cp313-macosx_11_0_arm64.whl",
            "markupsafe-3.0.2.tar.gz",
        ],
    ),
]


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pypi_page(extra: list[tuple[str, str, str]] = (), *, upper: bool = False) -> bytes:  # type: ignore[assignment]
    """The PEP 691 page of markupsafe as PyPI serves it, plus ``extra`` files ``(filename, upload-time, sha256)``.

    ``upper`` writes the hashes in upper case (PEP 691 does not fix the case of hex digests).
    """
    files = []
    for version, when, names in MARKUPSAFE:
        for name in names:
            digest = hashlib.sha256(name.encode()).hexdigest()
            files.append((name, when, digest, version))
    files += [(n, w, d, n.split("-")[1].removesuffix(".tar.gz")) for n, w, d in extra]
    entries = []
    for name, when, digest, _version in files:
        blake = hashlib.blake2b(name.encode(), digest_size=32).hexdigest()
        url = f"https://files.pythonhosted.org/packages/{blake[:2]}/{blake[2:4]}/{blake[4:]}/{name}"
        entries.append(
            {
                "core-metadata": {"sha256": hashlib.sha256(b"m" + name.encode()).hexdigest()}
                if name.endswith(".whl")
                else False,
                "data-dist-info-metadata": {"sha256": hashlib.sha256(b"m" + name.encode()).hexdigest()}
                if name.endswith(".whl")
                else False,
                "filename": name,
                "hashes": {"sha256": digest.upper() if upper else digest},
                "provenance": None,
                "requires-python": ">=3.9" if name.startswith(("MarkupSafe-3", "markupsafe-3")) else None,
                "size": 10_000 + len(name),
                "upload-time": when,
                "url": url + f"#sha256={digest}",
                "yanked": False,
            }
        )
    page = {
        "files": entries,
        "meta": {"_last-serial": 31000000, "api-version": "1.4"},
        "name": "markupsafe",
        "project-status": {"status": "active"},
        "versions": sorted({v for *_, v in files}, key=lambda v: [int(x) for x in v.split(".")]),
    }
    return json.dumps(page).encode()


def _json(body: bytes) -> Callable[[BaseHTTPRequestHandler], Answer]:
    return lambda _h: (200, {"Content-Type": JSON_TYPE}, body)


def _live(index: FakeIndex, extra: list[tuple[str, str, str]] = [], upper: bool = False) -> None:  # noqa: B006
    """Serve markupsafe's page with ``extra`` files and every file uploaded so far."""
    index.page = lambda _h: (
        200,
        {"Content-Type": JSON_TYPE},
        pypi_page([*extra, *index.stored], upper=upper),
    )


def _markupsafe(folder: Path, version: str) -> list[Path]:
    return [
        make_wheel(folder, "markupsafe", version, "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"),
        make_sdist(folder, "markupsafe", version),
    ]


def _publish(index: FakeIndex, files: list[Path], tmp_path: Path, kind: str = "pypi", **kw: object) -> object:
    env = {
        "HOME": str(tmp_path),
        "SHIPWHEEL_PASSWORD": "pypi-AgEIcHlwaS5vcmc-token",
        "SHIPWHEEL_NO_KEYRING": "1",
    }
    return publish_files(
        files,
        PublishSettings(
            repository=index.repository(kind),
            environ=env,
            journal_dir=tmp_path / "state",
            backoff=0.01,
            wheel_wait=0.5,
            **kw,
        ),
    )


# --- issue 9 item 1: the release-age rule looks at the version being published only -------------------------------


def test_new_version_of_old_project_accepted(index: FakeIndex, tmp_path: Path) -> None:
    """markupsafe's page holds releases since 2010; a new version has no file there and is never refused."""
    _live(index)
    result = _publish(index, _markupsafe(tmp_path / "dist", "3.0.4"), tmp_path)
    assert [r.status for r in result.results] == ["uploaded", "uploaded"]  # type: ignore[attr-defined]
    assert len(index.posts) == 2


def test_same_version_uploaded_20_days_ago_is_refused(index: FakeIndex, tmp_path: Path) -> None:
    """The version being published got its first file 20 days ago: PyPI takes no new file for it."""
    twenty = _stamp(datetime.now(timezone.utc) - timedelta(days=20))
    _live(index, [("markupsafe-3.0.4.tar.gz", twenty, "ab" * 32)])
    wheel = _markupsafe(tmp_path / "dist", "3.0.4")[0]
    with pytest.raises(PublishRuleError, match=r"release 3\.0\.4 was first uploaded on .*over 14 days ago"):
        _publish(index, [wheel], tmp_path)
    assert index.posts == []
    # Three days ago: still open for new files (a wheel added to a fresh release).
    _live(
        index,
        [("markupsafe-3.0.4.tar.gz", _stamp(datetime.now(timezone.utc) - timedelta(days=3)), "ab" * 32)],
    )
    result = _publish(index, [wheel], tmp_path)
    assert [r.status for r in result.results] == ["uploaded"]  # type: ignore[attr-defined]


# --- issue 10 item 10: the page's hashes in upper case; files on another host are never downloaded ----------------


def test_upper_case_hashes_are_the_same_contents(index: FakeIndex, tmp_path: Path) -> None:
    files = _markupsafe(tmp_path / "dist", "3.0.4")
    when = _stamp(datetime.now(timezone.utc) - timedelta(days=1))
    extra = [(f.name, when, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files]
    index.page = _json(pypi_page(extra, upper=True))
    result = _publish(index, files, tmp_path)
    assert [r.status for r in result.results] == ["skipped", "skipped"]  # type: ignore[attr-defined]
    assert index.posts == []


def test_no_download_from_another_host_to_hash(index: FakeIndex, tmp_path: Path) -> None:
    files = _markupsafe(tmp_path / "dist", "3.0.4")
    page = json.loads(pypi_page([(files[0].name, _stamp(datetime.now(timezone.utc)), "cd" * 32)]))
    for entry in page["files"]:
        entry["hashes"] = {}
        entry["url"] = (
            entry["url"].split("#")[0].replace("https://files.pythonhosted.org", "http://127.0.0.2:9")
        )
    index.page = _json(json.dumps(page).encode())
    result = _publish(index, files, tmp_path, kind="http")
    statuses = {r.filename: r.status for r in result.results}  # type: ignore[attr-defined]
    assert statuses == {files[0].name: "skipped", files[1].name: "uploaded"}
    assert all(path.startswith("/simple/") for path in index.gets)


def test_gzip_bomb_page_fails_fast(index: FakeIndex, tmp_path: Path) -> None:
    """About 1 MB of gzip that inflates to 1 GiB: an error at the 64 MiB limit, memory bounded."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip, made a MiB at a time
    block = b" " * (1 << 20)
    bomb = (
        packer.compress(b"[") + b"".join(packer.compress(block) for _ in range(1024)) + packer.compress(b"]")
    )
    bomb += packer.flush()
    assert len(bomb) < 2 << 20
    index.page = lambda _h: (200, {"Content-Type": JSON_TYPE, "Content-Encoding": "gzip"}, bomb)
    script = (
        "import resource, sys\nfrom pathlib import Path\n"
        "from shipwheel.publish import PublishSettings, Repository, publish_files\n"
        "from shipwheel.errors import RemoteError\n"
        f"repo = Repository(name='x', kind='http', upload_url={index.base + 'legacy/'!r}, "
        f"index_url={index.base + 'simple/'!r})\n"
        "try:\n"
        f"    publish_files([Path({str(_markupsafe(tmp_path / 'dist', '3.0.4')[0])!r})], PublishSettings(repository=repo,\n"
        f"                  environ={{'HOME': {str(tmp_path)!r}}}, journal_dir=Path({str(tmp_path / 's')!r})))\n"
        "except RemoteError as exc:\n"
        "    print(exc.one_line())\n"
        "print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "larger than 64 MiB" in proc.stdout, proc.stdout + proc.stderr
    rss = int(proc.stdout.split("maxrss_kib")[1])
    assert rss < 400 * 1024, rss  # far below the 1 GiB the page inflates to
    assert index.posts == []


def test_deeply_nested_json_page_is_a_clean_error(index: FakeIndex, tmp_path: Path) -> None:
    index.page = _json(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(RemoteError, match=r"not a simple index .*nested too deeply"):
        _publish(index, _markupsafe(tmp_path / "dist", "3.0.4"), tmp_path, kind="http")
    index.page = _json(b'{"files": 5, "meta": []}')
    with pytest.raises(RemoteError, match="not a simple index"):
        _publish(index, _markupsafe(tmp_path / "dist", "3.0.4"), tmp_path, kind="http")
    assert index.posts == []


# --- issue 10 item 17: a reused file name is a conflict (exit 8), not "run again" ----------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        "This filename was previously used by a file that has since been deleted. Use a different version.",
        "This filename has already been used, use a different version.",
        "File already exists ('markupsafe-3.0.4.tar.gz', with blake2_256 hash '00'). See /help/#file-name-reuse",
    ],
)
def test_reused_filename_exits_8(index: FakeIndex, tmp_path: Path, reason: str) -> None:
    index.page = _json(pypi_page())
    index.upload = lambda _h, _b: (400, {"X-Reason": reason, "Content-Type": "text/html"}, b"<html>no</html>")
    with pytest.raises(ConflictError) as info:
        _publish(index, _markupsafe(tmp_path / "dist", "3.0.4")[:1], tmp_path)
    assert info.value.exit_code == 8 and len(index.posts) == 1
    proc = _cli_publish(index, tmp_path, _markupsafe(tmp_path / "dist", "3.0.4")[:1])
    assert proc.returncode == 8, proc.stderr


def _cli_publish(
    index: FakeIndex, tmp_path: Path, files: list[Path], *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIPWHEEL_", "TWINE_", "UV_"))},
        "HOME": str(tmp_path / "home"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "SHIPWHEEL_NO_KEYRING": "1",
        "COLUMNS": "200",
        **(env or {}),
    }
    args = ["publish", *map(str, files), "--no-verify", "-r", index.base + "legacy/", "--index-url"]
    args += [index.base + "simple/", "--retries", "1", *extra]
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", *args], env=full, capture_output=True, text=True, timeout=120
    )


# --- issue 9 item 8: no credentials for an index that wants them ------------------------------------------------


_PYPISERVER_401 = (
    b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html>\n<head>\n<title>Error: 401 Unauthorized</title>\n'
    b'<style type="text/css">html {background-color: #eee; font-family: sans;}</style>\n</head>\n<body>\n'
    b"<h1>Error: 401 Unauthorized</h1>\n<p>Sorry, the requested URL <tt>&#039;http://127.0.0.1/&#039;</tt>\n"
    b"caused an error:</p>\n<pre>Authentication required</pre>\n</body>\n</html>\n"
)


def test_no_credentials_stops_after_the_first_401(index: FakeIndex, tmp_path: Path) -> None:
    index.page = lambda _h: (404, {}, b"")
    index.upload = lambda _h, _b: (
        401,
        {"Content-Type": "text/html; charset=UTF-8", "WWW-Authenticate": 'Basic realm="pypi"'},
        _PYPISERVER_401,
    )
    folder = tmp_path / "dist"
    files = [make_wheel(folder, "demo", "1.0", f"cp3{i}-cp3{i}-manylinux_2_17_x86_64") for i in range(8, 14)]
    files.append(make_sdist(folder, "demo", "1.0"))
    proc = _cli_publish(index, tmp_path, [folder], "-j", "8")
    assert proc.returncode == 7, proc.stderr
    assert len(index.posts) == 1  # one anonymous upload, never several in parallel
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    line = errors[0]
    assert "asks for credentials and none were given" in line and "Authentication required" in line
    assert "<" not in line and "Error: 401" not in line, line
    assert "token" not in line.lower() and "pypi-" not in line  # not PyPI: no PyPI token hint
    assert "--username and --password" in line
    # The next run says nothing about resuming: the refused file was never in doubt.
    again = _cli_publish(index, tmp_path, [folder])
    assert again.returncode == 7 and "resuming" not in again.stderr + again.stdout, again.stderr


def test_pypi_hint_only_for_pypi(index: FakeIndex, tmp_path: Path) -> None:
    index.page = _json(pypi_page())
    index.upload = lambda _h, _b: (
        403,
        {
            "X-Reason": "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth"
        },
        b"<html><body>403 Invalid or non-existent authentication information.</body></html>",
    )
    with pytest.raises(AuthenticationError) as info:
        _publish(index, _markupsafe(tmp_path / "dist", "3.0.4"), tmp_path)
    line = info.value.one_line()
    assert "refused the credentials" in line and "Invalid or non-existent authentication" in line
    assert "__token__" in line and len(index.posts) == 1


def test_no_credentials_against_pypiserver(pypiserver: IndexServer, tmp_path: Path) -> None:
    """The real thing: pypiserver wants credentials for uploads and none are given."""
    log = pypiserver.root.parent / "requests.log"
    before = log.read_text(errors="replace").count("POST") if log.is_file() else 0
    folder = tmp_path / "dist"
    make_release(folder, unique_project("nocreds"), "1.0", wheels=6)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIPWHEEL_", "TWINE_", "UV_"))},
        "HOME": str(tmp_path / "home"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "SHIPWHEEL_NO_KEYRING": "1",
    }
    cmd = [sys.executable, "-m", "shipwheel", "publish", str(folder), "--no-verify", "-j", "8"]
    cmd += ["-r", pypiserver.upload_url]
    for _run in range(2):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 7, proc.stderr
        assert proc.stderr.count("error:") == 1 and "resuming" not in proc.stderr, proc.stderr
        assert "asks for credentials and none were given (HTTP 401 Unauthorized)" in proc.stderr
        assert "token" not in proc.stderr.lower()
    after = log.read_text(errors="replace").count("POST") if log.is_file() else 2
    assert after - before == 2  # one upload per run, never several at once
