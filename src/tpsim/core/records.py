"""A dialect's own records in the state store, found by key or alias, dropped after retention.

The bank's records (accounts, postings, payment intents) have their own places in the
``Store``; what a dialect keeps beside them (a Mojaloop transaction's ids and bodies, a
consent request, a verification answered) is a ``Records`` of one ``kind``: the same store,
so an SQLite store holds them too.

A record is found by its key or by any alias given to it (a transaction by its request id,
its quote id, its transfer id…). Once the conversation it belongs to has ended, ``end``
says so and the record (with its aliases) is dropped ``retention`` later: long enough to
answer a late duplicate or a GET, not forever (a sandbox that runs for weeks must not grow
per payment); and when more than ``max_ended`` records wait to be dropped (ended, or with
their end ahead, such as an open quote's expiry), the soonest due that have ended go first,
so a burst faster than the retention cannot grow memory either (a live record stays).
``retention=None`` keeps ended records. With a ``clock``, what is due is
dropped whenever a record is kept or ended; without one, when the owner calls ``sweep``.
No timer is needed, and a quiet system costs nothing.

Everything ``Records`` knows lives in the store, so a ``Records`` made over a store that
outlived a restart (``core.sqlite_store``) carries on where the last one stopped:

    kind            key     record
    {kind}          key     the record
    {kind}#alias    alias   (key, alias): the record it finds (and, read back, what to drop
                            with the record)
    {kind}#due      key     (due, key): when the ended record is dropped (the heap of what
                            is due is rebuilt from these)

Both are plain tuples: the cheapest values to write.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

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
        max_ended: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store, self.kind, self.retention, self._clock = store, kind, retention, clock
        self.max_ended = max_ended
        self._alias_kind = f"{kind}#alias"
        self._due_kind = f"{kind}#due"
        self._aliases: dict[str, list[str]] = {}  # key → its aliases, to drop them with it
        for key, alias in cast("Iterator[tuple[str, str]]", iter(store.records(self._alias_kind))):
            self._aliases.setdefault(key, []).append(alias)
        self._order = itertools.count()
        # A heap: ended records by due time.
        self._due: list[tuple[datetime, int, str]] = [
            (due, next(self._order), key)
            for due, key in cast(
                "Iterator[tuple[datetime, str]]", iter(store.records(self._due_kind))
            )
        ]
        heapq.heapify(self._due)
        self._ended = len(self._due)  # records with a due time (the heap may hold stale ones)

    def put(self, key: str, record: R) -> None:
        """Keep ``record`` under ``key`` (replacing the record kept there)."""
        if self._clock is not None:
            self.sweep(self._clock.now())
        self._store.put_record(self.kind, key, record)

    def get(self, key: str) -> R | None:
        """The record with this key, or None."""
        return cast("R | None", self._store.get_record(self.kind, key))

    def peek(self, key: str) -> R | None:
        """The record with this key, to read only (``Store.peek_record``), or None."""
        return cast("R | None", self._store.peek_record(self.kind, key))

    def __getitem__(self, key: str) -> R:
        """The record with this key, or ``KeyError``."""
        record = self.get(key)
        if record is None:
            raise KeyError(key)
        return record

    def find(self, alias: str) -> R | None:
        """The record ``alias`` was given to (``alias``), or None."""
        found = self._store.get_record(self._alias_kind, alias)
        return None if found is None else self.get(cast("tuple[str, str]", found)[0])

    def alias(self, alias: str, key: str) -> None:
        """``alias`` finds the record ``key`` from now on (until it is dropped), and no
        longer the record it found before."""
        before = self._store.get_record(self._alias_kind, alias)
        if before is not None:
            previous = cast("tuple[str, str]", before)[0]
            if previous != key and alias in self._aliases.get(previous, ()):
                self._aliases[previous].remove(alias)
        self._store.put_record(self._alias_kind, alias, (key, alias))
        self._aliases.setdefault(key, []).append(alias)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[R]:
        return cast("Iterator[R]", iter(self._store.records(self.kind)))

    def __len__(self) -> int:
        return sum(1 for _ in self._store.records(self.kind))

    def end(self, key: str, *, at: datetime) -> None:
        """The record's conversation ended at ``at``, or will end then (an expiry ahead):
        drop it ``retention`` later. The last call decides: a wait re-armed moves the time
        (a consent request approved gets its secret's expiry), the final ending replaces
        an expiry."""
        if self.retention is not None:
            due = at + self.retention
            if self._due_at(key) is None:
                self._ended += 1
            self._store.put_record(self._due_kind, key, (due, key))
            heapq.heappush(self._due, (due, next(self._order), key))
        now = None if self._clock is None else self._clock.now()
        if now is not None:
            self.sweep(now)
        if self.max_ended is not None:
            self._trim(self.max_ended, now)

    def sweep(self, now: datetime) -> None:
        """Drop every record whose retention has passed at ``now``."""
        heap = self._due
        while heap and heap[0][0] <= now:
            key = heapq.heappop(heap)[2]
            due = self._due_at(key)
            # A record dropped (and perhaps kept again) since it ended is not due any more.
            if due is not None and due <= now:
                self.drop(key)

    def next_due(self) -> datetime | None:
        """When ``sweep`` next has a record to drop (records dropped or ended again since
        are skipped), or None."""
        heap = self._due
        while heap and self._due_at(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _trim(self, most: int, now: datetime | None) -> None:
        """Drop the soonest-due records that have ended until at most ``most`` are kept;
        one whose end is still ahead at ``now`` (an open quote's expiry) is live and
        stays. Ended records are due before live ones, so the heap's order serves both."""
        heap = self._due
        horizon = None if now is None or self.retention is None else now + self.retention
        while self._ended > most and heap:
            when, _, key = heap[0]
            if self._due_at(key) != when:  # stale: dropped, or ended again since
                heapq.heappop(heap)
                continue
            if horizon is not None and when > horizon:
                break
            heapq.heappop(heap)
            self.drop(key)

    def pop(self, key: str) -> R | None:
        """The record ``key``, forgotten now (None when there is none)."""
        record = self.get(key)
        if record is not None:
            self.drop(key)
        return record

    def drop(self, key: str) -> None:
        """Forget the record ``key`` and its aliases now."""
        self._store.drop_record(self.kind, key)
        if self._due_at(key) is not None:
            self._store.drop_record(self._due_kind, key)
            self._ended -= 1
        for alias in self._aliases.pop(key, ()):
            found = self._store.get_record(self._alias_kind, alias)
            if found is not None and cast("tuple[str, str]", found)[0] == key:
                self._store.drop_record(self._alias_kind, alias)

    def _due_at(self, key: str) -> datetime | None:
        found = self._store.get_record(self._due_kind, key)
        return None if found is None else cast("tuple[datetime, str]", found)[0]


D = TypeVar("D")


def evolvable(cls: type[D]) -> type[D]:
    """A slots dataclass kept in a state file, which a later tpsim may give new fields: it
    is kept as ``{field: value}``, and one written by an earlier tpsim (a dict, or the list
    of values a slots dataclass pickles by default) reads back with the fields it lacks at
    their defaults, instead of leaving them unset (an ``AttributeError`` on first use)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]

    def getstate(self: Any) -> dict[str, Any]:
        return {name: getattr(self, name) for name in names}

    def setstate(self: Any, state: dict[str, Any] | list[Any]) -> None:
        given = state if isinstance(state, dict) else dict(zip(names, state, strict=False))
        for f in fields:
            value = given[f.name] if f.name in given else _default(cls, f)
            object.__setattr__(self, f.name, value)

    setattr(cls, "__getstate__", getstate)  # noqa: B010 - replacing dataclass's own
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    return cls


def _default(cls: type, f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"{cls.__name__}: the state file has no {f.name!r}, which has no default")
