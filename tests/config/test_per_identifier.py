"""Every cibuildwheel key is applied per identifier exactly as the line does (platform tables, overrides,
``inherit`` with cibuildwheel's implicit defaults, the variables over the overrides), compared with the real
cibuildwheel's own options; the precedence between ``[tool.shipwheel]`` and ``[tool.cibuildwheel]`` per key and
identifier; and ``shipwheel config --identifier`` naming the winner and where it came from."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from fixtures.cibuildwheel_lines import RELEASES, build_options
from shipwheel.cli import main_inner
from shipwheel.config import Config, load_config

needs_cibuildwheel = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="cibuildwheel needs Python >= 3.11"
)
DATA = Path(__file__).parent.parent / "data" / "cibuildwheel"
_PROJECT = '[project]\nname = "x"\nversion = "1"\n'
#: pyzmq 27's shape: a platform before-all, an abi3 override that appends abi3audit to the default repair
PYZMQ = _PROJECT + (
    '[tool.cibuildwheel]\ntest-command = "pytest"\ntest-requires = ["pytest", "-r test.txt"]\n'
    '[tool.cibuildwheel.linux]\nbefore-all = "bash tools/install_libzmq.sh"\n'
    '[[tool.cibuildwheel.overrides]]\nselect = "cp312-*"\ninherit.repair-wheel-command = "append"\n'
    'repair-wheel-command = "abi3audit --strict --report {wheel}"\nconfig-settings = "wheel.py-api=cp312"\n'
)
CASES: list[tuple[str, str, Mapping[str, str], tuple[str, ...]]] = [
    ("pyzmq", PYZMQ, {}, ("4.3.5", "3.4.1", "3.3.1")),
    ("env-over-override", PYZMQ, {"CIBW_TEST_COMMAND": "pytest -x", "CIBW_BEFORE_ALL_LINUX": "make"}, RELEASES),
    (
        "prepend-and-platform",
        _PROJECT + '[tool.cibuildwheel]\nbefore-build = ["pip install -U pip", "echo base"]\n'
        'config-settings = {setup-args = ["-Da=1", "-Db=2"], "build-dir" = "build"}\n'
        '[tool.cibuildwheel.macos]\nbefore-build = "brew install x"\nrepair-wheel-command = ""\n'
        '[[tool.cibuildwheel.overrides]]\nselect = "*-win*"\ninherit = {before-build = "prepend", config-settings = "append"}\n'
        'before-build = "choco install y"\nconfig-settings = {setup-args = "-Dwin=1"}\n',
        {},
        RELEASES,
    ),
    (
        "table-inherit-4x",
        _PROJECT + '[tool.cibuildwheel]\ntest-command = "pytest"\n[tool.cibuildwheel.linux]\n'
        'inherit.test-command = "append"\ntest-command = "echo linux"\n',
        {
            "CIBW_INHERIT": "before-all-linux: prepend; test-command",
            "CIBW_BEFORE_ALL_LINUX": "yum install z",
            "CIBW_BEFORE_ALL": "make",
            "CIBW_TEST_COMMAND": "echo env",
        },
        ("4.3.5",),
    ),
    *[(p.name.split(".pyproject")[0], p.read_text(encoding="utf-8"), {}, RELEASES) for p in sorted(DATA.glob("*.pyproject.toml"))],
]  # fmt: skip
IDENTIFIERS = {
    "linux": ("cp312-manylinux_x86_64", "cp311-musllinux_aarch64", "cp314t-manylinux_aarch64"),
    "macos": ("cp312-macosx_arm64", "cp313-macosx_x86_64"),
    "windows": ("cp312-win_amd64", "cp312-win32", "cp311-win_arm64"),
}


def _folder(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(text, encoding="utf-8")
    return folder


def _repair(config: Config, identifier: str) -> str:
    """The repair command as cibuildwheel would run it (shipwheel's empty command stands for the default)."""
    found = config.explain(identifier)["repair-wheel-command"]
    return str(found.value) if found.value or found.implicit is None else found.implicit


@needs_cibuildwheel
@pytest.mark.parametrize("release", RELEASES)
def test_every_key_per_identifier_equals_cibuildwheel(tmp_path: Path, release: str) -> None:
    cases = [(n, t, env) for n, t, env, releases in CASES if release in releases]
    folders = {n: _folder(tmp_path, n, t) for n, t, _ in cases}
    asked = [(folders[n], p, i, env) for n, _, env in cases for p, ids in IDENTIFIERS.items() for i in ids]
    theirs = build_options(release, asked)
    differences = []
    for (folder, _, identifier, env), answer in zip(asked, theirs, strict=True):
        config = load_config(folder, environ={**env, "SHIPWHEEL_CI_CIBUILDWHEEL_VERSION": release})
        if "error" in answer:
            assert config.cibuildwheel.rejected, (folder.name, answer["error"])
            continue
        options = config.for_identifier(identifier)
        ours = {
            "before-all": options.before_all,
            "before-build": options.before_build,
            "before-test": options.before_test,
            "test-command": options.test_command,
            "repair-wheel-command": _repair(config, identifier),
            "config-settings": list(options.config_settings),
            "test-requires": list(config.test_requirements(options)),
        }
        expected = {k: answer[k] for k in ours}
        expected["config-settings"] = shlex.split(str(answer["config-settings"]))
        if ours != expected:
            wrong = {k: (ours[k], expected[k]) for k in ours if ours[k] != expected[k]}
            differences.append((folder.name, identifier, wrong))
    assert not differences, differences


def test_an_appended_repair_starts_with_the_platform_default(tmp_path: Path) -> None:
    config = load_config(_folder(tmp_path, "pyzmq", PYZMQ), environ={})
    assert config.for_identifier("cp312-manylinux_x86_64").repair_wheel_command == (
        "auditwheel repair -w {dest_dir} {wheel} && abi3audit --strict --report {wheel}"
    )
    plain = config.for_identifier("cp311-manylinux_x86_64")
    assert plain.repair_wheel_command == "" and plain.repair  # shipwheel's own auditwheel repair, the same
    assert config.before_all("linux") == "bash tools/install_libzmq.sh" and config.before_all("macos") == ""
    assert config.for_identifier("cp311-manylinux_x86_64").before_all == "bash tools/install_libzmq.sh"


def test_a_shipwheel_platform_table_keeps_an_overrides_config_settings(tmp_path: Path) -> None:
    text = PYZMQ + '[tool.shipwheel.linux]\nconfig-settings = {"cmake.define.ZMQ_DRAFT_API" = "1"}\n'
    config = load_config(_folder(tmp_path, "p", text), environ={})
    abi3 = config.explain("cp312-manylinux_x86_64")["config-settings"]
    assert abi3.value == ("wheel.py-api=cp312", "cmake.define.ZMQ_DRAFT_API=1")
    assert abi3.origin == "[[tool.cibuildwheel.overrides]] #1 + [tool.shipwheel.linux]"
    assert config.for_identifier("cp311-manylinux_x86_64").config_settings == (
        "cmake.define.ZMQ_DRAFT_API=1",
    )
    # a shipwheel command replaces cibuildwheel's for every identifier, and says what it replaced
    text += '[tool.shipwheel]\ntest-command = "pytest -q"\n'
    test = load_config(_folder(tmp_path, "q", text), environ={}).explain("cp312-win_amd64")["test-command"]
    assert (test.value, test.origin, test.replaced) == (
        "pytest -q",
        "pyproject.toml",
        ("default", "[tool.cibuildwheel]"),
    )


def test_config_identifier_shows_the_winner_and_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, "pyzmq", PYZMQ)
    assert main_inner(["config", str(folder), "--identifier", "cp312-manylinux_x86_64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    repair = data["for_identifier"]["repair-wheel-command"]
    assert repair["value"] == "auditwheel repair -w {dest_dir} {wheel} && abi3audit --strict --report {wheel}"
    assert repair["source"] == "cibuildwheel 4.3 default + [[tool.cibuildwheel.overrides]] #1"
    assert data["for_identifier"]["before-all"]["source"] == "[tool.cibuildwheel.linux]"
    assert data["cibuildwheel"] == {
        "line": "4.3",
        "version": "4.3.5",
        "reason": "the newest cibuildwheel line that accepts the configuration",
        "rejected": [],
    }
    assert main_inner(["config", str(folder), "--identifier", "cp311-win_amd64", "--json"]) == 0
    repair = json.loads(capsys.readouterr().out)["for_identifier"]["repair-wheel-command"]
    assert repair == {
        "value": "",
        "source": "cibuildwheel 4.3 default",
        "replaced": ["default"],
        "default": "delvewheel repair -w {dest_dir} -v {wheel}",
    }
    assert main_inner(["config", str(folder), "--identifier", "cp311-win_amd64"]) == 0
    assert "cp311-win_amd64: the values it is built with" in capsys.readouterr().out


def test_config_names_cibuildwheels_default_not_the_variable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _folder(tmp_path, "p", _PROJECT + '[tool.cibuildwheel]\nskip = "pp*"\nenable = ["pypy"]\n')
    config = load_config(
        folder,
        environ={"CIBW_SKIP": "gp311* gp*-macosx_x86_64", "SHIPWHEEL_CI_CIBUILDWHEEL_VERSION": "3.3.1"},
    )
    assert config.sources["skip"] == "env CIBW_SKIP" and config.build.skip == ("gp311*", "gp*-macosx_x86_64")
    assert config.sources["free-threaded"] == "cibuildwheel 3.3 default"
    assert "cp313t-manylinux_x86_64" not in {
        str(i) for i in config.identifiers()
    }  # 3.x: behind an enable group
    # settings normal for a project give no warning on every run; config tells what has no effect
    assert not config.warnings and not caplog.records
    assert any("enable 'pypy'" in r for r in config.remarks)
