"""The command line as a shell: bad numbers and malformed configuration are one line and a documented exit code.

Commands run in-process through ``main_inner`` (which raises) with ``_run`` doing what ``main`` does with the
exceptions, so that any other exception (a traceback for the user) fails the test.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipwheel.cli import build_parser, main_inner
from shipwheel.config import SECTIONS
from shipwheel.config._model import toml_key
from shipwheel.errors import ShipwheelError, UsageError

REPO = Path(__file__).resolve().parents[2]


def _documented_exit_codes() -> set[int]:
    text = REPO.joinpath("docs", "exit-codes.md").read_text(encoding="utf-8")
    table = text.split("# Exit codes", 1)[1]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}


EXIT_CODES = _documented_exit_codes()


def _run(argv: list[str]) -> int:
    """The exit code ``shipwheel ARGV`` ends with; any exception but ours propagates (the test fails)."""
    try:
        return main_inner(argv)
    except ShipwheelError as exc:
        assert "\n" not in exc.one_line()
        return exc.exit_code
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)


# -- every numeric option of every command ---------------------------------------------------------------------

#: (command line before the option, option, a good value); the command fails fast after parsing (empty folders).
NUMERIC_OPTIONS: list[tuple[str, str, str]] = [
    ("build {e}", "-j", "2"),
    ("verify {e} --no-completeness", "-j", "2"),
    ("verify {e} --no-completeness", "--max-file-size", "1000"),
    ("stage {e} --to {d}", "-j", "2"),
    ("stage {e} --to {d}", "--retries", "1"),
    ("stage {e} --to {d}", "--timeout", "5"),
    ("fetch demo 1.0 --from {e} -w {w}", "-j", "2"),
    ("fetch demo 1.0 --from {e} -w {w}", "--retries", "1"),
    ("fetch demo 1.0 --from {e} -w {w}", "--timeout", "5"),
    ("publish {e} -r file:{d} --no-verify", "-j", "2"),
    ("publish {e} -r file:{d} --no-verify", "--retries", "1"),
    ("publish {e} -r file:{d} --no-verify", "--timeout", "5"),
    ("downstream 1.0 --config-dir {e}", "-j", "2"),
    ("downstream 1.0 --config-dir {e}", "--deadline", "5"),
]

BAD_NUMBERS = ["-1", "-3", "nan", "inf", "-inf", "1e999", "x", "", "99999999999999999999999", "1.5"]


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name in ("e", "d", "w"):
        (tmp_path / name).mkdir()
        out[name] = str(tmp_path / name)
    return out


def _numeric_options() -> list[str]:
    """Every option of every command whose argparse type is a number (found from the parser itself)."""
    found = []
    parser = build_parser()
    sub = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    for name, command in sub.choices.items():
        for action in command._actions:
            if (
                action.type in (int, float)
                or getattr(action.type, "__module__", "") == "shipwheel.cli._common"
            ):
                found.append(f"{name} {action.option_strings[-1]}")
    return sorted(found)


def test_every_numeric_option_is_covered() -> None:
    covered = {
        f"{cmd.split()[0]} {opt if opt.startswith('--') else '--jobs'}" for cmd, opt, _ in NUMERIC_OPTIONS
    }
    assert set(_numeric_options()) <= covered


def test_numeric_options_use_the_validating_types() -> None:
    parser = build_parser()
    sub = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        for action in command._actions:
            assert action.type not in (int, float), (
                f"shipwheel {name} {action.option_strings}: plain {action.type}"
            )


@pytest.mark.parametrize(("prefix", "option", "good"), NUMERIC_OPTIONS)
@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_bad_numbers_exit_2_one_line(
    folders: dict[str, str], prefix: str, option: str, good: str, bad: str
) -> None:
    if option in {"--timeout", "--deadline"} and bad == "1.5":
        bad = "0"  # 1.5 s is a good timeout or deadline; whole-number options refuse it
    # --opt=VALUE, so that "-1" is never taken for an option
    long = {"-j": "--jobs"}.get(option, option)
    argv = [*prefix.format(**folders).split(), f"{long}={bad}"]
    with pytest.raises(UsageError) as info:
        main_inner(argv)
    line = info.value.one_line()
    assert info.value.exit_code == 2 and "\n" not in line
    assert "is not a" in line or "expected one argument" in line, line


@pytest.mark.parametrize(("prefix", "option", "good"), NUMERIC_OPTIONS)
def test_good_numbers_pass_the_parser(folders: dict[str, str], prefix: str, option: str, good: str) -> None:
    argv = [*prefix.format(**folders).split(), option, good]
    assert _run(argv) in EXIT_CODES  # parsed, then any documented ending, never a traceback
    args = build_parser().parse_args(argv)
    dest = {"-j": "jobs", "--max-file-size": "max_file_size"}.get(option, option.lstrip("-"))
    assert float(getattr(args, dest)) == float(good)


def test_console_script_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shipwheel", "fetch", "demo", "1.0", "--timeout", "nan"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: shipwheel fetch: argument --timeout: 'nan' is not a number above 0 and at most 86400; "
        "see 'shipwheel fetch --help'"
    )


# -- the property test per command ------------------------------------------------------------------------------

_scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_KNOWN = [toml_key(f) for cls in SECTIONS.values() for f in __import__("dataclasses").fields(cls)]
_keys = st.sampled_from([*_KNOWN, *(s for s in SECTIONS if s), "build-frontend", "x"])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


_cibw_keys = st.sampled_from(
    [
        "build", "skip", "test-skip", "archs", "enable", "environment", "environment-pass", "before-all",
        "test-command", "test-requires", "test-groups", "test-extras", "test-sources", "config-settings",
        "build-frontend", "dependency-versions", "overrides", "linux", "macos", "windows", "container-engine",
        "manylinux-x86_64-image", "frobnicate",
    ]
)  # fmt: skip
_tables = st.one_of(
    st.dictionaries(_keys, _values, max_size=4).map(
        lambda t: "[tool.shipwheel]\n" + "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in t.items())
    ),
    st.dictionaries(
        st.sampled_from(["name", "version", "requires-python", "dynamic"]), _values, max_size=3
    ).map(lambda t: "[project]\n" + "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in t.items())),
    st.dictionaries(_cibw_keys, _values, max_size=4).map(
        lambda t: "[tool.cibuildwheel]\n" + "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in t.items())
    ),
    _values.map(lambda v: f"tool = {_toml(v)}\n"),
    _values.map(lambda v: f"project = {_toml(v)}\n"),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
_numbers = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e400", "0x10", "1_0", " 3", "٣"]),
    st.text(alphabet="0123456789.-e+naifx ", max_size=6),
)


def _property(
    argv_of: Callable[[dict[str, str], list[str]], list[str]], options: list[str]
) -> Callable[..., None]:
    """A Hypothesis test: a malformed pyproject.toml in the project folder and random values for ``options``."""

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(table=_tables, numbers=st.lists(_numbers, min_size=len(options), max_size=len(options)))
    def test(folders: dict[str, str], table: str, numbers: list[str]) -> None:
        Path(folders["e"], "pyproject.toml").write_bytes(table.encode("latin-1", "replace"))
        extra = [f"{opt}={value}" for opt, value in zip(options, numbers, strict=True)]
        assert _run(argv_of(folders, extra)) in EXIT_CODES

    return test


test_property_config = _property(lambda f, x: ["config", f["e"], *x], [])
test_property_matrix = _property(lambda f, x: ["matrix", f["e"], *x], [])
# --only selects nothing, so that a table that happens to be valid never starts a real build
test_property_build = _property(lambda f, x: ["build", f["e"], "--only", "cp27-*", *x], ["--jobs"])
test_property_verify = _property(
    lambda f, x: ["verify", f["e"], "--no-completeness", "--config-dir", f["e"], *x],
    ["--jobs", "--max-file-size"],
)
test_property_stage = _property(
    lambda f, x: ["stage", f["e"], "--to", f["d"], "--config-dir", f["e"], *x],
    ["--jobs", "--timeout", "--retries"],
)
test_property_fetch = _property(
    lambda f, x: ["fetch", "demo", "1.0", "--from", f["e"], "-w", f["w"], "--config-dir", f["e"], *x],
    ["--jobs", "--retries", "--timeout"],
)
test_property_publish = _property(
    lambda f, x: ["publish", f["e"], "-r", f"file:{f['d']}", "--no-verify", "--config-dir", f["e"], *x],
    ["--jobs", "--retries", "--timeout"],
)
# no [[tool.shipwheel.downstream]] in any table: the command ends before it tests anything
test_property_downstream = _property(
    lambda f, x: ["downstream", "1.0", "--config-dir", f["e"], *x], ["--jobs", "--deadline"]
)
test_property_sign = _property(lambda f, x: ["sign", f["e"], "--config-dir", f["e"], *x], [])
test_property_changelog = _property(
    lambda f, x: ["changelog", "a..b", "--repo", f["e"], "--config-dir", f["e"], *x], []
)
test_property_notes = _property(lambda f, x: ["notes", "1.0", "--project", f["e"], "--range", "none", *x], [])


# -- the property test for every other command: in a real git repository, with bad versions and paths -----------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A git repository with one commit as the working folder, beside a file, a folder and a missing path."""
    root = tmp_path / "repo"
    root.mkdir()
    env = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "gnupg"))  # an empty keyring: no key of the user's is used
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "Property Test"],
        ["config", "user.email", "p@example.invalid"],
        ["config", "commit.gpgsign", "false"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n')
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, capture_output=True, timeout=60)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True, capture_output=True, timeout=60)
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "a-dir").mkdir()
    monkeypatch.chdir(root)
    return {
        "r": str(root),
        "file": str(tmp_path / "a-file"),
        "dir": str(tmp_path / "a-dir"),
        "missing": str(tmp_path / "missing" / "deeper"),
    }


_RELEASE_KEYS = [toml_key(f) for f in __import__("dataclasses").fields(SECTIONS["release"])]
#: keys whose value is a command shipwheel runs: random text there would run random programs
_COMMAND_KEYS = {"api-command", "docs-command"}
_release_values = st.one_of(_values, st.sampled_from(["false", "no-such-program-xyz", "true"]))
_section_tables = st.sampled_from([s for s in SECTIONS if s]).flatmap(
    lambda section: st.dictionaries(
        st.sampled_from(
            [toml_key(f) for f in __import__("dataclasses").fields(SECTIONS[section])] + ["frobnicate"]
        ),
        _values,
        max_size=4,
    ).map(
        lambda t: (
            f"[project]\nname = 'demo'\nversion = '1.0'\n[tool.shipwheel.{section}]\n"
            + "".join(
                f"{json.dumps(k)} = {_toml(v) if k not in _COMMAND_KEYS else json.dumps('false')}\n"
                for k, v in t.items()
            )
        )
    )
)
_release_tables = st.dictionaries(
    st.sampled_from([*_RELEASE_KEYS, "frobnicate"]), _release_values, max_size=5
).map(
    lambda t: (
        "[project]\nname = 'demo'\nversion = '1.0'\n[tool.shipwheel.release]\n"
        + "".join(
            f"{json.dumps(k)} = {_toml(v) if k not in _COMMAND_KEYS else json.dumps('false')}\n"
            for k, v in t.items()
        )
    )
)
_any_tables = st.one_of(_tables, _section_tables, _release_tables)
_versions = st.one_of(
    st.sampled_from(
        ["1.0", "1.0.1", "2.0rc1", "1.0.dev0", "x", "", "1..0", "v1.0", "1.0+local", "99999999999999999999.0",
         "1.0\n2", "../..", "1.0/../x", "1.0 ", "\u0663.\u0660", "1" * 300, "1.0-", "HEAD", "@{u}"]
    ),
    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8),
)  # fmt: skip
_paths = st.sampled_from(["r", "file", "dir", "missing"])
_flags = st.lists(
    st.sampled_from(["--pre=rc", "--pre=b", "--pre=zz", "--final", "--dev", "--next", "--json"])
)


def _repo_property(
    argv_of: Callable[[dict[str, str], str, str, list[str]], list[str]],
) -> Callable[..., None]:
    """A Hypothesis test in a real git repository: a malformed configuration, a bad VERSION, a path that is the
    repository, a file, a folder or missing, and random flags."""

    @settings(
        max_examples=int(os.environ.get("SHIPWHEEL_EXAMPLES", "12")),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(table=_any_tables, version=_versions, path=_paths, flags=_flags)
    def test(repo: dict[str, str], table: str, version: str, path: str, flags: list[str]) -> None:
        Path(repo["r"], "pyproject.toml").write_bytes(table.encode("utf-8", "surrogateescape"))
        assert _run(argv_of(repo, version, repo[path], flags)) in EXIT_CODES

    return test


_NO_BUILD = ["--skip", "version-backend", "--skip", "docs-build", "--skip", "sdist-complete"]
test_property_check = _repo_property(
    lambda r, v, p, x: ["check", v, "-r", f"file:{r['dir']}", *_NO_BUILD, *x[:1]]
)
test_property_version = _repo_property(lambda r, v, p, x: ["version", v, *x[:1]])
test_property_version_show = _repo_property(lambda r, v, p, x: ["version", "--config-dir", p])
test_property_bump = _repo_property(lambda r, v, p, x: ["bump", *x])
test_property_tag = _repo_property(lambda r, v, p, x: ["tag", v, *x[:1]])
test_property_branch = _repo_property(lambda r, v, p, x: ["branch", v, "--no-bump", *x[:1]])
test_property_docs = _repo_property(lambda r, v, p, x: ["docs", v, "--to", p, "--from", p])
test_property_announce = _repo_property(lambda r, v, p, x: ["announce", v, *x[:1]])
test_property_release = _repo_property(
    lambda r, v, p, x: ["release", v, "--dry-run", "-r", f"file:{r['dir']}", *x[:1]]
)
test_property_status = _repo_property(lambda r, v, p, x: ["status", v, "--html", p, *x[:1]])
test_property_ci = _repo_property(lambda r, v, p, x: ["ci", "github", "--check", "-o", p])
test_property_ci_write = _repo_property(lambda r, v, p, x: ["ci", "github", "--write", "-o", p])
test_property_completion = _repo_property(lambda r, v, p, x: ["completion", v or "bash"])
test_property_mailmap_check = _repo_property(lambda r, v, p, x: ["mailmap-check", v, "--repo", p])
test_property_changelog_repo = _repo_property(
    lambda r, v, p, x: ["changelog", v, "--repo", r["r"], "--titles", p]
)
test_property_notes_repo = _repo_property(
    lambda r, v, p, x: ["notes", v, "--project", r["r"], "--range", "none", "--wheelhouse", p]
)


def test_property_every_command_has_one() -> None:
    """A new command without a property test fails here (the parser is the list of commands)."""
    sub = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    missing = [name for name in sub.choices if f"test_property_{name.replace('-', '_')}" not in globals()]
    assert not missing, f"commands without a property test: {missing}"


def test_status_html_into_a_folder_names_the_option(repo: dict[str, str]) -> None:
    with pytest.raises(ShipwheelError) as info:
        main_inner(["status", "1.0", "--html", repo["dir"]])
    assert "--html" in info.value.one_line() and "-o" not in info.value.hint.replace("--html", "")
