"""The journal: every hop a message makes through tpsim, in any dialect, bounded and queryable.

Scenario assertions, reports and the admin API read it. The ring keeps at most
``max_entries`` entries and ``max_bytes`` (the oldest drop off). An entry counts its JSONL
line's length when a sink writes one, else a fixed part plus its body's size as it arrived
(the bytes the edge read, or its ``Content-Length``: nothing is walked per entry); a body
tpsim built counts a fixed size, its wire models bounding every field, unless the caller
gives the bytes it is sent as (a PSD2 answer, whose lists no fixed size bounds). What any client
sends is bounded too: a refused request keeps its body up to ``REFUSED_BODY_BYTES``, an
accepted one up to ``max_body_bytes``; past that the entry has ``body: null``,
``body_truncated``, ``body_bytes`` (the whole size) and its first ``EXCERPT_BYTES`` as text
in ``body_excerpt``. A message forwarded with the body it arrived with shares its fate.

The optional JSONL sink is written by a background thread, so a slow or full disk neither
blocks the event loop nor fails a request: lines wait in a queue bounded in bytes (past it
they are dropped and counted, with one warning); the first error writing the file
(``ENOSPC``…) is logged once with its path, and hops then stay in memory only.

Each entry is protocol-neutral: the ``dialect`` that spoke, its ``conversation``, the
``hop`` and its ``direction`` relative to tpsim, ``method`` and ``path`` (and, for a browser
sent elsewhere, the ``redirect`` URL), ``status``, ``headers`` and ``body``. The fields
entries had before dialects (``seq, at, hop, method, path, source, destination, headers,
body, correlation_ids, status, duration_ms, error``) keep their names and meaning.

Conversations: ids that appear together in one message are linked, so a query by any id of
a conversation finds all of it (a transfer's quote, authorization and verification by its
transactionRequestId). Which ids a message carries is the dialect's knowledge: each dialect
registers a reader for its message type (``register_dialect``), or a caller passes the ids
(``record(…, reading=Reading(…))``); a reader may read some as tags, which find a message
but link nothing (an id that outlives its conversations: a consent, an account), the path
id too (``Reading.path_id_tags``). The ``conversation`` of an entry is the oldest id of
its linked ids when it was recorded (a later message linking two conversations does not
rename entries already written).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from tpsim.journal_body import EXCERPT_BYTES as EXCERPT_BYTES  # the tests read it here
from tpsim.journal_body import Kept, arrived_size, cut, kept_headers
from tpsim.journal_links import Conversations, Reading, correlation_ids
from tpsim.journal_sink import open_sink

log = logging.getLogger("tpsim.journal")

MAX_BYTES = 64 * 1024 * 1024  # the ring's default bound in bytes
MAX_BODY_BYTES = 1024 * 1024  # the default largest accepted body an entry keeps whole
REFUSED_BODY_BYTES = 4096  # the largest body a refused request keeps whole
SINK_QUEUE_BYTES = 16 * 1024 * 1024  # JSONL lines waiting for the writer thread, at most
_ENTRY_BYTES = 1024  # an entry beside its body: fields, ids, headers
_BUILT_BODY_BYTES = 1024  # a body tpsim built (small by construction) or as small
_IN_FLIGHT = 1024  # received bodies remembered until the hop that forwards them


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


Reader = Callable[[Exchange], Reading]
Subscriber = Callable[["JournalEntry"], None]  # told of each entry as it is recorded


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


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One request or answer of a bilateral HTTP dialect (the PSD2 dialects), as the journal
    records it (an ``Exchange``): ``related`` are the ids of the resources it is about (a
    payment, an authorisation, a consent), ``redirect`` where a user's browser was sent.
    The dialect is named when it is recorded (``record(…, dialect=)``)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any] | None
    source: str
    destination: str | None
    related: tuple[str, ...] = ()
    redirect: str | None = None


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
    moment: datetime  # when: ``at`` as written, formatted when read
    hop: Hop
    method: str
    path: str
    source: str
    destination: str | None
    headers: Mapping[str, str]  # read-only: a message's own, else a copy (``kept_headers``)
    body: dict[str, Any] | None
    correlation_ids: list[str]
    status: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    dialect: str | None = None
    conversation: str | None = None
    direction: Direction = Direction.INTERNAL
    redirect: str | None = None
    rule: str | None = None  # the rule (config ``rules:``) that changed what happened
    # A body not kept whole (too big, or not a JSON object): its size and first bytes.
    body_bytes: int | None = None
    body_truncated: bool = False
    body_excerpt: str | None = None
    linked: list[str] = field(default_factory=list, repr=False)  # ids this hop links
    size: int = field(default=0, repr=False)  # bytes counted against the ring's bound

    @property
    def at(self) -> str:
        """When the hop was recorded, ISO 8601 to the millisecond."""
        return self.moment.isoformat(timespec="milliseconds")

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON values, ``seq`` and ``at`` first (a deep copy: the caller's)."""
        return copy.deepcopy(self._fields())

    def json_text(self, *, compact: bool = False) -> str:
        """The entry as JSON text: ``to_json`` dumped, without its deep copy (nothing can
        change the values between taking and dumping them); ``compact``, without spaces
        (one JSONL line, one Server-Sent Event)."""
        separators = (",", ":") if compact else None
        return json.dumps(self._fields(), separators=separators)

    def _line(self) -> str:
        """The JSONL line."""
        return self.json_text(compact=True) + "\n"

    def _fields(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in _JSON_FIELDS}
        fields["headers"] = dict(self.headers)
        return fields


_JSON_FIELDS = (
    "seq",
    "at",
    *(f.name for f in fields(JournalEntry) if f.repr and f.name not in ("seq", "moment")),
)


class Journal:
    """Bounded in-memory record of hops, with an optional JSONL file sink (the module's
    docstring says what the bounds count); ``sink_queue_bytes`` bounds the JSONL lines
    waiting for the writer thread."""

    def __init__(
        self,
        max_entries: int = 10_000,
        sink: Path | None = None,
        *,
        max_bytes: int = MAX_BYTES,
        max_body_bytes: int = MAX_BODY_BYTES,
        sink_queue_bytes: int = SINK_QUEUE_BYTES,
    ) -> None:
        self._entries: deque[JournalEntry] = deque()
        self._bytes = 0
        self._max_entries, self._max_bytes = max_entries, max_bytes
        self._max_body_bytes = max_body_bytes
        self._sink_queue_bytes = sink_queue_bytes
        self._sink = open_sink(sink, sink_queue_bytes)
        self._sink_dropped = 0  # by sinks already closed
        self._seq = itertools.count(1)
        self._conversations = Conversations()
        self._relinked = 0  # how many ids the last relink kept (``_link``)
        # Accepted bodies (by id, the body pinned so the id stays its) and what was kept of
        # them, until the hop that forwards the same object is recorded.
        self._in_flight: OrderedDict[int, tuple[dict[str, Any], Kept]] = OrderedDict()
        self._in_flight_bytes = 0
        self._subscribers: list[Subscriber] = []  # told of each entry (the live view)

    @property
    def sink_path(self) -> Path | None:
        """The JSONL file being written, if any."""
        return None if self._sink is None else self._sink.path

    def reconfigure(
        self, *, max_entries: int, max_bytes: int, max_body_bytes: int, sink: Path | None
    ) -> None:
        """Apply new bounds and sink (fixtures loaded through the admin API): the oldest
        entries past the new bounds drop off now; a new sink path closes (flushing) the
        old file and appends to the new one, the same path keeps writing where it was."""
        self._max_entries, self._max_bytes = max_entries, max_bytes
        self._max_body_bytes = max_body_bytes
        self._trim()
        if sink != (self._sink.path if self._sink is not None else None):
            self.close()
            self._sink = open_sink(sink, self._sink_queue_bytes)

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
        raw: bytes | None = None,
        rule: str | None = None,
    ) -> JournalEntry:
        """Append one hop and return it.

        ``dialect`` and ``reading`` default to what the dialect registered for the
        message's type; ``direction`` to the hop's (received: in; sent and out-of-band:
        out; delivered and dropped: internal). ``raw``: the body's bytes as they arrived
        (the edge has them), which size the entry and give the excerpt of a body not kept
        whole; a body that is not a JSON object is kept only as that excerpt. For a body
        tpsim built, ``raw`` (the bytes it is sent as) only sizes the entry. A received
        hop with an ``error`` is a refused request: it keeps its body whole only up to
        ``REFUSED_BODY_BYTES``. ``rule``: the name of the rule that changed what happened
        to the message (issue 15's message rules).
        """
        known = dialect_of(message) or _UNKNOWN
        if reading is None:
            reading = known.read(message)
        ids, linking = correlation_ids(path_id, reading, message.related)
        seq = next(self._seq)
        conversation = self._link(linking, seq) or (ids[0] if ids else None)
        # Only a received hop, one that may forward a received body, or one whose bytes
        # the caller gives needs a look.
        looked = hop is Hop.RECEIVED or self._in_flight or raw is not None
        kept = self._keep(hop, message, raw, error) if looked else None
        body = message.body if kept is None else kept.body
        entry = JournalEntry(
            seq=seq,
            moment=at,
            hop=hop,
            method=message.method,
            path=message.path,
            source=message.source,
            destination=message.destination,
            headers=kept_headers(message.headers),
            body=body,
            correlation_ids=ids,
            linked=linking,
            status=status,
            duration_ms=None if duration_ms is None else round(duration_ms, 3),
            error=error,
            dialect=dialect or known.name or None,
            conversation=conversation,
            direction=direction or _DIRECTION[hop],
            redirect=reading.redirect,
            rule=rule,
        )
        if kept is not None and kept.excerpt is not None:
            entry.body_bytes, entry.body_truncated = kept.size, kept.truncated
            entry.body_excerpt = kept.excerpt
        self._append(entry, kept)
        return entry

    def _keep(
        self, hop: Hop, message: Exchange, raw: bytes | None, error: str | None
    ) -> Kept | None:
        """What the entry keeps of the body and its size, or None for the body kept whole
        and counted as small (a body tpsim built, or one that arrived no bigger)."""
        body = message.body
        if hop is not Hop.RECEIVED:
            pinned = self._in_flight.pop(id(body), None)
            if pinned is not None:
                self._in_flight_bytes -= pinned[1].size
                return pinned[1]
            # A body tpsim built, kept whole; sized by the bytes it is sent as, when given
            # (a PSD2 answer may list a bulk's hundred payments: no fixed size bounds it).
            small = raw is None or len(raw) <= _BUILT_BODY_BYTES
            return None if small or body is None else Kept(body, len(raw or b""))
        size = arrived_size(body, message.headers, raw)
        if (body is not None and size <= _BUILT_BODY_BYTES) or (body is None and raw is None):
            return None
        refused = error is not None
        limit = REFUSED_BODY_BYTES if refused else self._max_body_bytes
        kept = Kept(body, size) if body is not None and size <= limit else cut(body, raw, size)
        if body is not None and not refused:
            self._pin(body, kept)
        return kept

    def _pin(self, body: dict[str, Any], kept: Kept) -> None:
        """Remember an accepted body until the hop forwarding it. A hop that never comes
        must not pin memory: past ``_IN_FLIGHT`` bodies or ``max_bytes`` of them the oldest
        are forgotten (their forwards count as bodies tpsim built); the newest stays."""
        pinned = self._in_flight
        pinned[id(body)] = (body, kept)
        self._in_flight_bytes += kept.size
        while len(pinned) > 1 and (
            len(pinned) > _IN_FLIGHT or self._in_flight_bytes > self._max_bytes
        ):
            self._in_flight_bytes -= pinned.popitem(last=False)[1][1].size

    def _append(self, entry: JournalEntry, kept: Kept | None) -> None:
        if self._sink is not None:
            line = entry._line()
            self._sink.put(line)
            entry.size = len(line)
        else:
            entry.size = _ENTRY_BYTES + (_BUILT_BODY_BYTES if kept is None else kept.cost)
        self._entries.append(entry)
        self._bytes += entry.size
        if len(self._entries) > self._max_entries:  # a full ring: one in, one out
            self._bytes -= self._entries.popleft().size
        if self._bytes > self._max_bytes:
            self._trim()
        if self._subscribers:  # one test per hop while nobody listens
            self._tell(entry)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with each entry as it is recorded, until the function this
        returns is called. It runs inside ``record``, on the task that recorded, so it must
        return at once (queue the entry, never wait); one that raises is logged and
        unsubscribed, never failing the request whose hop it was told of."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    @property
    def subscribers(self) -> int:
        """How many callbacks are subscribed (live streams open)."""
        return len(self._subscribers)

    def _tell(self, entry: JournalEntry) -> None:
        for callback in tuple(self._subscribers):  # a callback may unsubscribe itself
            try:
                callback(entry)
            except Exception:
                log.exception("a journal subscriber failed on entry %d; unsubscribed", entry.seq)
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

    def _trim(self) -> None:
        """Drop the oldest entries until both bounds hold (the newest always stays)."""
        entries = self._entries
        while len(entries) > 1 and (
            len(entries) > self._max_entries or self._bytes > self._max_bytes
        ):
            self._bytes -= entries.popleft().size

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
            root = self._conversations.find(correlation_id)
            selected = (e for e in selected if self._conversations.ties(e.correlation_ids, root))
        result = list(selected)
        if limit is None:
            return result
        return result[-limit:] if limit > 0 else []  # result[-0:] would be all of it

    def concerns(self, entry: JournalEntry, correlation_id: str) -> bool:
        """Whether ``entry`` is part of ``correlation_id``'s conversation as linked now (what
        ``entries(correlation_id=…)`` selects by)."""
        conversations = self._conversations
        return conversations.ties(entry.correlation_ids, conversations.find(correlation_id))

    @property
    def max_entries(self) -> int:
        """The most entries the ring holds."""
        return self._max_entries

    @property
    def size_bytes(self) -> int:
        """The bytes the entries in memory count against ``max_bytes``."""
        return self._bytes

    @property
    def sink_dropped(self) -> int:
        """Hops a JSONL sink did not write (its queue was full, or the file failed)."""
        return self._sink_dropped + (0 if self._sink is None else self._sink.dropped)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self._in_flight.clear()
        self._in_flight_bytes = 0
        self._conversations.clear()
        self._relinked = 0

    def _link(self, ids: list[str], seq: int) -> str | None:
        """Link ``ids`` into one conversation and return its name."""
        conversations = self._conversations
        # Forget ids that left the ring; when the ring itself holds more (entries naming a
        # bulk's hundred intents), only once as many again came, or every hop would walk
        # the whole ring.
        if len(conversations) > max(8 * self._max_entries, 2 * self._relinked):
            # Each entry's ids and the name its conversation had: a query by it finds it.
            conversations.relink((_named(entry), entry.seq) for entry in self._entries)
            self._relinked = len(conversations)
        return conversations.link(ids, seq)

    def close(self) -> None:
        """Write what the sink has queued and close it; the entries stay readable."""
        if self._sink is not None:
            self._sink.close()
            self._sink_dropped += self._sink.dropped
            self._sink = None

    def __len__(self) -> int:
        return len(self._entries)


def _named(entry: JournalEntry) -> list[str]:
    """The ids ``entry`` linked and the name of its conversation (an id of it too)."""
    if not entry.linked or entry.conversation is None:
        return entry.linked
    return [*entry.linked, entry.conversation]


def _read_http(exchange: Exchange) -> Reading:
    assert isinstance(exchange, HttpExchange)  # noqa: S101 - registered for that type only
    return Reading(redirect=exchange.redirect)


register_dialect(HttpExchange, "", _read_http)
