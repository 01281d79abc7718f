"""Configuration values from every source get the same checks: templates parsed against their fields, project
names that are PEP 508 names, variables with the file's types and bounds, release steps that exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipwheel.config import RELEASE_STEPS, load_config
from shipwheel.errors import ConfigError


def _project(folder: Path, tool: str = "", name: str = "demo") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "1.0"\n{tool}', encoding="utf-8"
    )
    return folder


@pytest.mark.parametrize(
    ("template", "expected", "hint"),
    [
        ("v{versio}", "unknown field {versio}", "did you mean {version}?"),
        ("v{0}", "a positional field", "use {version}"),
        ("v{}", "a positional field", "use {version}"),
        ("{version", "expected '}' before end of string", "literal brace"),
        ("{version:d}", "format spec ':d' is not supported", "write {version} alone"),
        ("{project!z}", "unknown field {project}", "use {version}"),
        ("{version!z}", "unknown conversion '!z'", "write {version} alone"),
        ("v{version.major}", "unknown field {version.major}", "did you mean {version}?"),
    ],
)
def test_a_broken_tag_format_is_one_config_error_at_load(
    tmp_path: Path, template: str, expected: str, hint: str
) -> None:
    project = _project(tmp_path, f"[tool.shipwheel.release]\ntag-format = {template!r}\n")
    with pytest.raises(ConfigError) as info:
        load_config(project, environ={})
    assert expected in info.value.message and "release.tag-format" in info.value.message
    assert hint in (info.value.hint or "")
    assert info.value.exit_code == 3 and "\n" not in info.value.one_line()


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("SHIPWHEEL_RELEASE_TAG_MESSAGE", "{projct} {version}", "did you mean {project}?"),
        ("SHIPWHEEL_RELEASE_COMMIT_MESSAGE", "REL {version:>10}", "format spec"),
        ("SHIPWHEEL_RELEASE_BUMP_MESSAGE", "dev {verison}", "did you mean {version}?"),
        ("SHIPWHEEL_RELEASE_NOTES_FILE", "notes/{version}}.rst", "Single '}'"),
        ("SHIPWHEEL_RELEASE_BRANCH_FORMAT", "maintenance/{version}.x", "use {series}"),
        ("SHIPWHEEL_CHANGELOG_PR_URL", "https://github.com/o/r/pull/{pr}", "use {number}"),
    ],
)
def test_every_template_of_the_release_is_checked_from_every_source(
    tmp_path: Path, var: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_project(tmp_path), environ={var: value})
    assert expected in info.value.one_line() and f"(from env {var})" in info.value.message


def test_sound_templates_load(tmp_path: Path) -> None:
    config = load_config(
        _project(tmp_path, "[tool.shipwheel.release]\ntag-format = '{{v}}{version!s}'\nnotes-file = ''\n"),
        environ={},
    )
    assert config.release.tag_format.format(version="1.0") == "{v}1.0"


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        (
            "SHIPWHEEL_RELEASE_SMTP_PORT",
            "70000",
            "SHIPWHEEL_RELEASE_SMTP_PORT must be a whole number from 1 to 65535",
        ),
        ("SHIPWHEEL_RELEASE_SMTP_PORT", "0", "from 1 to 65535"),
        (
            "SHIPWHEEL_RELEASE_PROJECT_QUOTA",
            "-1",
            "SHIPWHEEL_RELEASE_PROJECT_QUOTA must be a whole number from 0",
        ),
        ("SHIPWHEEL_RELEASE_STEPS", '["rm"]', "SHIPWHEEL_RELEASE_STEPS: unknown value 'rm'"),
        ("SHIPWHEEL_RELEASE_STEPS", "check buidl", "unknown value 'buidl'; did you mean 'build'?"),
    ],
)
def test_variables_get_the_types_and_bounds_of_the_file(
    tmp_path: Path, var: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_project(tmp_path), environ={var: value})
    assert expected in info.value.one_line() and info.value.exit_code == 3


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (
            "[tool.shipwheel.release]\nsmtp-port = 70000\n",
            "'smtp-port' in [tool.shipwheel.release] must be a whole",
        ),
        ("[tool.shipwheel.release]\nproject-quota = -5\n", "must be a whole number from 0"),
        ("[tool.shipwheel.release]\nsteps = ['check', 'rm']\n", "unknown value 'rm'"),
    ],
)
def test_the_file_has_the_same_bounds(tmp_path: Path, tool: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_project(tmp_path, tool), environ={})
    assert expected in info.value.one_line()


def test_steps_as_a_json_list_or_words(tmp_path: Path) -> None:
    for value in ('["check", "build"]', "check build"):
        config = load_config(_project(tmp_path), environ={"SHIPWHEEL_RELEASE_STEPS": value})
        assert config.release.steps == ("check", "build")
    assert set(load_config(_project(tmp_path), environ={}).release.steps) <= set(RELEASE_STEPS)


@pytest.mark.parametrize(
    "name", ["demo\r\nBcc: victim@example.invalid", "has space", "-lead", "dot.", "a/b", ""]
)
def test_project_names_are_pep_508_names(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    # a JSON string is a TOML basic string: the CR/LF arrive as real line breaks
    (folder / "pyproject.toml").write_text(f"[project]\nname = {json.dumps(name)}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(folder, environ={})
    assert "is not a valid project name" in info.value.message and "PEP 508" in (info.value.hint or "")


def test_release_steps_are_one_list() -> None:
    from shipwheel.release import STEPS

    assert STEPS is RELEASE_STEPS
