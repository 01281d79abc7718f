"""The one git wrapper: every git call of shipwheel goes through :class:`Git`."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import CommandError, EnvironmentNotReadyError, ProjectError

__all__ = ["Git", "find_repository"]


def find_repository(path: Path) -> Path | None:
    """The top of the git work tree that contains ``path``, or ``None``."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.strip())


def _verb(args: Sequence[str]) -> str:
    """The git command in ``args``, past options such as ``-c key=value`` (for error messages)."""
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg in {"-c", "-C"}:
            takes_value = True
        elif not arg.startswith("-"):
            return arg
    return "command"


@dataclass(frozen=True, slots=True)
class Git:
    """Git commands run in one repository (a work tree or a bare git directory)."""

    root: Path

    def __post_init__(self) -> None:
        if shutil.which("git") is None:
            raise EnvironmentNotReadyError("git is not installed", hint="install git and put it on PATH")

    def run(self, *args: str, input: str | None = None) -> str:
        """Run ``git args`` and return its stdout; raise :class:`CommandError` with git's message on failure."""
        return self.run_bytes(*args, input=input.encode() if input is not None else None).decode(
            "utf-8", errors="replace"
        )

    def run_bytes(self, *args: str, input: bytes | None = None) -> bytes:
        """Like :meth:`run`, returning raw bytes (for archives and binary-safe logs)."""
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args],
            input=input,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise CommandError(
                f"git {_verb(args)} failed: {msg[-1] if msg else 'exit ' + str(proc.returncode)}"
            )
        return proc.stdout

    def resolve(self, ref: str) -> str:
        """The full commit id ``ref`` names; a :class:`ProjectError` when it names none."""
        try:
            return self.run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
            ).strip()
        except CommandError:
            raise ProjectError(
                f"git ref {ref!r} does not exist in {self.root}",
                hint="pass a branch, tag or commit that exists (git tag -l, git branch -a); fetch it first if it is remote",
            ) from None

    def stream(self, *args: str, chunk: int = 1 << 16) -> Iterator[bytes]:
        """Run ``git args`` and yield its stdout in chunks as git writes it (to parse long logs while git runs).

        Raises :class:`CommandError` with git's message, after the last chunk, when git fails.
        """
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(["git", "-C", str(self.root), *args], stdout=subprocess.PIPE, stderr=err)
            reader = typing.cast("io.BufferedReader", proc.stdout)
            try:
                while block := reader.read1(chunk):
                    yield block
            finally:
                reader.close()
                code = proc.wait()
            if code != 0:
                err.seek(0)
                msg = err.read().decode("utf-8", errors="replace").strip().splitlines()
                raise CommandError(f"git {args[0]} failed: {msg[-1] if msg else 'exit ' + str(code)}")

    def git_dir(self) -> Path:
        """The absolute git directory (``.git`` of a work tree; the folder itself when the repository is bare)."""
        return Path(self.run("rev-parse", "--absolute-git-dir").strip())

    def commit_time(self, commit: str) -> int:
        """The committer time of ``commit`` in seconds since the epoch (for ``SOURCE_DATE_EPOCH``)."""
        return int(self.run("show", "-s", "--format=%ct", commit).strip())

    def dirty_paths(self, pathspec: Sequence[str] = ()) -> list[str]:
        """Tracked files with uncommitted changes, and untracked files that are not ignored, under ``pathspec``."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=normal", "--", *pathspec)
        entries = [e for e in out.split("\0") if e]
        return [e[3:] for e in entries if len(e) > 3]

    def export(self, commit: str, subdir: str, dest: Path) -> None:
        """Write the tree of ``commit`` below ``subdir`` (``""`` for all) into ``dest`` (``git archive``)."""
        treeish = f"{commit}:{subdir}" if subdir else commit
        data = self.run_bytes("archive", "--format=tar", treeish)
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
