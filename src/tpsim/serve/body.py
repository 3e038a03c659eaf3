"""Reading a request's body: at most so many bytes, within so many seconds.

Every handler that reads a body (the FSPIOP edge, the admin API's fixtures, the PSU pages'
forms) reads it here, so none can be made to hold a connection by a client that sends its
body one byte at a time, nor to buffer more than its limit (chunked bodies included). Each
caller turns the outcome into its own answer.
"""

from __future__ import annotations

import asyncio

from aiohttp import web


class BodyRefused(Exception):
    """The body was not read; ``status`` is the HTTP status that says why (413, 408, 400)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def read_at_most(request: web.Request, limit: int, timeout_s: float) -> bytes:
    """The body (``b""`` when there is none), or ``BodyRefused``: 413 as soon as it proves
    longer than ``limit``, 408 when it has not all arrived within ``timeout_s``, 400 when
    aiohttp cannot undo its content coding or the client closed the connection mid-body."""
    if request.content_length is not None and request.content_length > limit:
        length = request.content_length
        raise BodyRefused(413, f"the body is {length} bytes; at most {limit} are accepted")
    content = request.content
    try:
        # What arrived with the headers, most often the whole body: read without a timer.
        data = bytearray(content.read_nowait(limit + 1))
        if len(data) > limit:
            raise BodyRefused(413, f"the body exceeds {limit} bytes")
        if not content.at_eof():
            async with asyncio.timeout(timeout_s):
                # StreamReader.read(n) returns what is buffered, not n bytes: read until
                # EOF, stopping as soon as the body is past the limit.
                while chunk := await content.read(limit + 1 - len(data)):
                    data += chunk
                    if len(data) > limit:
                        raise BodyRefused(413, f"the body exceeds {limit} bytes")
    except TimeoutError:
        raise BodyRefused(408, f"the body did not arrive within {timeout_s:g} s") from None
    except web.RequestPayloadError as exc:
        raise BodyRefused(400, f"the body could not be read: {exc.__cause__ or exc}") from None
    except ConnectionError:
        # The client left mid-body (aiohttp's "Connection lost"): nobody reads the answer,
        # but it is a refusal like any other, not a failure to log with a traceback.
        raise BodyRefused(400, "the connection closed before the body ended") from None
    return bytes(data)
