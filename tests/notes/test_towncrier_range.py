"""The towncrier releases shipwheel allows are the ones tested: the lowest of the range, run here against its
own ``towncrier build --draft``, and the newest, which the test environment has (``test_towncrier_parity``).

shipwheel uses towncrier's configuration reader and fragment finder through its modules (towncrier has no
Python API), so pyproject.toml pins a range; this test reads that range, so widening it runs the new bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from fixtures.pinned_tools import pinned_tool
from shipwheel.config import read_pyproject

from .towncrier_layouts import LAYOUTS, VERSION, write_layout

REPO = Path(__file__).resolve().parents[2]


def _allowed() -> Requirement:
    project = (read_pyproject(REPO) or {})["project"]
    return next(Requirement(d) for d in project["dependencies"] if Requirement(d).name == "towncrier")


def _lowest(req: Requirement) -> str:
    lows = [s.version for s in req.specifier if s.operator == ">="]
    assert len(lows) == 1, f"towncrier's requirement needs one lower bound: {req}"
    return lows[0]


def test_the_range_is_bounded_and_the_installed_release_is_in_it() -> None:
    req = _allowed()
    assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"no upper bound: {req}"
    assert Version(version("towncrier")) in req.specifier


_DRAFTS = """
import json, sys
from click.testing import CliRunner
from towncrier._shell import cli
out = {}
for name, path in json.loads(sys.argv[1]).items():
    r = CliRunner().invoke(cli, ["build", "--draft", "--version", sys.argv[2], "--dir", path, "--date", "2026-01-01"])
    out[name] = r.stdout if r.exit_code == 0 else None
print(json.dumps(out))
"""

_OURS = """
import json, sys
import towncrier
from shipwheel.errors import ShipwheelError
from shipwheel.notes import find_towncrier, render_section
assert towncrier.__file__.startswith(sys.argv[3]), towncrier.__file__
out = {}
for name, path in json.loads(sys.argv[1]).items():
    try:
        from pathlib import Path
        out[name] = render_section(find_towncrier(Path(path)), sys.argv[2], date="2026-01-01").content + "\\n"
    except ShipwheelError:
        out[name] = None
print(json.dumps(out))
"""


def test_the_lowest_allowed_towncrier_renders_as_shipwheel_does(tmp_path: Path) -> None:
    lowest = _lowest(_allowed())
    exe = pinned_tool("towncrier", lowest)
    site = next((exe.parent.parent / "lib").glob("python*/site-packages"))
    projects = {name: str(write_layout(tmp_path / f"p{i}", name)) for i, name in enumerate(LAYOUTS)}
    env = dict(os.environ)
    theirs = subprocess.run(
        [str(exe.parent / "python"), "-c", _DRAFTS, json.dumps(projects), VERSION],
        capture_output=True, text=True, check=True, timeout=300, env=env,
    )  # fmt: skip
    # shipwheel from this checkout, with the lowest towncrier first on the path
    ours = subprocess.run(
        [sys.executable, "-c", _OURS, json.dumps(projects), VERSION, str(site)],
        capture_output=True, text=True, check=True, timeout=300, env={**env, "PYTHONPATH": str(site)},
    )  # fmt: skip
    drafts, rendered = json.loads(theirs.stdout), json.loads(ours.stdout)
    assert rendered == drafts
    assert sum(d is not None for d in drafts.values()) >= len(LAYOUTS) - 1  # only the integer wrap is refused
