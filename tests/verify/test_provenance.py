"""``shipwheel verify --provenance``: a real PEP 740 attestation (pypi-attestations 0.0.19, published by its
release workflow, taken from that project's own sdist test assets) checked offline."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipwheel.attest import Identity, verify_provenance
from shipwheel.cli import main_inner

pytest.importorskip("pypi_attestations")

DATA = Path(__file__).parents[1] / "data" / "provenance"
SDIST = "pypi_attestations-0.0.19.tar.gz"
PUBLISHER = Identity("trailofbits/pypi-attestations", "release.yml", "refs/tags/v0.0.19")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(DATA / SDIST, dist / SDIST)
    shutil.copy(DATA / f"{SDIST}.publish.attestation", dist / f"{SDIST}.publish.attestation")
    return dist


def test_real_attestation_is_accepted_offline(release: Path) -> None:
    [result] = verify_provenance([release / SDIST], PUBLISHER)
    assert result.ok, result.problem
    assert result.source.endswith(".publish.attestation")


def test_tampered_file_is_rejected(release: Path) -> None:
    with (release / SDIST).open("ab") as fh:
        fh.write(b"\0")
    [result] = verify_provenance([release / SDIST], PUBLISHER)
    assert not result.ok
    assert "digest" in result.problem or "subject" in result.problem


@pytest.mark.parametrize(
    "identity",
    [
        Identity("someone/else", "release.yml"),
        Identity("trailofbits/pypi-attestations", "wheels.yml"),
        Identity("trailofbits/pypi-attestations", "release.yml", "refs/heads/main"),
    ],
    ids=["repository", "workflow", "ref"],
)
def test_another_identity_is_rejected(release: Path, identity: Identity) -> None:
    [result] = verify_provenance([release / SDIST], identity)
    assert not result.ok, identity
    assert result.problem


def test_missing_attestation_is_an_error(release: Path) -> None:
    (release / f"{SDIST}.publish.attestation").unlink()
    [result] = verify_provenance([release / SDIST], PUBLISHER)
    assert not result.ok and result.problem == "no publish attestation"


@pytest.fixture
def integrity_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 laid out as PyPI's integrity API, serving the real provenance."""
    root = tmp_path / "www"
    target = root / "integrity" / "pypi-attestations" / "0.0.19" / SDIST / "provenance"
    target.parent.mkdir(parents=True)
    shutil.copy(DATA / f"{SDIST}.provenance", target)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_attestation_fetched_from_the_integrity_api(release: Path, integrity_server: str) -> None:
    (release / f"{SDIST}.publish.attestation").unlink()
    [result] = verify_provenance([release / SDIST], PUBLISHER, index=integrity_server)
    assert result.ok, result.problem
    assert result.source == f"{integrity_server} integrity API"


def test_cli_verify_provenance(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["verify", str(release), "-j", "1", "--no-completeness", "--provenance"]
    identity = [
        "--publisher-repository",
        "trailofbits/pypi-attestations",
        "--publisher-workflow",
        "release.yml",
    ]
    main_inner([*base, *identity, "--publisher-ref", "refs/tags/v0.0.19"])
    out = capsys.readouterr().out
    assert "provenance: trailofbits/pypi-attestations release.yml @ refs/tags/v0.0.19" in out
    assert "FAILED" not in out
    assert main_inner([*base, "--publisher-repository", "someone/else"]) == 1
    assert "FAILED" in capsys.readouterr().out
