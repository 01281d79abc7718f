"""PEP 740 provenance of release files, checked offline against the workflow that must have published them.

Each file's attestation is read from ``FILE.publish.attestation`` beside it (the form ``pypa/gh-action-pypi-publish``
and ``pypi-attestations`` write), or from the index's integrity API (``/integrity/<project>/<version>/<file>/
provenance``, PyPI's PEP 740 endpoint). The signature, its transparency-log inclusion and the file's digest are
verified by the ``pypi-attestations`` library (the optional extra ``shipwheel[attest]``) with sigstore's trust
root as shipped inside the ``sigstore`` package: ``offline=True`` means no TUF refresh and no network at all.
The identity check adds what a trusted publisher on PyPI checks (repository and workflow file) and, when asked,
the git ref the workflow ran on, read from the Fulcio certificate's Source Repository Ref extension.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .distfiles import DistFile
from .errors import EnvironmentNotReadyError, RemoteError

__all__ = ["Identity", "ProvenanceResult", "verify_provenance"]

# Fulcio's OID for the Source Repository Ref (refs/heads/main, refs/tags/v1.0) of a GitHub Actions identity.
_SOURCE_REF_OID = "1.3.6.1.4.1.57264.1.14"
_SUFFIX = ".publish.attestation"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who must have published: ``owner/name``, the workflow file name, and optionally the ref it ran on."""

    repository: str
    workflow: str = "wheels.yml"
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class ProvenanceResult:
    """The verdict on one file: ``ok``, or ``problem`` saying what does not match; ``source`` is where the
    attestation came from."""

    file: Path
    ok: bool
    problem: str
    source: str


def _library() -> Any:
    try:
        import pypi_attestations
    except ImportError:
        raise EnvironmentNotReadyError(
            "checking provenance needs the pypi-attestations library",
            hint="install shipwheel[attest]",
        ) from None
    return pypi_attestations


def _source_ref(attestation: Any) -> str | None:
    from cryptography import x509

    der: bytes = attestation.verification_material.certificate  # pydantic has decoded the base64 already
    for ext in x509.load_der_x509_certificate(der).extensions:
        if ext.oid.dotted_string == _SOURCE_REF_OID:
            raw: bytes = ext.value.value
            # DER UTF8String: tag 0x0c, one length byte for the short refs Fulcio writes
            return raw[2:].decode() if raw[:1] == b"\x0c" else raw.decode()
    return None


def _fetch(index: str, dist: DistFile, path: Path) -> list[Any]:
    """The attestations of ``path`` from the integrity API at ``index`` (``https://pypi.org``)."""
    from ._http import make_client

    lib = _library()
    url = (
        f"{index.rstrip('/')}/integrity/{quote(dist.name)}/{quote(str(dist.version))}/{quote(path.name)}"
        "/provenance"
    )
    with make_client(timeout=30.0, headers={"Accept": "application/vnd.pypi.integrity.v1+json"}) as client:
        try:
            response = client.get(url)
        except Exception as exc:
            raise RemoteError(
                f"cannot reach {index}: {exc}",
                hint="check the network, or put FILE.publish.attestation beside",
            ) from None
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise RemoteError(f"{url} answered {response.status_code}", hint="try again later")
    provenance = lib.Provenance.model_validate_json(response.content)
    return [a for bundle in provenance.attestation_bundles for a in bundle.attestations]


def verify_provenance(
    files: Sequence[Path],
    identity: Identity,
    *,
    index: str | None = None,
    on_file: Callable[[ProvenanceResult], None] | None = None,
) -> list[ProvenanceResult]:
    """Check the PEP 740 publish attestation of every file against ``identity``; one result per file.

    The attestation beside the file wins; without one, it is fetched from ``index``'s integrity API when
    ``index`` is given. A file with no attestation, a digest that differs (a changed file), a signature that
    does not verify or another publisher is a failed result, never an exception.
    """
    lib = _library()
    publisher = lib.GitHubPublisher(repository=identity.repository, workflow=identity.workflow)
    results: list[ProvenanceResult] = []

    def add(result: ProvenanceResult) -> None:
        results.append(result)
        if on_file is not None:
            on_file(result)

    for path in files:
        beside = path.with_name(path.name + _SUFFIX)
        attestations: list[Any] = []
        source = str(beside)
        if beside.is_file():
            try:
                attestations = [lib.Attestation.model_validate_json(beside.read_bytes())]
            except ValueError as exc:
                add(ProvenanceResult(path, False, f"unreadable attestation: {exc}", source))
                continue
        elif index is not None:
            dist = DistFile.parse(path.name)
            if dist is None:
                add(ProvenanceResult(path, False, "not a release file name", index))
                continue
            source = f"{index} integrity API"
            attestations = _fetch(index, dist, path)
        if not attestations:
            add(ProvenanceResult(path, False, "no publish attestation", source))
            continue
        add(_check(lib, path, attestations, publisher, identity, source))
    return results


def _check(
    lib: Any, path: Path, attestations: list[Any], publisher: Any, identity: Identity, source: str
) -> ProvenanceResult:
    dist = lib.Distribution.from_file(path)
    problem = ""
    for attestation in attestations:
        try:
            predicate_type, _ = attestation.verify(publisher, dist, offline=True)
        except lib.VerificationError as exc:
            problem = str(exc)
            continue
        if predicate_type != "https://docs.pypi.org/attestations/publish/v1":
            problem = f"not a publish attestation ({predicate_type})"
            continue
        ref = _source_ref(attestation)
        if identity.ref is not None and ref != identity.ref:
            problem = f"published from ref {ref}, not {identity.ref}"
            continue
        return ProvenanceResult(path, True, "", source)
    return ProvenanceResult(path, False, problem, source)
