"""publish_files: the order of a publish (see the package docstring) over the plan, the uploader and the journal."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from .._http import make_client
from .._retry import RetryPolicy
from ..distfiles import DistFile
from ..errors import AuthenticationError, RemoteError, ShipwheelError
from ._complete import check_complete
from ._credentials import Credentials, auth_hint, resolve_credentials, scrub_error
from ._journal import Journal, default_journal_dir
from ._plan import (
    PublishRuleError,
    collect_files,
    digest_files,
    make_plan,
    pypi_rule_problems,
)
from ._repository import Repository, resolve_repository, same_origin
from ._results import PublishEvent, PublishResult
from ._runner import Callback, Uploader, execute, find_index

__all__ = ["PublishSettings", "ReleaseCheck", "UploadFailedError", "publish_files"]

log = logging.getLogger("shipwheel")


class UploadFailedError(RemoteError):
    """Some files could not be uploaded after every retry; ``result`` says which (exit 6)."""

    def __init__(self, message: str, *, hint: str = "", result: PublishResult) -> None:
        super().__init__(message, hint=hint)
        self.result = result


#: The release checks run before the first byte is sent: called with the files, the project and the version, it
#: raises a :class:`~shipwheel.errors.ShipwheelError` on a problem and returns the names of the files whose passing
#: result was recorded earlier. Publish never verifies by itself: its caller composes the check
#: (:func:`shipwheel.release.publish_check` is verify plus the pinned-signature check, what ``shipwheel publish``
#: passes), so that publish runs no other step.
ReleaseCheck = Callable[[Sequence[Path], str, str], Sequence[str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishSettings:
    """How :func:`publish_files` publishes: every option of ``shipwheel publish``, typed, with its default.

    :param repository: ``pypi``, ``testpypi``, a ``.pypirc`` section, an http(s) URL, ``file:PATH``, or a
        resolved :class:`Repository`; ``index_url``: its simple index when it cannot be derived.
    :param token: an API token (user ``__token__``), instead of ``username`` and ``password``.
    :param config_file: a ``.pypirc`` to read instead of ``~/.pypirc``.
    :param ca_cert: a CA bundle for the index's certificate; ``client_cert``: a PEM with certificate and key.
    :param attestations: send the PEP 740 attestations found beside the files; default: only to PyPI and
        TestPyPI, as twine does.
    :param wheel_wait: how long to wait for an index to list every wheel before giving up on the sdist.
    :param jobs: the most wheels sent at once; the number starts small and grows while the index takes more
        (:mod:`shipwheel._adaptive`), and halves on 429/5xx and resets; ``fixed_jobs`` keeps ``jobs``
        throughout.
    :param check: the release checks run before anything is sent (:data:`ReleaseCheck`); ``None``: none.
    :param environ: the environment credentials are read from (default: ``os.environ``).
    :param journal_dir: where the journal of a resumable publish is kept (default: the user's state folder).
    :param complete: refuse, before anything is sent, files that are not the whole release
        (:class:`~shipwheel.publish.IncompleteReleaseError` naming what is missing): the identifiers of
        ``expected`` or, without it, those the wheels span (their CPython versions times their platforms), and the
        files a ``SHA256SUMS`` beside them lists. ``shipwheel publish`` sets it unless ``--allow-incomplete``.
    """

    repository: str | Repository = "pypi"
    index_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    config_file: Path | None = None
    ca_cert: Path | None = None
    client_cert: Path | None = None
    attestations: bool | None = None
    jobs: int = 8
    fixed_jobs: bool = False
    retries: int = 5
    timeout: float = 300.0
    backoff: float = 0.5
    wheel_wait: float = 30.0
    dry_run: bool = False
    check: ReleaseCheck | None = None
    environ: Mapping[str, str] | None = field(default=None, repr=False)
    journal_dir: Path | None = None
    complete: bool = False
    expected: Sequence[str] | None = None


def publish_files(
    paths: Sequence[Path], settings: PublishSettings | None = None, *, on_event: Callback | None = None
) -> PublishResult:
    """Publish one release's files (``paths``: files and/or folders holding them) as ``settings`` say; see the
    module docstring for the order of steps. Progress goes to ``on_event``.

    :raises ShipwheelError: a subclass for each way a publish stops (see :mod:`shipwheel.errors`).
    """
    s = settings or PublishSettings()
    environ, dry_run = s.environ, s.dry_run
    started = time.monotonic()
    env = os.environ if environ is None else environ
    emit: Callback = on_event or (lambda _e: None)
    repo = _repository(s, env)
    files = collect_files(paths)
    project, version = str(files[0][1].name), str(files[0][1].version)
    if s.complete:
        check_complete(files, s.expected, allow_incomplete=False)  # before any byte, and before any question
    if repo.kind == "pypi":
        _check_pypi_rules(files)
    all_paths = [p for p, _ in files]

    verified_earlier: list[str] = []

    def check() -> None:
        # Only when something is to be sent: a re-run that finds everything on the index stays fast.
        if s.check is not None:
            verified_earlier.extend(s.check(all_paths, project, version))
            if verified_earlier:
                emit(PublishEvent("plan", detail=f"verify: {len(verified_earlier)} file(s) verified earlier"))

    folder = s.journal_dir or default_journal_dir()
    # A dry run writes nothing at all, not even the digest cache.
    cache = None if dry_run else folder / "digests.json"
    if repo.kind == "file":
        from ._static import publish_to_folder

        digests = digest_files(all_paths, jobs=2, cache=cache)
        result = publish_to_folder(
            repo, files, digests, dry_run=dry_run, emit=emit, started=started, check=check
        )
        return replace(result, verified_earlier=tuple(verified_earlier))

    creds = resolve_credentials(repo, username=s.username, password=s.password, token=s.token, environ=env)
    if creds is None and repo.kind == "pypi" and not dry_run:
        raise AuthenticationError(f"no credentials for {repo.display}", hint=auth_hint(repo, None))
    try:
        run = _Run(
            s.jobs,
            s.retries,
            s.timeout,
            s.backoff,
            dry_run,
            folder,
            cache,
            s.wheel_wait,
            s.attestations,
            started,
            s.fixed_jobs,
        )
        result = _publish_http(repo, files, creds, run, emit, check)
        return replace(result, verified_earlier=tuple(verified_earlier))
    except ShipwheelError as exc:
        # An index may echo the request (its Authorization header) in an error body: no form of it goes further.
        scrub_error(exc, creds)
        raise


def _repository(s: PublishSettings, env: Mapping[str, str]) -> Repository:
    """The repository ``s`` names, resolved (a :class:`Repository` given as it is)."""
    if isinstance(s.repository, Repository):
        return s.repository
    return resolve_repository(
        s.repository,
        index_url=s.index_url,
        environ=env,
        config_file=s.config_file,
        ca_cert=s.ca_cert,
        client_cert=s.client_cert,
    )


def _check_pypi_rules(files: list[tuple[Path, DistFile]]) -> None:
    """PyPI's rules that need no index, before anything else (the release's age is checked with the plan)."""
    problems = pypi_rule_problems([(p, d, p.stat().st_size) for p, d in files], {}, new_files=())
    if problems:
        message, _, hint = problems[0].partition("; ")
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise PublishRuleError(f"{message}{more}; nothing was uploaded", hint=hint)


@dataclass(frozen=True, slots=True)
class _Run:
    """The options of one publish to an index, with what :func:`publish_files` derived from them."""

    jobs: int
    retries: int
    timeout: float
    backoff: float
    dry_run: bool
    folder: Path
    cache: Path | None
    wheel_wait: float
    attestations: bool | None
    started: float
    fixed_jobs: bool = False


def _publish_http(
    repo: Repository,
    files: list[tuple[Path, DistFile]],
    creds: Credentials | None,
    settings: _Run,
    emit: Callback,
    check: Callable[[], None],
) -> PublishResult:
    jobs, dry_run, started = settings.jobs, settings.dry_run, settings.started
    project, version = str(files[0][1].name), str(files[0][1].version)
    all_paths = [p for p, _ in files]
    auth = httpx.BasicAuth(creds.username, creds.password) if creds else None
    policy = RetryPolicy(retries=settings.retries, base=settings.backoff)
    with (
        make_client(
            timeout=settings.timeout, max_connections=max(2, jobs + 1), verify=repo.ssl_context()
        ) as client,
        ThreadPoolExecutor(2) as side,
    ):
        # The local digests are computed and the files verified while the index is asked what it has: all three
        # take a while. Verify starts before the plan knows whether anything is to be sent: with the results
        # recorded by an earlier verify it costs a read of the files, and a re-run finds them recorded.
        hashing = side.submit(digest_files, all_paths, 2, settings.cache)
        checking = side.submit(check)
        index_auth = auth if repo.index_url == "" or same_origin(repo.index_url, repo.upload_url) else None
        index = find_index(client, repo, index_auth, policy, creds if index_auth else None)
        journal = None if dry_run else Journal.open(settings.folder, repo.upload_url, project, version)
        run = Uploader(repo, client, auth, index_auth, index, project, journal, policy, emit, creds)
        listing = run.listing()
        digests = hashing.result()
        plan = make_plan(
            repo,
            files,
            digests,
            listing.files,
            remote_digest=run.remote_digest,
            journal_done=journal.done if journal else None,
            attestations=settings.attestations,
        )
        emit(PublishEvent("plan", detail=f"{len(plan.uploads)} to upload, {len(plan.skipped)} already there"))
        if journal is not None and journal.in_doubt():
            # The plan already asked the index about them: those it lists are skipped, the others sent again.
            doubt = journal.in_doubt()
            emit(
                PublishEvent(
                    "plan", detail=f"resuming: {len(doubt)} file(s) were being sent when a run stopped"
                )
            )
        url = repo.project_url(project, version)
        if plan.uploads:
            checking.result()  # no byte is sent before every file to upload has passed
        if dry_run:
            return PublishResult(plan, (), url, dry_run=True, seconds=time.monotonic() - started)
        try:
            results, connections = execute(
                run, plan, jobs, settings.wheel_wait, adaptive=not settings.fixed_jobs
            )
        finally:
            if journal is not None:
                journal.close()  # entries stay on disk for the next run until the release is complete
    result = PublishResult(
        plan, tuple(results), url, seconds=time.monotonic() - started, connections=tuple(connections)
    )
    if run.fatal:
        raise run.fatal[0]
    if not result.ok:
        raise _upload_failed(result)
    if journal is not None:
        journal.finish()
    return result


def _upload_failed(result: PublishResult) -> UploadFailedError:
    """The error of a publish that left files unsent: the first failure, or why the rest were held back."""
    failed = [r for r in result.results if r.status == "failed"]
    held = [r for r in result.results if r.status == "not-sent"]
    if failed:
        first = failed[0]
        message = f"{len(failed)} file(s) failed to upload ({first.filename}: {first.detail})"
    else:
        message = f"{held[0].filename} {held[0].detail}"
    if any(r.filename.endswith((".tar.gz", ".zip")) for r in held):
        message += "; the sdist was not uploaded"
    return UploadFailedError(
        message,
        hint="run the same command again to finish the release (files already there are skipped)",
        result=result,
    )
