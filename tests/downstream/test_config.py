"""``[[tool.shipwheel.downstream]]``: read into frozen entries with their defaults; every mistake a ConfigError
(exit 3) that names the entry; the JSON schema says the same; the command's numbers are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipwheel.cli import main_inner
from shipwheel.config import DownstreamProject, load_config, schema
from shipwheel.errors import ConfigError, UsageError


def _load(tmp_path: Path, entries: Any) -> tuple[DownstreamProject, ...]:
    doc = {
        "project": {"name": "markupsafe", "version": "3.1.0rc1"},
        "tool": {"shipwheel": {"downstream": entries}},
    }
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps(doc))
    return load_config(tmp_path, environ={}).downstream


def test_entries_are_read_with_their_defaults(tmp_path: Path) -> None:
    entries = [
        {"requirement": "Jinja2==3.1.6", "test-requires": ["pytest", "trio"]},
        {
            "requirement": "mako[babel]>=1.3",
            "test-command": "pytest -q {sources}/test",
            "timeout": 60,
            "select": ["cp39-*", "cp313-*"],
            "in-release": "always",
        },
    ]
    jinja2, mako = _load(tmp_path, entries)
    assert jinja2 == DownstreamProject(requirement="Jinja2==3.1.6", test_requires=("pytest", "trio"))
    assert (jinja2.name, jinja2.test_command, jinja2.timeout, jinja2.select, jinja2.in_release) == (
        "jinja2",
        "",
        1800.0,
        "*",
        "pre-releases",
    )
    assert mako.name == "mako" and mako.test_requires == ("pytest",) and mako.timeout == 60.0
    assert mako.select == "cp39-* cp313-*" and mako.in_release == "always"
    assert _load(tmp_path, []) == ()
    jsonschema.validate({"downstream": entries}, schema())


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({"requirement": "jinja2"}, "'downstream' in [tool.shipwheel] of pyproject.toml must be an array of tables"),
        ([{"requirement": "jinja2", "tets-command": "x"}], "unknown key 'tets-command' in [[tool.shipwheel.downstream]] #1 of pyproject.toml; did you mean 'test-command'?"),
        ([{"test-command": "pytest"}], "#1 of pyproject.toml has no 'requirement'"),
        ([{"requirement": "jinja2 ==="}], "is not a PEP 508 requirement"),
        ([{"requirement": "jinja2 @ https://example.invalid/j.whl"}], "is a direct URL"),
        ([{"requirement": "jinja2", "test-requires": [3]}], "'test-requires' in [[tool.shipwheel.downstream]] #1"),
        ([{"requirement": "jinja2", "timeout": 0}], "'timeout' in [[tool.shipwheel.downstream]] #1 of pyproject.toml must be a number of seconds above 0"),
        ([{"requirement": "jinja2", "timeout": float("nan")}], "must be a number of seconds above 0"),
        ([{"requirement": "jinja2", "timeout": True}], "must be a number of seconds above 0"),
        ([{"requirement": "jinja2", "select": "cp3.12-*"}], "matches no build identifier"),
        ([{"requirement": "jinja2", "in-release": "final"}], "'in-release' in [[tool.shipwheel.downstream]] #1 of pyproject.toml must be one of pre-releases, always, never"),
        ([{"requirement": "jinja2"}, {"requirement": "Jinja2>=3"}], "#2 of pyproject.toml names jinja2 a second time"),
        (["jinja2"], "#1 of pyproject.toml must be a table"),
    ],
)  # fmt: skip
def test_mistakes_are_config_errors_naming_the_entry(tmp_path: Path, entries: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, entries)
    assert expected in info.value.one_line() and info.value.exit_code == 3


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    for bad in (
        [{"requirement": "jinja2", "tets-command": "x"}],
        [{"test-command": "pytest"}],
        [{"requirement": "jinja2", "timeout": 0}],
        [{"requirement": "jinja2", "in-release": "final"}],
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"downstream": bad}, schema())


_scalars = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["jinja2", "jinja2==3.1.6", "cp312-*", "pre-releases", "never", "pytest {sources}"]),
)
_values = st.one_of(
    _scalars, st.lists(_scalars, max_size=3), st.dictionaries(st.text(max_size=5), _scalars, max_size=2)
)
_keys = st.sampled_from(
    ["requirement", "test-requires", "test-command", "timeout", "select", "in-release", "x"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.one_of(_values, st.lists(st.dictionaries(_keys, _values, max_size=6), max_size=3)))
def test_any_table_loads_or_is_one_config_error(tmp_path: Path, entries: Any) -> None:
    doc = {"project": {"name": "demo"}, "tool": {"shipwheel": {"downstream": entries}}}
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps(doc))
    try:
        load_config(tmp_path, environ={})
    except ConfigError as exc:
        assert exc.exit_code == 3 and "\n" not in exc.one_line()


@pytest.mark.parametrize(
    "option", [["--deadline", "0"], ["--deadline", "nan"], ["--deadline", "1e9"], ["-j", "-1"]]
)
def test_the_commands_numbers_are_checked(tmp_path: Path, option: list[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    with pytest.raises(UsageError) as info:
        main_inner(["downstream", "1.0", *option, "--config-dir", str(tmp_path)])
    assert info.value.exit_code == 2


def test_a_bad_deadline_variable_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\n[[tool.shipwheel.downstream]]\nrequirement = "jinja2"\n'
    )
    monkeypatch.setenv("SHIPWHEEL_DOWNSTREAM_DEADLINE", "soon")
    with pytest.raises(ConfigError, match="SHIPWHEEL_DOWNSTREAM_DEADLINE must be a number of seconds"):
        main_inner(["downstream", "1.0", "--config-dir", str(tmp_path)])


def test_config_shows_the_downstream_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    _load(tmp_path, [{"requirement": "Jinja2==3.1.6"}, {"requirement": "mako", "select": "cp313-*"}])
    assert main_inner(["config", str(tmp_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["downstream"]
    assert [(d["name"], d["select"], d["test-requires"]) for d in shown] == [
        ("jinja2", "*", ["pytest"]),
        ("mako", "cp313-*", ["pytest"]),
    ]
    assert main_inner(["config", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "downstream projects" in table and "Jinja2==3.1.6" in table and "cp313-*" in table
