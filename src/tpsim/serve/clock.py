"""The wall clock: real time, moved forward at run time, timers on the running asyncio loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tpsim.core.clock import TimerHandle

# The latest time a clock may be moved to: a thousand years short of ``datetime.max``, so
# that an expiry or a schedule set from it (config durations are at most ten years) can
# still be computed, and ``now()`` itself never overflows however often it is advanced.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class SystemClock:
    """Wall-clock time plus whatever ``advance`` added (``POST /admin/clock/advance``).

    Timers run on the running asyncio loop. Advancing re-arms every pending timer against
    the new time, so expiries, timeouts and future-dated work that fall due fire at once,
    earliest first, instead of at the wall-clock moment they were set for.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._pending: set[_Timer] = set()

    def now(self) -> datetime:
        now = datetime.now(UTC)
        return now + self._offset if self._offset else now

    @property
    def offset_s(self) -> float:
        """How far ahead of the wall clock this clock is, in seconds."""
        return self._offset.total_seconds()

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        timer = _Timer(self, when, callback)
        timer.arm()
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never back, never past ``LATEST``)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        if seconds > (LATEST - self.now()).total_seconds():
            raise ValueError(f"the clock cannot move past {LATEST.isoformat()}")
        self._offset += timedelta(seconds=seconds)
        for timer in sorted(self._pending, key=lambda t: t.when):
            timer.arm()


class _Timer:
    """One callback due at ``when`` on ``clock``; re-armed whenever the clock is advanced."""

    def __init__(self, clock: SystemClock, when: datetime, callback: Callable[[], None]) -> None:
        self.clock, self.when, self.callback = clock, when, callback
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        delay = max(0.0, (self.when - self.clock.now()).total_seconds())
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)
        self.clock._pending.add(self)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self.clock._pending.discard(self)

    def _fire(self) -> None:
        self.clock._pending.discard(self)
        self.callback()
