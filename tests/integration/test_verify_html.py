"""The HTML report of ``shipwheel verify``, rendered by headless Chromium: real DOM content and a non-blank picture."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from fixtures.chromium import chromium
from fixtures.defective import SdistSpec, WheelSpec
from shipwheel.cli import main_inner

pytestmark = [pytest.mark.integration]


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a non-interlaced PNG."""
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8]
        data = blob[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A project whose matrix wants cp312/cp313 on manylinux_x86_64 and win_amd64: two Windows wheels (one
    tampered with), no Linux wheel, and the sdist."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.12,<3.14"\n\n'
        '[tool.shipwheel]\nplatforms = ["manylinux_x86_64", "win_amd64"]\n'
    )
    dist = tmp_path / "dist"
    files = {"demo/__init__.py": b"", "demo/_x.pyd": b"MZ\0\0"}
    WheelSpec(tags="cp312-cp312-win_amd64", files=files).build(dist)
    tampered = WheelSpec(tags="cp313-cp313-win_amd64", files=files).build(dist)
    import zipfile

    with zipfile.ZipFile(tampered, "a") as zf:
        zf.writestr("demo/<script>alert(1)</script>.py", b"x")
    SdistSpec().build(dist)
    return tmp_path


def test_html_report_inchromium(release: Path) -> None:
    html = release / "out" / "report.html"
    code = main_inner(
        ["verify", str(release / "dist"), "--config-dir", str(release / "proj"), "--html", str(html)]
    )
    assert code == 1
    text = html.read_text()
    # self-contained: no external resource, no script; user text escaped
    assert not re.search(r"""(src|href)\s*=|@import|url\(\s*['"]?https?:""", text)
    assert "<script>" not in text and "&lt;script&gt;" in text

    dom = chromium(release, "--dump-dom", html.as_uri())
    states = dict(re.findall(r'data-id="([^"]+)" data-state="([^"]+)"', dom))
    assert states == {
        "cp312-manylinux_x86_64": "missing",
        "cp312-win_amd64": "ok",
        "cp313-manylinux_x86_64": "missing",
        "cp313-win_amd64": "problem",
    }
    codes = re.findall(r'class="problem-row" data-code="([^"]+)"', dom)
    # the two missing wheels are one problem group naming both identifiers
    assert codes.count("matrix-missing") == 1 and "record-unlisted" in codes
    assert "cp312-manylinux_x86_64" in dom and "2 identifiers" in dom
    assert 'id="verdict">NOT READY' in dom
    assert len(re.findall(r'class="file-row"', dom)) == 3

    shot = release / "shot.png"
    chromium(release, f"--screenshot={shot}", "--window-size=1400,1000", html.as_uri())
    width, height, raw = _png_pixels(shot)
    assert (width, height) == (1400, 1000)
    # A blank page is one colour; the report has text, badges and coloured cells.
    assert len(set(raw[::97])) > 20
