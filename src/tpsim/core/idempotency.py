"""Requests seen before: the same request again gets the same answer, a changed one is refused.

One store serves every dialect's rule: FSPIOP §3.2.5 duplicates (keyed by the resource id
the client chose; the same body again is answered with the last callback, or ignored while
the first is in flight; another body is a 3106), and UK Open Banking's
``x-idempotency-key`` (keyed per TPP, remembered for 24 hours). The dialect chooses the
key, the scope and what makes two requests "the same" (its ``fingerprint``: the body, a
digest of it, the sender…); the store only remembers and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from tpsim.core.errors import KeyReused
from tpsim.core.records import Records
from tpsim.core.store import MemoryStore
from tpsim.core.values import evolve

A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Repeat(Generic[A]):
    """The request was seen before with the same fingerprint; ``answer`` is what to give
    again (None while the first one is still being handled)."""

    answer: A | None


@dataclass(frozen=True, slots=True)
class Entry(Generic[A]):
    """What is remembered of a request: what makes it "the same", and the answer given."""

    fingerprint: object
    answer: A | None = None


class Idempotency(Generic[A]):
    """Requests by (scope, key), as ``records`` (by default in a store of their own): each
    forgotten the records' retention after it ended (``answer(…, at=)`` or ``end``)."""

    def __init__(self, records: Records[Entry[A]] | None = None) -> None:
        self._entries = records if records is not None else Records(MemoryStore(), "seen")

    def check(
        self, key: str, fingerprint: object, *, scope: str = "", now: datetime | None = None
    ) -> Repeat[A] | None:
        """None for a request not seen before (remembered from now on); a ``Repeat`` for
        the same request again; ``KeyReused`` when ``key`` was used with another
        fingerprint. Requests whose retention has passed at ``now`` are forgotten first."""
        if now is not None:
            self._entries.sweep(now)
        name = _name(scope, key)
        entry = self._entries.get(name)
        if entry is None:
            self._entries.put(name, Entry(fingerprint))
            return None
        if entry.fingerprint != fingerprint:
            raise KeyReused(key)
        return Repeat(entry.answer)

    def answer(self, key: str, answer: A, *, scope: str = "", at: datetime | None = None) -> None:
        """Remember ``answer`` as what a repeat of ``key`` gets (replacing an earlier one);
        with ``at``, the request ended then (see ``end``)."""
        name = _name(scope, key)
        entry = self._entries.get(name)
        if entry is None:
            return
        self._entries.put(name, evolve(entry, answer=answer))
        if at is not None:
            self._entries.end(name, at=at)

    def answered(self, key: str, *, scope: str = "") -> A | None:
        """The answer remembered for ``key`` (None: not seen, or not answered yet)."""
        entry = self._entries.get(_name(scope, key))
        return None if entry is None else entry.answer

    def forget(self, key: str, *, scope: str = "") -> None:
        """Forget ``key``: the request it came with was refused, so it may come again."""
        self._entries.drop(_name(scope, key))

    def end(self, key: str, *, scope: str = "", at: datetime) -> None:
        """Count the key's retention from ``at`` (its final answer, or, for a fixed window
        such as UK Open Banking's 24 hours, when it was first seen)."""
        self._entries.end(_name(scope, key), at=at)

    def __len__(self) -> int:
        return len(self._entries)


def _name(scope: str, key: str) -> str:
    return f"{scope}\x1f{key}"
