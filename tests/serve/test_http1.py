"""``serve.http1``, the lean HTTP/1.1 client of the switch's callbacks (issue 17): every way
an answer can be framed, what it keeps of a body, when a connection is reused, and what
it refuses to send.

Each test runs a raw server on a loopback ephemeral port that answers each request with
the bytes a script gives, so the framing is exactly what the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from tpsim.serve import http1
from tpsim.serve.http1 import BadAnswer, Disconnected, Http1Pool, NotConnected

HEADERS = {"Content-Type": "application/json", "FSPIOP-Source": "dfspa"}


@dataclass
class Raw:
    """Answers the n-th request it reads (over all connections) with ``answers[n]``; a
    ``None`` closes the connection instead, as does an answer without framing after it.
    Keeps each request's bytes and counts the connections it accepted."""

    answers: list[bytes | None]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers[len(self.requests) - 1]
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if b"Content-Length" not in answer and b"chunked" not in answer:
                    return  # a body framed by the connection's end
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            return
        finally:
            writer.close()


Serve = Callable[[list[bytes | None]], Awaitable[Raw]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answers: list[bytes | None]) -> Raw:
        raw = Raw(answers)
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        servers.append(server)
        raw.port = server.sockets[0].getsockname()[1]
        return raw

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def put(
    pool: Http1Pool, raw: Raw, limit: int = 800, timeout_s: float = 10.0
) -> tuple[int, bytes]:
    return await pool.request(
        "127.0.0.1", raw.port, "PUT", "/quotes/1", HEADERS, b'{"a":1}', limit, timeout_s
    )


def ok(body: bytes = b"", status: str = "200 OK") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


async def test_a_request_carries_host_length_and_the_given_headers(serve: Serve) -> None:
    raw = await serve([ok()])
    pool = Http1Pool()
    assert await put(pool, raw) == (200, b"")
    pool.close()
    head, _, body = raw.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "PUT /quotes/1 HTTP/1.1"
    assert set(lines[1:]) == {
        f"Host: 127.0.0.1:{raw.port}",
        "Content-Type: application/json",
        "FSPIOP-Source: dfspa",
        "Content-Length: 7",
    }
    assert body == b'{"a":1}'


async def test_keep_alive_reuses_one_connection(serve: Serve) -> None:
    raw = await serve([ok(b"one"), ok(b"two", "202 Accepted")])
    pool = Http1Pool()
    assert await put(pool, raw) == (200, b"one")
    assert await put(pool, raw) == (202, b"two")
    pool.close()
    assert raw.connections == 1


async def test_a_chunked_body_is_read_to_its_end_and_the_connection_reused(
    serve: Serve,
) -> None:
    chunked = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    )
    raw = await serve([chunked, ok()])
    pool = Http1Pool()
    assert await put(pool, raw) == (400, b"hello world")
    assert await put(pool, raw) == (200, b"")
    pool.close()
    assert raw.connections == 1


async def test_an_answer_framed_by_length_and_chunked_drops_its_connection(
    serve: Serve,
) -> None:
    """RFC 9112 §6.3: chunked wins, but an answer framed both ways may be a response split;
    the next callback's answer must not be read from what follows it."""
    both = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    raw = await serve([both, ok(b"two")])
    pool = Http1Pool()
    assert await put(pool, raw) == (200, b"hi")
    assert await put(pool, raw) == (200, b"two")
    pool.close()
    assert raw.connections == 2


async def test_a_status_line_without_a_reason_phrase_is_read(serve: Serve) -> None:
    # The reason phrase is optional, and the space before it with it (RFC 9112 §4).
    raw = await serve([b"HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n", ok(status="202 ")])
    pool = Http1Pool()
    assert await put(pool, raw) == (204, b"")
    assert await put(pool, raw) == (202, b"")
    pool.close()


async def test_interim_answers_are_skipped(serve: Serve) -> None:
    raw = await serve([b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"done")])
    pool = Http1Pool()
    assert await put(pool, raw) == (200, b"done")
    pool.close()


async def test_only_the_first_bytes_of_a_long_body_are_kept_and_the_connection_dropped(
    serve: Serve,
) -> None:
    endless = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 20
    )  # the rest never comes
    raw = await serve([endless, ok()])
    pool = Http1Pool()
    assert await put(pool, raw, limit=10) == (200, b"x" * 10)
    assert await put(pool, raw) == (200, b"")
    pool.close()
    assert raw.connections == 2  # the first answer was not read to its end


async def test_a_body_without_length_ends_with_the_connection(serve: Serve) -> None:
    raw = await serve([b"HTTP/1.0 500 Oops\r\n\r\ninternal error", ok()])
    pool = Http1Pool()
    assert await put(pool, raw) == (500, b"internal error")  # the server closes after it
    pool.close()


async def test_a_body_still_coming_is_answered_with_what_came(serve: Serve) -> None:
    """As aiohttp's ``content.read(n)``: the status and the first bytes, at once; the
    connection is not reused."""
    slow = b"HTTP/1.1 500 Oops\r\nContent-Length: 5000\r\n\r\nfirst part"  # no more
    raw = await serve([slow, ok()])
    pool = Http1Pool()
    async with asyncio.timeout(2):
        assert await put(pool, raw) == (500, b"first part")
    await put(pool, raw)
    pool.close()
    assert raw.connections == 2


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("Transfer-Encoding: gzip, chunked", b"3\r\nabc\r\n0\r\n\r\n"),
        ("Connection: keep-alive, close\r\nContent-Length: 3", b"abc"),
    ],
)
async def test_header_lists_are_read_token_by_token(serve: Serve, header: str, body: bytes) -> None:
    raw = await serve([f"HTTP/1.1 200 OK\r\n{header}\r\n\r\n".encode() + body, ok()])
    pool = Http1Pool()
    assert await put(pool, raw) == (200, b"abc")
    await put(pool, raw)
    pool.close()
    assert raw.connections == (2 if "close" in header else 1)


async def test_a_connection_idle_too_long_is_not_reused(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = await serve([ok(), ok()])
    pool = Http1Pool()
    await put(pool, raw)
    monkeypatch.setattr(http1, "IDLE_S", 0.0)  # any idle time is too long now
    await asyncio.sleep(0.01)
    await put(pool, raw)
    pool.close()
    assert raw.connections == 2


async def test_a_connection_busy_when_the_pool_closes_is_closed_after_its_answer(
    serve: Serve,
) -> None:
    raw = await serve([ok()])
    pool = Http1Pool()
    pending = asyncio.ensure_future(put(pool, raw))
    await asyncio.sleep(0)
    pool.close()
    assert await pending == (200, b"")
    assert pool._idle == {}


async def test_connection_close_is_honoured(serve: Serve) -> None:
    raw = await serve([b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", ok()])
    pool = Http1Pool()
    await put(pool, raw)
    await put(pool, raw)
    pool.close()
    assert raw.connections == 2


async def test_a_connection_closed_before_the_answer_is_a_disconnection_never_a_resend(
    serve: Serve,
) -> None:
    raw = await serve([None, ok()])
    pool = Http1Pool()
    with pytest.raises(Disconnected):
        await put(pool, raw)
    pool.close()
    assert len(raw.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\n".encode("latin-1"),
        "HTTP/1.1 2\u00b20 OK\r\nContent-Length: 0\r\n\r\n".encode("latin-1"),
        # A status is exactly three digits, then a space or the line's end (RFC 9112 §4).
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.10 200 OK\r\nContent-Length: 0\r\n\r\n",
        # A status code is 100 to 999 (RFC 9110 §15).
        b"HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n",
        # Two lengths that differ frame no body (RFC 9112 §6.3).
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhi",
        # A length int() cannot read (over 4,300 digits) is a bad answer, not a crash.
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5_000 + b"\r\n\r\nhi",
        # Interim answers without end: bounded as one head is, never parsed forever.
        b"HTTP/1.1 100 Continue\r\n\r\n" * 3_000 + b"HTTP/1.1 200 OK\r\n",
    ],
)
async def test_what_is_not_http_is_a_bad_answer(serve: Serve, answer: bytes) -> None:
    raw = await serve([answer])
    pool = Http1Pool()
    try:
        with pytest.raises(BadAnswer):
            await put(pool, raw)
    finally:
        pool.close()  # else a connection kept alive holds the server open


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 202\nContent-Length: 0\n\n",
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\n\r\n",
    ],
)
async def test_a_head_ending_its_lines_with_a_bare_lf_fails_at_once_not_at_the_timeout(
    serve: Serve, answer: bytes
) -> None:
    """RFC 9112 §2.2 lets a recipient accept a bare LF; tpsim refuses it, but promptly and
    saying why: the peer keeps its connection open, and nothing more will come."""
    raw = await serve([answer])
    pool = Http1Pool()
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(BadAnswer, match="bare LF"):
            await put(pool, raw, timeout_s=5.0)
    finally:
        pool.close()
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_header_with_a_line_break_is_never_written(serve: Serve) -> None:
    raw = await serve([ok()])
    pool = Http1Pool()
    with pytest.raises(ValueError, match="line break"):
        await pool.request(
            "127.0.0.1", raw.port, "PUT", "/q", {"X-Evil": "a\r\nInjected: 1"}, None, 800, 10.0
        )
    pool.close()
    assert raw.requests == []


async def test_nobody_listening_is_not_connected() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    pool = Http1Pool()
    with pytest.raises(NotConnected) as raised:
        await pool.request("127.0.0.1", port, "GET", "/", {}, None, 800, 10.0)
    assert isinstance(raised.value.os_error, ConnectionRefusedError)


async def test_a_cancelled_request_never_returns_its_connection_to_the_pool(
    serve: Serve,
) -> None:
    raw = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", ok()])  # no end of head
    pool = Http1Pool()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await put(pool, raw)
    assert await put(pool, raw) == (200, b"")
    pool.close()
    assert raw.connections == 2


async def test_an_answer_not_in_within_the_timeout_is_a_timeout_and_its_connection_dropped(
    serve: Serve,
) -> None:
    raw = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", ok()])  # no end of head
    pool = Http1Pool()
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        await put(pool, raw, timeout_s=0.2)
    assert 0.2 <= asyncio.get_running_loop().time() - started < 2
    assert await put(pool, raw) == (200, b"")
    pool.close()
    assert raw.connections == 2


def test_it_runs_on_uvloop_too() -> None:
    """``tpsim serve`` runs on uvloop when installed, whose transports are not subclasses of
    ``asyncio.Transport``."""
    uvloop = pytest.importorskip("uvloop")

    async def exchange() -> tuple[int, bytes]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ok(b"fine"))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        pool = Http1Pool()
        try:
            async with asyncio.timeout(5):
                port = server.sockets[0].getsockname()[1]
                return await pool.request("127.0.0.1", port, "GET", "/", {}, None, 800, 10.0)
        finally:
            pool.close()
            server.close()
            await server.wait_closed()

    assert uvloop.run(exchange()) == (200, b"fine")
