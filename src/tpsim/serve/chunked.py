"""Writing a long answer without holding the event loop: the journal, whole or as a stream.

A journal at its ``max_bytes`` (64 MiB by default) takes a second or more to encode as
JSON: encoded as one body, it kept every other request (PISP traffic, callbacks, timers,
``/health``) waiting that long. Here the answer is made of pieces encoded lazily (one
journal entry each), joined into writes of about ``CHUNK_BYTES`` (``chunks``), and
``send_all`` lets the loop run between two writes, so the encoding happens a chunk at a
time, between other requests. A piece is never split: the largest (an entry with a body of
``journal.max_body_bytes``) bounds the longest hold.

A client that accepts nothing for ``WRITE_TIMEOUT_S`` has its connection aborted
(``send``), so neither it nor what its answer holds outlives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator

from aiohttp import web

CHUNK_BYTES = 64 * 1024  # about a millisecond of encoding entries
WRITE_TIMEOUT_S = 30.0  # a client that accepts no bytes for this long is cut off


class ClientGone(Exception):
    """The client went away or stopped reading."""


def chunks(pieces: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``pieces`` joined into chunks of at least ``size`` bytes (the last one may be
    smaller; none is empty), each piece pulled (encoded) only when its chunk is wanted."""
    held: list[bytes] = []
    length = 0
    for piece in pieces:
        held.append(piece)
        length += len(piece)
        if length >= size:
            yield b"".join(held)
            held.clear()
            length = 0
    if length:
        yield b"".join(held)


async def send(request: web.Request, response: web.StreamResponse, data: bytes) -> None:
    """Write ``data``; ``ClientGone`` when the client went away, or accepted none of it
    within ``WRITE_TIMEOUT_S`` (its connection then aborted)."""
    try:
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            await response.write(data)
    except TimeoutError:
        if request.transport is not None:
            request.transport.abort()
        raise ClientGone from None
    except ConnectionError:
        raise ClientGone from None


async def send_all(
    request: web.Request, response: web.StreamResponse, chunked: Iterable[bytes]
) -> None:
    """``send`` each chunk of ``chunked``, the event loop let run before the next one is
    made: ``response.write`` yields only when the socket's buffers are full, which a
    client on this machine may never let them be."""
    for chunk in chunked:
        await send(request, response, chunk)
        await asyncio.sleep(0)
