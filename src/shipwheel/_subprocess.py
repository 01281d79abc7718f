"""The one way shipwheel runs external commands.

It records the command line, captures or logs the output, and on failure raises a :class:`CommandError` that
keeps the tail of that output (and the log file's path) for the error message.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import CommandError, EnvironmentNotReadyError

__all__ = ["format_command", "run"]

log = logging.getLogger("shipwheel")

_TAIL_LINES = 25


def format_command(cmd: Sequence[str | os.PathLike[str]]) -> str:
    """A shell-quoted rendering of ``cmd`` for logs and messages."""
    return shlex.join(str(c) for c in cmd)


def run(
    cmd: Sequence[str | os.PathLike[str]] | str,
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    logfile: IO[str] | None = None,
    shell: bool = False,
    timeout: float | None = None,
    what: str | None = None,
    hint: str = "",
    input: str | None = None,
    max_output: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` and return its completed process, or raise :class:`CommandError` when it fails.

    With ``logfile`` the output (stdout and stderr merged) is written there as it comes, preceded by the command
    line; otherwise it is captured. ``what`` names the step in the error message (default: the program name).
    ``max_output`` bounds the captured output (bytes of stdout and of stderr): a command that prints more is
    stopped and is an error (for commands the project configures, whose output nobody bounds otherwise).
    """
    shown = cmd if isinstance(cmd, str) else format_command(cmd)
    args: str | list[str] = cmd if isinstance(cmd, str) else [str(c) for c in cmd]
    label = what or (shown.split()[0] if shown else "command")
    log.debug("$ %s", shown)
    if logfile is not None:
        logfile.write(f"$ {shown}\n")
        logfile.flush()
    try:
        if max_output is not None and logfile is None and input is None:
            proc = _run_bounded(args, cwd=cwd, env=env, shell=shell, timeout=timeout, limit=max_output)
            if proc is None:
                raise CommandError(
                    f"{label} printed more than {max_output:,} bytes and was stopped",
                    hint=hint or "make the command print less (only what shipwheel reads)",
                )
            return _checked(proc, label, hint)
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            shell=shell,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL if input is None else None,
            input=input,
            stdout=logfile if logfile is not None else subprocess.PIPE,
            stderr=subprocess.STDOUT if logfile is not None else subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        program = args if isinstance(args, str) else args[0]
        raise EnvironmentNotReadyError(
            f"{label}: program {program!r} not found",
            hint=hint or f"install {Path(program).name} or put it on PATH",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(
            f"{label} did not finish within {timeout:.0f} s",
            hint=hint or "look at its output",
            log=_name(logfile),
        ) from exc
    return _checked(proc, label, hint, logfile)


def _checked(
    proc: subprocess.CompletedProcess[str], label: str, hint: str, logfile: IO[str] | None = None
) -> subprocess.CompletedProcess[str]:
    if proc.returncode != 0:
        if logfile is not None:
            logfile.flush()
            output = _tail_of_file(logfile)
        else:
            output = "\n".join(part for part in (proc.stdout, proc.stderr) if part)
        tail = "\n".join(output.strip().splitlines()[-_TAIL_LINES:])
        where = f"; see {_name(logfile)}" if logfile is not None else ""
        raise CommandError(
            f"{label} failed with exit code {proc.returncode}{where}",
            hint=hint,
            output=tail,
            log=_name(logfile),
        )
    return proc


def _name(fh: IO[str] | None) -> str | None:
    name = getattr(fh, "name", None)
    return str(name) if isinstance(name, str) else None


def _tail_of_file(fh: IO[str]) -> str:
    name = _name(fh)
    if not name:
        return ""
    try:
        with open(name, encoding="utf-8", errors="replace") as src:
            return "".join(src.readlines()[-_TAIL_LINES:])
    except OSError:
        return ""


def _run_bounded(
    args: str | list[str],
    *,
    cwd: Path | str | None,
    env: Mapping[str, str] | None,
    shell: bool,
    timeout: float | None,
    limit: int,
) -> subprocess.CompletedProcess[str] | None:
    """Like ``subprocess.run`` capturing text, but reading at most ``limit`` bytes of each stream; ``None`` when
    the command printed more (it is killed). Hand-written: the standard library has no bounded capture."""
    proc = subprocess.Popen(
        args, cwd=cwd, env=dict(env) if env is not None else None, shell=shell,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    over = threading.Event()
    buffers = (bytearray(), bytearray())

    def drain(pipe: IO[bytes], buf: bytearray) -> None:
        while chunk := pipe.read(65536):
            if len(buf) + len(chunk) > limit:
                over.set()
                return
            buf += chunk

    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(target=drain, args=(pipe, buf), daemon=True)
        for pipe, buf in zip((proc.stdout, proc.stderr), buffers, strict=True)
    ]
    for reader in readers:
        reader.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if over.is_set():
                return None
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(args, timeout or 0)
            over.wait(0.05)
        for reader in readers:
            reader.join()
        if over.is_set():
            return None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    def text(buf: bytearray) -> str:  # decoded as subprocess.run(text=True, errors="replace") does
        return io.TextIOWrapper(io.BytesIO(bytes(buf)), errors="replace").read()

    return subprocess.CompletedProcess(args, proc.returncode, text(buffers[0]), text(buffers[1]))


@dataclass(frozen=True, slots=True)
class Finished:
    """How :func:`run_stoppable` ended: the exit code, or why it was stopped (the whole process group killed)."""

    returncode: int | None
    timed_out: bool = False
    cancelled: bool = False


def run_stoppable(
    cmd: Sequence[str | os.PathLike[str]] | str,
    *,
    logfile: IO[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> Finished:
    """Run ``cmd`` in a process group of its own, its output appended to ``logfile``, and return how it ended.

    Unlike :func:`run`, a non-zero exit is an answer, not an error (a test command that finds failures), and the
    command can be stopped: when ``timeout`` passes or ``cancel`` is set, the whole group is killed (a shell's
    children and a test runner's workers too, which ``subprocess.run``'s timeout leaves running).
    """
    shown = cmd if isinstance(cmd, str) else format_command(cmd)
    args: str | list[str] = cmd if isinstance(cmd, str) else [str(c) for c in cmd]
    log.debug("$ %s", shown)
    logfile.write(f"$ {shown}\n")
    logfile.flush()
    try:
        proc = subprocess.Popen(
            args, cwd=cwd, env=dict(env) if env is not None else None, shell=shell,
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    except FileNotFoundError as exc:
        program = args if isinstance(args, str) else args[0]
        raise EnvironmentNotReadyError(
            f"program {program!r} not found", hint=f"install {Path(program).name} or put it on PATH"
        ) from exc
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            try:
                code = proc.wait(0.1)
                return Finished(code)
            except subprocess.TimeoutExpired:
                pass
            if cancel is not None and cancel.is_set():
                return Finished(None, cancelled=True)
            if deadline is not None and time.monotonic() > deadline:
                return Finished(None, timed_out=True)
    finally:
        # also after a normal exit: what the command left running in its group (a server a test started) goes too
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Kill every process of ``proc``'s group (its own session), then reap ``proc``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


__all__ += ["Finished", "run_stoppable"]


def find_uv() -> str | None:
    """The uv program: the one installed beside this Python (shipwheel depends on it), else on PATH; None when
    neither is there. The one lookup of uv for the builder, the downstream runs and the preflight."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
