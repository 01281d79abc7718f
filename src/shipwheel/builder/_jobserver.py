"""A GNU make jobserver of the cores no compile holds, so that ninja builds take cores as others free them.

A job count is fixed when a compile starts (``ninja -j2``): three meson builds started side by side on two cores
get one job each, and the last one still runs one job at a time after the other two have finished. ninja 1.13
(the ``ninja`` wheel meson-python installs) is a jobserver *client* when it is given no ``-j`` and ``MAKEFLAGS``
names a jobserver: it runs one job on its own and one more for every token it reads from the jobserver's named
pipe, writing the token back when that job ends. The pipe here holds one token per core that no running phase
holds, so a ninja build alone takes every free core, and takes the cores others leave as they finish.

When the free cores shrink (another compile starts), the tokens are taken back from the pipe; those a ninja holds
at that moment are taken back as it returns them (:meth:`Jobserver.reclaim`, which the starting compile waits
for: that is waiting for a core).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from pathlib import Path

__all__ = ["Jobserver", "open_jobserver"]


def open_jobserver(path: Path) -> Jobserver | None:
    """A jobserver at ``path``; ``None`` where there are no named pipes (Windows, some file systems): the
    compiles then get fixed job counts."""
    if not hasattr(os, "mkfifo"):
        return None
    try:
        return Jobserver(path)
    except OSError:
        return None


class Jobserver:
    """A named pipe at ``path`` holding :attr:`tokens` tokens (or fewer, while clients hold some)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path, 0o600)
        # read-write: the pipe never sees end-of-file, and opening it never waits for a writer
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self._lock = threading.Lock()
        self.tokens = 0  # what the pipe and its clients hold together
        self._owed = 0  # tokens to take back as clients return them

    @property
    def makeflags(self) -> str:
        """``MAKEFLAGS`` for a client (GNU make 4.4's ``fifo:`` form, which ninja 1.13 reads)."""
        return f"--jobserver-auth=fifo:{self.path}"

    def set_tokens(self, count: int) -> None:
        """Make ``count`` tokens available: write new ones, or take back what the pipe holds (the rest is owed
        and taken by :meth:`reclaim`)."""
        with self._lock:
            change, self.tokens = count - self.tokens, count
            if change > 0:
                paid = min(change, self._owed)
                self._owed -= paid
                if change > paid:
                    os.write(self._fd, b"+" * (change - paid))
            elif change < 0:
                self._owed -= change
                self._take()

    def _take(self) -> None:
        while self._owed:
            try:
                got = os.read(self._fd, self._owed)
            except BlockingIOError:
                return
            self._owed -= len(got)

    def reclaim(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until the owed tokens are back from the clients holding them; a
        client killed while holding one never returns it, so what is still owed then is forgotten."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._take()
                if not self._owed:
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                with self._lock:
                    self._owed = 0
                return
            select.select([self._fd], [], [], min(left, 0.5))

    def close(self) -> None:
        """Close and remove the pipe (clients still running lose their tokens, not their jobs)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
