"""Delivery over HTTP tells the truth: a message is sent once, and a failure is reported by
its status and a short reason, never by what the endpoint served.

Each test runs a tiny raw HTTP/1.1 server on a loopback ephemeral port, so it controls
exactly when a keep-alive connection closes and what an answer holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from tpsim.config_participants import Kind
from tpsim.core.clock import ManualClock
from tpsim.journal import Hop, Journal
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.registry import External, Registry, Simulated
from tpsim.mojaloop.roles.common import new_message
from tpsim.mojaloop.steps import Answered, Unreachable
from tpsim.mojaloop.switch import Switch
from tpsim.serve.router import Router
from tpsim.serve.transports import REASON_CHARS, HttpClient, Transports

START = datetime(2030, 1, 1, tzinfo=UTC)
FIRST = "/consentRequests/6ee8b8a5-2a1c-4e3b-9b3e-4a6d0f6d2a11"
SECOND = "/consentRequests/0b7b3c9e-5f0d-4c43-8f4e-1f2b9a6c7d20"

# What the server does with the n-th request of a connection: the bytes to answer, or
# None to close the connection without answering.
Script = Callable[[int], bytes | None]


def answer(status: str, body: bytes = b"") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


@dataclass
class RawServer:
    """Reads requests on every connection and answers each as ``script`` says; keeps every
    request line it read, across connections, in ``requests``."""

    script: Script
    requests: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for n in range(1_000):
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head.split(b"\r\n", 1)[0].decode())
                reply = self.script(n)
                if reply is None:
                    return  # the headers are read; close without answering
                await reader.readexactly(_content_length(head))
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def _content_length(head: bytes) -> int:
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value)
    return 0


Serve = Callable[[Script], Awaitable[RawServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start ``RawServer``s on loopback ephemeral ports; closed after the test."""
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> RawServer:
        raw = RawServer(script)
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        servers.append(server)
        raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return raw

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@dataclass
class Quiet:
    """A simulated DFSP that takes every message (the error callbacks the switch sends it)."""

    fsp_id: str = "dfspa"
    received: list[Message] = field(default_factory=list)

    def handle(self, message: Message) -> Effects:
        self.received.append(message)
        return Effects()

    def on_timer(self, key: str) -> Effects:
        return Effects()


def scheme(pisp_url: str, client: HttpClient) -> tuple[Router, Quiet]:
    """A simulated DFSP and an external PISP at ``pisp_url``, delivered to over ``client``."""
    dfsp = Quiet()
    registry = Registry()
    registry.add(Simulated("dfspa", Kind.DFSP, dfsp))
    registry.add(External("pispa", Kind.PISP, pisp_url))
    switch = Switch(registry, "switch", ManualClock(START))
    return Router(switch, journal=Journal(), transports=Transports.http(client)), dfsp


def callback(path: str) -> Message:
    body = {"authChannels": ["OTP"], "consentRequestId": path.rsplit("/", 1)[1]}
    return new_message("PUT", path, source="dfspa", destination="pispa", body=body, now=START)


async def test_a_callback_is_sent_once_when_the_peer_drops_the_keep_alive_connection(
    serve: Serve,
) -> None:
    # The first PUT is answered on a keep-alive connection; the peer then closes it after
    # reading the second PUT's headers. aiohttp would resend that PUT on a new connection
    # (an idempotent method): the PISP would get it twice while the journal shows one send.
    server = await serve(lambda n: answer("200 OK") if n == 0 else None)
    client = HttpClient(timeout_s=5)
    router, dfsp = scheme(server.url, client)
    try:
        await router.send(callback(FIRST))
        await router.send(callback(SECOND))
    finally:
        await client.close()

    assert server.requests == [f"PUT {FIRST} HTTP/1.1", f"PUT {SECOND} HTTP/1.1"]
    sent = [e for e in router.journal.entries() if e.hop is Hop.SENT]
    assert [(e.path, e.status) for e in sent] == [(FIRST, 200), (SECOND, None)]
    assert sent[1].error is not None  # reported as the failed delivery it is
    # … and answered as one: the switch's 1001 to the DFSP that sent it.
    [error] = dfsp.received
    assert error.path == f"{SECOND}/error"
    assert error.body is not None and error.body["errorInformation"]["errorCode"] == "1001"


async def test_a_refusal_is_reported_by_its_status_and_a_short_reason(
    serve: Serve,
) -> None:
    page = b"<html>\n  <body>internal error at db-7.internal:5432</body>\n" + b"x" * 10_000
    server = await serve(lambda n: answer("500 Internal Server Error", page))
    client = HttpClient(timeout_s=5)
    try:
        result = await client.send(server.url, callback(FIRST))
    finally:
        await client.close()

    assert isinstance(result, Answered)
    assert result.status == 500
    assert result.body is not None
    assert len(result.body) <= REASON_CHARS
    assert result.body.startswith("<html> <body>internal error at db-7.internal:5432</body>")


async def test_the_error_callback_never_carries_the_remote_body(
    serve: Serve,
) -> None:
    secret = b"TOKEN-" + b"s" * 5_000 + b"-END"
    server = await serve(lambda n: answer("503 Service Unavailable", secret))
    client = HttpClient(timeout_s=5)
    router, dfsp = scheme(server.url, client)
    try:
        await router.send(callback(FIRST))
    finally:
        await client.close()

    [error] = dfsp.received
    assert error.body is not None
    info = error.body["errorInformation"]
    assert info["errorDescription"].startswith("pispa answered 503: TOKEN-sss")
    reflected = info["errorDescription"] + "".join(
        e["value"] for e in info.get("extensionList", {}).get("extension", [])
    )
    assert "-END" not in reflected
    assert "s" * REASON_CHARS not in reflected


async def test_an_unreachable_endpoint_is_reported_by_its_error_class() -> None:
    # A port nobody listens on: bound, then closed.
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = HttpClient(timeout_s=5)
    try:
        result = await client.send(f"http://127.0.0.1:{port}", callback(FIRST))
    finally:
        await client.close()

    assert isinstance(result, Unreachable)
    assert result.error.startswith("ClientConnectorError: ")
    assert len(result.error) <= REASON_CHARS
