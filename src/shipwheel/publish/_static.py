"""``file:PATH`` targets: a folder laid out as a static PEP 503 + PEP 691 index that pip installs from.

The layout and the page generator are the staging containers' (:func:`shipwheel.staging.write_static_index`): release files
flat at the top, ``SHA256SUMS``, and ``simple/<project>/index.html`` / ``index.json``. The same rules hold as for
a server: a file already there with the same hash is skipped, another hash is a conflict, wheels are written and
listed before the sdist. Each copy is atomic, so a killed run leaves no partial file behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..distfiles import DistFile, file_digests
from ..errors import UsageError
from ..manifest import MANIFEST, read_manifest
from ..simple_index import IndexFile
from ..staging import WritableContainer, open_container, write_static_index
from ._plan import make_plan
from ._repository import Repository
from ._results import FileResult, PublishEvent, PublishResult

__all__ = ["publish_to_folder"]


def _existing(root: Path) -> dict[str, IndexFile]:
    manifest = read_manifest(root / MANIFEST) if root.is_dir() else {}
    out: dict[str, IndexFile] = {}
    if not root.is_dir():
        return out
    for path in root.iterdir():
        if path.is_file() and DistFile.parse(path.name) is not None:
            digest = manifest.get(path.name) or file_digests(path)["sha256"]
            out[path.name] = IndexFile(filename=path.name, url=path.as_uri(), sha256=digest)
    return out


def publish_to_folder(
    repository: Repository,
    files: Sequence[tuple[Path, DistFile]],
    digests: Mapping[Path, str],
    *,
    dry_run: bool,
    emit: Callable[[PublishEvent], None],
    started: float,
    check: Callable[[], None] = lambda: None,
) -> PublishResult:
    """Publish ``files`` into the static index folder of ``repository`` (a ``file`` :class:`Repository`)."""
    assert repository.path is not None
    root = repository.path
    if root.exists() and not root.is_dir():
        raise UsageError(
            f"{root} is not a folder", hint="give file:PATH with a folder (it is created if missing)"
        )
    plan = make_plan(repository, files, digests, _existing(root))
    emit(PublishEvent("plan", detail=f"{len(plan.uploads)} to copy, {len(plan.skipped)} already there"))
    url = (root / "simple").as_uri() + "/"
    if plan.uploads:
        check()
    if dry_run:
        return PublishResult(plan, (), url, dry_run=True, seconds=time.monotonic() - started)
    root.mkdir(parents=True, exist_ok=True)
    container = open_container(str(root))
    assert isinstance(container, WritableContainer)
    results: dict[str, FileResult] = {
        f.filename: FileResult(f.filename, "skipped", f.reason) for f in plan.skipped
    }
    known = {f.filename: f.sha256 for f in plan.files}
    for group in ("wheel", "sdist"):
        todo = [f for f in plan.uploads if f.dist.kind == group]
        for item in todo:
            emit(PublishEvent("start", item.filename, total=item.size))
            container.put_file(item.path, item.filename)
            emit(PublishEvent("bytes", item.filename, amount=item.size, total=item.size))
            emit(PublishEvent("done", item.filename, total=item.size, detail="uploaded"))
            results[item.filename] = FileResult(item.filename, "uploaded", "", 1)
        if todo or not plan.uploads:
            # The wheels are listed before the sdist is even copied.
            write_static_index(root, plan.project, {k: v for k, v in known.items() if (root / k).is_file()})
    return PublishResult(
        plan, tuple(results[f.filename] for f in plan.files), url, seconds=time.monotonic() - started
    )
