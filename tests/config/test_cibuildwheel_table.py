"""cibuildwheel's configuration as a source: real projects' ``[tool.cibuildwheel]`` tables give the values
cibuildwheel gives each identifier, values show where they came from, unknown keys are warnings, and the
equivalent ``[tool.shipwheel]`` table means the same."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipwheel.cli import main_inner
from shipwheel.config import load_config
from shipwheel.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DATA = Path(__file__).parent.parent / "data" / "cibuildwheel"
#: pyproject.toml files of real sdists on PyPI (see the first line of each): per-platform tables, overrides,
#: archs per platform, enable groups, environment tables, {project} and {package} placeholders.
PROJECTS = sorted(p.name.removesuffix(".pyproject.toml") for p in DATA.glob("*.pyproject.toml"))


def _project(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(DATA / f"{name}.pyproject.toml", folder / "pyproject.toml")
    return folder


def test_values_come_from_cibuildwheel_with_their_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _project(tmp_path, "pandas-2.3.3")
    assert main_inner(["config", str(folder), "--json"]) == 0
    values = json.loads(capsys.readouterr().out)["values"]
    assert values["before-build"] == {
        "value": "PACKAGE_DIR={package} bash {package}/scripts/cibw_before_build.sh",
        "source": "[tool.cibuildwheel]",
    }
    assert values["test-requires"]["value"] == [
        "hypothesis>=6.46.1",
        "pytest>=7.3.2",
        "pytest-xdist>=2.2.0",
        "pytz<2024.2",
    ]
    assert values["environment"] == {"value": {"LDFLAGS": "-Wl,--strip-all"}, "source": "[tool.cibuildwheel]"}
    assert values["skip"]["source"] == "[tool.cibuildwheel]"
    assert values["jobs"]["source"] == "default"


def test_per_platform_tables_and_overrides_apply_per_identifier(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path, "pandas-2.3.3"), environ={})
    assert config.build.test_command.strip().startswith("PANDAS_CI='1'")
    assert config.for_identifier("cp312-win_amd64").test_command == ""  # overrides select = "*-win*"
    assert (
        config.for_identifier("cp312-win_amd64").repair_wheel_command
        == "delvewheel repair -w {dest_dir} {wheel}"
    )
    assert config.for_identifier("cp312-musllinux_x86_64").before_test == "apk update && apk add musl-locales"
    assert dict(config.for_identifier("cp312-macosx_arm64").environment) == {"CFLAGS": "-g0"}
    assert "fails_arm_wheels" in config.for_identifier("cp312-manylinux_aarch64").test_command
    assert "fails_arm_wheels" not in config.for_identifier("cp312-manylinux_x86_64").test_command

    numpy = load_config(_project(tmp_path, "numpy-2.3.5"), environ={})
    # a key repeated in cibuildwheel's string form is kept twice, in order (meson-python's setup-args)
    assert numpy.build.config_settings == (
        "setup-args=-Duse-ilp64=true",
        "setup-args=-Dallow-noblas=false",
        "build-dir=build",
    )
    assert numpy.for_identifier("cp312-win32").config_settings[1] == "setup-args=-Dallow-noblas=true"
    win32 = numpy.for_identifier("cp312-win32")
    assert win32.repair_wheel_command == ""
    assert not win32.repair  # cibuildwheel's empty command: the wheel as built, no default repair
    assert numpy.for_identifier("cp312-win_amd64").repair and numpy.build.repair
    assert numpy.for_identifier("cp312-win_amd64").repair_wheel_command.startswith("bash -el")
    linux = numpy.for_identifier("cp312-manylinux_x86_64")
    assert linux.environment["LD_LIBRARY_PATH"] == "$LD_LIBRARY_PATH:/project/.openblas/lib"


def test_precedence_shipwheel_over_cibw_env_over_cibw_table(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nrequires-python = ">=3.12"\n'
        '[tool.cibuildwheel]\ntest-command = "from-cibw-table"\nbefore-all = "make"\nskip = "*-musllinux_*"\n'
        '[tool.cibuildwheel.linux]\nbefore-all = "make linux"\n',
        encoding="utf-8",
    )
    config = load_config(folder, environ={"CIBW_TEST_COMMAND": "from-cibw-env"})
    assert config.build.test_command == "from-cibw-env"
    assert config.sources["test-command"] == "env CIBW_TEST_COMMAND"
    assert config.sources["before-all"] == "[tool.cibuildwheel]"
    assert config.for_identifier("cp312-manylinux_x86_64").before_all == "make linux"
    # the example: cibuildwheel's skip leaves musllinux out of the matrix
    assert not [i for i in config.identifiers() if "musllinux" in str(i)]

    (folder / "pyproject.toml").write_text(
        (folder / "pyproject.toml")
        .read_text(encoding="utf-8")
        .replace("[tool.cibuildwheel]", '[tool.shipwheel]\ntest-command = "mine"\n\n[tool.cibuildwheel]'),
        encoding="utf-8",
    )
    config = load_config(folder, environ={"CIBW_TEST_COMMAND": "from-cibw-env", "CIBW_BUILD": "cp313-*"})
    assert config.build.test_command == "mine" and config.sources["test-command"] == "pyproject.toml"
    assert {str(i).split("-")[0] for i in config.identifiers()} == {"cp313"}
    config = load_config(folder, environ={"SHIPWHEEL_TEST_COMMAND": "env-wins"})
    assert config.build.test_command == "env-wins"


def test_unknown_cibuildwheel_key_is_a_warning_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.cibuildwheel]\ntest-comand = "x"\ncontainer-engine = "podman"\n'
        '[tool.cibuildwheel.linux]\nmanylinux-x86_64-image = "manylinux2014"\n',
        encoding="utf-8",
    )
    config = load_config(folder, environ={"CIBW_FROBNICATE": "1"})
    assert any("'test-comand'" in w for w in config.warnings)
    assert any("CIBW_FROBNICATE" in w for w in config.warnings)
    assert "[tool.cibuildwheel] container-engine" in config.ci_only
    assert "[tool.cibuildwheel.linux] manylinux-x86_64-image" in config.ci_only
    assert main_inner(["config", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "[tool.cibuildwheel]: 'test-comand' is not understood by shipwheel" in " ".join(err.split())
    assert "used by cibuildwheel's CI runs only" in err


def test_environment_string_form(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.cibuildwheel]\n'
        "environment = 'A=1 B=\"two words\" PATH=$PATH:/opt/x C=${A}b'\n",
        encoding="utf-8",
    )
    config = load_config(folder, environ={})
    assert dict(config.build.environment) == {
        "A": "1",
        "B": "two words",
        "PATH": "$PATH:/opt/x",
        "C": "${A}b",
    }
    from shipwheel.config import expand_environment

    assert expand_environment(config.build.environment, {"PATH": "/usr/bin"}) == {
        "A": "1",
        "B": "two words",
        "PATH": "/usr/bin:/opt/x",
        "C": "1b",
    }


@pytest.mark.parametrize("name", PROJECTS)
def test_import_cibuildwheel_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The printed [tool.shipwheel] table, alone, gives the same matrix and the same per-identifier options."""
    folder = _project(tmp_path, name)
    assert main_inner(["config", str(folder), "--import-cibuildwheel"]) == 0
    table = capsys.readouterr().out
    original = (folder / "pyproject.toml").read_text(encoding="utf-8")
    project = tomllib.loads(original)["project"]
    moved = tmp_path / "moved"
    moved.mkdir()
    lines = [f"{k} = {json.dumps(v)}" for k, v in project.items() if isinstance(v, str)]
    (moved / "pyproject.toml").write_text("[project]\n" + "\n".join(lines) + "\n" + table, encoding="utf-8")
    before, after = load_config(folder, environ={}), load_config(moved, environ={})
    assert not after.warnings and not after.ci_only
    assert before.identifiers() == after.identifiers()
    for ident in before.identifiers():
        ours, theirs = before.for_identifier(str(ident)), after.for_identifier(str(ident))
        assert ours == dataclasses.replace(theirs, output_dir=ours.output_dir, log_dir=ours.log_dir), ident


def test_shipwheel_accepts_cibuildwheel_shaped_tables(tmp_path: Path) -> None:
    """The issue: copying the table into [tool.shipwheel] failed on build-frontend and [tool.shipwheel.linux]."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.shipwheel]\nbuild-frontend = "build[uv]"\ntest-command = "pytest"\n'
        '[tool.shipwheel.linux]\ntest-command = "pytest -x"\n'
        '[[tool.shipwheel.overrides]]\nselect = "cp313-*"\ninherit.test-command = "append"\n'
        'test-command = "echo more"\n',
        encoding="utf-8",
    )
    config = load_config(folder, environ={})
    assert config.build.build_frontend == "build[uv]"
    assert config.for_identifier("cp312-win_amd64").test_command == "pytest"
    assert config.for_identifier("cp312-manylinux_x86_64").test_command == "pytest -x"
    assert config.for_identifier("cp313-manylinux_x86_64").test_command == "pytest -x && echo more"
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.shipwheel.linux]\ntest-comand = "x"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_config(folder, environ={})
    assert info.value.one_line() == (
        "unknown key 'test-comand' in [tool.shipwheel.linux]; did you mean 'test-command'?"
    )


@pytest.mark.slow
@pytest.mark.integration
def test_build_runs_the_cibuildwheel_steps(tmp_path: Path) -> None:
    """A project whose test steps live in [tool.cibuildwheel] only: {package}, test-sources, before-test, the
    string environment with $VAR, an override with inherit, all run by shipwheel build."""
    from fixtures.builds import build_project as build
    from shipwheel.interpreters import discover

    example = Path(__file__).resolve().parents[2] / "examples" / "kahan"
    have = sorted({i.version[:2] for i in discover() if i.version[:2] >= (3, 10) and not i.free_threaded})
    if not have:
        pytest.skip("needs a CPython >= 3.10")
    ident = f"cp3{have[-1][1]}-manylinux_x86_64"
    project = tmp_path / "kahan"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns("wheelhouse", "shipwheel-logs", "build"))
    mark = tmp_path / "before-test.txt"
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    own = text.split("[tool.shipwheel]", 1)[0]
    (project / "pyproject.toml").write_text(
        own
        + '[tool.shipwheel]\nbefore-all = "make -C native install PREFIX={prefix}"\n\n'
        + "[tool.cibuildwheel]\n"
        + 'test-requires = "pytest"\n'
        + 'test-sources = ["tests"]\n'
        + f"environment = 'A=one B=\"$A-two\" MARK={mark}'\n"
        + 'before-test = "python -c \'import os; open(os.environ[\\"MARK\\"], \\"w\\").write(os.environ[\\"B\\"])\'"\n'
        + 'test-command = "python -m pytest -q -p no:cacheprovider {package}/tests && test -f tests/test_kahan.py"\n'
        + "[[tool.cibuildwheel.overrides]]\n"
        + 'select = "*-manylinux_x86_64"\n'
        + 'inherit.test-command = "append"\n'
        + 'test-command = "echo OVERRIDE-RAN"\n',
        encoding="utf-8",
    )
    result = build(
        project,
        only=ident,
        overrides={
            "cache-dir": str(tmp_path / "cache"),
            "output-dir": str(tmp_path / "wh"),
            "log-dir": str(tmp_path / "logs"),
        },
    )
    outcome = {r.identifier: r for r in result.results}[ident]
    log = (tmp_path / "logs" / f"{ident}.log").read_text(encoding="utf-8")
    assert outcome.status == "ok", log[-3000:]
    assert mark.read_text(encoding="utf-8") == "one-two"
    assert "OVERRIDE-RAN" in log and "{package}" not in log


def test_test_groups_resolve_the_projects_dependency_groups(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path, "numexpr-2.14.1"), environ={})
    assert config.sources["test-groups"] == "[tool.cibuildwheel]"
    assert not [w for w in config.warnings if "test-groups" in w]
    assert any(r.startswith("pytest") for r in config.test_requirements())
    numexpr_t = config.for_identifier("cp314t-manylinux_x86_64")
    assert numexpr_t.test_command == "python -m pytest --parallel-threads=4 --pyargs numexpr"


def test_schema_per_identifier_tables_take_the_build_keys() -> None:
    from shipwheel.config import schema

    full = schema()
    # the sub-tables of the steps ([tool.shipwheel.verify] ...): every table with its own properties
    sections = {k for k, v in full["properties"].items() if v.get("type") == "object" and "properties" in v}
    per = {"linux", "macos", "windows", "overrides", "downstream"}
    build = {k: v for k, v in full["properties"].items() if k not in sections | per}
    assert full["definitions"]["per-identifier"]["properties"] == build
    items = dict(full["properties"]["overrides"]["items"]["properties"])
    assert {k: v for k, v in items.items() if k not in {"select", "inherit"}} == build


CACHE = Path(__file__).parent.parent / ".cache"
#: numexpr 2.14.1's sdist on PyPI: its [tool.cibuildwheel] has test-command and test-groups, no [tool.shipwheel]
NUMEXPR = (
    "numexpr-2.14.1.tar.gz",
    "https://files.pythonhosted.org/packages/cb/2f/fdba158c9dbe5caca9c3eca3eaffffb251f2fb8674bf8e2d0aed5f38d319/"
    "numexpr-2.14.1.tar.gz",
)


def _real_sdist(name: str, url: str) -> Path:
    """Download once into tests/.cache/, checked against the sha256 PyPI's simple API publishes."""
    import hashlib

    import httpx

    path = CACHE / name
    if path.is_file():
        return path
    CACHE.mkdir(exist_ok=True)
    project = name.split("-")[0]
    page = httpx.get(
        f"https://pypi.org/simple/{project}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=60,
        follow_redirects=True,
    ).json()
    sha = next(f["hashes"]["sha256"] for f in page["files"] if f["filename"] == name)
    data = httpx.get(url, timeout=300, follow_redirects=True).content
    assert hashlib.sha256(data).hexdigest() == sha
    path.with_suffix(".part").write_bytes(data)
    path.with_suffix(".part").replace(path)
    return path


@pytest.mark.slow
@pytest.mark.integration
def test_real_sdist_runs_its_cibuildwheel_test_command(tmp_path: Path) -> None:
    """numexpr 2.14.1 from PyPI, no [tool.shipwheel]: shipwheel build runs cibuildwheel's test-command with the
    test-groups requirements, and the project's own suite passes against the repaired wheel."""
    from fixtures.builds import build_project as build
    from shipwheel.interpreters import discover

    have = sorted(
        {i.version[:2] for i in discover() if (3, 10) <= i.version[:2] <= (3, 13) and not i.free_threaded}
    )
    if not have:
        pytest.skip("needs a CPython 3.10 to 3.13")
    ident = f"cp3{have[-1][1]}-manylinux_x86_64"
    sdist = _real_sdist(*NUMEXPR)
    result = build(
        sdist,
        only=ident,
        overrides={
            # not under the repository: the tests run below the cache, and shipwheel's own pytest settings
            # (found by walking up) would apply to numexpr's suite
            "cache-dir": str(tmp_path / "cache"),
            "output-dir": str(tmp_path / "wh"),
            "log-dir": str(tmp_path / "logs"),
        },
    )
    outcome = {r.identifier: r for r in result.results}[ident]
    log = (tmp_path / "logs" / f"{ident}.log").read_text(encoding="utf-8")
    assert outcome.status == "ok", log[-3000:]
    assert "$ python -m pytest --pyargs numexpr" in log
    assert "pytest-run-parallel" in log  # from [dependency-groups] test, through test-groups
    assert " passed" in log.rsplit("$ python -m pytest --pyargs numexpr", 1)[1]


def test_matrix_json_says_which_wheels_are_tested(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nrequires-python = ">=3.13"\n'
        '[tool.cibuildwheel]\ntest-command = "pytest"\ntest-skip = "*-macosx_*"\n'
        '[[tool.cibuildwheel.overrides]]\nselect = "*-win_arm64"\ntest-command = ""\n',
        encoding="utf-8",
    )
    assert main_inner(["matrix", str(folder), "--json"]) == 0
    rows = {r["identifier"]: r["tested"] for r in json.loads(capsys.readouterr().out)["identifiers"]}
    assert rows["cp313-manylinux_x86_64"] is True
    assert rows["cp313-macosx_arm64"] is False and rows["cp313-win_arm64"] is False


_ARCH_WORDS = [
    "auto", "native", "all", "auto64", "auto32", "x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l",
    "riscv64", "universal2", "arm64", "x86", "AMD64", "ARM64", "wasm32", "sparc",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(["", "linux", "macos", "windows"]),
    archs=st.lists(st.sampled_from(_ARCH_WORDS), max_size=4),
    env=st.lists(st.sampled_from(_ARCH_WORDS), max_size=3),
)
def test_any_archs_is_a_matrix_or_one_config_error(
    tmp_path: Path, where: str, archs: list[str], env: list[str]
) -> None:
    table = f"[tool.cibuildwheel.{where}]" if where else "[tool.cibuildwheel]"
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n{table}\narchs = {json.dumps(archs)}\n', encoding="utf-8"
    )
    try:
        config = load_config(tmp_path, environ={"CIBW_ARCHS_MACOS": " ".join(env)} if env else {})
        config.identifiers()
    except ConfigError as exc:
        assert "unknown architecture" in exc.message


def test_dependency_versions_where_it_applies(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.cibuildwheel]\ndependency-versions = {file = "ci/constraints.txt"}\n'
        'environment = {A = "1"}\n',
        encoding="utf-8",
    )
    config = load_config(folder, environ={})
    assert dict(config.build.environment) == {
        "A": "1",
        "PIP_CONSTRAINT": "{project}/ci/constraints.txt",
        "UV_CONSTRAINT": "{project}/ci/constraints.txt",
    }
    pinned = load_config(folder, environ={"CIBW_DEPENDENCY_VERSIONS": "pinned"})
    assert "PIP_CONSTRAINT" not in pinned.build.environment
    assert "dependency-versions = 'pinned'" in pinned.ci_only
