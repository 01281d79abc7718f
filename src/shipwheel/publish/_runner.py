"""The upload loop of a publish: parallel wheels, then the sdist once the index lists every wheel.

:class:`Uploader` sends one file with retries (asking the index after an ambiguous failure) and records each step
in the journal; :func:`execute` runs a plan in the required order; :func:`find_index` locates a server's simple
index. :func:`shipwheel.publish.publish_files` ties them to the plan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import httpx

from .._adaptive import AdaptiveLimit
from .._http import redact
from .._retry import RetryPolicy
from ..errors import AuthenticationError, ConflictError, RemoteError, ShipwheelError
from ..simple_index import IndexFile
from ._credentials import Credentials, auth_hint, refusal_message, scrub, scrub_error
from ._index_query import IndexBusyError, IndexListing, digest_of_remote, query_project
from ._journal import Journal
from ._plan import Plan, PlannedFile, blake2_256
from ._repository import Repository, same_origin, simple_index_candidates
from ._results import FileResult, PublishEvent
from ._upload import form_fields, load_attestations, read_core_metadata, send_file

__all__ = ["Callback", "Uploader", "execute", "find_index"]

Callback = Callable[[PublishEvent], None]


@dataclass
class Uploader:
    """Everything one publish run shares between its upload threads: the client, credentials, index, journal,
    retry policy and progress callback; ``cancel`` stops files not yet started after a fatal error."""

    repository: Repository
    client: httpx.Client
    auth: httpx.BasicAuth | None
    index_auth: httpx.BasicAuth | None
    index_url: str
    project: str
    journal: Journal | None
    policy: RetryPolicy
    emit: Callback
    credentials: Credentials | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    fatal: list[ShipwheelError] = field(default_factory=list)

    def listing(self) -> IndexListing:
        for attempt in self.policy.attempts():
            try:
                return query_project(
                    self.client,
                    self.index_url,
                    self.project,
                    auth=self.index_auth,
                    auth_hint=auth_hint(self.repository, self.credentials if self.index_auth else None),
                )
            except (httpx.TransportError, IndexBusyError) as exc:
                if attempt.last or _untrusted(exc):
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
            try:
                outcome = send_file(
                    self.client,
                    self.repository.upload_url,
                    item.path,
                    fields,
                    auth=self.auth,
                    attachments=attachments,
                    on_bytes=lambda n: self.emit(
                        PublishEvent("bytes", item.filename, amount=n, total=item.size)
                    ),
                )
            except ShipwheelError as exc:
                self._refused(item)
                raise scrub_error(exc, self.credentials) from None
            if outcome.status == "uploaded":
                return self._done(item, attempts, "uploaded")
            if outcome.status == "denied":
                self._refused(item)
                raise AuthenticationError(
                    refusal_message(self.repository.display, self.credentials, outcome.detail),
                    hint=auth_hint(self.repository, self.credentials),
                )
            if outcome.status == "reused":
                self._refused(item)
                raise ConflictError(
                    f"{self.repository.display} never takes the name {item.filename} again "
                    f"({self._scrub(outcome.detail)})",
                    hint="a file name can be used once: publish a new version (or a wheel build tag)",
                )
            if outcome.status in {"exists", "ambiguous"}:
                # Ask the index: it may hold the file (ours, from the lost answer or an earlier run) or another.
                theirs = self._remote_sha(item)
                if theirs == item.sha256:
                    return self._done(item, attempts, "skipped" if outcome.status == "exists" else "uploaded")
                if theirs is not None or outcome.status == "exists":
                    # A name the index says it has, with other bytes or unlisted: sending again cannot help.
                    self._refused(item)
                    how = (
                        "with different contents"
                        if theirs is not None
                        else f"({self._scrub(outcome.detail)})"
                    )
                    raise ConflictError(
                        f"{self.repository.display} already has {item.filename} {how}",
                        hint="build the release again with a new version; a published file cannot be replaced",
                    )
            detail = self._scrub(outcome.detail)
            self.emit(PublishEvent("retry", item.filename, detail=detail))
            if attempt.last:
                break
            attempt.failed(_Transient(detail))
        self.emit(PublishEvent("failed", item.filename, detail=detail))
        return FileResult(item.filename, "failed", detail, attempts)

    def _scrub(self, text: str) -> str:
        return scrub(text, self.credentials)

    def _refused(self, item: PlannedFile) -> None:
        # The index answered "no": nothing is in doubt, so the next run has nothing to resume for this file.
        if self.journal is not None:
            self.journal.record("refused", item.filename, item.sha256)

    def _remote_sha(self, item: PlannedFile) -> str | None:
        remote = self.listing().files.get(item.filename)
        if remote is None:
            return None
        return remote.sha256 or self.remote_digest(remote)

    def remote_digest(self, remote: IndexFile) -> str | None:
        """The sha256 of a listed file without a published hash: downloaded only from the index's own host (with
        the index's credentials), never from another one (``None`` then)."""
        if not same_origin(remote.url, self.index_url):
            return None
        return digest_of_remote(self.client, remote.url, auth=self.index_auth)

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
            scrub_error(exc, self.credentials)
            self.fatal.append(exc)
            self.cancel.set()
            self.emit(PublishEvent("failed", item.filename, detail=exc.message))
            return FileResult(item.filename, "failed", exc.message, 1)


class _Transient(Exception):
    """A failure worth another attempt (an HTTP 5xx from the index query, a lost upload answer)."""


def _untrusted(exc: BaseException) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _unreachable(url: str, exc: BaseException) -> RemoteError:
    if _untrusted(exc):
        # Retrying cannot help: the index's certificate is not signed by a CA we trust.
        return RemoteError(
            f"cannot reach {redact(url)}: its TLS certificate is not trusted",
            hint="pass --cert with the CA bundle that signed it (or ca_cert in .pypirc, TWINE_CERT)",
        )
    what = type(exc).__name__ if isinstance(exc, httpx.TransportError) else str(exc)
    return RemoteError(
        f"cannot reach {redact(url)} ({what})",
        hint="check the repository URL and your network, then run again",
    )


def find_index(
    run_client: httpx.Client,
    repository: Repository,
    auth: httpx.BasicAuth | None,
    policy: RetryPolicy,
    credentials: Credentials | None = None,
) -> str:
    """The simple index of ``repository``: the one it names, else the first candidate that answers."""
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
                if attempt.last or _untrusted(exc):
                    raise _unreachable(candidate, exc) from exc
                attempt.failed(exc)
                continue
            if response.status_code >= 500 and not attempt.last:
                attempt.failed(_Transient(f"HTTP {response.status_code}"))
                continue
            if response.status_code in {401, 403}:
                raise AuthenticationError(
                    refusal_message(redact(candidate), credentials, f"HTTP {response.status_code}"),
                    hint=auth_hint(repository, credentials),
                )
            if response.status_code == 200:
                return candidate
            break
    raise RemoteError(
        f"found no simple index for {repository.display} (tried {', '.join(redact(c) for c in candidates)})"
        + (f": {type(last).__name__}" if last else ""),
        hint="pass --index-url with the index's simple URL",
    )


def _metered(emit: Callback, limiter: AdaptiveLimit) -> Callback:
    """``emit``, feeding the limiter on the way: the size of each file the index accepted, and retries (429/5xx,
    resets) as overload.

    Bytes written to a socket are not what the link carried: the kernel's send buffer (and any proxy on the way)
    takes megabytes at once, so a window of written bytes measures buffers filling and emptying, not the
    throughput (measured: 0.25 s windows of 4 to 195 MB/s on a 125 MB/s link). An upload the index answered is."""

    def relay(event: PublishEvent) -> None:
        before = limiter.limit
        if event.kind == "bytes":
            limiter.tick()
        elif event.kind == "done" and event.detail == "uploaded":
            limiter.moved(event.total)
            limiter.tick()
        elif event.kind == "retry":
            limiter.overloaded()
        emit(event)
        if limiter.limit != before:
            emit(PublishEvent("connections", amount=limiter.limit, total=limiter.cap))

    return relay


def execute(
    run: Uploader, plan: Plan, jobs: int, wheel_wait: float, *, adaptive: bool = True
) -> tuple[list[FileResult], list[int]]:
    """Upload the plan's files: the wheels at most ``jobs`` at once (with ``adaptive``, as many as the index
    rewards: :mod:`shipwheel._adaptive`), then the sdist. Returns the results and every value the limit took."""
    results: dict[str, FileResult] = {
        f.filename: FileResult(f.filename, "skipped", f.reason) for f in plan.skipped
    }
    # Windows are judged on finished uploads: one stays open until an upload ends in it (see _metered).
    limiter = AdaptiveLimit(jobs, adaptive=adaptive, window=0.5)
    run.emit = _metered(run.emit, limiter)
    run.emit(PublishEvent("connections", amount=limiter.limit, total=limiter.cap))

    def gated(item: PlannedFile) -> FileResult:
        try:
            with limiter.slot(run.cancel.is_set):
                return run.guarded(item)
        except InterruptedError:
            return FileResult(item.filename, "not-sent", "stopped after another file failed")

    wheels = [f for f in plan.uploads if f.dist.kind == "wheel"]
    sdists = [f for f in plan.uploads if f.dist.kind == "sdist"]
    # Largest first: the long uploads start early and the pool ends together. The smallest goes alone before
    # them: an index that refuses the credentials (or wants some) answers once, not to `jobs` uploads at once.
    wheels.sort(key=lambda f: -f.size)
    if wheels:
        first = run.guarded(wheels.pop())
        results[first.filename] = first
        limiter.restart()  # the lone first upload says nothing about how many at once the index takes
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="upload") as pool:
            for res in pool.map(gated, wheels):
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
    return [results[f.filename] for f in plan.files], list(limiter.history)


def _wait_for_wheels(run: Uploader, plan: Plan, wheel_wait: float) -> str | None:
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
