"""Knowing, from an in-process tpsim's own state, that nothing more can happen before a
deadline, so that a step waiting for "nothing else arrives" ends when that is decided
rather than when its deadline passes.

An in-process tpsim (``harness.InProcessTpsim``) records a journal entry only from work
it is doing: a background delivery of its router (an in-process hop, an HTTP callback in
flight to the built-in PISP) or a timer falling due on its clock (a role's expiry, a
rule's delayed message, a PSD2 execution date), which starts more such work. So once
every background delivery has finished (``Router.drain``) and no timer is due before the
deadline, its journal cannot change before the deadline unless someone outside sends it
something. The runner decides whether anyone outside can (``Session.alone``); this module
watches the rest:

- ``WatchedClock``: the scheme's clock (``SystemClock``), which also knows its soonest
  pending timer and counts the timers that fired, so a timer that fires while the router
  is being drained is never missed;
- ``Activity``: waits for the next journal entry, and for tpsim to fall quiet.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import datetime

from tpsim.core.clock import TimerHandle
from tpsim.journal import Journal, JournalEntry
from tpsim.serve.clock import SystemClock
from tpsim.serve.router import Router


class WatchedClock(SystemClock):
    """The wall clock (``SystemClock``), which also tells when its soonest pending timer is
    due (``next_due``) and how many timers have fired (``fired``)."""

    def __init__(self) -> None:
        super().__init__()
        self._due: dict[int, datetime] = {}  # pending timers by a number of their own
        self._numbers = itertools.count()
        self.fired = 0

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        number = next(self._numbers)

        def fire() -> None:
            self._due.pop(number, None)
            self.fired += 1
            callback()

        handle = super().call_at(when, fire)
        self._due[number] = when
        return _Watched(handle, lambda: self._due.pop(number, None))

    def next_due(self) -> datetime | None:
        """When the soonest pending timer falls due (on this clock), or None."""
        return min(self._due.values(), default=None)


class _Watched:
    """A timer's handle that also tells its clock it will not fire."""

    def __init__(self, handle: TimerHandle, forget: Callable[[], object]) -> None:
        self._handle, self._forget = handle, forget

    def cancel(self) -> None:
        self._handle.cancel()
        self._forget()


class Activity:
    """What an in-process tpsim is doing: its journal's news, its router's background
    deliveries and its clock's timers (module docstring)."""

    def __init__(self, journal: Journal, router: Router, clock: WatchedClock) -> None:
        self._router, self._clock = router, clock
        self._recorded = 0  # entries recorded since this started watching
        self._news = asyncio.Event()
        self._draining: asyncio.Future[None] | None = None
        self.close = journal.subscribe(self._on_entry)

    @property
    def recorded(self) -> int:
        """How many journal entries have been recorded so far (a mark for ``news``)."""
        return self._recorded

    def _on_entry(self, entry: JournalEntry) -> None:
        self._recorded += 1
        self._news.set()

    async def news(self, mark: int, deadline: float) -> bool:
        """Wait until an entry is recorded after ``mark`` (a ``recorded`` value): True, or
        the loop time ``deadline`` passes first: False."""
        while self._recorded == mark:
            self._news.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._news.wait()
            except TimeoutError:
                return self._recorded != mark
        return True

    async def quiet(self, deadline: float) -> bool:
        """Wait until nothing this tpsim does can record anything before the loop time
        ``deadline``: its background deliveries all finished and no timer due before the
        deadline (True); False when the deadline comes first. A timer due before the
        deadline is waited for, and what it starts drained in turn."""
        loop = asyncio.get_running_loop()
        while True:
            fired = self._clock.fired
            if not await self._drained(deadline):
                return False
            if self._clock.fired != fired:
                continue  # a timer fired while draining: what it started may be running
            due = self._clock.next_due()
            if due is None:
                return True
            at = loop.time() + (due - self._clock.now()).total_seconds()
            if at > deadline:
                return True
            # Due before the deadline: let it fire (a timer late by a millisecond is
            # still not missed: ``fired`` changes, and the loop drains again).
            await asyncio.sleep(max(at - loop.time(), 0.001))
            if loop.time() >= deadline and self._clock.fired == fired:
                return False

    async def _drained(self, deadline: float) -> bool:
        """Whether the router's background deliveries all finish before ``deadline``.
        One drain runs at a time and is never cancelled (``Router.drain`` takes the tasks
        it awaits out of the router's set): ``settled`` awaits it."""
        if self._draining is None or self._draining.done():
            self._draining = asyncio.ensure_future(self._router.drain())
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.shield(self._draining)
        except TimeoutError:
            return False
        return True

    async def settled(self) -> None:
        """Every background delivery finished, the ones a ``quiet`` left draining too."""
        if self._draining is not None:
            await self._draining
        await self._router.drain()
