"""The journal: every hop a message makes through tpsim, in any dialect, bounded and queryable.

Scenario assertions, reports and the admin API read it. Entries are kept in a ring of
``max_entries`` (the oldest drop off); an optional JSONL sink keeps everything on disk.

Each entry is protocol-neutral: the ``dialect`` that spoke, its ``conversation``, the
``hop`` and its ``direction`` relative to tpsim, ``method`` and ``path`` (and, for a browser
sent elsewhere, the ``redirect`` URL), ``status``, ``headers`` and ``body``. The fields
entries had before dialects (``seq, at, hop, method, path, source, destination, headers,
body, correlation_ids, status, duration_ms, error``) keep their names and meaning.

Conversations: ids that appear together in one message are linked, so a query by any id of
a conversation finds all of it (a transfer's quote, authorization and verification by its
transactionRequestId). Which ids a message carries is the dialect's knowledge: each dialect
registers a reader for its message type (``register_dialect``), or a caller passes the ids
(``record(…, reading=Reading(…))``). The ``conversation`` of an entry is the oldest id of
its linked ids when it was recorded (a later message linking two conversations does not
rename entries already written).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol


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


class Reading(NamedTuple):
    """What a dialect reads of one of its messages that the journal cannot.

    ``links``: ids tying the message to conversations (ids seen together are linked);
    ``tags``: ids that find the message but link nothing (a consent outlives every
    conversation it pays in); ``redirect``: the URL a user's browser is sent to. (A named
    tuple: one is made for every hop, and it is cheaper to make than a frozen dataclass.)
    """

    links: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    redirect: str | None = None


Reader = Callable[[Exchange], Reading]


@dataclass(frozen=True, slots=True)
class JournalDialect:
    """A dialect as the journal knows it: its name, and how to read its messages' ids."""

    name: str
    read: Reader


# Message type → its dialect; filled by each dialect when its message type is defined.
_DIALECTS: dict[type, JournalDialect] = {}
_UNKNOWN = JournalDialect("", lambda message: Reading())


def register_dialect(kind: type, name: str, read: Reader) -> None:
    """Journal messages of type ``kind`` (or a subclass) as dialect ``name``, their ids and
    redirect read by ``read``. Registering a type again replaces its reader."""
    _DIALECTS[kind] = JournalDialect(name, read)


def dialect_of(message: object) -> JournalDialect | None:
    """The dialect registered for ``message``'s type (or a base of it), if any."""
    found = _DIALECTS.get(type(message))
    if found is not None:
        return found
    return next((_DIALECTS[k] for k in type(message).__mro__ if k in _DIALECTS), None)


class Hop(StrEnum):
    RECEIVED = "received"  # arrived at the HTTP edge
    DELIVERED = "delivered"  # handed to a simulated participant in-process
    SENT = "sent"  # sent over HTTP to an external participant
    DROPPED = "dropped"  # could not be delivered and no error callback applies
    OUT_OF_BAND = "out-of-band"  # told to a simulated user outside the API (an OTP by SMS)


class Direction(StrEnum):
    IN = "in"  # reached tpsim from outside
    OUT = "out"  # left tpsim: over HTTP, to a user, a browser redirect
    INTERNAL = "internal"  # between parties tpsim plays, or stopped inside tpsim


_DIRECTION = {
    Hop.RECEIVED: Direction.IN,
    Hop.DELIVERED: Direction.INTERNAL,
    Hop.SENT: Direction.OUT,
    Hop.DROPPED: Direction.INTERNAL,
    Hop.OUT_OF_BAND: Direction.OUT,
}


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
    dialect: str | None = None
    conversation: str | None = None
    direction: Direction = Direction.INTERNAL
    redirect: str | None = None
    linked: list[str] = field(default_factory=list, repr=False)  # ids this hop links

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["linked"]
        return data


def correlation_ids(
    path_id: str | None, reading: Reading, related: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """(all ids tying a message to conversations, the subset that links them together):
    the path id first, then the ids the sender named, then those the dialect read."""
    linking: list[str] = [path_id] if path_id else []
    for i in (*related, *reading.links):
        if i not in linking:
            linking.append(i)
    tags: list[str] = []
    for i in reading.tags:
        if i not in linking and i not in tags:
            tags.append(i)
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
        self._born: dict[str, int] = {}  # seq an id was first linked at: the oldest names

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
        dialect: str | None = None,
        direction: Direction | None = None,
        reading: Reading | None = None,
    ) -> JournalEntry:
        """Append one hop and return it.

        ``dialect`` and ``reading`` default to what the dialect registered for the
        message's type; ``direction`` to the hop's (received: in; sent and out-of-band:
        out; delivered and dropped: internal).
        """
        known = dialect_of(message) or _UNKNOWN
        if reading is None:
            reading = known.read(message)
        ids, linking = correlation_ids(path_id, reading, message.related)
        seq = next(self._seq)
        conversation = self._link(linking, seq) or (ids[0] if ids else None)
        entry = JournalEntry(
            seq=seq,
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
            dialect=dialect or known.name or None,
            conversation=conversation,
            direction=direction or _DIRECTION[hop],
            redirect=reading.redirect,
        )
        self._entries.append(entry)
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
        self._born.clear()

    def _find(self, key: str) -> str:
        parent = self._parent.get(key, key)
        while parent != key:
            grandparent = self._parent.get(parent, parent)
            self._parent[key] = grandparent
            key, parent = parent, grandparent
        return key

    def _link(self, ids: list[str], seq: int) -> str | None:
        """Link ``ids`` into one conversation and return its name."""
        if len(self._born) > 8 * (self._entries.maxlen or 10_000):
            self._relink()  # forget links of entries that have left the ring
        return self._union(ids, seq)

    def _union(self, ids: list[str], seq: int) -> str | None:
        """Merge the conversations of ``ids``; the oldest root (first linked, then first
        named) stays the root, so a conversation keeps the name it started with."""
        if not ids:
            return None
        born = self._born
        for i in ids:
            if i not in born:
                born[i] = seq
        root = self._find(ids[0])
        for other in ids[1:]:
            other_root = self._find(other)
            if other_root == root:
                continue
            if born[other_root] < born[root]:
                root, other_root = other_root, root
            self._parent[other_root] = root
        return root

    def _relink(self) -> None:
        self._parent.clear()
        self._born.clear()
        for entry in self._entries:
            self._union(entry.linked, entry.seq)

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __len__(self) -> int:
        return len(self._entries)
