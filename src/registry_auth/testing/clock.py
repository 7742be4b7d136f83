"""A clock that moves only when a test says so.

:class:`FrozenClock` stands in for every clock registry-auth takes:

- as the wall clock of :class:`~registry_auth.TokenCache` and
  :class:`~registry_auth.EcrProvider` (``clock=``), it returns timezone-aware datetimes;
- as the monotonic clock and the sleep of :class:`~registry_auth.ContainerOrchestrator`
  (``clock=frozen.monotonic, sleep=frozen.sleep``), a sleep moves the clock forward at once
  and is recorded, so retry schedules are checked without waiting::

    clock = FrozenClock()
    cache = TokenCache(clock=clock)
    ...
    clock.advance(hours=7)          # past half of a 12-hour token's life: the next call refreshes
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Final

__all__ = ["DEFAULT_START", "FrozenClock"]

DEFAULT_START: Final = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
"""Where a :class:`FrozenClock` starts unless told otherwise: 2030-01-01T00:00:00Z."""


def _check_aware(value: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"FrozenClock takes a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(
            "FrozenClock takes timezone-aware datetimes (tzinfo=datetime.timezone.utc)"
        )
    return value


class FrozenClock:
    """A controllable clock: calling it returns the current (frozen) time.

    Args:
        start: the time it shows at first; timezone-aware. :data:`DEFAULT_START` by default.

    It is safe to read and move from several threads. Times before ``start`` are allowed
    (:meth:`set` may go back), so tests can also see what a clock set back does.
    """

    def __init__(self, start: dt.datetime = DEFAULT_START) -> None:
        self._start = _check_aware(start)
        self._now = self._start
        self._sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        """The current time, timezone-aware: what ``clock=`` arguments call."""
        with self._lock:
            return self._now

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        return self()

    def advance(
        self,
        delta: dt.timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> dt.datetime:
        """Move the clock forward by ``delta`` and/or the given units; return the new time.

        Raises:
            ValueError: the total is negative (use :meth:`set` to go back).
        """
        step = (delta or dt.timedelta()) + dt.timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if step < dt.timedelta():
            raise ValueError(f"FrozenClock.advance goes forward only, not by {step}")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: dt.datetime) -> None:
        """Show ``when`` from now on (timezone-aware; it may be earlier than now)."""
        checked = _check_aware(when)
        with self._lock:
            self._now = checked

    def monotonic(self) -> float:
        """Seconds since the start, for ``clock=`` arguments that take ``time.monotonic``.

        It follows the clock: only :meth:`set` to an earlier time makes it go back.
        """
        with self._lock:
            return (self._now - self._start).total_seconds()

    def sleep(self, seconds: float) -> None:
        """Record a sleep and move the clock forward by it, at once (for ``sleep=``)."""
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds})")
        with self._lock:
            self._sleeps.append(seconds)
            self._now += dt.timedelta(seconds=seconds)

    @property
    def sleeps(self) -> list[float]:
        """Every sleep asked of :meth:`sleep`, in seconds, oldest first (a copy)."""
        with self._lock:
            return list(self._sleeps)

    def __repr__(self) -> str:
        return f"FrozenClock({self().isoformat()})"
