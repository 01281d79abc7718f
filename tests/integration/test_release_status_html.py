"""``shipwheel status --html``: the page of a half-done release, rendered by headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.chromium import chromium
from fixtures.index_servers import make_release
from fixtures.release_repo import make_kahan_repo
from shipwheel.cli import main_inner
from shipwheel.errors import ShipwheelError

pytestmark = [pytest.mark.integration]


def test_status_html_inchromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Release files made without a build, verified and published to a static index, then a preflight that
    fails on a dirty tree: the page shows the steps, the grid and the hashes as they are."""
    repo = make_kahan_repo(tmp_path / "kahan")
    files = make_release(repo / "wheelhouse", "kahan", "1.0.0", wheels=2)
    index = tmp_path / "index"
    argv = ["release", "1.0.0", "-r", f"file:{index}", "--select", "cp312-*", "--config-dir", str(repo)]
    monkeypatch.setenv("SHIPWHEEL_VERIFY_STRICT", "0")
    monkeypatch.setenv("SHIPWHEEL_RELEASE_SDIST_IGNORE", "*")  # the made-up sdist holds none of the sources
    assert main_inner([*argv, "--only", "verify", "--only", "publish"]) == 0
    (repo / "stray.txt").write_text("not committed\n")
    with pytest.raises(ShipwheelError, match="tree-clean"):
        main_inner([*argv, "--only", "check"])

    html = tmp_path / "status.html"
    assert main_inner(["status", "1.0.0", "--html", str(html), "--config-dir", str(repo)]) == 0
    text = html.read_text()
    assert not re.search(r"""(src|href)\s*=|@import|url\(\s*['"]?https?:""", text)  # self-contained
    assert "<script" not in text

    dom = chromium(tmp_path, "--dump-dom", html.as_uri())
    steps = dict(re.findall(r'data-step="([^"]+)" data-status="([^"]+)"', dom))
    assert steps["verify"] == steps["publish"] == "done" and steps["check"] == "failed"
    assert steps["tag"] == "pending" and 'id="verdict">failed' in dom
    from shipwheel.config import RELEASE_STEPS

    assert set(steps) == set(RELEASE_STEPS)  # every step, stage and the optional push included
    names = re.findall(r'data-file="([^"]+)"', dom)
    assert sorted(names) == sorted(f.name for f in files)
    assert dom.count(">yes</td>") == len(files)  # on the index with the same sha256
    cells = dict(re.findall(r'data-cell="([^"]+)" data-state="([^"]+)"', dom))
    # --select narrowed the release: the grid shows the wheels there are, nothing "missing"
    assert cells["cp311-manylinux_x86_64"] == "warning" and "missing" not in cells.values()

    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", html.as_uri())
    blob = shot.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 20_000  # text, badges and coloured cells
