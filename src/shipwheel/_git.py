"""The one git wrapper: every git call of shipwheel goes through :class:`Git`."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._fs import write_inside
from ._redact import redact_text
from ._terminal import visible
from .errors import CommandError, EnvironmentNotReadyError, ProjectError

__all__ = ["NETWORK_DEADLINE", "NETWORK_VERBS", "Git", "find_repository", "message"]


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


def message(template: str, **values: object) -> str:
    """A commit or tag message: ``template`` (``str.format`` fields) with each value on one line, its control
    characters written as escapes (a project name holding CR/LF never adds a line, such as a forged trailer),
    and no secret in the result (:func:`shipwheel._http.redact_text`). The escaper of every message shipwheel
    gives git."""
    fields = {key: visible(str(value), lines=False) for key, value in values.items()}
    return redact_text(template.format(**fields))


#: git commands that talk to another machine: they run with an overall deadline (:data:`NETWORK_DEADLINE`).
NETWORK_VERBS = frozenset({"push", "fetch", "pull", "ls-remote", "clone", "remote"})
#: git commands that take ``index.lock`` or a ref's lock (the ones a release runs: notes, version, tag, bump,
#: forward-port).
INDEX_VERBS = frozenset(
    {"add", "rm", "commit", "mv", "reset", "restore", "checkout", "switch", "merge", "cherry-pick", "tag",
     "update-ref", "branch"}
)  # fmt: skip
#: The marker a shipwheel process leaves in the git directory while its git holds the index, ``NAME-PID``: a
#: lock found later with the marker of a dead process is the lock of shipwheel's own killed run.
INDEX_MARKER = "shipwheel-index-op"
#: Seconds a git command over the network may take in all.
NETWORK_DEADLINE = 600.0
#: git gives up on an HTTP transfer slower than this many bytes per second for this many seconds.
LOW_SPEED = (1000, 60)


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
        verb = _verb(args)
        options: list[str] = []
        env = None
        timeout = None
        if verb in NETWORK_VERBS:
            # Over the network git gets an overall deadline, a floor on its speed, and no prompt for a password
            # (a prompt nobody answers is a hang); the repository's own remotes are used as configured.
            options = ["-c", f"http.lowSpeedLimit={LOW_SPEED[0]}", "-c", f"http.lowSpeedTime={LOW_SPEED[1]}"]
            env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
            env.setdefault(
                "GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15"
            )
            timeout = NETWORK_DEADLINE
        marker = self._mark_index_op() if verb in INDEX_VERBS else None
        try:
            proc = subprocess.run(
                ["git", *options, "-C", str(self.root), *args],
                input=input,
                capture_output=True,
                check=False,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise CommandError(
                f"git {verb} did not finish within {NETWORK_DEADLINE:.0f} s",
                hint="check the network and the remote, then run the same command again",
            ) from None
        finally:
            if marker is not None:
                marker.unlink(missing_ok=True)
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
            # git's own "fatal:" line names what is wrong (the lock's path); the last line is often advice
            said = next((m for m in msg if m.startswith(("fatal:", "error:"))), msg[-1] if msg else None)
            raise CommandError(f"git {_verb(args)} failed: {said or 'exit ' + str(proc.returncode)}")
        return proc.stdout

    def _mark_index_op(self) -> Path | None:
        """Leave :data:`INDEX_MARKER` (with this process's id) in the git directory while a git command that
        takes the index lock runs; ``None`` where it cannot be written (a read-only repository)."""
        try:
            # never through a link planted in the git directory
            return write_inside(self.git_dir(), f"{INDEX_MARKER}-{os.getpid()}", str(os.getpid()))
        except (OSError, CommandError):
            return None

    def _markers_of_killed_runs(self, git_dir: Path) -> Iterator[Path]:
        """The markers in ``git_dir`` of shipwheel processes that no longer exist."""
        for marker in git_dir.glob(f"{INDEX_MARKER}-*"):
            pid = marker.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                yield marker

    def locks(self) -> list[Path]:
        """The lock files in the git directory that make a commit or a tag fail while they are there: the index's,
        ``HEAD``'s, ``packed-refs``' and each ref's (a killed ``git commit`` can leave ``HEAD.lock`` and
        ``refs/heads/BRANCH.lock`` beside ``index.lock``)."""
        git_dir = self.git_dir()
        found = [
            p for p in (git_dir / n for n in ("index.lock", "HEAD.lock", "packed-refs.lock")) if p.is_file()
        ]
        refs = git_dir / "refs"
        for folder, _dirs, files in os.walk(refs):  # no link is followed (os.walk's default)
            found += [Path(folder) / f for f in sorted(files) if f.endswith(".lock")]
        return found

    def lock_of_a_killed_run(self, lock: Path | None = None) -> Path | None:
        """``lock`` (``index.lock`` by default) when it was left by a git that a shipwheel process ran and that
        was killed with it: a marker of a process that no longer exists, written before the lock. The caller
        still checks that no process holds the lock before removing it."""
        git_dir = self.git_dir()
        lock = lock if lock is not None else git_dir / "index.lock"
        try:
            locked = lock.lstat().st_mtime
        except FileNotFoundError:
            return None
        for marker in self._markers_of_killed_runs(git_dir):
            try:
                if (
                    marker.lstat().st_mtime <= locked + 1
                ):  # the marker came first: that run's git took the lock
                    return lock
            except FileNotFoundError:
                continue
        return None

    def forget_killed_runs(self) -> None:
        """Remove the markers of shipwheel processes that no longer exist."""
        for marker in self._markers_of_killed_runs(self.git_dir()):
            marker.unlink(missing_ok=True)

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

    def clean_copy(self, commit: str, dest: Path) -> None:
        """A clean checkout of ``commit`` in ``dest`` (which must not exist yet), for building from.

        A clone that shares this repository's objects (``git clone --shared``: nothing is copied) and keeps its
        history and tags, because build backends read them: setuptools-scm and meson's ``vcs_tag`` take the
        version from ``git describe``, and meson-python makes its sdist with ``meson dist``, which needs a
        repository (an export by ``git archive`` has none, and each of them fails there). The submodules are
        checked out from this work tree's own submodules, never fetched from the network.

        :raises ProjectError: a submodule that is not checked out here, or lacks the commit recorded.
        """
        self.run("clone", "-q", "--shared", "--no-checkout", str(self.root), str(dest))
        copy = Git(dest)
        copy.run("-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit)
        copy._submodules_from(self.root)

    def _submodules_from(self, source: Path) -> None:
        """Check out this copy's submodules (recursively) from the submodules of the work tree ``source``."""
        if not (self.root / ".gitmodules").is_file():
            return
        try:
            listed = self.run("config", "-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$")
        except CommandError:  # a .gitmodules without any submodule
            return
        for line in listed.splitlines():
            key, _, path = line.partition(" ")
            name = key[len("submodule.") : -len(".path")]
            local = source / path
            if _inactive(source, name):
                continue  # left out on purpose in the work tree (submodule.<name>.active = false): not built from
            if not (local / ".git").exists():
                raise ProjectError(
                    f"submodule {path} is not checked out in {source}",
                    hint="run 'git submodule update --init --recursive' before building",
                )
            self.run("config", f"submodule.{name}.url", str(local))
            try:
                # git refuses file:// submodules unless told (CVE-2022-39253); these are the user's own.
                self.run(
                    "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init", "--", path
                )
            except CommandError as exc:
                raise ProjectError(
                    f"cannot check out submodule {path} from {local}: {exc.message}",
                    hint="fetch the commit the project records for it (git submodule update --init --recursive)",
                ) from exc
            Git(self.root / path)._submodules_from(local)


def _inactive(work_tree: Path, name: str) -> bool:
    """Whether the work tree's git config says submodule ``name`` is not wanted (``submodule.<name>.active`` is
    false): git's ``submodule update`` leaves such a submodule out, and so does the clean copy."""
    try:
        value = Git(work_tree).run("config", "--type=bool", "--get", f"submodule.{name}.active").strip()
    except CommandError:  # not set: the submodule is wanted
        return False
    return value == "false"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
