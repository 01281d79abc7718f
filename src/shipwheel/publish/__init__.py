"""``shipwheel publish``: parallel, resumable, verified uploads to any PyPI-compatible index.

:func:`publish_files` ties the pieces together, in this order, and stops at the first step that fails:

1. collect the release files (one project, one version) and verify them (:mod:`shipwheel.verify`, and GPG
   signatures / ``SHA256SUMS`` when present, :mod:`shipwheel.sign`);
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

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from .._http import make_client, redact
from .._retry import RetryPolicy
from ..errors import AuthenticationError, ConflictError, RemoteError, ShipwheelError, VerificationError
from ._credentials import Credentials, resolve_credentials
from ._index_query import IndexBusyError, IndexFile, IndexListing, digest_of_remote, query_project
from ._journal import Journal, default_journal_dir
from ._plan import (
    Plan,
    PlannedFile,
    PublishRuleError,
    blake2_256,
    collect_files,
    digest_files,
    make_plan,
    pypi_rule_problems,
)
from ._repository import Repository, resolve_repository, same_origin, simple_index_candidates
from ._results import FileResult, PublishEvent, PublishResult
from ._upload import form_fields, load_attestations, read_core_metadata, send_file

__all__ = [
    "Credentials",
    "FileResult",
    "Plan",
    "PlannedFile",
    "PublishEvent",
    "PublishResult",
    "PublishRuleError",
    "Repository",
    "UploadFailedError",
    "publish_files",
    "resolve_credentials",
    "resolve_repository",
]

log = logging.getLogger("shipwheel")


class UploadFailedError(RemoteError):
    """Some files could not be uploaded after every retry; ``result`` says which (exit 6)."""

    def __init__(self, message: str, *, hint: str = "", result: PublishResult) -> None:
        super().__init__(message, hint=hint)
        self.result = result


Callback = Callable[[PublishEvent], None]


def _verify(files: Sequence[Path], project: str, version: str, config: Any, check_signatures: bool) -> None:
    from ..verify import verify_paths

    report = verify_paths(list(files), config=config, project=project, version=version)
    strict = bool(getattr(getattr(config, "verify", None), "strict", False))
    if not report.ok(strict):
        problems = list(report.errors) or list(report.warnings)
        first = problems[0] if problems else None
        what = f"{first.file or 'release'}: {first.message} [{first.code}]" if first else "problems found"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationError(
            f"verify found problems in the release files, {what}{more}; nothing was uploaded",
            hint="run 'shipwheel verify' on them and fix what it reports, or pass --no-verify",
        )
    if check_signatures:
        from ..sign import verify_release_signatures

        verify_release_signatures(files)


@dataclass
class _Run:
    repository: Repository
    client: httpx.Client
    auth: httpx.BasicAuth | None
    index_auth: httpx.BasicAuth | None
    index_url: str
    project: str
    journal: Journal | None
    policy: RetryPolicy
    emit: Callback
    cancel: threading.Event = field(default_factory=threading.Event)
    fatal: list[ShipwheelError] = field(default_factory=list)

    def listing(self) -> IndexListing:
        for attempt in self.policy.attempts():
            try:
                return query_project(self.client, self.index_url, self.project, auth=self.index_auth)
            except (httpx.TransportError, IndexBusyError) as exc:
                if attempt.last:
                    raise _unreachable(self.index_url, exc) from exc
                attempt.failed(exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def upload(self, item: PlannedFile) -> FileResult:
        fields = form_fields(
            item.dist,
            read_core_metadata(item.path, item.dist),
            {"sha256": item.sha256, "blake2b": blake2_256(item.path)},
            load_attestations(item.attestations) if item.attestations else None,
        )
        # PyPI no longer takes GPG signatures; other indexes (pypiserver, devpi) store them beside the file.
        signature = item.path.with_name(item.filename + ".asc")
        attachments = (
            [("gpg_signature", signature.name, signature.read_bytes())]
            if self.repository.kind != "pypi" and signature.is_file()
            else None
        )
        attempts = 0
        detail = ""
        for attempt in self.policy.attempts():
            if self.cancel.is_set():
                return FileResult(item.filename, "not-sent", "stopped after another file failed", attempts)
            attempts += 1
            self.emit(PublishEvent("start", item.filename, total=item.size, detail=str(attempts)))
            if self.journal is not None:
                self.journal.record("sending", item.filename, item.sha256)
            outcome = send_file(
                self.client,
                self.repository.upload_url,
                item.path,
                fields,
                auth=self.auth,
                attachments=attachments,
                on_bytes=lambda n: self.emit(PublishEvent("bytes", item.filename, amount=n, total=item.size)),
            )
            if outcome.status == "uploaded":
                return self._done(item, attempts, "uploaded")
            if outcome.status in {"exists", "ambiguous"}:
                # Ask the index: it may hold the file (ours, from the lost answer or an earlier run) or another.
                theirs = self._remote_sha(item)
                if theirs == item.sha256:
                    return self._done(item, attempts, "skipped" if outcome.status == "exists" else "uploaded")
                if theirs is not None:
                    raise ConflictError(
                        f"{self.repository.display} already has {item.filename} with different contents",
                        hint="build the release again with a new version; a published file cannot be replaced",
                    )
                if outcome.status == "exists":
                    detail = f"the index refused it as existing but does not list it ({outcome.detail})"
                    break
            detail = outcome.detail
            self.emit(PublishEvent("retry", item.filename, detail=detail))
            if attempt.last:
                break
            attempt.failed(_Transient(detail))
        self.emit(PublishEvent("failed", item.filename, detail=detail))
        return FileResult(item.filename, "failed", detail, attempts)

    def _remote_sha(self, item: PlannedFile) -> str | None:
        remote = self.listing().files.get(item.filename)
        if remote is None:
            return None
        return remote.sha256 or digest_of_remote(self.client, remote.url)

    def _done(self, item: PlannedFile, attempts: int, status: Literal["uploaded", "skipped"]) -> FileResult:
        if self.journal is not None:
            self.journal.record("done", item.filename, item.sha256)
        self.emit(PublishEvent("done", item.filename, total=item.size, detail=status))
        return FileResult(
            item.filename, status, "already on the index" if status == "skipped" else "", attempts
        )

    def guarded(self, item: PlannedFile) -> FileResult:
        try:
            return self.upload(item)
        except ShipwheelError as exc:
            self.fatal.append(exc)
            self.cancel.set()
            self.emit(PublishEvent("failed", item.filename, detail=exc.message))
            return FileResult(item.filename, "failed", exc.message, 1)


class _Transient(Exception):
    """A failure worth another attempt (an HTTP 5xx from the index query, a lost upload answer)."""


def _unreachable(url: str, exc: BaseException) -> RemoteError:
    what = type(exc).__name__ if isinstance(exc, httpx.TransportError) else str(exc)
    return RemoteError(
        f"cannot reach {redact(url)} ({what})",
        hint="check the repository URL and your network, then run again",
    )


def _find_index(
    run_client: httpx.Client, repository: Repository, auth: httpx.BasicAuth | None, policy: RetryPolicy
) -> str:
    if repository.index_url:
        return repository.index_url
    candidates = simple_index_candidates(repository.upload_url)
    last: BaseException | None = None
    for candidate in candidates:
        for attempt in policy.attempts():
            try:
                response = run_client.get(candidate, auth=auth) if auth else run_client.get(candidate)
            except httpx.TransportError as exc:
                last = exc
                if attempt.last:
                    raise _unreachable(candidate, exc) from exc
                attempt.failed(exc)
                continue
            if response.status_code >= 500 and not attempt.last:
                attempt.failed(_Transient(f"HTTP {response.status_code}"))
                continue
            if response.status_code in {401, 403}:
                raise AuthenticationError(
                    f"{redact(candidate)} refused the credentials (HTTP {response.status_code})",
                    hint="check SHIPWHEEL_USERNAME/SHIPWHEEL_PASSWORD or the ~/.pypirc section",
                )
            if response.status_code == 200:
                return candidate
            break
    raise RemoteError(
        f"found no simple index for {repository.display} (tried {', '.join(redact(c) for c in candidates)})"
        + (f": {type(last).__name__}" if last else ""),
        hint="pass --index-url with the index's simple URL",
    )


def publish_files(
    paths: Sequence[Path],
    *,
    repository: str | Repository = "pypi",
    index_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    jobs: int = 8,
    retries: int = 5,
    timeout: float = 300.0,
    verify: bool = True,
    dry_run: bool = False,
    config: Any = None,
    environ: Mapping[str, str] | None = None,
    journal_dir: Path | None = None,
    on_event: Callback | None = None,
    backoff: float = 0.5,
    wheel_wait: float = 30.0,
) -> PublishResult:
    """Publish one release's files to ``repository``; see the module docstring for the order of steps.

    :param paths: files and/or folders holding them.
    :param repository: ``pypi``, ``testpypi``, a ``.pypirc`` section, an http(s) URL, ``file:PATH``.
    :param wheel_wait: how long to wait for an index to list every wheel before giving up on the sdist.
    :raises ShipwheelError: a subclass for each way a publish stops (see :mod:`shipwheel.errors`).
    """
    started = time.monotonic()
    env = os.environ if environ is None else environ
    emit: Callback = on_event or (lambda _e: None)
    repo = (
        repository
        if isinstance(repository, Repository)
        else resolve_repository(repository, index_url=index_url, environ=env)
    )
    files = collect_files(paths)
    project, version = str(files[0][1].name), str(files[0][1].version)
    if repo.kind == "pypi":
        # The rules that need no index, before anything else (the release's age is checked with the plan).
        problems = pypi_rule_problems([(p, d, p.stat().st_size) for p, d in files], {}, new_files=())
        if problems:
            message, _, hint = problems[0].partition("; ")
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise PublishRuleError(f"{message}{more}; nothing was uploaded", hint=hint)
    all_paths = [p for p, _ in files]

    def check() -> None:
        # Only when something is to be sent: a re-run that finds everything on the index stays fast.
        if verify:
            _verify(all_paths, project, version, config, check_signatures=True)

    folder = journal_dir or default_journal_dir()
    if repo.kind == "file":
        from ._static import publish_to_folder

        digests = digest_files(all_paths, jobs=2, cache=folder / "digests.json")
        return publish_to_folder(
            repo, files, digests, dry_run=dry_run, emit=emit, started=started, check=check
        )

    creds = resolve_credentials(repo, username=username, password=password, environ=env)
    if creds is None and repo.kind == "pypi" and not dry_run:
        raise AuthenticationError(
            f"no credentials for {repo.display}",
            hint="set SHIPWHEEL_PASSWORD (or TWINE_PASSWORD) to an API token, or add a password to "
            f"the [{repo.name}] section of ~/.pypirc",
        )
    auth = httpx.BasicAuth(creds.username, creds.password) if creds else None
    policy = RetryPolicy(retries=retries, base=backoff)
    with (
        make_client(timeout=timeout, max_connections=max(2, jobs + 1)) as client,
        ThreadPoolExecutor(1) as side,
    ):
        # The local digests are computed while the index is asked what it has: both take a while.
        hashing = side.submit(digest_files, all_paths, 2, folder / "digests.json")
        index_auth = auth if repo.index_url == "" or same_origin(repo.index_url, repo.upload_url) else None
        index = _find_index(client, repo, index_auth, policy)
        journal = None if dry_run else Journal.open(folder, repo.upload_url, project, version)
        run = _Run(repo, client, auth, index_auth, index, project, journal, policy, emit)
        listing = run.listing()
        digests = hashing.result()
        plan = make_plan(
            repo,
            files,
            digests,
            listing.files,
            remote_digest=lambda f: digest_of_remote(client, f.url),
            journal_done=journal.done if journal else None,
        )
        emit(PublishEvent("plan", detail=f"{len(plan.uploads)} to upload, {len(plan.skipped)} already there"))
        url = repo.project_url(project, version)
        if plan.uploads:
            check()
        if dry_run:
            return PublishResult(plan, (), url, dry_run=True, seconds=time.monotonic() - started)
        results = _execute(run, plan, jobs, wheel_wait)
    result = PublishResult(plan, tuple(results), url, seconds=time.monotonic() - started)
    if run.fatal:
        if journal is not None:
            journal.close()
        raise run.fatal[0]
    if not result.ok:
        if journal is not None:
            journal.close()
        failed = [r for r in result.results if r.status == "failed"]
        held = [r for r in result.results if r.status == "not-sent"]
        if failed:
            first = failed[0]
            message = f"{len(failed)} file(s) failed to upload ({first.filename}: {first.detail})"
        else:
            message = f"{held[0].filename} {held[0].detail}"
        if any(r.filename.endswith((".tar.gz", ".zip")) for r in held):
            message += "; the sdist was not uploaded"
        raise UploadFailedError(
            message,
            hint="run the same command again to finish the release (files already there are skipped)",
            result=result,
        )
    if journal is not None:
        journal.finish()
    return result


def _execute(run: _Run, plan: Plan, jobs: int, wheel_wait: float) -> list[FileResult]:
    results: dict[str, FileResult] = {
        f.filename: FileResult(f.filename, "skipped", f.reason) for f in plan.skipped
    }
    wheels = [f for f in plan.uploads if f.dist.kind == "wheel"]
    sdists = [f for f in plan.uploads if f.dist.kind == "sdist"]
    # Largest first: the long uploads start early and the pool ends together.
    wheels.sort(key=lambda f: -f.size)
    if wheels:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="upload") as pool:
            for res in pool.map(run.guarded, wheels):
                results[res.filename] = res
    if sdists:
        blocker = next((r for r in results.values() if r.status not in {"uploaded", "skipped"}), None)
        if blocker is None and not run.fatal:
            blocker_name = _wait_for_wheels(run, plan, wheel_wait)
            if blocker_name:
                blocker = FileResult(blocker_name, "failed", "the index does not list it")
        for sdist in sdists:
            if blocker is not None or run.fatal:
                why = f"not sent: {blocker.filename} is not on the index" if blocker else "not sent"
                results[sdist.filename] = FileResult(sdist.filename, "not-sent", why)
            else:
                results[sdist.filename] = run.guarded(sdist)
    return [results[f.filename] for f in plan.files]


def _wait_for_wheels(run: _Run, plan: Plan, wheel_wait: float) -> str | None:
    """Ask the index until it lists every wheel with the right hash; the first one missing, else ``None``."""
    deadline = time.monotonic() + wheel_wait
    delay = 0.25
    while True:
        run.emit(PublishEvent("wait", detail="checking that the index lists every wheel before the sdist"))
        files: Mapping[str, IndexFile] = run.listing().files
        missing = next((w.filename for w in plan.wheels if (files.get(w.filename) is None)), None)
        wrong = next(
            (
                w.filename
                for w in plan.wheels
                if w.filename in files and files[w.filename].sha256 not in {None, w.sha256}
            ),
            None,
        )
        if wrong:
            raise ConflictError(
                f"the index lists {wrong} with a different hash than the file uploaded",
                hint="check the index; the sdist was not uploaded",
            )
        if missing is None:
            return None
        if time.monotonic() >= deadline:
            return missing
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
