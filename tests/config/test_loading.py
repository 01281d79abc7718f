"""Configuration: precedence, provenance, refusal of unknown keys and bad values, the shipped schema."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipwheel.cli import main_inner
from shipwheel.config import SECTIONS, env_name, load_config, load_defaults, schema
from shipwheel.config._model import toml_key
from shipwheel.errors import ConfigError, ProjectError


def write_pyproject(folder: Path, tool: str = "", project: str = 'name = "demo"\nversion = "1.0"\n') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f"[project]\n{project}\n{tool}", encoding="utf-8")
    return folder


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    config = load_config(write_pyproject(tmp_path), environ={})
    assert config.build.build == ("*",)
    assert config.build.jobs == 0
    assert config.verify.max_file_size == 100 * 1024 * 1024
    assert config.sources["jobs"] == "default"
    assert config.build.output_dir == tmp_path / "wheelhouse"


def test_precedence_cli_over_env_over_pyproject_over_defaults(tmp_path: Path) -> None:
    project = write_pyproject(
        tmp_path, "[tool.shipwheel]\njobs = 3\ntest-command = 'from-pyproject'\nskip = 'cp38-*'\n"
    )
    env = {"SHIPWHEEL_JOBS": "5", "SHIPWHEEL_TEST_COMMAND": "from-env"}
    config = load_config(project, environ=env, overrides={"jobs": 7})
    assert config.build.jobs == 7 and config.sources["jobs"] == "command line"
    assert (
        config.build.test_command == "from-env"
        and config.sources["test-command"] == "env SHIPWHEEL_TEST_COMMAND"
    )
    assert config.build.skip == ("cp38-*",) and config.sources["skip"] == "pyproject.toml"
    assert config.sources["before-all"] == "default"


def test_section_env_names_and_types(tmp_path: Path) -> None:
    env = {
        "SHIPWHEEL_VERIFY_MAX_FILE_SIZE": "1000",
        "SHIPWHEEL_VERIFY_STRICT": "yes",
        "SHIPWHEEL_ENVIRONMENT": "A=1 B=two",
        "SHIPWHEEL_TEST_REQUIRES": "pytest numpy>=2",
        "SHIPWHEEL_CACHE_DIR": "rel/cache",
    }
    config = load_config(write_pyproject(tmp_path), environ=env)
    assert config.verify.max_file_size == 1000
    assert config.verify.strict is True
    assert dict(config.build.environment) == {"A": "1", "B": "two"}
    assert config.build.test_requires == ("pytest", "numpy>=2")
    assert config.build.cache_dir == Path.cwd() / "rel/cache"  # env paths are relative to the working folder


def test_lists_accept_space_separated_strings(tmp_path: Path) -> None:
    config = load_config(
        write_pyproject(tmp_path, '[tool.shipwheel]\nbuild = "cp312-* cp313-*"\n'), environ={}
    )
    assert config.build.build == ("cp312-*", "cp313-*")


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (
            "[tool.shipwheel]\ntest-comand = 'x'\n",
            "unknown key 'test-comand' in [tool.shipwheel]; did you mean 'test-command'?",
        ),
        ("[tool.shipwheel.verify]\nmax-file-sise = 1\n", "did you mean 'max-file-size'?"),
        ("[tool.shipwheel.verfy]\nstrict = true\n", "did you mean 'verify'?"),
        ("[tool.shipwheel]\njobs = 'many'\n", "'jobs' in [tool.shipwheel] must be an integer"),
        ("[tool.shipwheel]\nrepair = 'yes'\n", "must be true or false"),
        ("[tool.shipwheel]\nenvironment = ['A=1']\n", "must be a table of strings"),
        ("[tool.shipwheel]\ntest-requires = [1, 2]\n", "must be a list of strings"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, tool: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_pyproject(tmp_path, tool), environ={})
    assert expected in info.value.one_line()
    assert info.value.exit_code == 3


def test_bad_env_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SHIPWHEEL_JOBS must be an integer"):
        load_config(write_pyproject(tmp_path), environ={"SHIPWHEEL_JOBS": "lots"})


def test_invalid_toml(tmp_path: Path) -> None:
    tmp_path.joinpath("pyproject.toml").write_text("[project\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path, environ={})


def test_missing_pyproject_when_required(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no pyproject\.toml"):
        load_config(tmp_path, environ={}, require_pyproject=True)


def test_schema_accepts_the_defaults_and_matches_the_dataclasses() -> None:
    defaults = load_defaults()
    jsonschema.validate(defaults, schema())
    props = schema()["properties"]
    for section, cls in SECTIONS.items():
        keys = {toml_key(f) for f in dataclasses.fields(cls)}
        table = props if not section else props[section]["properties"]
        per_identifier = {"linux", "macos", "windows", "overrides", "downstream"}
        declared = set(table) - (set(SECTIONS) | per_identifier if not section else set())
        assert declared == keys, f"schema and dataclass differ in [{section or 'top'}]"
        assert keys == set(defaults if not section else defaults[section]) - (
            set(SECTIONS) if not section else set()
        )


def test_schema_refuses_unknown_keys() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"test-comand": "x"}, schema())


def test_config_command_json_shows_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_pyproject(tmp_path, "[tool.shipwheel]\nbefore-all = 'make'\n")
    monkeypatch.setenv("SHIPWHEEL_JOBS", "4")
    assert main_inner(["config", str(project), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["values"]["before-all"] == {"value": "make", "source": "pyproject.toml"}
    assert data["values"]["jobs"] == {"value": 4, "source": "env SHIPWHEEL_JOBS"}
    assert data["values"]["skip"]["source"] == "default"


def test_console_script_prints_one_line_and_exit_code(tmp_path: Path) -> None:
    project = write_pyproject(tmp_path, "[tool.shipwheel]\ntest-comand = 'x'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "config", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        == "error: unknown key 'test-comand' in [tool.shipwheel]; did you mean 'test-command'?"
    )


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    project = write_pyproject(tmp_path, "[tool.shipwheel]\njobs = 'x'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "config", str(project), "--debug"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    assert "Traceback" in proc.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe[project]\nname = 'x'\n", "is not UTF-8 text (byte 0xff at offset 0)"),
        (b"[project]\nname = 'caf\xe9'\n", "is not UTF-8 text"),
        (b'tool = "oops"\n', "[tool] in pyproject.toml must be a table, got str 'oops'"),
        (b'project = "oops"\n', "[project] in pyproject.toml must be a table, got str 'oops'"),
        (b"[tool]\nshipwheel = 3\n", "[tool.shipwheel] in pyproject.toml must be a table, got int 3"),
        (b"[project]\ndynamic = 5\n", "[project] dynamic must be a list of field names, got 5"),
        (b"[project]\ndynamic = [1]\n", "[project] dynamic must be a list of field names"),
        (b"[project]\nname = 5\n", "[project] name must be a string, got 5"),
        (b"[project]\nversion = [1, 0]\n", "[project] version must be a string"),
        (b"[project]\nrequires-python = 3.10\n", "[project] requires-python must be a string, got 3.1"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nests tables or arrays too deeply"),
        (
            b"[tool.shipwheel]\njobs = -1\n",
            "'jobs' in [tool.shipwheel] must be a whole number from 0 to 1024",
        ),
        (
            b"[tool.shipwheel.fetch]\ntimeout = nan\n",
            "'timeout' in [tool.shipwheel.fetch] must be a number above 0",
        ),
        (b"[tool.shipwheel.publish]\ntimeout = inf\n", "must be a number above 0 and at most 86400, got inf"),
        (b"[tool.shipwheel.publish]\nretries = -1\n", "must be a whole number from 0 to 100, got -1"),
        (b"[tool.shipwheel.fetch]\njobs = 0\n", "must be a whole number from 1 to 1024, got 0"),
        (b"[tool.shipwheel.verify]\nmax-compression-ratio = -2.0\n", "must be a number above 0"),
        (b"[tool.shipwheel.verify]\nmax-file-size = 0\n", "must be a whole number from 1 to"),
        (
            b"[tool.shipwheel]\nbuild = 'cp3.12-*'\n",
            "build selector 'cp3.12-*' matches no build identifier (from pyproject.toml)",
        ),
        (
            b"[tool.shipwheel]\nplatforms = ['bogus']\n",
            "unknown platform 'bogus' in 'platforms' (from pyproject.toml)",
        ),
        (
            b"[tool.cibuildwheel]\nbuild = 0\n",
            "[tool.cibuildwheel] build must be a string or a list of strings, got 0",
        ),
        (b"[tool.cibuildwheel]\narchs = ['sparc']\n", "unknown architecture 'sparc'"),
        (b"[tool.cibuildwheel]\nenable = 3\n", "'enable' in [tool.cibuildwheel] must be a string or a list"),
        (b"[tool.cibuildwheel]\nenvironment = 'A=\"unclosed'\n", "does not parse"),
    ],
)
def test_bad_pyproject_is_one_line_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    tmp_path.joinpath("pyproject.toml").write_bytes(content)
    with pytest.raises(ConfigError) as info:
        main_inner(["config", str(tmp_path)])
    assert expected in info.value.one_line()
    assert info.value.exit_code == 3 and info.value.hint
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SHIPWHEEL_FETCH_TIMEOUT", "nan", "SHIPWHEEL_FETCH_TIMEOUT must be a number above 0"),
        ("SHIPWHEEL_FETCH_TIMEOUT", "-inf", "SHIPWHEEL_FETCH_TIMEOUT must be a number above 0"),
        ("SHIPWHEEL_PUBLISH_RETRIES", "-1", "SHIPWHEEL_PUBLISH_RETRIES must be a whole number from 0 to 100"),
        ("SHIPWHEEL_JOBS", "1e3", "SHIPWHEEL_JOBS must be an integer"),
        ("SHIPWHEEL_VERIFY_STRICT", "maybe", "SHIPWHEEL_VERIFY_STRICT must be true or false"),
        ("SHIPWHEEL_ENVIRONMENT", "NOEQUALS", "SHIPWHEEL_ENVIRONMENT must be KEY=VALUE pairs"),
    ],
)
def test_bad_environment_variables(tmp_path: Path, name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_pyproject(tmp_path), environ={name: value})
    assert expected in info.value.one_line() and info.value.exit_code == 3


def test_schema_bounds_match_the_loader() -> None:
    """The JSON schema and the loader accept the same numeric ranges."""
    props = schema()["properties"]
    for section, cls in SECTIONS.items():
        table = props if not section else props[section]["properties"]
        for f in dataclasses.fields(cls):
            bounds = f.metadata.get("bounds")
            if bounds is None:
                continue
            entry = table[toml_key(f)]
            low_key = "exclusiveMinimum" if bounds.above else "minimum"
            assert (entry[low_key], entry["maximum"]) == (bounds.low, bounds.high), toml_key(f)


def _sdist(folder: Path, pyproject: str, name: str = "demo-1.0") -> Path:
    """A real sdist layout (NAME/pyproject.toml, NAME/PKG-INFO) in a .tar.gz."""
    import io
    import tarfile

    path = folder / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, text in ((f"{name}/pyproject.toml", pyproject), (f"{name}/PKG-INFO", "Name: demo\n")):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_config_of_an_sdist_shows_no_path_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdist = _sdist(
        tmp_path,
        '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
        "[tool.shipwheel]\ntest-command = 'pytest {project}/tests'\n",
    )
    assert main_inner(["config", str(sdist), "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["project_dir"] == str(sdist)
    assert data["pyproject"] == "demo-1.0.tar.gz:pyproject.toml"
    assert data["values"]["test-command"]["source"] == "demo-1.0.tar.gz:pyproject.toml"
    # no temporary path of the sdist's extraction (the test's own folder and the current one, where the default
    # wheelhouse goes, may themselves be under /tmp)
    shown = out.replace(str(tmp_path), "").replace(str(Path.cwd()), "")
    assert "shipwheel-src" not in out and "/tmp/" not in shown
    assert main_inner(["config", str(sdist)]) == 0
    assert "shipwheel-src" not in capsys.readouterr().out


def test_config_of_an_sdist_with_config_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sdist = _sdist(tmp_path, '[project]\nname = "demo"\nversion = "1.0"\n')
    checkout = write_pyproject(tmp_path / "checkout", "[tool.shipwheel]\nbefore-all = 'make deps'\n")
    assert main_inner(["config", str(sdist), "--config-dir", str(checkout), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["values"]["before-all"] == {
        "value": "make deps",
        "source": str(checkout.resolve() / "pyproject.toml"),
    }
    assert data["project_dir"] == str(sdist)


def test_errors_in_an_sdist_name_the_archive_member(tmp_path: Path) -> None:
    sdist = _sdist(tmp_path, "[project\nname =")
    with pytest.raises(ConfigError) as info:
        main_inner(["config", str(sdist)])
    assert info.value.one_line().startswith("demo-1.0.tar.gz:pyproject.toml is not valid TOML")
    not_an_sdist = tmp_path / "x.tar.gz"
    not_an_sdist.write_bytes(b"not a tarball")
    with pytest.raises(ProjectError, match=r"x\.tar\.gz is not a readable sdist"):
        main_inner(["config", str(not_an_sdist)])


def test_matrix_of_an_sdist_honours_its_requires_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdist = _sdist(tmp_path, '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.9"\n')
    assert main_inner(["matrix", str(sdist), "--print-build-identifiers"]) == 0
    identifiers = capsys.readouterr().out.split()
    assert identifiers and not [i for i in identifiers if i.startswith("cp38-")]


def test_selector_from_the_command_line_stays_exit_2(tmp_path: Path) -> None:
    from shipwheel.errors import SelectorError

    with pytest.raises(SelectorError) as info:
        main_inner(["matrix", str(write_pyproject(tmp_path)), "--only", "cp3.12-*"])
    assert info.value.exit_code == 2


_ENV_NAMES = sorted(
    env_name(section, toml_key(f)) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    env=st.dictionaries(
        st.sampled_from(
            [*_ENV_NAMES, "CIBW_BUILD", "CIBW_ARCHS_LINUX", "CIBW_ENVIRONMENT", "CIBW_CONFIG_SETTINGS"]
        ),
        st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
        max_size=4,
    )
)
def test_any_environment_value_is_a_value_or_one_config_error(tmp_path: Path, env: dict[str, str]) -> None:
    """Every SHIPWHEEL_* (and CIBW_*) variable with any text: a configuration, or one ConfigError line."""
    project = write_pyproject(tmp_path)
    try:
        config = load_config(project, environ=env)
    except ConfigError as exc:
        assert exc.exit_code == 3 and "\n" not in exc.one_line()
    else:
        assert config.sources


def test_matrix_of_an_sdist_with_config_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sdist = _sdist(tmp_path, '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.13"\n')
    checkout = write_pyproject(tmp_path / "checkout", "[tool.shipwheel]\nplatforms = ['win_amd64']\n")
    assert main_inner(["matrix", str(sdist), "--config-dir", str(checkout), "--print-build-identifiers"]) == 0
    # the release: cibuildwheel 4.x's CPython versions, its free-threaded builds on by default
    assert capsys.readouterr().out.split() == [
        "cp313-win_amd64", "cp314-win_amd64", "cp314t-win_amd64", "cp315-win_amd64", "cp315t-win_amd64",
    ]  # fmt: skip


def test_import_cibuildwheel_without_cibuildwheel_configuration(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="has no cibuildwheel configuration"):
        main_inner(["config", str(write_pyproject(tmp_path)), "--import-cibuildwheel"])
