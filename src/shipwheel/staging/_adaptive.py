"""Adaptive concurrency: as many transfers at once as the link rewards, no more, and fewer when the server
pushes back.

:class:`AdaptiveLimit` is a gate that transfers pass through (:meth:`~AdaptiveLimit.slot`). It starts small and
measures the total throughput over short windows while every slot is busy: it doubles the number of slots while
a window is clearly faster than the best one so far (slow start), then adds one at a time with the same rule,
and halves on a sign of overload (429/503, a reset, a timeout: :meth:`~AdaptiveLimit.overloaded`). It never goes
above ``cap`` (``-j``) nor below one. With ``adaptive=False`` it is a plain gate of ``cap`` slots.

Why not a fixed ``-j``: the right number depends on the link (per-connection limits on a long link want many
connections; a saturated or small link wants few) and on what the server tolerates, and a release manager runs
the defaults.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

__all__ = ["AdaptiveLimit"]

#: A window must be this much faster than the best one so far for the controller to keep growing.
_GAIN = 1.2


class AdaptiveLimit:
    """How many transfers may run at once (see the module docstring).

    :param cap: the most slots ever.
    :param start: the slots at first (adaptive), at most ``cap``.
    :param window: seconds of one throughput measurement.
    :param adaptive: ``False`` keeps ``cap`` slots throughout.
    :param clock: the time source (tests pass a fake one).
    """

    def __init__(
        self,
        cap: int,
        *,
        start: int = 4,
        window: float = 0.25,
        adaptive: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cap = max(1, cap)
        self.adaptive = adaptive
        self.limit = min(self.cap, max(1, start)) if adaptive else self.cap
        #: Every value the limit took, in order (the report and the tests read it).
        self.history = [self.limit]
        self._window = window
        self._clock = clock
        self._cond = threading.Condition()
        self._active = 0
        self._slow_start = True
        self._best = 0.0
        self._since = clock()
        self._bytes = 0
        self._saturated = True

    @property
    def peak(self) -> int:
        """The most slots the limit allowed at any time."""
        return max(self.history)

    @contextlib.contextmanager
    def slot(self, cancelled: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """Hold one slot for the block; wait while all are taken (give up waiting when ``cancelled()``)."""
        with self._cond:
            while self._active >= self.limit:
                if cancelled():
                    raise InterruptedError("cancelled while waiting for a connection slot")
                self._cond.wait(0.2)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify()

    def moved(self, n: int) -> None:
        """Count ``n`` bytes transferred (any thread)."""
        with self._cond:
            self._bytes += n
            # Growth is judged only on windows where every slot was busy: an idle slot says nothing about the link.
            self._saturated = self._saturated and self._active >= self.limit

    def overloaded(self) -> None:
        """The server or the link pushed back: halve the slots (not below one) and measure afresh."""
        if not self.adaptive:
            return
        with self._cond:
            self._slow_start = False
            self._set(max(1, self.limit // 2))
            self._best = 0.0
            self._restart()

    def tick(self) -> int:
        """Close the current window if it is over and adjust the limit; return the limit. Call it often."""
        with self._cond:
            now = self._clock()
            elapsed = now - self._since
            if not self.adaptive or elapsed < self._window:
                return self.limit
            rate = self._bytes / elapsed
            if self._saturated and self._active >= self.limit and self.limit < self.cap:
                if rate > self._best * _GAIN:
                    self._best = rate
                    self._set(min(self.cap, self.limit * 2 if self._slow_start else self.limit + 1))
                else:
                    self._slow_start = False
                    self._best = max(self._best, rate)
            self._restart()
            return self.limit

    def _restart(self) -> None:
        self._since, self._bytes, self._saturated = self._clock(), 0, self._active >= self.limit

    def _set(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self.history.append(limit)
            self._cond.notify_all()
