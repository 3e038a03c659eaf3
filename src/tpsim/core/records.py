"""A dialect's own records in the state store, found by key or alias, dropped after retention.

The bank's records (accounts, postings, payment intents) have their own places in the
``Store``; what a dialect keeps beside them (a Mojaloop transaction's ids and bodies, a
consent request, a verification answered) is a ``Records`` of one ``kind``: the same store,
so an SQLite store holds them too.

A record is found by its key or by any alias given to it (a transaction by its request id,
its quote id, its transfer id…). Once the conversation it belongs to has ended, ``end``
says so and the record (with its aliases) is dropped ``retention`` later: long enough to
answer a late duplicate or a GET, not forever (a sandbox that runs for weeks must not grow
per payment). ``retention=None`` keeps ended records. With a ``clock``, what is due is
dropped whenever a record is kept or ended; without one, when the owner calls ``sweep``.
No timer is needed, and a quiet system costs nothing.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from tpsim.core.clock import Clock
    from tpsim.core.store import Store

R = TypeVar("R")


class Records(Generic[R]):
    """The records of one ``kind`` in ``store`` (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        kind: str,
        *,
        retention: timedelta | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store, self.kind, self.retention, self._clock = store, kind, retention, clock
        self._alias_kind = f"{kind}#alias"
        self._aliases: dict[str, list[str]] = {}  # key → its aliases, to drop them with it
        self._due: list[tuple[datetime, int, str]] = []  # a heap: ended records by due time
        self._order = itertools.count()

    def put(self, key: str, record: R) -> None:
        """Keep ``record`` under ``key`` (replacing the record kept there)."""
        if self._clock is not None:
            self.sweep(self._clock.now())
        self._store.put_record(self.kind, key, record)

    def get(self, key: str) -> R | None:
        """The record with this key, or None."""
        return cast("R | None", self._store.get_record(self.kind, key))

    def find(self, alias: str) -> R | None:
        """The record ``alias`` was given to (``alias``), or None."""
        key = self._store.get_record(self._alias_kind, alias)
        return None if key is None else self.get(cast(str, key))

    def alias(self, alias: str, key: str) -> None:
        """``alias`` finds the record ``key`` from now on (until it is dropped)."""
        self._store.put_record(self._alias_kind, alias, key)
        self._aliases.setdefault(key, []).append(alias)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[R]:
        return cast("Iterator[R]", iter(self._store.records(self.kind)))

    def __len__(self) -> int:
        return sum(1 for _ in self._store.records(self.kind))

    def end(self, key: str, *, at: datetime) -> None:
        """The record's conversation ended (or will end) at ``at``: drop it ``retention``
        later."""
        if self.retention is not None:
            heapq.heappush(self._due, (at + self.retention, next(self._order), key))
        if self._clock is not None:
            self.sweep(self._clock.now())

    def sweep(self, now: datetime) -> None:
        """Drop every record whose retention has passed at ``now``."""
        due = self._due
        while due and due[0][0] <= now:
            self.drop(heapq.heappop(due)[2])

    def pop(self, key: str) -> R | None:
        """The record ``key``, forgotten now (None when there is none)."""
        record = self.get(key)
        if record is not None:
            self.drop(key)
        return record

    def drop(self, key: str) -> None:
        """Forget the record ``key`` and its aliases now."""
        self._store.drop_record(self.kind, key)
        for alias in self._aliases.pop(key, ()):
            self._store.drop_record(self._alias_kind, alias)
