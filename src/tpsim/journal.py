"""The journal: every hop a message makes through the switch, bounded and queryable.

Scenario assertions, reports and the admin API read it. Entries are kept in a ring of
``max_entries`` (the oldest drop off) with a per-correlation-id index; an optional JSONL
sink keeps everything on disk.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol


class Exchange(Protocol):
    """What the journal records of one hop, in any dialect (a Mojaloop ``Message`` is one)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> dict[str, Any] | None: ...
    @property
    def related(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> str | None: ...


# Body fields that tie a message to a conversation; ids that appear together in one message
# are linked, so that a query by transactionRequestId also finds the quote, the
# authorization, the verification and the transfer of that transaction.
_LINKING_FIELDS = (
    "transactionRequestId",
    "authorizationRequestId",
    "verificationRequestId",
    "transactionId",
    "quoteId",
    "transferId",
    "consentRequestId",
)
# A consent outlives its conversations: messages are found by their consentId, but a
# consentId never links the conversations it appears in (every transfer of a consent).
_TAGGING_FIELDS = ("consentId",)


class Hop(StrEnum):
    RECEIVED = "received"  # arrived at the HTTP edge
    DELIVERED = "delivered"  # handed to a simulated participant in-process
    SENT = "sent"  # sent over HTTP to an external participant
    DROPPED = "dropped"  # could not be delivered and no error callback applies
    OUT_OF_BAND = "out-of-band"  # told to a simulated user outside the API (an OTP by SMS)


@dataclass(slots=True)
class JournalEntry:
    seq: int
    at: str
    hop: Hop
    method: str
    path: str
    source: str
    destination: str | None
    headers: dict[str, str]
    body: dict[str, Any] | None
    correlation_ids: list[str]
    status: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    linked: list[str] = field(default_factory=list, repr=False)  # ids this hop links

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["linked"]
        return data


def correlation_ids(
    path_id: str | None, body: Mapping[str, Any] | None, related: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """(all ids tying a message to conversations, the subset that links them together)."""
    linking: list[str] = [path_id] if path_id else []
    linking.extend(i for i in related if i not in linking)
    tags: list[str] = []
    for names, into in ((_LINKING_FIELDS, linking), (_TAGGING_FIELDS, tags)):
        for name in names:
            value = (body or {}).get(name)
            if isinstance(value, str) and value not in linking and value not in tags:
                into.append(value)
    return linking + tags, linking


class Journal:
    """Bounded in-memory record of hops, with an optional JSONL file sink."""

    def __init__(self, max_entries: int = 10_000, sink: Path | None = None) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max_entries)
        self._seq = itertools.count(1)
        self._sink: IO[str] | None = None
        if sink is not None:
            self._sink = sink.open("a", encoding="utf-8")
        self._parent: dict[str, str] = {}  # union-find over linked correlation ids

    def record(
        self,
        hop: Hop,
        message: Exchange,
        *,
        at: datetime,
        path_id: str | None = None,
        status: int | None = None,
        duration_ms: float | None = None,
        error: str | None = None,
    ) -> JournalEntry:
        """Append one hop and return it."""
        ids, linking = correlation_ids(path_id, message.body, message.related)
        entry = JournalEntry(
            seq=next(self._seq),
            at=at.isoformat(timespec="milliseconds"),
            hop=hop,
            method=message.method,
            path=message.path,
            source=message.source,
            destination=message.destination,
            headers=dict(message.headers),
            body=message.body,
            correlation_ids=ids,
            linked=linking,
            status=status,
            duration_ms=None if duration_ms is None else round(duration_ms, 3),
            error=error,
        )
        self._entries.append(entry)
        self._link(linking)
        if self._sink is not None:
            self._sink.write(json.dumps(entry.to_json(), separators=(",", ":")) + "\n")
            self._sink.flush()
        return entry

    def entries(
        self,
        *,
        correlation_id: str | None = None,
        since: int = 0,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Entries with ``seq > since``, optionally only those tied to ``correlation_id``."""
        selected: Iterable[JournalEntry] = (e for e in self._entries if e.seq > since)
        if correlation_id is not None:
            root = self._find(correlation_id)
            selected = (
                e for e in selected if any(self._find(i) == root for i in e.correlation_ids)
            )
        result = list(selected)
        return result if limit is None else result[-limit:]

    def clear(self) -> None:
        self._entries.clear()
        self._parent.clear()

    def _find(self, key: str) -> str:
        parent = self._parent.get(key, key)
        while parent != key:
            grandparent = self._parent.get(parent, parent)
            self._parent[key] = grandparent
            key, parent = parent, grandparent
        return key

    def _link(self, ids: list[str]) -> None:
        if len(self._parent) > 8 * (self._entries.maxlen or 10_000):
            self._relink()  # forget links of entries that have left the ring
        if len(ids) < 2:
            return
        root = self._find(ids[0])
        for other in ids[1:]:
            other_root = self._find(other)
            if other_root != root:
                self._parent[other_root] = root

    def _relink(self) -> None:
        self._parent.clear()
        for entry in self._entries:
            if len(entry.linked) > 1:
                self._link(entry.linked)

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __len__(self) -> int:
        return len(self._entries)
