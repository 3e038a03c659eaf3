"""The live traffic view (issue 16): the journal as Server-Sent Events, and a page drawing it.

GET /admin/journal/stream   ?correlationId=…&since=SEQ → ``text/event-stream``: the entries
                            after ``since`` (or after the ``Last-Event-ID`` a reconnecting
                            client sends), then each new one as it is recorded
GET /ui                     the page (``ui.html``): the traffic as a live sequence diagram
GET /                       from a browser (``Accept: text/html``): a page pointing at
                            ``/ui``, ``/admin/openapi.json`` and ``/health`` (``index``);
                            any other client gets the FSPIOP edge's 3002, which says so too

Each entry is one event, ``id`` its ``seq`` and ``data`` the entry as ``GET /admin/journal``
gives it, on one line::

    id: 14
    event: entry
    data: {"seq": 14, "hop": "sent", "method": "PATCH", …}

The ``X-Tpsim-Instance`` header names the server: seqs start again at 1 when tpsim
restarts, so a client that sees another instance reads from the start. A comment line
(``: live after SEQ``) says the backlog is over; another (``: keep-alive``) comes every
``HEARTBEAT_S`` seconds so that proxies and clients see the stream is alive. With
``correlationId`` only that conversation's entries come (linked ids included). An entry is
matched when it is recorded; when a later entry links another conversation into the one
watched (concurrent messages can arrive in that order), the earlier entries it ties in come
then, before it: a client sees each seq once, not always in increasing order (the page
places a row by its seq; ``id`` is each event's own seq).

tpsim never waits for a client: the journal hands each entry to a queue of at most
``QUEUE_ENTRIES`` per client without blocking. A client that falls that far behind gets a
last ``event: dropped`` (``{"error", "code": "STREAM_TOO_SLOW", "since"}``: reconnect with
``since`` and the ring still holds the rest) and the stream ends; one that stops reading
altogether is cut off after ``chunked.WRITE_TIMEOUT_S``. The backlog is written a chunk
at a time, the event loop let run between (``chunked``): a journal of many MB holds no
other request while it goes out.

The stream is an admin route (``admin.admin_only``): with an admin token it needs the
``Authorization`` header. A token is never accepted in the URL (``?token=``), where access
logs, the browser's history and proxies would keep it: the page sends the header through
``fetch()``. ``/ui`` itself is open: it is static and holds nothing, and every request it
makes is guarded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
from collections import deque
from importlib import resources

from aiohttp import web

from tpsim.journal import Journal, JournalEntry
from tpsim.serve.admin import NotANumber, admin_only, problem, whole_number
from tpsim.serve.chunked import ClientGone, chunks, send, send_all
from tpsim.serve.edge import SIMULATION

__all__ = ["add_live_routes", "index", "wants_a_page"]

HEARTBEAT_S = 15.0  # a keep-alive comment when nothing else was sent for this long
QUEUE_ENTRIES = 1000  # entries waiting for one client before it is dropped

_STREAMS = web.AppKey("live_streams", set["_Stream"])
# Names this server's journal: seqs start again at 1 when tpsim restarts, and a page that
# sees another instance must read from the start instead of after the seq it last saw.
_INSTANCE = web.AppKey("live_instance", str)


class _Stream:
    """One client's subscription: the journal queues entries here without ever waiting,
    and the handler's task writes them out at the client's pace."""

    def __init__(self, journal: Journal, correlation_id: str | None) -> None:
        self._journal, self.correlation_id = journal, correlation_id
        self._queue: deque[JournalEntry] = deque()
        self._wake = asyncio.Event()
        self.overflowed = self.closing = False
        self.lost: int | None = None  # the lowest seq queued and let go when it overflowed
        # The seqs queued or written, so that none goes twice: the backlog overlaps what
        # was queued while it was read, and a linking entry re-reads its conversation.
        self.seen: set[int] = set()
        self.floor = 0  # the client has every entry up to this seq (``since``)
        self.unsubscribe = journal.subscribe(self._on_entry)

    def _on_entry(self, entry: JournalEntry) -> None:
        """The journal's callback, inside ``record``: queue or, past the bound, give up
        (the handler unsubscribes when it has let the client go)."""
        if self.overflowed or entry.seq in self.seen:
            return
        if self.correlation_id is None:
            self._queue_all([entry])
        elif self._journal.concerns(entry, self.correlation_id):
            self._queue_all([*self._tied_in(entry), entry])

    def _tied_in(self, entry: JournalEntry) -> list[JournalEntry]:
        """The earlier entries of the watched conversation not sent yet: ``entry`` linking
        conversations (more than one linking id) may have merged another one into it."""
        if len(entry.linked) < 2:
            return []
        conversation = self._journal.entries(correlation_id=self.correlation_id)
        return [
            e for e in conversation if self.floor < e.seq < entry.seq and e.seq not in self.seen
        ]

    def _queue_all(self, entries: list[JournalEntry]) -> None:
        if len(self._queue) + len(entries) > QUEUE_ENTRIES:
            self.overflowed = True
            # With a correlationId an entry tied in late is older than some already sent:
            # the client resumes before it (``_pump``'s ``since``).
            self.lost = min(e.seq for e in (*self._queue, *entries))
            self._queue.clear()
        else:
            self._queue.extend(entries)
            self.mark(entries)
        self._wake.set()

    def mark(self, entries: list[JournalEntry]) -> None:
        """Remember ``entries`` as sent; seqs that have left the journal's ring are
        forgotten, so a long-lived stream holds at most about a ring's worth."""
        self.seen.update(e.seq for e in entries)
        if entries and len(self.seen) > 2 * self._journal.max_entries:
            floor = entries[-1].seq - self._journal.max_entries
            self.seen = {seq for seq in self.seen if seq > floor}

    def close(self) -> None:
        """End the stream (the server is shutting down)."""
        self.closing = True
        self._wake.set()

    async def next_batch(self) -> list[JournalEntry] | None:
        """The entries queued since the last call, waiting up to ``HEARTBEAT_S`` for one:
        [] when none came (time for a keep-alive), None when the stream must end."""
        if not self._queue and not self.overflowed and not self.closing:
            try:
                async with asyncio.timeout(HEARTBEAT_S):
                    await self._wake.wait()
            except TimeoutError:
                return []
        self._wake.clear()
        if self.overflowed or self.closing:
            return None
        batch = list(self._queue)
        self._queue.clear()
        return batch


def _event(entry: JournalEntry) -> bytes:
    """One SSE event for ``entry``: compact JSON never holds a raw newline, so ``data`` is
    one line."""
    data = entry.json_text(compact=True)
    return f"id: {entry.seq}\nevent: entry\ndata: {data}\n\n".encode()


def _dropped(since: int) -> bytes:
    data = {
        "error": f"this client fell {QUEUE_ENTRIES} entries behind and was dropped:"
        f" reconnect with since={since} to read on from the journal",
        "code": "STREAM_TOO_SLOW",
        "since": since,
    }
    return f"event: dropped\ndata: {json.dumps(data)}\n\n".encode()


def _since(request: web.Request) -> int:
    """Where the client resumes: ``since``, else the last event id it saw."""
    name = "since" if "since" in request.query else "Last-Event-ID"
    given = request.query.get("since", request.headers.get("Last-Event-ID", "0")) or "0"
    since = whole_number(given, name)
    if since < 0:
        raise NotANumber(f"{name} is a journal seq: 0 or more, not {since}")
    return since


async def stream_journal(request: web.Request) -> web.StreamResponse:
    """``GET /admin/journal/stream``: the backlog after ``since``, then entries live."""
    try:
        since = _since(request)
    except NotANumber as exc:
        return problem(400, f"{exc}: ?since=120")
    journal = request.app[SIMULATION].journal
    correlation_id = request.query.get("correlationId") or None
    stream = _Stream(journal, correlation_id)  # before the backlog: nothing falls between
    streams = request.app[_STREAMS]
    streams.add(stream)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx would hold events back otherwise
            "X-Tpsim-Instance": request.app[_INSTANCE],
        }
    )
    try:
        await response.prepare(request)
        await _pump(request, response, stream, journal, since)
    except ClientGone:
        pass
    finally:
        stream.unsubscribe()
        streams.discard(stream)
    return response


async def _pump(
    request: web.Request,
    response: web.StreamResponse,
    stream: _Stream,
    journal: Journal,
    since: int,
) -> None:
    """Write the backlog, then each batch the stream queues, until it ends."""
    last = stream.floor = since
    queued = set(stream.seen)  # recorded while the backlog is read: they come live
    backlog = [
        e
        for e in journal.entries(correlation_id=stream.correlation_id, since=since)
        if e.seq not in queued
    ]
    stream.mark(backlog)
    await send_all(request, response, chunks(map(_event, backlog)))
    if backlog:
        last = backlog[-1].seq
    await send(request, response, f"retry: 2000\n: live after {last}\n\n".encode())
    while (batch := await stream.next_batch()) is not None:
        if not batch:
            await send(request, response, b": keep-alive\n\n")
            continue
        await send(request, response, b"".join(map(_event, batch)))
        last = max(last, batch[-1].seq)
    if stream.overflowed:
        since = last if stream.lost is None else min(last, stream.lost - 1)
        await send(request, response, _dropped(since))


def _inline_hashes(html: str, tag: str) -> str:
    """The CSP sources allowing exactly the page's own inline ``<tag>`` blocks."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks
    )


_UI = resources.files("tpsim.serve").joinpath("ui.html").read_text("utf-8")
_UI_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Its own inline script and style (by hash) and requests to tpsim itself; nothing else.
    "Content-Security-Policy": (
        f"default-src 'none'; script-src {_inline_hashes(_UI, 'script')};"
        f" style-src {_inline_hashes(_UI, 'style')}; connect-src 'self'; base-uri 'none';"
        " form-action 'none'; frame-ancestors 'none'"
    ),
}


async def ui(request: web.Request) -> web.Response:
    """``GET /ui``: the live page (static; what it shows comes through the guarded API)."""
    return web.Response(text=_UI, content_type="text/html", headers=_UI_HEADERS)


_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tpsim</title></head>
<body><h1>tpsim</h1>
<p>A simulated Mojaloop Third Party API switch and PSD2 banks. This address is where
participants send their FSPIOP and PSD2 requests; for people:</p>
<ul>
<li><a href="/ui">/ui</a>: the live view, every message as a sequence diagram</li>
<li><a href="/admin/openapi.json">/admin/openapi.json</a>: the admin API's OpenAPI document
(with tpsim's admin token, when it has one)</li>
<li><a href="/health">/health</a>: whether the scheme is loaded</li>
</ul></body></html>
"""
_INDEX_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'",
}


def wants_a_page(request: web.Request) -> bool:
    """A browser opening tpsim's address: ``GET`` (or ``HEAD``) ``/`` accepting HTML, as no
    FSPIOP client does (they accept ``application/vnd.interoperability.…``)."""
    return (
        request.path == "/"
        and request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("Accept", "").lower()
    )


async def index(request: web.Request) -> web.Response:
    """``GET /`` from a browser: where the live view and the admin API are (static)."""
    return web.Response(text=_INDEX, content_type="text/html", headers=_INDEX_HEADERS)


async def _close_streams(app: web.Application) -> None:
    """On shutdown, end every open stream so the server need not wait for clients."""
    streams: set[_Stream] = app[_STREAMS]
    for stream in list(streams):
        stream.close()


def add_live_routes(app: web.Application) -> None:
    """Mount the journal stream (admin-guarded) and the live page."""
    app[_STREAMS] = set()
    app[_INSTANCE] = secrets.token_hex(8)
    # No HEAD: it would hold a subscription open with nothing to write to.
    app.router.add_get("/admin/journal/stream", admin_only(stream_journal), allow_head=False)
    app.router.add_get("/ui", ui)
    app.on_shutdown.append(_close_streams)
