"""The optional schedule of development wheels: ``ci.dev-schedule`` (a checked cron line) adds a scheduled run
that builds the default branch, refuses a version that is not a development one, and stages the wheels into the
configured bucket or index server with ``shipwheel stage --keep-dev``, which deletes the development versions
beyond the newest ``ci.dev-keep`` through the container's own API (moto's S3 server, pypiserver and devpi-server here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from ci.workflow_jobs import lint
from fixtures.http_servers import MotoS3
from fixtures.index_servers import IndexServer, make_release, unique_project
from shipwheel.ci import WORKFLOW_FILE, github_workflows
from shipwheel.cli import main_inner
from shipwheel.config import Config, load_config
from shipwheel.distfiles import DistFile
from shipwheel.errors import ConfigError, TransferError
from shipwheel.staging import dev_versions_to_delete, open_container, prune_index_server

_PYPROJECT = """\
[project]
name = "demo"
version = "1.0.dev0"
requires-python = ">=3.12"

[tool.shipwheel]
platforms = ["manylinux_x86_64"]
build = ["cp312-*"]
"""


def _config(tmp_path: Path, ci: str, stage: str = 'to = "s3://nightly/demo"') -> Config:
    text = f"{_PYPROJECT}\n[tool.shipwheel.stage]\n{stage}\n\n[tool.shipwheel.ci]\n{ci}\n"
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return load_config(tmp_path)


@pytest.mark.parametrize(
    ("to", "secrets"),
    [("s3://nightly/demo", "AWS_SECRET_ACCESS_KEY"), ("https://index.example/upload/", "STAGING_PASSWORD")],
)
def test_a_schedule_stages_development_wheels_and_keeps_the_newest(
    tmp_path: Path, to: str, secrets: str
) -> None:
    config = _config(tmp_path, 'dev-schedule = "30 2 * * MON-FRI"\ndev-keep = 3', f'to = "{to}"')
    text = github_workflows(config)[WORKFLOW_FILE]
    doc = yaml.safe_load(text)
    assert doc[True]["schedule"] == [{"cron": "30 2 * * MON-FRI"}]  # YAML 1.1 reads the key `on` as true
    dev = doc["jobs"]["dev"]
    assert dev["if"] == "needs.tag-check.outputs.target == 'dev'"
    assert set(dev["needs"]) == {"sdist", "release", "tag-check"}  # only what verify --strict passed
    (step,) = [s for s in dev["steps"] if "run" in s]
    assert step["run"].rstrip().endswith("shipwheel stage dist --overwrite --keep-dev 3")
    assert secrets in str(step["env"])
    assert "github.event_name == 'schedule' && 'dev'" in doc["concurrency"]["group"]  # a group of its own
    check = next(s for s in doc["jobs"]["tag-check"]["steps"] if s.get("id") == "check")["run"]
    assert "schedule:*) target=dev ;;" in check and "is_devrelease" in check
    path = tmp_path / "lint" / WORKFLOW_FILE
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    lint(path)


def test_no_schedule_without_dev_schedule(tmp_path: Path) -> None:
    text = github_workflows(_config(tmp_path, ""))[WORKFLOW_FILE]
    doc = yaml.safe_load(text)
    assert "schedule" not in doc[True] and "dev" not in doc["jobs"]
    assert "target=dev" not in text


@pytest.mark.parametrize("stage", ["", 'to = "staging-folder"'])
def test_a_schedule_without_a_bucket_or_index_server_is_refused_with_a_hint(
    tmp_path: Path, stage: str
) -> None:
    config = _config(tmp_path, 'dev-schedule = "0 3 * * *"', stage)
    with pytest.raises(ConfigError) as info:
        github_workflows(config)
    assert "nowhere to upload" in info.value.message
    assert "[tool.shipwheel.stage] to" in info.value.hint


@pytest.mark.parametrize(
    "cron",
    [
        "0 3 * *",  # four fields
        "0 3 * * * *",  # six
        "60 3 * * *",  # minute out of range
        "0 24 * * *",
        "0 3 0 * *",  # days of the month start at 1
        "0 3 * 13 *",
        "0 3 * * 7-1",  # a range backwards
        "0 3 * * FOO",
        "*/0 * * * *",  # a step of 0
        "0 3 * * *\n    - cron: '* * * * *'",  # a line break would write YAML of its own
        "${{ github.token }} * * * *",
    ],
)
def test_a_dev_schedule_that_is_not_cron_is_refused_before_it_is_written(tmp_path: Path, cron: str) -> None:
    config = _config(tmp_path, f"dev-schedule = {json.dumps(cron)}")
    with pytest.raises(ConfigError, match="is not a cron line"):
        github_workflows(config)


def test_cron_names_lists_ranges_and_steps_are_accepted(tmp_path: Path) -> None:
    config = _config(tmp_path, 'dev-schedule = "*/15 2-4 1,15 JAN-MAR MON,wed"')
    doc = yaml.safe_load(github_workflows(config)[WORKFLOW_FILE])
    assert doc[True]["schedule"] == [{"cron": "*/15 2-4 1,15 JAN-MAR MON,wed"}]


def test_dev_keep_out_of_bounds_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dev-keep"):
        _config(tmp_path, 'dev-schedule = "0 3 * * *"\ndev-keep = 0')


def test_only_development_versions_beyond_the_newest_are_deleted() -> None:
    versions = [Version(v) for v in ("1.0", "1.1rc1", "1.1.dev3", "1.1.dev10", "1.0.dev0", "1.2.dev1+g1234")]
    kept, deleted = dev_versions_to_delete(versions, 2)
    assert [str(v) for v in kept] == ["1.2.dev1+g1234", "1.1.dev10"]
    assert [str(v) for v in deleted] == ["1.1.dev3", "1.0.dev0"]  # the release and the candidate stay


def _stage(files: list[Path], to: str, *extra: str) -> None:
    assert main_inner(["stage", *map(str, files), "--to", to, *extra]) == 0


def test_keep_dev_deletes_the_older_development_builds_from_a_bucket(moto_s3: MotoS3, tmp_path: Path) -> None:
    bucket = moto_s3.bucket("nightly-retention")
    to = f"s3://{bucket}/dev?endpoint={moto_s3.endpoint}"
    project = unique_project("nightly")
    versions = ["0.9", "1.0rc1", "1.0.dev1", "1.0.dev2", "1.0.dev3"]
    for v in versions[:-1]:
        _stage(make_release(tmp_path / v, project, v, wheels=2), to)
    newest = make_release(tmp_path / "newest", project, "1.0.dev3", wheels=2)
    _stage(newest, to, "--keep-dev", "2")

    listed = moto_s3.client.list_objects_v2(Bucket=bucket, Prefix="dev/")["Contents"]
    names = {o["Key"].removeprefix("dev/") for o in listed}
    left = {str(d.version) for n in names if (d := DistFile.parse(n)) is not None}
    assert left == {
        "0.9",
        "1.0rc1",
        "1.0.dev2",
        "1.0.dev3",
    }  # 1.0.dev1, the oldest development build, is gone
    # the manifest and the index were written again for what is left
    sums = moto_s3.client.get_object(Bucket=bucket, Key="dev/SHA256SUMS")["Body"].read().decode()
    assert "1.0.dev1" not in sums and "1.0.dev2" in sums
    page = [n for n in names if n.startswith("simple/") and n.endswith("index.html") and project in n]
    html = moto_s3.client.get_object(Bucket=bucket, Key=f"dev/{page[0]}")["Body"].read().decode()
    assert "1.0.dev1" not in html and "1.0.dev3" in html


def test_keep_dev_deletes_the_older_development_versions_from_an_index_server(
    versions_index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = versions_index
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    project = unique_project("nightly")
    for v in ("1.0.dev1", "1.0.dev2", "1.0"):
        _stage(make_release(tmp_path / v, project, v, wheels=1), server.upload_url)
    _stage(
        make_release(tmp_path / "newest", project, "1.1.dev1", wheels=1),
        server.upload_url,
        "--keep-dev",
        "2",
    )
    left = {str(d.version) for n in server.files(project) if (d := DistFile.parse(n)) is not None}
    assert left == {"1.0.dev2", "1.0", "1.1.dev1"}


def test_pruning_an_index_server_with_credentials_it_refuses_fails_and_deletes_nothing(
    versions_index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = versions_index
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    project = unique_project("nightly")
    for v in ("1.0.dev1", "1.0.dev2"):
        _stage(make_release(tmp_path / v, project, v, wheels=1), server.upload_url)
    index = open_container(server.simple_url)
    try:
        with pytest.raises(TransferError, match="refused"):
            prune_index_server(server.upload_url, index, project, 1, (server.user, "wrong"))
    finally:
        index.close()
    assert len(server.files(project)) == 4
