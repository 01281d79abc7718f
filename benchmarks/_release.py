"""Download a real release from PyPI once, for the benchmarks (cached under benchmarks/.cache/).

Uses PyPI's simple index (PEP 503 HTML) and checks every file's sha256. Shared by the verify, fetch and publish
benchmarks: ``python benchmarks/_release.py numpy 2.4.6`` prints the folder.
"""

from __future__ import annotations

import hashlib
import html.parser
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import httpx

from shipwheel.distfiles import select

CACHE = Path(__file__).resolve().parent / ".cache"
INDEX = "https://pypi.org/simple/"


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href:
            self.links.append((data.strip(), self._href))
            self._href = None


def download_release(
    project: str, version: str, dest: Path | None = None, *, sdist_only: bool = False
) -> Path:
    """Every file of ``project`` ``version`` on PyPI (only the sdist with ``sdist_only``), in ``dest`` (default
    ``benchmarks/.cache/P-V``)."""
    dest = dest or CACHE / f"{project}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=120, follow_redirects=True, limits=httpx.Limits(max_connections=8)) as client:
        page = client.get(urljoin(INDEX, f"{project}/"))
        page.raise_for_status()
        parser = _Links()
        parser.feed(page.text)
        hrefs = dict(parser.links)
        files = select(hrefs, project, version)
        if sdist_only:
            files = [f for f in files if f.filename.endswith(".tar.gz")]
        if not files:
            raise SystemExit(f"no files of {project} {version} on PyPI")

        def fetch(name: str) -> None:
            url, frag = urldefrag(urljoin(page.url.__str__(), hrefs[name]))
            want = frag.partition("=")[2]
            target = dest / name
            if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == want:
                return
            tmp = target.with_suffix(target.suffix + ".part")
            h = hashlib.sha256()
            with client.stream("GET", url) as r, tmp.open("wb") as out:
                r.raise_for_status()
                for chunk in r.iter_bytes(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != want:
                tmp.unlink()
                raise SystemExit(f"sha256 mismatch for {name}")
            tmp.replace(target)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(fetch, [f.filename for f in files]))
    return dest


if __name__ == "__main__":
    print(download_release(sys.argv[1], sys.argv[2]))
