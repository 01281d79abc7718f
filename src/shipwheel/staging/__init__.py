"""Staging: where release files wait between the build machines and the index, and how they get there and back.

- containers (:func:`open_container`): a local folder, an HTTP(S) page of links or simple index, an S3 bucket;
  each lists release files and streams them, folders and buckets take files too;
- :func:`stage_files` (``shipwheel stage``): put release files into a container with a ``SHA256SUMS`` manifest and a
  static simple index (an index server is staged to by publish: :func:`shipwheel.publish.stage_to_index`);
- :func:`fetch_release` (``shipwheel fetch``): every file of one project and version from a container into a
  wheelhouse, by the verified, resumable download (:func:`download_file`).

This is the package's one public face: the rest of shipwheel imports staging only from here. The modules behind
it: ``_containers/`` (one module per kind of container, the listing judge, the static index writer),
``_stage.py``, ``_retention.py`` (the development builds a scheduled run keeps), ``_fetch.py`` and ``_download.py`` (the number of parallel downloads is ``shipwheel._adaptive``, shared with publish).
"""

from __future__ import annotations

from ..errors import TransferError
from ._containers import (
    Container,
    Entry,
    Listing,
    Opened,
    Rejected,
    WritableContainer,
    is_writable,
    open_container,
    read_container_manifest,
    write_static_index,
)
from ._download import Expected, FetchCancelled, FetchEvent, FileOutcome, download_file
from ._fetch import (
    FetchReport,
    NothingToFetchError,
    Selection,
    families_from,
    fetch_release,
    select_entries,
)
from ._retention import (
    ClearReport,
    PruneReport,
    clear_dev_files_on_index_server,
    dev_versions_to_delete,
    prune_bucket,
    prune_index_server,
)
from ._stage import StageEvent, StageOutcome, StageReport, stage_files

__all__ = [
    "ClearReport",
    "Container",
    "Entry",
    "Expected",
    "FetchCancelled",
    "FetchEvent",
    "FetchReport",
    "FileOutcome",
    "Listing",
    "NothingToFetchError",
    "Opened",
    "PruneReport",
    "Rejected",
    "Selection",
    "StageEvent",
    "StageOutcome",
    "StageReport",
    "TransferError",
    "WritableContainer",
    "clear_dev_files_on_index_server",
    "dev_versions_to_delete",
    "download_file",
    "families_from",
    "fetch_release",
    "is_writable",
    "open_container",
    "prune_bucket",
    "prune_index_server",
    "read_container_manifest",
    "select_entries",
    "stage_files",
    "write_static_index",
]
