"""Nightlies of a static development version: a project that keeps ``1.2.0.dev0`` in pyproject.toml between
releases (as NumPy and SciPy do) builds the same file names every night with other bytes. The scheduled ``dev``
job of the generated workflow replaces the last night's files (``--overwrite``) in a bucket (moto's S3 server)
and on an index server (pypiserver, which removes the version with its ``remove_pkg`` action first; devpi-server,
which removes it with a ``DELETE`` of the version), and its ``--keep-dev`` retention still applies. A release file
on an index server is never replaced."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

import shipwheel.publish
from fixtures.http_servers import MotoS3
from fixtures.index_servers import IndexServer, make_release, make_sdist, unique_project
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.distfiles import DistFile, file_digests
from shipwheel.errors import ConflictError, ShipwheelError, TransferError

_STATIC = "1.2.0.dev0"


def _nightly_argv(project_dir: Path, project: str, to: str, keep: int) -> list[str]:
    """The command line of the generated ``dev`` job (what runs every night), without ``shipwheel``."""
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / "pyproject.toml").write_text(
        f'[project]\nname = "{project}"\nversion = "{_STATIC}"\nrequires-python = ">=3.12"\n\n'
        '[tool.shipwheel]\nplatforms = ["manylinux_x86_64"]\nbuild = ["cp312-*"]\n\n'
        f'[tool.shipwheel.stage]\nto = "{to}"\n\n'
        f'[tool.shipwheel.ci]\ndev-schedule = "0 3 * * *"\ndev-keep = {keep}\n',
        encoding="utf-8",
    )
    doc = yaml.safe_load(github_workflows(load_config(project_dir))[WORKFLOW_FILE])
    (step,) = [s for s in doc["jobs"]["dev"]["steps"] if "run" in s]
    argv = shlex.split(step["run"].strip().splitlines()[-1])
    assert argv[:2] == ["shipwheel", "stage"]
    return argv[1:]


def _build_night(project_dir: Path, project: str, night: int, *, wheels: int = 2) -> dict[str, str]:
    """``dist/`` holding tonight's files of the static version (wheels with other bytes, an sdist with another
    summary): ``{filename: sha256}``."""
    dist = project_dir / "dist"
    for old in dist.glob("*") if dist.exists() else []:
        old.unlink()
    files = make_release(dist, project, _STATIC, wheels=wheels, payload_size=64, sdist=False)
    files.append(make_sdist(dist, project, _STATIC, summary=f"night {night}"))
    return {f.name: file_digests(f)["sha256"] for f in files}


def _run_night(
    argv: list[str], project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    monkeypatch.chdir(project_dir)
    capsys.readouterr()
    assert main_inner([*argv, "--json"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def _statuses(report: dict[str, object]) -> dict[str, str]:
    files = report["files"]
    assert isinstance(files, list)
    return {f["filename"]: f["status"] for f in files}


def _versions(names: object) -> set[str]:
    return {str(d.version) for n in names if (d := DistFile.parse(n)) is not None}  # type: ignore[attr-defined]


def test_the_nightly_job_replaces_last_nights_static_dev_version_on_an_index_server(
    versions_index: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = versions_index
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    project = unique_project("static")
    for v in ("1.0.0", "1.1.0.dev0", "1.1.0.dev1"):
        assert main_inner(["stage", *map(str, make_release(tmp_path / v, project, v, wheels=1)), "--to",
                           server.upload_url]) == 0  # fmt: skip
    project_dir = tmp_path / "project"
    argv = _nightly_argv(project_dir, project, server.upload_url, keep=2)
    assert "--overwrite" in argv

    # the removals of a night (--overwrite before the upload, --keep-dev after) find the server once
    found: list[str] = []
    real_access = shipwheel.publish.index_server_access

    def access(repository: str, **kwargs: Any) -> Any:
        found.append(repository)
        return real_access(repository, **kwargs)

    monkeypatch.setattr(shipwheel.publish, "index_server_access", access)

    night1 = _build_night(project_dir, project, 1)
    first = _run_night(argv, project_dir, monkeypatch, capsys)
    assert set(_statuses(first).values()) == {"staged"}
    assert found == [server.upload_url]
    assert _versions(server.files(project)) == {"1.0.0", "1.1.0.dev1", _STATIC}  # 1.1.0.dev0 pruned

    night2 = _build_night(project_dir, project, 2)
    assert night2.keys() == night1.keys() and all(night2[n] != night1[n] for n in night2)
    second = _run_night(argv, project_dir, monkeypatch, capsys)
    assert _statuses(second) == dict.fromkeys(night2, "replaced")
    on_index = server.files(project)
    assert {n: on_index[n] for n in night2} == night2  # night 2's bytes, not night 1's
    assert _versions(on_index) == {"1.0.0", "1.1.0.dev1", _STATIC}
    (pruned,) = second["pruned"]  # type: ignore[misc]
    assert pruned["kept"] == [_STATIC, "1.1.0.dev1"] and pruned["deleted"] == []
    assert second["removed"] == []

    # a night that built one wheel fewer: the server removes a version's files together, and says which
    night3 = _build_night(project_dir, project, 3, wheels=1)
    third = _run_night(argv, project_dir, monkeypatch, capsys)
    assert _statuses(third) == dict.fromkeys(night3, "replaced")
    assert third["removed"] == sorted(night2.keys() - night3.keys())
    assert {n: d for n, d in server.files(project).items() if _STATIC in n} == night3


def test_the_nightly_job_replaces_last_nights_static_dev_version_in_a_bucket(
    moto_s3: MotoS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)  # as the generated job sets it
    bucket = moto_s3.bucket("nightly-static")
    project = unique_project("static")
    to = f"s3://{bucket}/dev"
    for v in ("1.0.0", "1.1.0.dev0", "1.1.0.dev1"):
        assert (
            main_inner(["stage", *map(str, make_release(tmp_path / v, project, v, wheels=1)), "--to", to])
            == 0
        )
    project_dir = tmp_path / "project"
    argv = _nightly_argv(project_dir, project, to, keep=2)

    def listed() -> set[str]:
        contents = moto_s3.client.list_objects_v2(Bucket=bucket, Prefix="dev/")["Contents"]
        return {o["Key"].removeprefix("dev/") for o in contents}

    night1 = _build_night(project_dir, project, 1)
    _run_night(argv, project_dir, monkeypatch, capsys)
    assert _versions(listed()) == {"1.0.0", "1.1.0.dev1", _STATIC}

    night2 = _build_night(project_dir, project, 2)
    assert all(night2[n] != night1[n] for n in night2)
    second = _run_night(argv, project_dir, monkeypatch, capsys)
    assert _statuses(second) == dict.fromkeys(night2, "replaced")
    for name, digest in night2.items():
        body = moto_s3.client.get_object(Bucket=bucket, Key=f"dev/{name}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == digest
    sums = moto_s3.client.get_object(Bucket=bucket, Key="dev/SHA256SUMS")["Body"].read().decode()
    assert all(f"{digest}  {name}" in sums for name, digest in night2.items())
    assert _versions(listed()) == {"1.0.0", "1.1.0.dev1", _STATIC}


def _overwrite_refused(
    server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    error: type[ShipwheelError],
) -> ShipwheelError:
    """Stage a wheel of ``version``, then another with other bytes and ``--overwrite``, which must fail with
    ``error`` and leave the first on the index; that error."""
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    project = unique_project("static")
    first = make_release(tmp_path / "first", project, version, wheels=1, payload_size=64, sdist=False)
    assert main_inner(["stage", *map(str, first), "--to", server.upload_url]) == 0
    again = make_release(tmp_path / "again", project, version, wheels=1, payload_size=64, sdist=False)
    with pytest.raises(error) as info:
        main_inner(["stage", *map(str, again), "--to", server.upload_url, "--overwrite"])
    assert server.files(project) == {first[0].name: file_digests(first[0])["sha256"]}
    assert "\n" not in info.value.message and info.value.hint
    return info.value


@pytest.mark.parametrize("version", ["1.2.0", "1.2.0rc1"])
def test_overwrite_never_replaces_a_release_file_on_an_index_server(
    pypiserver: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    refused = _overwrite_refused(pypiserver, tmp_path, monkeypatch, version, ConflictError)
    assert refused.exit_code == 8 and "never replaced" in refused.message


def test_a_devpi_index_that_keeps_its_versions_refuses_the_nightly_with_a_hint(
    devpi: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-volatile devpi index (a release index) never removes a version: tonight's run stops with the
    server's refusal and what to change, and last night's files stay."""
    refused = _overwrite_refused(devpi, tmp_path, monkeypatch, _STATIC, TransferError)
    assert (
        refused.exit_code == 6
        and "refused to delete" in refused.message
        and "volatile" in (refused.hint or "")
    )
