"""``GET /admin/journal`` (and its live stream's backlog) on a journal of many MB: served a
chunk at a time between other requests, never holding the event loop, and still whole.

Encoded as one body, a journal near its ``max_bytes`` (64 MiB by default) held the event
loop for seconds (about 2 s for 32 MB of entries on this project's machine): every other
request, ``/health`` included, waited. A probe task measures the loop's longest hold while
the journal is served; its bound (0.5 s) is a fraction of what encoding the whole journal at
once takes, and far above what one chunk (``chunked.CHUNK_BYTES``) takes.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.support.scheme import Scheme
from tpsim.journal import Hop, HttpExchange, Journal
from tpsim.serve import chunked

AT = datetime(2026, 12, 1, tzinfo=UTC)
MAX_HOLD_S = 0.5  # the loop's longest hold allowed while the journal goes out
MEGABYTES = 32  # the journal's size (its max_bytes is 64 MiB by default)
# A body as a Mojaloop or PSD2 message has them: many small fields (what JSON is slow at).
BODY: dict[str, Any] = {
    "items": [
        {"n": n, "name": f"item {n}", "amount": {"amount": "10.00", "currency": "USD"}}
        for n in range(80)
    ]
}
RAW = json.dumps(BODY).encode()


def fill(journal: Journal, megabytes: int) -> int:
    """Record entries of ``BODY`` until the journal counts ``megabytes``; how many."""
    message = HttpExchange("POST", "/big", {"Content-Type": "application/json"}, BODY, "x", "y")
    while journal.size_bytes < megabytes * 1024 * 1024:
        journal.record(Hop.RECEIVED, message, at=AT, status=202, raw=RAW)
    # The entries just made would have the next full collection walk the whole heap (0.1 s
    # and more in a test process) while the journal is served: a pause that is the fill's.
    gc.collect()
    return len(journal)


@asynccontextmanager
async def loop_probe() -> AsyncIterator[list[float]]:
    """The longest the event loop was held (seconds), in ``[0]`` once the block ends: a task
    asks for a wake-up every millisecond and notes how late it came."""
    held = [0.0]
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            held[0] = max(held[0], time.perf_counter() - before - 0.001)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.01)  # it runs
    try:
        yield held
    finally:
        stop.set()
        await task


async def read_journal(response: aiohttp.ClientResponse) -> bytes:
    return await response.read()


async def read_backlog(response: aiohttp.ClientResponse) -> bytes:
    """The live stream up to the comment saying its backlog is over."""
    read = bytearray()
    async for line in response.content:
        read += line
        if line.startswith(b": live after"):
            return bytes(read)
    raise AssertionError("the stream ended before its backlog did")


Reader = Callable[[aiohttp.ClientResponse], Awaitable[bytes]]


@pytest.mark.parametrize(
    ("path", "read"),
    [("/admin/journal", read_journal), ("/admin/journal/stream", read_backlog)],
    ids=["journal", "stream"],
)
async def test_a_journal_of_many_mb_is_served_without_holding_health_or_anyone(
    scheme: Scheme, path: str, read: Reader
) -> None:
    assert scheme.sim is not None
    journal = scheme.sim.journal
    count = fill(journal, MEGABYTES)
    async with aiohttp.ClientSession() as session, loop_probe() as held:
        async with session.get(scheme.url + path) as answer:  # its head is in: it is served
            assert answer.status == 200
            serving = asyncio.create_task(read(answer))
            started = time.perf_counter()
            async with session.get(scheme.url + "/health") as health:
                assert (health.status, await health.json()) == (200, {"status": "OK"})
            health_s = time.perf_counter() - started
            assert not serving.done(), "the journal went out before /health was even answered"
            body = await serving
    assert held[0] < MAX_HOLD_S, f"the event loop was held {held[0]:.3f} s at once"
    assert health_s < MAX_HOLD_S, f"/health took {health_s:.3f} s"
    assert len(body) > MEGABYTES * 1024 * 1024 * 0.8  # the stream's JSON has no spaces
    # All of it: every entry once, in order, each as the journal holds it.
    kept = journal.entries()
    assert len(kept) == count
    if path == "/admin/journal":
        entries = json.loads(body)["entries"]  # as a client reads it
        assert [e["seq"] for e in entries] == [e.seq for e in kept]
        first, last = entries[0], entries[-1]
    else:
        ids = re.findall(rb"^id: (\d+)$", body, flags=re.MULTILINE)
        assert [int(seq) for seq in ids] == [e.seq for e in kept]
        data = re.findall(rb"^data: (.*)$", body, flags=re.MULTILINE)
        first, last = json.loads(data[0]), json.loads(data[-1])
    assert first == kept[0].to_json() and last == kept[-1].to_json()
    journal.clear()  # none is a body tpsim sent: nothing for the teardown's OpenAPI check


async def test_a_small_journal_is_the_same_one_body_as_before(scheme: Scheme) -> None:
    """Under a chunk, the answer is what ``web.json_response`` gave, byte for byte, with
    its ``Content-Length``; over it, the same bytes come in chunks."""
    assert scheme.sim is not None
    journal = scheme.sim.journal
    for size in (1, chunked.CHUNK_BYTES * 3):
        journal.clear()
        while journal.size_bytes < size:
            journal.record(Hop.RECEIVED, HttpExchange("GET", "/a", {}, None, "x", "y"), at=AT)
        before = json.dumps({"entries": [e.to_json() for e in journal.entries()]}).encode()
        async with (
            aiohttp.ClientSession() as session,
            session.get(scheme.url + "/admin/journal") as answer,
        ):
            assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
            assert await answer.read() == before
            streamed = "Content-Length" not in answer.headers
        assert streamed == (len(before) > chunked.CHUNK_BYTES), size
