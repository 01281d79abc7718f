"""Every command starts fast: building the parser (``--version``, ``--help``) imports no step, no HTTP client and
no template engine, and ``shipwheel build`` imports what a build needs only. Asserted on the names of the
modules imported (``python -X importtime``), never on times."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipwheel.cli import main_inner
from shipwheel.errors import UsageError

#: What only the commands that move, sign, publish or write notes need, and the readers of the configuration
HEAVY = (
    "httpx",
    "jinja2",
    "rich.progress",
    "shipwheel._http",
    "shipwheel.builder",
    "shipwheel.config",
    "shipwheel.distfiles",
    "shipwheel.matrix",
    "shipwheel.notes",
    "shipwheel.publish",
    "shipwheel.release",
    "shipwheel.sign",
    "shipwheel.staging",
    "shipwheel.verify",
)
#: What a build needs none of
NOT_FOR_A_BUILD = (
    "httpx",
    "jinja2",
    "shipwheel._http",
    "shipwheel.notes",
    "shipwheel.publish",
    "shipwheel.release",
    "shipwheel.staging",
)


def _imported(args: list[str], cwd: Path) -> set[str]:
    """The modules ``python -X importtime ARGS`` imports (its exit code is the command's business)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )
    names = {
        line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")
    }
    assert "shipwheel.cli" in names, proc.stderr[-2000:]
    return names


def _heavy(names: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in heavy))


@pytest.mark.parametrize(
    "args",
    [
        ["-c", "import shipwheel.cli"],
        ["-m", "shipwheel", "--version"],
        ["-m", "shipwheel", "build", "--help"],
        ["-m", "shipwheel", "buidl"],
    ],
    ids=["import", "version", "build-help", "misspelt-command"],
)
def test_parsing_a_command_line_imports_no_step_and_no_http_client(args: list[str], tmp_path: Path) -> None:
    assert _heavy(_imported(args, tmp_path), HEAVY) == []


def test_build_imports_no_http_client_templates_notes_or_transfer(tmp_path: Path) -> None:
    # a folder without pyproject.toml: the command runs its imports, reads the configuration and stops there
    names = _imported(["-m", "shipwheel", "build", str(tmp_path)], tmp_path)
    assert "shipwheel.builder" in names and "shipwheel.config" in names
    assert _heavy(names, NOT_FOR_A_BUILD) == []


def test_help_read_from_the_library_is_shown_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """The texts the parser no longer imports at start (the checks, the precedence, the platform families, the
    release's steps) are still there when the help or an error shows them."""
    for argv, expected in (
        (["check", "--help"], "checks:\n  "),
        (["config", "--help"], "Precedence, lowest first: default < cibuildwheel default < "),
        (["fetch", "--help"], "platform family to keep, repeatable: all, win, macosx, manylinux,"),
    ):
        with pytest.raises(SystemExit):
            main_inner(argv)
        out = capsys.readouterr().out
        assert expected in (out if "\n" in expected else " ".join(out.split()))
    with pytest.raises(UsageError) as error:
        main_inner(["release", "1.0", "--from", "bild"])
    assert "invalid choice: 'bild'" in str(error.value)
    assert error.value.hint == "did you mean 'build'?"
