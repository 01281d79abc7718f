"""twine's and uv publish's options and variables, against a real pypiserver served over TLS (issue 14).

The server is pypiserver's WSGI app under gunicorn with a certificate made here by a throwaway CA (the
``cryptography`` package), on 127.0.0.1; it also asks for a client certificate from the same CA, so that
``--client-cert`` / ``client_cert`` are exercised. Users: ``alice`` and ``__token__`` (an API-token login).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fixtures.index_servers import make_release, unique_project
from fixtures.processes import free_port, stop_process
from shipwheel.distfiles import file_digests

pytestmark = pytest.mark.integration

PASSWORD = "tls-Pass-42"
TOKEN = "pypi-AgEIcHlwaS5vcmctest-token"


@dataclass
class TlsIndex:
    url: str
    ca: Path
    client: Path
    packages: Path

    def files(self) -> dict[str, str]:
        return {
            p.name: file_digests(p)["sha256"] for p in self.packages.iterdir() if not p.name.endswith(".asc")
        }


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificates(folder: Path) -> tuple[Path, Path, Path, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate; PEM files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("shipwheel test CA"))
        .issuer_name(_name("shipwheel test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common: str, usage: x509.ObjectIdentifier) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        pem_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM), pem_key

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / n for n in ("ca.pem", "server.pem", "server.key", "client.pem")]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server_cert, server_key = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH)
    paths[1].write_bytes(server_cert)
    paths[2].write_bytes(server_key)
    client_cert, client_key = leaf("shipwheel client", ExtendedKeyUsageOID.CLIENT_AUTH)
    paths[3].write_bytes(
        client_cert + client_key
    )  # twine's client_cert: one PEM with the certificate and key
    return paths[0], paths[1], paths[2], paths[3]


@pytest.fixture(scope="module")
def tls_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsIndex]:
    root = tmp_path_factory.mktemp("tls-pypiserver")
    ca, cert, key, client = _certificates(root / "certs")
    with warnings.catch_warnings():  # passlib imports the deprecated crypt module
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile
    packages = root / "packages"
    packages.mkdir()
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True)
    htpasswd.set_password("alice", PASSWORD)
    htpasswd.set_password("__token__", TOKEN)
    htpasswd.save()
    args = ["run", "-P", str(root / "htpasswd"), "-a", "update", "--disable-fallback", str(packages)]
    (root / "pypiserver_wsgi.py").write_text(
        "import pypiserver\nfrom pypiserver.config import Config\n"
        f"application = pypiserver.app_from_config(Config.from_args({args!r}))\n"
    )
    port = free_port()
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"), "--chdir", str(root), "-w", "1", "-k", "gthread",
        "--threads", "4", "-b", f"127.0.0.1:{port}", "--certfile", str(cert), "--keyfile", str(key),
        "--ca-certs", str(ca), "--cert-reqs", str(int(ssl.CERT_REQUIRED)), "pypiserver_wsgi:application",
    ]  # fmt: skip
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}/"
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(client))
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "simple/", verify=context, timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            pytest.fail(f"pypiserver over TLS did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield TlsIndex(url, ca, client, packages)
    stop_process(proc)


def _cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIPWHEEL_", "TWINE_", "UV_PUBLISH_"))},
        "HOME": str(tmp_path / "home"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "SHIPWHEEL_NO_KEYRING": "1",
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "shipwheel", "publish", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_config_file_with_ca_cert_over_tls(tls_index: TlsIndex, tmp_path: Path) -> None:
    """twine's habit: ``--config-file`` naming a section with ``ca_cert`` and ``client_cert``, plus
    ``--skip-existing`` and ``--non-interactive``; the second run skips every file."""
    files = make_release(tmp_path / "dist", unique_project("tls"), "1.0", wheels=2)
    config = tmp_path / "elsewhere" / "pypirc"
    config.parent.mkdir()
    config.write_text(
        f"[distutils]\nindex-servers = private\n\n[private]\nrepository = {tls_index.url}\nusername = alice\n"
        f"password = {PASSWORD}\nca_cert = {tls_index.ca}\nclient_cert = {tls_index.client}\n"
    )
    args = [str(tmp_path / "dist"), "--no-verify", "-r", "private", "--config-file", str(config)]
    proc = _cli([*args, "--skip-existing", "--non-interactive"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {f.name for f in files} <= set(tls_index.files())
    again = _cli([*args, "--json"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert '"status": "skipped"' in again.stdout and '"status": "uploaded"' not in again.stdout
    # Without the CA the certificate is not trusted: one line, at once, with the way out.
    config.write_text(config.read_text().replace(f"ca_cert = {tls_index.ca}\n", ""))
    proc = _cli(args, tmp_path)
    assert proc.returncode == 6 and "Traceback" not in proc.stderr, proc.stderr
    assert "TLS certificate is not trusted" in proc.stderr and "--cert" in proc.stderr
    missing = _cli([*args[:-1], str(tmp_path / "nope")], tmp_path)
    assert missing.returncode == 3 and "does not exist" in missing.stderr, missing.stderr


def test_twine_options_repository_url_password_cert(tls_index: TlsIndex, tmp_path: Path) -> None:
    files = make_release(tmp_path / "dist", unique_project("twineopts"), "1.0", wheels=1)
    cert = ["--cert", str(tls_index.ca), "--client-cert", str(tls_index.client)]
    base = [str(tmp_path / "dist"), "--no-verify", "--repository-url", tls_index.url, "-u", "alice"]
    proc = _cli([*base, "-p", PASSWORD, *cert], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {f.name for f in files} <= set(tls_index.files())
    # TWINE_CERT / TWINE_CLIENT_CERT and TWINE_PASSWORD do the same; a wrong -p is refused with a fitting hint.
    env = {
        "TWINE_CERT": str(tls_index.ca),
        "TWINE_CLIENT_CERT": str(tls_index.client),
        "TWINE_PASSWORD": PASSWORD,
    }
    files2 = make_release(tmp_path / "dist2", unique_project("twineenv"), "1.0", wheels=1)
    proc = _cli(
        [str(tmp_path / "dist2"), "--no-verify", "--repository-url", tls_index.url, "-u", "alice"],
        tmp_path,
        **env,
    )
    assert proc.returncode == 0, proc.stderr
    assert {f.name for f in files2} <= set(tls_index.files())
    files3 = make_release(tmp_path / "dist3", unique_project("twinebad"), "1.0", wheels=1)
    proc = _cli(
        [
            str(tmp_path / "dist3"),
            "--no-verify",
            "--repository-url",
            tls_index.url,
            "-u",
            "alice",
            "-p",
            "wrong-one",
            *cert,
        ],
        tmp_path,
    )
    assert proc.returncode == 7 and "refused the credentials" in proc.stderr, proc.stderr
    assert "pypi-" not in proc.stderr and "wrong-one" not in proc.stderr
    assert not {f.name for f in files3} & set(tls_index.files())


def test_uv_publish_variables_and_token(tls_index: TlsIndex, tmp_path: Path) -> None:
    files = make_release(tmp_path / "dist", unique_project("uvvars"), "1.0", wheels=1)
    env = {
        "UV_PUBLISH_URL": tls_index.url,
        "UV_PUBLISH_USERNAME": "alice",
        "UV_PUBLISH_PASSWORD": PASSWORD,
        "SHIPWHEEL_CERT": str(tls_index.ca),
        "SHIPWHEEL_CLIENT_CERT": str(tls_index.client),
    }
    proc = _cli(
        [str(tmp_path / "dist"), "--no-verify", "--check-url", tls_index.url + "simple/"], tmp_path, **env
    )
    assert proc.returncode == 0, proc.stderr
    assert {f.name for f in files} <= set(tls_index.files())
    # A token, from -t and from UV_PUBLISH_TOKEN: sent as __token__.
    token_env = {k: v for k, v in env.items() if k not in {"UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"}}
    files2 = make_release(tmp_path / "dist2", unique_project("uvtoken"), "1.0", wheels=1)
    proc = _cli([str(tmp_path / "dist2"), "--no-verify", "-t", TOKEN], tmp_path, **token_env)
    assert proc.returncode == 0, proc.stderr
    files3 = make_release(tmp_path / "dist3", unique_project("uvtokenenv"), "1.0", wheels=1)
    proc = _cli([str(tmp_path / "dist3"), "--no-verify"], tmp_path, UV_PUBLISH_TOKEN=TOKEN, **token_env)
    assert proc.returncode == 0, proc.stderr
    assert {f.name for f in files2 + files3} <= set(tls_index.files())
