"""The one retry policy: exponential backoff with full jitter, bounded attempts, ``Retry-After`` honoured.

Used by ``fetch`` for every download and available to any command that talks to a flaky server::

    policy = RetryPolicy(retries=5)
    for attempt in policy.attempts():
        try:
            return do_it()
        except TransientError as exc:
            attempt.failed(exc)          # sleeps, or re-raises after the last attempt

Which errors are transient is the caller's decision; :func:`is_retryable_status` gives the usual HTTP answer.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeVar, overload

from .errors import TransferError

_T = TypeVar("_T")

__all__ = ["RETRYABLE_STATUS", "Attempt", "RetryPolicy", "is_retryable_status"]

#: HTTP statuses worth another try: timeouts, rate limits and server-side failures.
RETRYABLE_STATUS: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP response with ``status`` may succeed when asked again."""
    return status in RETRYABLE_STATUS


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently to try again.

    :param retries: tries after the first one (``0``: no retry).
    :param base: the first backoff ceiling in seconds; it doubles with each retry up to ``cap``.
    :param cap: the largest backoff in seconds, and the largest ``Retry-After`` honoured.
    :param sleep: the sleeping function (tests pass a recorder instead of waiting).
    """

    retries: int = 5
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``retry`` (1-based): uniform in ``[0, min(cap, base * 2**(retry-1))]``.

        Full jitter spreads clients that failed together (a server restart) over the whole window.
        """
        ceiling = min(self.cap, self.base * (2 ** max(0, retry - 1)))
        return (rng or _RNG).uniform(0, ceiling)

    def attempts(self) -> Iterator[Attempt]:
        """Yield up to ``retries + 1`` attempts; stop iterating after one that did not call ``failed``."""
        for number in range(1, self.retries + 2):
            attempt = Attempt(self, number)
            yield attempt
            if not attempt.did_fail:
                return

    @overload
    def run(self, call: Callable[[], _T], *, missing_ok: Literal[False] = False) -> _T: ...
    @overload
    def run(self, call: Callable[[], _T], *, missing_ok: Literal[True]) -> _T | None: ...
    def run(self, call: Callable[[], _T], *, missing_ok: bool = False) -> _T | None:
        """``call()``, tried again while it raises a retryable :class:`~shipwheel.errors.TransferError` (its
        ``Retry-After`` honoured); ``None`` for a 404 when ``missing_ok``. The loop of every container call."""
        for attempt in self.attempts():
            try:
                return call()
            except TransferError as exc:
                if missing_ok and exc.status == 404:
                    return None
                if not exc.retryable:
                    raise
                attempt.failed(exc, retry_after=exc.retry_after)
        raise AssertionError("unreachable: the last attempt re-raises")


@dataclass(slots=True)
class Attempt:
    """One try of a :meth:`RetryPolicy.attempts` loop."""

    policy: RetryPolicy
    number: int
    did_fail: bool = False

    @property
    def last(self) -> bool:
        """Whether no retry follows this attempt."""
        return self.number > self.policy.retries

    def failed(self, exc: BaseException, *, retry_after: float | None = None) -> float:
        """Record a transient failure: re-raise ``exc`` on the last attempt, else sleep and return the delay."""
        if self.last:
            raise exc
        self.did_fail = True
        delay = self.policy.backoff(self.number)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.policy.cap))
        self.policy.sleep(delay)
        return delay


class _LockedRandom(random.Random):
    """A random generator safe to share between download threads."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def uniform(self, a: float, b: float) -> float:
        with self._lock:
            return super().uniform(a, b)


_RNG = _LockedRandom()
