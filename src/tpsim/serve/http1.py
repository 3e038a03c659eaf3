"""A lean HTTP/1.1 client for the switch's callbacks over plain ``http://``.

Issue 17's profile put a third of the switch's CPU per transfer in sending its three
callbacks through aiohttp's ``ClientSession`` (request and response objects, header
multidicts, tracing hooks, stream readers), for requests that need none of it: a method, a
path, a handful of headers, a small JSON body, and from the answer only its status and
the start of its body. ``Http1Pool`` does exactly that over keep-alive connections of its
own (an ``asyncio.Protocol`` each), and ``transports.HttpClient`` uses it for every
``http://`` endpoint whose path needs no quoting; TLS, and anything unusual, stay with
aiohttp.

What it guarantees, as ``HttpClient`` did through aiohttp:

- a request is written once and never resent: a keep-alive connection the peer closed
  before answering is a failed delivery (``Disconnected``), not a retry;
- of an answer's body, what has arrived with its first bytes is kept (at most ``limit``
  bytes), as aiohttp's ``content.read(n)`` gives; a connection whose answer was not read
  to its end is closed, never reused (so an endpoint streaming without end, or slowly,
  costs neither memory nor a timeout);
- an answer is framed by ``Content-Length``, by chunked transfer coding, or by the
  connection's end, and interim ``1xx`` answers are skipped (64 KiB of heads at most);
  two lengths that differ are a bad answer, and an answer framed both ways closes its
  connection once read;
- a header name or value with a line break is refused before anything is written;
- a connection idle for more than ``IDLE_S`` is never reused (a NAT or load balancer may
  have dropped it silently); idle ones are closed when found so.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import cast

IDLE_S = 15.0  # aiohttp's keep-alive default: an idle connection older than this is closed
MAX_HEAD_BYTES = 64 * 1024  # an answer's status lines and headers (interim ones too), at most
MAX_LENGTH_DIGITS = 18  # a Content-Length longer than this is no body tpsim could read
# RFC 9112 §4: HTTP-version SP 3DIGIT, then SP and an optional reason phrase, which the
# status line may leave out with its space. "HTTP/1.1 2000 OK" is not a 200.
# A status code is 100 to 999 (RFC 9110 §15): "HTTP/1.1 099" is not an answer either.
_STATUS_LINE = re.compile(r"(?P<version>HTTP/1\.[0-9]) (?P<status>[1-9][0-9]{2})(?: |\Z)")
_NO_BODY = frozenset((204, 304))
# An empty line ended by LF alone: with no CRLF CRLF before it, a head of bare-LF lines.
_BARE_LF_END = re.compile(rb"\n\r?\n")


class Failed(Exception):
    """A request that got no (whole) answer."""


class NotConnected(Failed):
    """No connection could be made (``os_error`` says why: refused, no such host…)."""

    def __init__(self, os_error: OSError) -> None:
        super().__init__(str(os_error))
        self.os_error = os_error


class Disconnected(Failed):
    """The connection ended before the whole answer's head arrived (``reset``: the OS error
    that ended it, None for a plain close)."""

    def __init__(self, reset: OSError | None) -> None:
        super().__init__("the connection was closed before an answer came")
        self.reset = reset


class BadAnswer(Failed):
    """The peer's answer is not HTTP/1.x (a malformed status line, header or framing)."""


class _Answer:
    """Reads one answer from the bytes of a connection: the status, then the first
    ``limit`` bytes of the body, and whether the body was read to its end."""

    __slots__ = (
        "body",
        "chunk_left",
        "complete",
        "framing",
        "keep_alive",
        "left",
        "pending",
        "status",
    )

    def __init__(self) -> None:
        self.status = 0
        self.body = bytearray()
        self.framing = ""  # "length", "chunked" or "close", once the head is read
        self.left = 0  # "length": body bytes still to come
        self.chunk_left = -1  # "chunked": bytes left in the current chunk (-1: at a size line)
        self.pending = bytearray()  # "chunked": the start of a line still to come
        self.keep_alive = True
        self.complete = False

    def head(self, buffer: bytearray) -> int:
        """Parse the head at the start of ``buffer`` if it is all there: how many bytes it
        took (0: not yet; interim 1xx answers are consumed and skipped)."""
        taken = 0
        while True:
            end = buffer.find(b"\r\n\r\n", taken)
            if end < 0:
                # The whole buffer, interim answers included: it is parsed again from its
                # start on each read, so a peer streaming "100 Continue" without end must
                # neither grow it nor hold the event loop.
                if len(buffer) > MAX_HEAD_BYTES:
                    raise BadAnswer("the answer's headers are longer than 64 KiB")
                # RFC 9112 §2.2 lets a recipient accept a bare LF as a line end; tpsim does
                # not, but says so now rather than wait for a CRLF that will never come.
                # Searched only while a head is incomplete: a whole head never gets here.
                if _BARE_LF_END.search(buffer, taken):
                    raise BadAnswer(
                        "the answer's head ends its lines with a bare LF, not CRLF (RFC 9112 §2.1)"
                    )
                return 0
            lines = bytes(buffer[taken:end]).decode("latin-1").split("\r\n")
            taken = end + 4
            status_line = _STATUS_LINE.match(lines[0])
            if status_line is None:
                raise BadAnswer(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
            version, status = status_line["version"], int(status_line["status"])
            if 100 <= status < 200:
                continue  # 100 Continue and friends: the answer follows
            self.status = status
            self._headers(lines[1:], version == "HTTP/1.0")
            return taken

    def _headers(self, lines: list[str], http10: bool) -> None:
        length: int | None = None
        chunked = False
        close = http10
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise BadAnswer(f"not a header line: {line[:80]!r}")
            match name.strip().lower():
                case "content-length":
                    text = value.strip()
                    if not (text.isascii() and text.isdecimal()):
                        raise BadAnswer(f"Content-Length is not a number: {text[:40]!r}")
                    if len(text) > MAX_LENGTH_DIGITS:  # int() raises past 4,300 digits
                        raise BadAnswer(f"Content-Length is too large: {text[:40]}…")
                    if length is not None and int(text) != length:  # RFC 9112 §6.3
                        raise BadAnswer("two Content-Length headers with different values")
                    length = int(text)
                case "transfer-encoding":  # chunked when it is the last coding
                    chunked = _tokens(value)[-1:] == ["chunked"]
                case "connection":
                    tokens = _tokens(value)
                    close = "close" in tokens or (close and "keep-alive" not in tokens)
        self.keep_alive = not close
        if self.status in _NO_BODY:
            self.framing, self.complete = "length", True
        elif chunked:
            self.framing = "chunked"
            # Both framings: chunked wins, but the peer (or a proxy before it) may read its
            # answers otherwise; the connection is not trusted with another request
            # (RFC 9112 §6.3: a sign of response splitting).
            self.keep_alive = self.keep_alive and length is None
        elif length is not None:
            self.framing, self.left = "length", length
            self.complete = length == 0
        else:  # the body ends with the connection
            self.framing, self.keep_alive = "close", False

    def feed(self, data: bytes | bytearray, limit: int) -> bytes | bytearray:
        """Take body bytes from ``data``; what follows the body (nothing, for an answer to
        a request that was not pipelined)."""
        if self.framing == "length":
            taken = min(self.left, len(data))
            self._keep(data[:taken], limit)
            self.left -= taken
            self.complete = self.left == 0
            return data[taken:]
        if self.framing == "close":
            self._keep(data, limit)
            return b""
        return self._chunks(data, limit)

    def _chunks(self, data: bytes | bytearray, limit: int) -> bytes | bytearray:
        buffer = self.pending + data
        self.pending = bytearray()
        while buffer and not self.complete:
            if self.chunk_left > 0:  # inside a chunk's data
                part = buffer[: self.chunk_left]
                self._keep(part, limit)
                self.chunk_left -= len(part)
                del buffer[: len(part)]
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise BadAnswer("a chunk's size line is longer than 64 KiB")
                self.pending = buffer  # wait for the rest of the line
                return b""
            line = bytes(buffer[:end])
            if self.chunk_left == 0:  # the CRLF that ends a chunk's data
                if line:
                    raise BadAnswer("a chunk's data is not followed by CRLF")
                del buffer[: end + 2]
                self.chunk_left = -1
                continue
            if self.chunk_left == -2:  # trailers after the last chunk, up to an empty line
                del buffer[: end + 2]
                self.complete = not line
                continue
            size = line.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size):
                raise BadAnswer(f"not a chunk size: {size[:20]!r}")
            self.chunk_left = int(size, 16)
            del buffer[: end + 2]
            if self.chunk_left == 0:
                self.chunk_left = -2
        return buffer

    def _keep(self, data: bytes | bytearray, limit: int) -> None:
        room = limit - len(self.body)
        if room > 0:
            self.body += data[:room]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer read into ``_Answer``."""

    def __init__(self, key: tuple[str, int]) -> None:
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._answer: _Answer | None = None
        self._in_body = False
        self._limit = 0
        self._waiter: asyncio.Future[_Answer] | None = None

    @property
    def usable(self) -> bool:
        """Open, and not closing: a request may be written."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not a subclass of asyncio.Transport).
        self.transport = cast("asyncio.Transport", transport)

    def request(self, data: bytes, limit: int) -> asyncio.Future[_Answer]:
        """Write ``data`` (a whole request); the future is its answer."""
        assert self.transport is not None  # noqa: S101 - connected
        self._waiter = asyncio.get_running_loop().create_future()
        self._answer, self._in_body, self._limit = _Answer(), False, limit
        self._buffer.clear()
        self.transport.write(data)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        answer, waiter = self._answer, self._waiter
        if answer is None or waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: this connection can't be trusted
            return
        try:
            rest: bytes | bytearray = data
            if not self._in_body:
                self._buffer += data
                taken = answer.head(self._buffer)
                if not taken:
                    return
                rest = self._buffer[taken:]
                self._buffer.clear()
                self._in_body = True
            if rest and not answer.complete:
                rest = answer.feed(rest, self._limit)
        except BadAnswer as exc:
            self._fail(exc)
            return
        if answer.complete:
            if rest:  # more than one answer to one request
                answer.keep_alive = False
            self._done(answer)
        elif answer.body:  # what came of the body is the reason (as aiohttp's read(n)
            answer.keep_alive = False  # gives): the rest is not read, the connection closed
            self._done(answer)

    def eof_received(self) -> None:
        self.closed = True  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answer, waiter = self._answer, self._waiter
        if waiter is None or waiter.done():
            return
        if answer is not None and self._in_body:  # the status came: so much for the body
            answer.complete = answer.framing == "close"
            answer.keep_alive = False
            self._done(answer)
        else:
            waiter.set_exception(Disconnected(exc if isinstance(exc, OSError) else None))

    def _done(self, answer: _Answer) -> None:
        assert self._waiter is not None  # noqa: S101 - a request is waiting
        self._answer = None
        if not answer.keep_alive:
            self.close()
        self._waiter.set_result(answer)

    def _fail(self, exc: Exception) -> None:
        assert self._waiter is not None  # noqa: S101 - a request is waiting
        self._answer = None
        self.close()
        self._waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[_Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Http1Pool:
    """Keep-alive connections by host and port; ``request`` sends one request on an idle one
    (or a new one) and gives the answer's status and first ``limit`` body bytes."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        limit: int,
        timeout_s: float,
    ) -> tuple[int, bytes]:
        """``method target`` with ``headers`` (``Host`` and ``Content-Length`` added) and
        ``body``; raises ``NotConnected``, ``Disconnected`` or ``BadAnswer`` (all ``Failed``),
        ``TimeoutError`` when no answer came within ``timeout_s`` (connecting included), or
        ``ValueError`` for a header that would split the request."""
        data = _encode(host, port, method, target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        connection = self._take((host, port))
        if connection is None:
            async with asyncio.timeout_at(deadline):
                connection = await self._connect(host, port)
        waiter = connection.request(data, limit)
        # A plain timer rather than asyncio.timeout: it fails only the answer's future.
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            answer = await waiter
        except BaseException:
            connection.close()  # timed out, cancelled or failed: never reused
            raise
        finally:
            timer.cancel()
        self._give_back(connection)
        return answer.status, bytes(answer.body)

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.usable and now - connection.idle_since <= IDLE_S:
                return connection
            connection.close()
        return None

    async def _connect(self, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                lambda: _Connection((host, port)), host, port
            )
        except OSError as exc:
            raise NotConnected(exc) from None
        return connection

    def _give_back(self, connection: _Connection) -> None:
        if not connection.usable or self._closed:
            connection.close()
            return
        now = time.monotonic()
        connection.idle_since = now
        idle = self._idle.setdefault(connection.key, [])
        while idle and (idle[0].closed or now - idle[0].idle_since > IDLE_S):
            idle.pop(0).close()  # the oldest first: the list is in the order handed back
        idle.append(connection)

    def close(self) -> None:
        """Close every idle connection, and each busy one once its answer is in."""
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


def _encode(
    host: str, port: int, method: str, target: str, headers: Mapping[str, str], body: bytes | None
) -> bytes:
    where = host if port == 80 else f"{host}:{port}"
    if ":" in host:
        where = f"[{host}]" if port == 80 else f"[{host}]:{port}"
    lines = [f"{method} {target} HTTP/1.1", f"Host: {where}"]
    for name, value in headers.items():
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"the {name} header holds a line break")
        if name.lower() not in _OURS:
            lines.append(f"{name}: {value}")
    if body is not None or method in _WITH_BODY:
        lines.append(f"Content-Length: {0 if body is None else len(body)}")
    # A header value the switch forwards as it came may hold bytes that are no UTF-8: the
    # server decoded them as lone surrogates (surrogateescape), and they go on as the same
    # bytes (the Mojaloop switch passes headers through), not as a failure to reach the
    # participant.
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head if body is None else head + body


_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _tokens(value: str) -> list[str]:
    """A comma-separated header value's tokens, lowercase."""
    return [token.strip().lower() for token in value.split(",") if token.strip()]


_OURS = frozenset(("host", "content-length", "transfer-encoding", "connection"))
_WITH_BODY = frozenset(("POST", "PUT", "PATCH"))
