"""What falls due at a time: keys (a payment to execute or expire, an approval to give)
each with the moment it is due, kept in the store so a restart finds them, with the
earliest known at once (an in-memory heap over them, rebuilt from the store).

    due = Due(store, "xs2a-waiting:dfspa")
    due.put("p-1", when)         # (again: the new time replaces the old)
    due.next()                   # the earliest time anything is due, or None
    for key in due.pop(now): …   # each key due by ``now``, once; handle it, then drop it
                                 # or put it again
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime

from tpsim.core.records import Records
from tpsim.core.store import Store


class Due:
    """Keys due at a time, in ``store`` under ``kind``."""

    def __init__(self, store: Store, kind: str) -> None:
        self._records: Records[tuple[str, datetime]] = Records(store, kind)
        self._heap = [(when, key) for key, when in self._kept()]
        heapq.heapify(self._heap)

    def put(self, key: str, when: datetime) -> None:
        self._records.put(key, (key, when))
        heapq.heappush(self._heap, (when, key))

    def get(self, key: str) -> datetime | None:
        found = self._records.get(key)
        return None if found is None else found[1]

    def drop(self, key: str) -> None:
        self._records.drop(key)

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def next(self) -> datetime | None:
        """The earliest time a key is due (entries replaced or dropped are skipped)."""
        while self._heap and not self._current(*self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop(self, now: datetime) -> list[str]:
        """The keys due by ``now``, each once (the caller drops it, or puts it again)."""
        found: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            if self._current(when, key):
                found.append(key)
        return found

    def _current(self, when: datetime, key: str) -> bool:
        return self.get(key) == when

    def _kept(self) -> Iterator[tuple[str, datetime]]:
        return iter(self._records)


def earliest(*dues: Due) -> datetime | None:
    """The earliest time anything in ``dues`` is due (a bank's ``next_due`` over its
    lists of what falls due), or None."""
    return min((when for when in (due.next() for due in dues) if when is not None), default=None)
