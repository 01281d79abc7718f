"""The git history of a release range, read with two ``git log`` processes and one ``git check-mailmap``.

One ``git log START..END`` gives every commit of the range (id, parents, raw and mailmapped author, subject, body,
``Co-authored-by`` trailers) in a NUL-separated format; one ``git log START`` gives the mailmapped names of everyone
who wrote or co-wrote a commit before the release. They run at the same time, and the range log is parsed while
git still writes it. The graph walks (first-parent lines, pull-request branches) are done in memory: no process
per commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from .._git import Git
from ..errors import CommandError, ProjectError, UsageError
from ._mailmap import GitWithMailmap
from ._text import clean_text

__all__ = ["Commit", "History", "open_repository", "parse_range", "read_history"]

Progress = Callable[[str], None]

# Trailer values are one line each once unfolded: a line feed between them cannot be part of a value (a unit
# separator could, and would cut one co-author into two).
_COAUTHOR = "%(trailers:key=Co-authored-by,valueonly,unfold,separator=%x0a)"
#: Fields of one commit of the range, in order; ``-z`` ends each record with a NUL too.
RANGE_FORMAT = "%x00".join(("%H", "%P", "%an", "%ae", "%aN", "%aE", "%s", "%b", _COAUTHOR))
_RANGE_FIELDS = 9
#: Fields of one commit before the range.
PREVIOUS_FORMAT = "%aN%x00" + _COAUTHOR
_LOG_OPTIONS = ("-z", "--encoding=UTF-8", "--no-color")


class Commit(NamedTuple):
    """One commit of the range. ``author`` and ``email`` are mailmapped; ``raw_*`` are as recorded.

    Names are printable (see :func:`._text.clean_text`); the subject and body are as recorded.

    A named tuple, not a dataclass: a release range can hold tens of thousands of commits, and this is the
    cheapest immutable record to build.
    """

    sha: str
    parents: tuple[str, ...]
    raw_author: str
    raw_email: str
    author: str
    email: str
    subject: str
    body: str
    coauthors: tuple[str, ...]
    """The values of the ``Co-authored-by`` trailers, as written."""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass(frozen=True, slots=True)
class History:
    """The commits of ``start..end`` (newest first, as ``git log`` lists them) and what came before."""

    start: str
    end: str
    start_commit: str
    end_commit: str
    commits: tuple[Commit, ...]
    by_sha: Mapping[str, Commit]
    previous_names: frozenset[str]
    """Mailmapped names of the authors and co-authors of every commit reachable from ``start``."""
    coauthor_idents: Mapping[str, tuple[str, str]]
    """Mailmapped ``(name, email)`` of each ``Co-authored-by`` value that is an identity."""
    has_mailmap: bool

    def coauthor_name(self, value: str) -> str:
        """The name ``git shortlog --group=trailer:co-authored-by`` shows for a trailer ``value``."""
        ident = self.coauthor_idents.get(value)
        return ident[0] if ident is not None else clean_text(value)


def parse_range(revision_range: str) -> tuple[str, str]:
    """``("A", "B")`` of ``"A..B"``; a :class:`UsageError` for anything else."""
    parts = [p.strip() for p in revision_range.split("..")]
    if len(parts) != 2 or not all(parts) or "..." in revision_range:
        raise UsageError(
            f"{revision_range!r} is not a revision range A..B",
            hint="pass the previous release and the new one, e.g. v1.0.0..v1.1.0 or v1.0.0..HEAD",
        )
    return parts[0], parts[1]


def open_repository(path: Path) -> Git:
    """A :class:`Git` for the work tree or bare git directory at ``path``; a :class:`ProjectError` otherwise."""
    if not path.is_dir():
        raise ProjectError(
            f"{path} is not a folder", hint="pass a git work tree or a bare repository as --repo"
        )
    git = Git(path)
    try:
        git.run("rev-parse", "--git-dir")
    except CommandError:
        raise ProjectError(
            f"{path} is not a git repository", hint="pass a git work tree or a bare repository as --repo"
        ) from None
    return git


def _split(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").split("\0")


def _parse_range_log(chunks: Iterable[bytes]) -> list[Commit]:
    """Parse the range log as it streams in, so that Python works while git still walks the history."""
    commits: list[Commit] = []
    append = commits.append
    pending: list[str] = []
    tail = b""
    for chunk in chunks:
        buf = tail + chunk
        cut = buf.rfind(b"\0")
        if cut < 0:
            tail = buf
            continue
        tail = buf[cut + 1 :]
        # Every field ends with a NUL (fields are joined by %x00 and -z ends each record with one), and a NUL
        # is never part of a UTF-8 sequence: cutting there is safe.
        pending.extend(buf[:cut].decode("utf-8", errors="replace").split("\0"))
        usable = len(pending) - len(pending) % _RANGE_FIELDS
        for i in range(0, usable, _RANGE_FIELDS):
            sha, parents, an, ae, a_n, a_e, subject, body, co = pending[i : i + _RANGE_FIELDS]
            coauthors = tuple(v.strip() for v in co.split("\n") if v.strip()) if co else ()
            append(
                Commit(
                    sha,
                    tuple(parents.split()),
                    clean_text(an),
                    clean_text(ae),
                    clean_text(a_n),
                    clean_text(a_e),
                    subject,
                    body,
                    coauthors,
                )
            )
        del pending[:usable]
    return commits


def _parse_previous_log(data: bytes) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    coauthors: set[str] = set()
    fields = _split(data)
    for i in range(0, len(fields) - 1, 2):
        names.add(clean_text(fields[i]))
        co = fields[i + 1]
        if co:
            coauthors.update(v.strip() for v in co.split("\n") if v.strip())
    return names, coauthors


def _is_ancestor(git: Git, older: str, newer: str) -> bool:
    try:
        git.run("merge-base", "--is-ancestor", older, newer)
    except CommandError:
        return False  # exit code 1: not an ancestor (other failures: not worth an error of their own here)
    return True


def read_history(
    repo: Path,
    revision_range: str,
    *,
    mailmap_from: str | None = None,
    progress: Progress | None = None,
) -> History:
    """Read the history of ``revision_range`` (``A..B``) in the repository at ``repo``.

    :param mailmap_from: the revision whose ``.mailmap`` is applied (default: ``B``).
    :param progress: called with short status messages.
    :raises UsageError: the range is not ``A..B``, or is reversed (``B`` an ancestor of ``A``).
    :raises ProjectError: ``repo`` is not a repository, or a revision does not exist.
    """
    report = progress or (lambda _msg: None)
    start, end = parse_range(revision_range)
    git = open_repository(repo)
    start_commit, end_commit = git.resolve(start), git.resolve(end)
    mailmap_commit = git.resolve(mailmap_from) if mailmap_from else end_commit
    mm = GitWithMailmap.open(git, mailmap_commit)
    report(f"reading git history {start}..{end}")
    with ThreadPoolExecutor(max_workers=2) as pool:
        previous_job = pool.submit(
            mm.run, "log", *_LOG_OPTIONS, f"--format={PREVIOUS_FORMAT}", start_commit, "--"
        )
        has_mailmap_job = pool.submit(mm.has_mailmap)
        commits = _parse_range_log(
            mm.stream("log", *_LOG_OPTIONS, f"--format={RANGE_FORMAT}", f"{start_commit}..{end_commit}", "--")
        )
        previous_authors, previous_coauthors = _parse_previous_log(previous_job.result())
        has_mailmap = has_mailmap_job.result()
    if not commits and start_commit != end_commit and _is_ancestor(git, end_commit, start_commit):
        raise UsageError(
            f"the range {start}..{end} is reversed: {end} is older than {start}, so it holds no commit",
            hint=f"pass the older release first: {end}..{start}",
        )
    range_coauthors = {v for c in commits for v in c.coauthors}
    idents = {
        value: (clean_text(name), clean_text(email))
        for value, (name, email) in mm.map_identities(range_coauthors | previous_coauthors).items()
    }
    previous = set(previous_authors)
    for value in previous_coauthors:
        ident = idents.get(value)
        previous.add(ident[0] if ident is not None else clean_text(value))
    report(f"{len(commits)} commits in the range; {len(previous)} people before {start}")
    if not has_mailmap:
        report(f"no .mailmap at {mailmap_from or end}: names as the commits record them")
    return History(
        start=start,
        end=end,
        start_commit=start_commit,
        end_commit=end_commit,
        commits=tuple(commits),
        by_sha=MappingProxyType({c.sha: c for c in commits}),
        previous_names=frozenset(previous),
        coauthor_idents=MappingProxyType(dict(idents)),
        has_mailmap=has_mailmap,
    )
