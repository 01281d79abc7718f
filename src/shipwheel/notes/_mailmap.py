"""``.mailmap`` as it is at one revision, applied by git's own implementation.

git reads a mailmap from three places: the work tree's ``.mailmap`` (unless the repository is bare), the blob
named by ``mailmap.blob`` and the file named by ``mailmap.file``. To apply exactly the ``.mailmap`` of one
revision, every git command of this package runs inside the git directory with ``core.bare=true`` (so no work tree
file is read), ``mailmap.blob=<commit>:.mailmap`` and an empty ``mailmap.file``. Authors are then mapped by
``%aN``/``%aE`` in ``git log``, and ``Co-authored-by`` identities by one ``git check-mailmap`` call with all of them,
which is what ``git shortlog --group=trailer:co-authored-by`` does to trailers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from .._git import Git
from ..errors import CommandError

__all__ = ["GitWithMailmap", "split_ident"]

# git's isspace() (sane_ctype GIT_SPACE) knows these four only.
_GIT_SPACE = " \t\n\r"
# check-mailmap takes identities as arguments (--stdin is newer than git 2.39): stay well under ARG_MAX.
_ARGS_PER_CALL_CHARS = 100_000


def split_ident(value: str) -> tuple[str, str] | None:
    """``(name, email)`` of ``Name <email>`` the way git's ``split_ident_line`` cuts it, or ``None``.

    The name is everything before the first ``<`` with trailing whitespace removed; the email runs to the next
    ``>``; anything after it is ignored. Without both brackets the value is not an identity.
    """
    lt = value.find("<")
    if lt < 0:
        return None
    gt = value.find(">", lt + 1)
    if gt < 0:
        return None
    return value[:lt].rstrip(_GIT_SPACE), value[lt + 1 : gt]


@dataclass(frozen=True, slots=True)
class GitWithMailmap:
    """Runs git in ``git_dir`` with the ``.mailmap`` of ``mailmap_commit`` (none when ``None``) and no other."""

    git: Git
    mailmap_commit: str | None

    @classmethod
    def open(cls, repo: Git, mailmap_commit: str | None) -> GitWithMailmap:
        """Wrap the repository of ``repo`` (a work tree or a bare git directory)."""
        return cls(Git(repo.git_dir()), mailmap_commit)

    @property
    def config_args(self) -> tuple[str, ...]:
        blob = f"{self.mailmap_commit}:.mailmap" if self.mailmap_commit else ""
        return (
            "-c",
            "core.bare=true",
            "-c",
            f"mailmap.blob={blob}",
            "-c",
            "mailmap.file=",
            "-c",
            "log.showSignature=false",
        )

    def run(self, *args: str) -> bytes:
        """``git <args>`` with the mailmap configuration; errors name the git sub-command, not ``-c``."""
        try:
            return self.git.run_bytes(*self.config_args, *args)
        except CommandError as exc:
            raise CommandError(exc.message.replace("git -c failed", f"git {args[0]} failed", 1)) from None

    def stream(self, *args: str) -> Iterator[bytes]:
        """Like :meth:`run`, yielding the output in chunks as git writes it."""
        try:
            yield from self.git.stream(*self.config_args, *args)
        except CommandError as exc:
            raise CommandError(exc.message.replace("git -c failed", f"git {args[0]} failed", 1)) from None

    def has_mailmap(self) -> bool:
        """Whether the mailmap commit has a ``.mailmap`` file."""
        if not self.mailmap_commit:
            return False
        try:
            self.git.run_bytes("cat-file", "-e", f"{self.mailmap_commit}:.mailmap")
        except CommandError:
            return False
        return True

    def map_identities(self, values: Iterable[str]) -> Mapping[str, tuple[str, str]]:
        """Map each ``Name <email>`` in ``values`` through the mailmap: value -> ``(name, email)``.

        Values that are not identities (see :func:`split_ident`) are left out of the result.
        """
        idents = sorted({v for v in values if split_ident(v) is not None and "\n" not in v})
        result: dict[str, tuple[str, str]] = {}
        start = 0
        while start < len(idents):
            size, end = 0, start
            while end < len(idents) and (end == start or size + len(idents[end]) < _ARGS_PER_CALL_CHARS):
                size += len(idents[end]) + 1
                end += 1
            batch = idents[start:end]
            out = self.run("check-mailmap", "--", *batch).decode("utf-8", errors="replace").split("\n")
            for value, line in zip(batch, out, strict=False):
                lt = line.find("<")
                name = line[:lt][:-1] if lt > 0 else ""
                result[value] = (name, line[lt + 1 : line.rfind(">")])
            start = end
        return result
