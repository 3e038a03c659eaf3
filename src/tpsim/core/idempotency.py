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

A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Repeat(Generic[A]):
    """The request was seen before with the same fingerprint; ``answer`` is what to give
    again (None while the first one is still being handled)."""

    answer: A | None


@dataclass(slots=True)
class _Entry(Generic[A]):
    fingerprint: object
    answer: A | None
    expires_at: datetime | None


class Idempotency(Generic[A]):
    """Requests by (scope, key): their fingerprint and the answer given to them."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry[A]] = {}

    def check(
        self,
        key: str,
        fingerprint: object,
        *,
        scope: str = "",
        now: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Repeat[A] | None:
        """None for a request not seen before (remembered from now on, until ``expires_at``);
        a ``Repeat`` for the same request again; ``KeyReused`` when ``key`` was used with
        another fingerprint. An entry past its expiry (at ``now``) is forgotten."""
        entry = self._entries.get((scope, key))
        if entry is not None and _expired(entry, now):
            entry = None
        if entry is None:
            self._entries[(scope, key)] = _Entry(fingerprint, None, expires_at)
            return None
        if entry.fingerprint != fingerprint:
            raise KeyReused(key)
        return Repeat(entry.answer)

    def answer(self, key: str, answer: A, *, scope: str = "") -> None:
        """Remember ``answer`` as what a repeat of ``key`` gets (replacing an earlier one)."""
        entry = self._entries.get((scope, key))
        if entry is not None:
            entry.answer = answer

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _expired(entry: _Entry[A], now: datetime | None) -> bool:
    return entry.expires_at is not None and now is not None and entry.expires_at <= now
