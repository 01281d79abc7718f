"""``shipwheel publish``: parallel, resumable, verified uploads to any PyPI-compatible index.

:func:`publish_files` ties the pieces together, in this order, and stops at the first step that fails:

1. collect the release files (one project, one version), refuse a release with a hole when asked
   (``PublishSettings.complete``: a wheel its other wheels imply, a file its ``SHA256SUMS`` lists), and run the
   release checks the caller passes
   (``PublishSettings.check``: ``shipwheel publish`` passes verify and the pinned-signature check);
2. ask the index what it already holds (one query) and make the :class:`Plan`: skip what is there with the same
   sha256, stop on a file of the same name with other bytes, check PyPI's rules;
3. upload the wheels, ``jobs`` at a time over one pooled HTTP client, retrying connection errors and 5xx answers
   with backoff and asking the index after an ambiguous failure;
4. only when every wheel went through, ask the index again; only when it lists every wheel with the right hash,
   upload the sdist.

A journal records each step durably, so that a run killed at any moment and started again completes the release
without sending a file twice. The library never prints: progress goes to ``on_event``.
"""

from __future__ import annotations

from ._complete import IncompleteReleaseError, missing_from_release
from ._credentials import Credentials, resolve_credentials
from ._plan import Plan, PlannedFile, PublishRuleError
from ._publish import PublishSettings, ReleaseCheck, UploadFailedError, publish_files
from ._repository import Repository, resolve_repository
from ._results import FileResult, PublishEvent, PublishResult
from ._stage_index import IndexServerAccess, index_server_access, stage_to_index

__all__ = [
    "Credentials",
    "FileResult",
    "IncompleteReleaseError",
    "IndexServerAccess",
    "Plan",
    "PlannedFile",
    "PublishEvent",
    "PublishResult",
    "PublishRuleError",
    "PublishSettings",
    "ReleaseCheck",
    "Repository",
    "UploadFailedError",
    "index_server_access",
    "missing_from_release",
    "publish_files",
    "resolve_credentials",
    "resolve_repository",
    "stage_to_index",
]
