"""shipwheel reads ``[tool.cibuildwheel]`` and ``CIBW_*`` with the rules of a given cibuildwheel line: for every
configuration below, every platform and every supported line, ``shipwheel matrix --print-build-identifiers
--platform P`` equals what the real cibuildwheel of that line prints on this machine (its CPython identifiers),
and a configuration the line refuses is refused by shipwheel too."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from fixtures.cibuildwheel_lines import RELEASES, Answer, print_build_identifiers
from shipwheel.cli import main_inner
from shipwheel.config import load_config

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="cibuildwheel 3.3 and later need Python >= 3.11"
)

PLATFORMS = ("linux", "macos", "windows")
_PROJECT = '[project]\nname = "x"\nversion = "1"\n'
#: (name, pyproject.toml, setup.cfg or None, environment): the shapes real projects use.
CASES: list[tuple[str, str, str | None, Mapping[str, str]]] = [
    ("nothing", _PROJECT, None, {}),
    ("requires-python", _PROJECT + 'requires-python = ">=3.11"\n', None, {}),
    ("archs-all", _PROJECT + '[tool.cibuildwheel]\narchs = "all"\n', None, {}),
    ("archs-words", _PROJECT + '[tool.cibuildwheel]\narchs = "x86_64 universal2 ARM64 x86"\n', None, {}),
    ("archs-auto64-native", _PROJECT + '[tool.cibuildwheel]\narchs = ["auto64", "native"]\n', None, {}),
    ("archs-auto32", _PROJECT + "[tool.cibuildwheel.linux]\narchs = [\"auto\", \"auto32\"]\n"
     "[tool.cibuildwheel.windows]\narchs = \"auto32\"\n", None, {}),
    ("selectors", _PROJECT + '[tool.cibuildwheel]\nbuild = "cp31{1,2}-* cp314t-*"\nskip = "*-musllinux_* pp*"\n'
     'archs = "all"\n', None, {}),
    ("platform-skip", _PROJECT + '[tool.cibuildwheel]\nskip = "pp*"\n[tool.cibuildwheel.linux]\n'
     'skip = "*-musllinux_*"\n[tool.cibuildwheel.macos]\narchs = "arm64"\n', None, {}),
    ("enable-freethreading", _PROJECT + '[tool.cibuildwheel]\nenable = ["cpython-freethreading"]\n'
     'skip = "pp*"\n[tool.cibuildwheel.linux]\narchs = ["auto", "auto32"]\n', None, {}),
    ("enable-all", _PROJECT + '[tool.cibuildwheel]\nenable = "all"\narchs = "all"\n', None, {}),
    ("enable-pypy", _PROJECT + '[tool.cibuildwheel]\nenable = ["pypy", "graalpy"]\nbuild = ["cp39-*", "pp*"]\n',
     None, {}),
    ("env-only", _PROJECT, None, {"CIBW_SKIP": "gp311* gp*-macosx_x86_64 cp39-*", "CIBW_ARCHS_WINDOWS": "ARM64",
                                  "CIBW_BUILD": "cp31*"}),
    ("env-over-table", _PROJECT + '[tool.cibuildwheel]\nskip = "cp31*"\narchs = "all"\n', None,
     {"CIBW_SKIP": "*-musllinux_*", "CIBW_ARCHS_LINUX": "aarch64 ppc64le", "CIBW_ENABLE": "pypy"}),
    ("free-threaded-skip", _PROJECT + 'requires-python = ">=3.10"\n[tool.cibuildwheel]\nskip = "cp3??t-*"\n',
     None, {}),
    ("env-requires-python", _PROJECT, None, {"CIBW_PROJECT_REQUIRES_PYTHON": ">=3.12"}),
    ("setup-cfg", "[build-system]\nrequires = ['setuptools']\nbuild-backend = 'setuptools.build_meta'\n"
     "[tool.cibuildwheel]\nskip = 'pp*'\n", "[metadata]\nname = x\nversion = 1\n[options]\npython_requires = >=3.12\n",
     {}),
]  # fmt: skip
#: pyproject.toml files of real sdists on PyPI (see the first line of each): per-platform tables, overrides,
#: archs per platform, enable groups, environment tables.
DATA = Path(__file__).parent.parent / "data" / "cibuildwheel"
CASES += [
    (p.name.removesuffix(".pyproject.toml"), p.read_text(encoding="utf-8"), None, {})
    for p in sorted(DATA.glob("*.pyproject.toml"))
]


def _folder(root: Path, name: str, pyproject: str, setup_cfg: str | None) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    if setup_cfg is not None:
        (folder / "setup.cfg").write_text(setup_cfg, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[tuple[str, str], Answer]]:
    """What each release of cibuildwheel prints for every case and platform (one process per release)."""
    root = tmp_path_factory.mktemp("cibw-cases")
    folders = {name: _folder(root, name, py, cfg) for name, py, cfg, _ in CASES}
    cases = [(folders[name], p, env) for name, _, _, env in CASES for p in PLATFORMS]
    out = {}
    for release in RELEASES:
        found = print_build_identifiers(release, cases)
        out[release] = {(str(c[0].name), c[1]): a for c, a in zip(cases, found, strict=True)}
    return out


@pytest.mark.parametrize("release", RELEASES)
def test_print_build_identifiers_equals_cibuildwheel_of_each_line(
    answers: dict[str, dict[tuple[str, str], Answer]], tmp_path: Path, release: str
) -> None:
    differences = []
    refused = 0
    for name, pyproject, setup_cfg, env in CASES:
        folder = _folder(tmp_path, name, pyproject, setup_cfg)
        config = load_config(folder, environ={**env, "SHIPWHEEL_CI_CIBUILDWHEEL_VERSION": release})
        assert config.cibuildwheel.line.newest == release
        for platform in PLATFORMS:
            theirs = answers[release][(name, platform)]
            if theirs.code != 0:
                refused += 1
                assert config.cibuildwheel.rejected, (name, platform, theirs.err)
                continue
            assert not config.cibuildwheel.rejected, (name, config.cibuildwheel.rejected)
            ours = {str(i) for i in config.cibuildwheel_identifiers(platform)}
            if ours != theirs.cpython:
                differences.append(
                    (name, platform, sorted(ours - theirs.cpython), sorted(theirs.cpython - ours))
                )
    assert not differences, differences
    assert refused < len(CASES)  # most configurations are accepted by every line


def test_the_4x_line_refuses_what_only_3x_knows(answers: dict[str, dict[tuple[str, str], Answer]]) -> None:
    """multidict's enable = ["cpython-freethreading"]: 4.x stops on it, 3.x builds cp313t with it."""
    assert answers["4.3.5"][("enable-freethreading", "linux")].code != 0
    assert "cp313t-manylinux_x86_64" in answers["3.3.1"][("enable-freethreading", "linux")].ids


def test_the_line_is_the_newest_that_accepts_the_configuration(tmp_path: Path) -> None:
    name, pyproject, _, _ = next(c for c in CASES if c[0] == "enable-freethreading")
    config = load_config(_folder(tmp_path, name, pyproject, None), environ={})
    assert config.cibuildwheel.line.name == "3.4" and not config.cibuildwheel.rejected
    assert "the newest cibuildwheel line that accepts" in config.cibuildwheel.reason
    assert "cp313t-manylinux_x86_64" in {str(i) for i in config.identifiers()}
    plain = load_config(_folder(tmp_path, "nothing", _PROJECT, None), environ={})
    assert plain.cibuildwheel.line.name == "4.3"
    assert {"cp315-manylinux_x86_64", "cp315t-win_arm64"} <= {str(i) for i in plain.identifiers()}


def test_a_pin_the_line_refuses_is_a_warning_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name, pyproject, _, _ = next(c for c in CASES if c[0] == "enable-freethreading")
    folder = _folder(
        tmp_path, name, pyproject + "[tool.shipwheel.ci]\ncibuildwheel-version = '4.3.5'\n", None
    )
    config = load_config(folder, environ={})
    assert config.cibuildwheel.line.name == "4.3"
    assert config.cibuildwheel.rejected == (
        "[tool.cibuildwheel]: unknown enable group 'cpython-freethreading'",
    )
    assert any("cibuildwheel 4.3.5 (ci.cibuildwheel-version = 4.3.5) refuses" in w for w in config.warnings)


def test_matrix_command_prints_the_host_reading_and_the_release_without_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answers: dict[str, dict[tuple[str, str], Answer]]
) -> None:
    folder = _folder(tmp_path, "archs-auto32", next(c[1] for c in CASES if c[0] == "archs-auto32"), None)
    assert main_inner(["matrix", str(folder), "--platform", "windows", "--print-build-identifiers"]) == 0
    assert set(capsys.readouterr().out.split()) == answers["4.3.5"][("archs-auto32", "windows")].cpython
    assert main_inner(["matrix", str(folder), "--print-build-identifiers"]) == 0
    release = set(capsys.readouterr().out.split())
    # the release: every native runner's machine (x86_64 and aarch64 Linux, both Macs, both Windows) and the
    # 32-bit neighbours auto32 asks for
    assert {"cp312-manylinux_aarch64", "cp312-manylinux_i686", "cp312-macosx_arm64", "cp312-win32"} <= release


_OLD_PIN_WORKFLOW = """\
on: [push]
jobs:
  wheels:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: pypa/cibuildwheel@v2.21.3
        env:
          CIBW_PRERELEASE_PYTHONS: True
          CIBW_FREE_THREADED_SUPPORT: True
"""


def test_a_workflow_pin_older_than_every_line_is_read_with_the_oldest_line(tmp_path: Path) -> None:
    """A maintenance branch still on cibuildwheel 2.x (NumPy 2.2.x pins 2.21.3): its configuration is read with the
    oldest line shipwheel knows and says so, instead of refusing the project's own files; ci github then pins
    that line's newest release it has a commit for."""
    from shipwheel.ci import cibuildwheel_pin
    from shipwheel.config import LINES, load_config

    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "wheels.yml").write_text(_OLD_PIN_WORKFLOW, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.11"\n', encoding="utf-8"
    )
    config = load_config(tmp_path, environ={})
    choice = config.cibuildwheel
    assert (choice.line.name, choice.pinned) == (LINES[-1].name, "2.21.3")
    assert "older than every line shipwheel reads" in choice.reason
    assert choice.rejected == ()  # 2.x's own switches are accepted (they mean something to CI runs only)
    pin, why = cibuildwheel_pin(choice)
    assert pin.uses.startswith("pypa/cibuildwheel@") and "read like 2.21.3" in why


def test_a_configured_cibuildwheel_version_of_an_unknown_line_is_refused(tmp_path: Path) -> None:
    """Asked for by name, a line shipwheel does not read is refused with a hint, never guessed."""
    from shipwheel.config import load_config
    from shipwheel.errors import ConfigError

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\n\n[tool.shipwheel.ci]\ncibuildwheel-version = "2.21.3"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="reads the configuration of cibuildwheel"):
        load_config(tmp_path, environ={})
