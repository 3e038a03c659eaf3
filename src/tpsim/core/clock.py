"""Time and identifiers, injected so that roles stay deterministic under test.

Roles only ever ask ``clock.now()`` and ``ids.new_id()``. Timers are requested by roles as
data (``Effects.timers``) and scheduled by the server through ``Clock.call_at``, so a test
with a ``ManualClock`` fires an expiry by calling ``advance`` instead of sleeping. The
wall clock, whose timers run on the asyncio loop, is ``serve.clock.SystemClock``.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Current UTC time plus a way to run a callback at a given time."""

    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle: ...

    def advance(self, seconds: float) -> None:
        """Move time forward (the admin API's ``POST /admin/clock/advance``); timers that
        fall due run."""
        ...


@dataclass(order=True)
class _Scheduled:
    when: datetime
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to; ``advance`` runs the timers that fall due."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._queue: list[_Scheduled] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        item = _Scheduled(when, next(self._seq), callback)
        heapq.heappush(self._queue, item)
        return item

    def advance(self, seconds: float) -> None:
        """Move time forward, running every timer due by the new time in order."""
        target = self._now + timedelta(seconds=seconds)
        while self._queue and self._queue[0].when <= target:
            item = heapq.heappop(self._queue)
            self._now = max(self._now, item.when)
            if not item.cancelled:
                item.callback()
        self._now = target


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class UuidIds:
    """Random lower-case UUIDv4s, valid ``CorrelationId`` values: ``str(uuid.uuid4())``'s,
    their bytes from the operating system's random source, read a few hundred ids at a
    time (``_random``) where ``uuid4`` makes a system call for each."""

    def new_id(self) -> str:
        raw = _random.take(16)
        raw[6] = raw[6] & 0x0F | 0x40  # version 4
        raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _RandomBytes:
    """``os.urandom``'s bytes, read ``chunk`` at a time and each handed out once (to one
    thread); a process forked from this one reads its own."""

    def __init__(self, chunk: int) -> None:
        self._chunk = chunk
        self._data = b""
        self._at = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bytearray:
        with self._lock:
            at = self._at
            if at + n > len(self._data):
                self._data, at = os.urandom(max(n, self._chunk)), 0
            self._at = at + n
            return bytearray(self._data[at : at + n])

    def forget(self) -> None:
        self._data, self._at = b"", 0


_random = _RandomBytes(4096)
os.register_at_fork(after_in_child=_random.forget)


class SequentialIds:
    """Deterministic, schema-valid UUIDv4-shaped ids for tests.

    ``00000000-0000-4000-8000-000000000001``, ``…-000000000002`` and so on.
    """

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._counter):012x}"
