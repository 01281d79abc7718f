"""Adaptive concurrency: as many transfers at once as the link rewards, no more, and fewer when the server
pushes back.

:class:`AdaptiveLimit` is a gate that transfers pass through (:meth:`~AdaptiveLimit.slot`). It starts small and
measures the total throughput over short windows while every slot is busy:

- slow start: it doubles the number of slots while a window is clearly (1.2x) faster than the best one so far,
  and leaves slow start after two windows in a row without such a gain (one window of a long link is noisy);
- then it probes: every few windows it tries one slot more, keeps it while the total grows by at least half of
  what one more connection can add (``1/n`` at ``n`` connections: a fixed 1.2x would stop growth at five), and
  steps back to the last good number when it does not;
- it halves on a sign of overload (429/503, a reset, a timeout: :meth:`~AdaptiveLimit.overloaded`).

It never goes above ``cap`` (``-j``) nor below one. With ``adaptive=False`` it is a plain gate of ``cap`` slots.

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

#: In slow start a window must be this much faster than the best one so far for the controller to double again.
_GAIN = 1.2
#: Windows in a row without that gain that end slow start.
_PATIENCE = 2
#: Past slow start, one slot more (n to n + 1) is kept when a window is faster than at n by this share of ``1/n``:
#: one more connection adds at most ``1/n`` when each carries the same.
_MARGIN = 0.5
#: Past slow start, judged windows at a settled number before it tries one more.
_REPROBE = 4
#: A window in which nothing was counted stays open up to this many window lengths, then is dropped unjudged.
_QUIET = 4


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
        self._stalls = 0
        self._best = 0.0
        #: While probing: the number of slots (and its rate) the probe started from; ``None`` when settled.
        self._base: tuple[int, float] | None = None
        self._settled = 0
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
            self._best, self._base, self._settled = 0.0, None, 0
            self._restart()

    def tick(self) -> int:
        """Close the current window if it is over and adjust the limit; return the limit. Call it often."""
        with self._cond:
            now = self._clock()
            elapsed = now - self._since
            if not self.adaptive or elapsed < self._window:
                return self.limit
            if self._bytes == 0:
                # Nothing counted yet (transfers counted when they end): keep the window open for a while; a long
                # one with nothing in it says nothing about the link either, so it is dropped, not judged.
                if elapsed >= _QUIET * self._window:
                    self._restart()
                return self.limit
            rate = self._bytes / elapsed
            if self._saturated and self._active >= self.limit:
                self._judge(rate)
            self._restart()
            return self.limit

    def _judge(self, rate: float) -> None:
        # One judged window (every slot busy) at ``self.limit`` slots, carrying ``rate`` bytes per second.
        if self._slow_start:
            if rate > self._best * _GAIN and self.limit < self.cap:
                self._best, self._stalls = rate, 0
                self._set(min(self.cap, self.limit * 2))
            else:
                self._stalls += 1
                self._slow_start = self._stalls < _PATIENCE and self.limit < self.cap
                self._best = max(self._best, rate)
        elif self._base is not None:  # probing one slot above the base
            slots, base_rate = self._base
            if rate > base_rate * (1 + _MARGIN / slots):
                self._best = max(self._best, rate)
                self._base = (self.limit, rate) if self.limit < self.cap else None
                self._set(min(self.cap, self.limit + 1))
            else:
                self._base = None
                self._set(slots)
            self._settled = 0
        else:
            self._settled += 1
            if self._settled >= _REPROBE and self.limit < self.cap:
                self._base, self._settled = (self.limit, rate), 0
                self._set(self.limit + 1)

    def connections_per_transfer(self, waiting: int) -> int:
        """How many connections the next transfer may use when ``waiting`` transfers have not started: one while
        they fill the slots; when fewer are left than slots, a large file goes over two (some waiting) or four
        (none) at once, by byte ranges or multipart parts, so that the tail does not crawl over one connection."""
        return 1 if waiting >= self.limit else 2 if waiting else 4

    def restart(self) -> None:
        """Start a new measurement window now (what was counted so far is dropped)."""
        with self._cond:
            self._restart()

    def _restart(self) -> None:
        # Saturation is judged by what the window sees (every count made while all slots were busy), not by the
        # moment it starts: right after a change of the limit the waiting transfers take the new slots at once.
        self._since, self._bytes, self._saturated = self._clock(), 0, True

    def _set(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self.history.append(limit)
            self._cond.notify_all()
