"""The wall clock: real time, timers on the running asyncio loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from tpsim.core.clock import TimerHandle


class SystemClock:
    """Wall-clock time; timers run on the running asyncio loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        delay = max(0.0, (when - self.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, callback)
