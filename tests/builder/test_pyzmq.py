"""Real pyzmq 27.3.0 from its sdist, with its own ``[tool.cibuildwheel]`` configuration and nothing added: its
Linux table's ``before-all`` (``bash tools/install_libzmq.sh``) builds libsodium and libzmq from source and
writes the bundled libraries' licence files into the project, and every wheel carries them; the cp312 override
builds an abi3 wheel, repaired and audited.

Nothing reaches the network: the script's downloads (curl from github.com and download.libsodium.org, Python's
urllib from raw.githubusercontent.com) go through a CONNECT proxy on 127.0.0.1 to an HTTPS server on
127.0.0.1 (a throwaway CA) serving archives made here from the projects' own git repositories at the released
tags (libzmq's made as its maintainers make the release tarball: ``git archive`` then ``./autogen.sh``). The
script installs into ``ZMQ_PREFIX=/usr/local`` (a container's in cibuildwheel) and runs ldconfig: the build runs
in a private mount namespace where /usr/local is an overlay and /etc/ld.so.cache a copy, so the machine's own are
never written.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from builder.test_build import HAVE
from fixtures.mirrors import mirror_of
from fixtures.pypi_sdists import pinned_sdist

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # libsodium and libzmq from source, then pyzmq twice: 15 minutes on an idle 2-core machine, 50 under load,
    # a quarter of CI's hour; run on demand (and before a change to the builder's before-all or repair lands)
    pytest.mark.skipif(
        os.environ.get("SHIPWHEEL_LONG_TESTS") != "1",
        reason="pyzmq from source with libzmq takes 15-50 minutes: set SHIPWHEEL_LONG_TESTS=1 to run it",
    ),
]

LIBZMQ = ("zeromq/libzmq", "622fc6dde99ee172ebaa9c8628d85a7a1995a21d", "4.3.5")  # tag v4.3.5
LIBSODIUM = ("jedisct1/libsodium", "77e1ce5d6dee871c49ef211222ba18ef0c486bda", "1.0.22")  # 1.0.22-RELEASE
HOSTS = ("github.com", "download.libsodium.org", "raw.githubusercontent.com")


def _archive(repository: str, commit: str, prefix: str, dest: Path) -> Path:
    """``git archive`` of the mirror at ``commit``, extracted into ``dest``/``prefix``."""
    blob = subprocess.run(
        ["git", "-C", str(mirror_of(repository, commit)), "archive", "--format=tar", f"--prefix={prefix}/", commit],
        check=True, capture_output=True, timeout=300,
    ).stdout  # fmt: skip
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=blob, check=True, timeout=300)
    return dest / prefix


def _tarball(tree: Path, dest: Path) -> None:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)


def _served_files(root: Path) -> Path:
    """The files install_libzmq.sh and bundle.py download, at their URL paths below ``root``."""
    repo, commit, version = LIBZMQ
    zmq = _archive(repo, commit, f"zeromq-{version}", root / "trees")
    subprocess.run(["./autogen.sh"], cwd=zmq, check=True, capture_output=True, timeout=600)
    releases = root / "www" / "zeromq" / "libzmq" / "releases" / "download" / f"v{version}"
    releases.mkdir(parents=True)
    _tarball(zmq, releases / f"zeromq-{version}.tar.gz")
    licences = root / "www" / "zeromq" / "libzmq" / f"v{version}"
    licences.mkdir(parents=True)
    shutil.copy(zmq / "LICENSE", licences / "LICENSE")
    repo, commit, version = LIBSODIUM
    sodium = _archive(repo, commit, "libsodium-stable", root / "trees")
    sodium_dir = root / "www" / "libsodium" / "releases"
    sodium_dir.mkdir(parents=True)
    _tarball(sodium, sodium_dir / f"libsodium-{version}-stable.tar.gz")
    licence = root / "www" / "jedisct1" / "libsodium" / f"{version}-RELEASE"
    licence.mkdir(parents=True)
    shutil.copy(sodium / "LICENSE", licence / "LICENSE")
    return root / "www"


def _pipe(a: socket.socket, b: socket.socket) -> None:
    with a, b:
        while True:
            ready, _, _ = select.select([a, b], [], [], 300)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)


class _Proxy(threading.Thread):
    """A CONNECT proxy on 127.0.0.1: the download hosts go to ``local``, any other host (PyPI, for the build
    environments) to itself."""

    def __init__(self, local: int) -> None:
        super().__init__(daemon=True)
        self.local = local
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]

    def run(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            self._tunnel(client)
        except OSError:
            client.close()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        host, _, port = target.rpartition(":")
        if method != "CONNECT":
            client.close()
            return
        address = ("127.0.0.1", self.local) if host in HOSTS else (host, int(port))
        upstream = socket.create_connection(address, timeout=60)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _pipe(client, upstream)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment that sends the script's downloads to the local server: proxy and CA bundle."""
    if shutil.which("autoreconf") is None or shutil.which("libtoolize") is None:
        pytest.skip("libzmq's autogen.sh needs autoconf, automake and libtool (.ci/run installs them)")
    root = tmp_path_factory.mktemp("downloads")
    www = _served_files(root)
    ca = trustme.CA()
    cert = ca.issue_cert(*HOSTS)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    def handler(*args: object, **kwargs: object) -> SimpleHTTPRequestHandler:
        return SimpleHTTPRequestHandler(*args, directory=str(www), **kwargs)  # type: ignore[arg-type]

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # type: ignore[arg-type]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = _Proxy(server.server_address[1])
    proxy.start()
    system = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))
    bundle = root / "ca-bundle.pem"
    bundle.write_bytes((system.read_bytes() if system.is_file() else b"") + ca.cert_pem.bytes())
    url = f"http://127.0.0.1:{proxy.port}"
    yield {
        "https_proxy": url, "HTTPS_PROXY": url, "SSL_CERT_FILE": str(bundle), "CURL_CA_BUNDLE": str(bundle),
        "REQUESTS_CA_BUNDLE": str(bundle), "PIP_CERT": str(bundle),
    }  # fmt: skip
    server.shutdown()
    server.server_close()
    proxy.server.close()


@pytest.fixture(scope="module")
def pyzmq_build(downloads: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    wanted = [p for p in ("cp312", "cp313") if p in HAVE]
    if "cp312" not in wanted:
        pytest.skip("needs CPython 3.12 (pyzmq's abi3 override selects cp312-*)")
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs a private mount namespace (unshare --mount) for pyzmq's /usr/local prefix")
    root = tmp_path_factory.mktemp("pyzmq")
    upper, work = root / "usr-local-upper", root / "usr-local-work"
    upper.mkdir()
    work.mkdir()
    sdist = pinned_sdist("pyzmq", "27.3.0")
    only = " ".join(f"{p}-manylinux_x86_64" for p in wanted)
    # the script's ldconfig writes /etc/ld.so.cache: a private copy of it too
    shutil.copy2("/etc/ld.so.cache", root / "ld.so.cache")
    mount = (
        f"mount -t overlay overlay -o lowerdir=/usr/local,upperdir={upper},workdir={work} /usr/local && "
        f"mount --bind {root / 'ld.so.cache'} /etc/ld.so.cache"
    )
    command = [
        "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", f'{mount} && exec "$@"', "sh",
        sys.executable, "-m", "shipwheel", "build", str(sdist), "--json", "--only", only,
        "-o", str(root / "wh"), "--log-dir", str(root / "logs"), "--cache-dir", str(root / "cache"),
    ]  # fmt: skip
    proc = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **downloads}, timeout=3000, check=False
    )
    if not proc.stdout.strip():
        pytest.fail(f"shipwheel build printed no result: {proc.stderr[-4000:]}")
    data: dict = json.loads(proc.stdout)
    data["_logs"] = str(root / "logs")
    data["_upper"] = str(upper)
    return data


def test_platform_before_all_builds_libzmq_and_its_licences_reach_the_wheel(pyzmq_build: dict) -> None:
    logs = Path(pyzmq_build["_logs"])
    before_all = (logs / "before-all.log").read_text()
    assert "Downloading https://raw.githubusercontent.com/zeromq/libzmq/v4.3.5/LICENSE" in before_all
    assert (Path(pyzmq_build["_upper"]) / "lib" / "libzmq.so").exists()  # in the overlay, not the machine
    assert not Path("/usr/local/lib/libzmq.so").exists() or "libzmq.so" not in os.listdir(
        pyzmq_build["_upper"]
    )
    by_id = {r["identifier"]: r for r in pyzmq_build["results"]}
    ok = [r for r in by_id.values() if r["status"] == "ok"]
    assert ok, [(r["identifier"], r["error"], r["error_lines"]) for r in by_id.values()]
    for r in ok:
        with zipfile.ZipFile(r["wheel"]) as zf:
            names = zf.namelist()
        assert any(n.startswith("pyzmq.libs/libzmq") for n in names), r["wheel"]  # grafted by auditwheel
        licences = {Path(n).name for n in names if "/licenses/" in n}
        assert {"LICENSE.zeromq.txt", "LICENSE.libsodium.txt"} <= licences, licences
        assert r["tested"] is True  # pyzmq's own tools/test_wheel.py, test_license_files among them


def test_abi3_override_is_repaired_and_audited(pyzmq_build: dict) -> None:
    from shipwheel.config import load_config

    tree = Path(pyzmq_build["_logs"]).parent / "tree"
    if not tree.exists():
        with tarfile.open(pinned_sdist("pyzmq", "27.3.0")) as tar:
            tar.extractall(tree, filter="data")
    command = load_config(tree / "pyzmq-27.3.0").for_identifier("cp312-manylinux_x86_64").repair_wheel_command
    if "auditwheel" not in command:
        pytest.skip(f"the configuration resolves cp312's repair-wheel-command to {command!r}, without "
                    "cibuildwheel's implicit auditwheel default (the config step's inherit)")  # fmt: skip
    r = {r["identifier"]: r for r in pyzmq_build["results"]}["cp312-manylinux_x86_64"]
    assert r["status"] == "ok", (r["error"], r["error_lines"])
    assert r["tag"].startswith("cp312-abi3-manylinux") and r["repaired"] is True
    log = Path(r["log"]).read_text()
    assert "abi3audit" in log and "auditwheel" in log
