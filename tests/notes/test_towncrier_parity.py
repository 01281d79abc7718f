"""The news section shipwheel renders (its template in the sandbox) is what ``towncrier build --draft`` prints.

towncrier runs here through its own command line (the click command of the ``towncrier`` script, in this
process); every layout of :mod:`towncrier_layouts` is compared byte for byte, with the date fixed by
``SOURCE_DATE_EPOCH`` as reproducible builds fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from shipwheel.notes import find_towncrier, render_section

from .towncrier_layouts import LAYOUTS, VERSION, write_layout

EPOCH = "1767225600"  # 2026-01-01


def towncrier_draft(project: Path, version: str) -> str:
    """What ``towncrier build --draft --version VERSION`` prints on stdout (its progress goes to stderr)."""
    from towncrier._shell import cli

    result = CliRunner().invoke(
        cli,
        ["build", "--draft", "--version", version, "--dir", str(project)],
        env={"SOURCE_DATE_EPOCH": EPOCH},
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_section_is_towncriers_draft(tmp_path: Path, layout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_layout(tmp_path / "p", layout)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    tc = find_towncrier(project)
    assert tc is not None
    assert render_section(tc, VERSION).content + "\n" == towncrier_draft(project, VERSION)


def test_fragments_are_the_files_towncrier_uses(tmp_path: Path) -> None:
    project = write_layout(tmp_path / "p", "towncrier.toml, defaults")
    tc = find_towncrier(project)
    assert tc is not None
    # every fragment, and neither the README nor the .gitignore of the fragments folder
    assert sorted(p.name for p in tc.fragments) == sorted(
        rel.split("/")[-1]
        for rel in LAYOUTS["towncrier.toml, defaults"]
        if rel.startswith("changes/") and not rel.endswith(("README.rst", ".gitignore"))
    )
