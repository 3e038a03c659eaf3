"""``HttpClient``'s lean callback path (issue 17): a callback carries the FSPIOP headers the
switch gives it and nothing aiohttp would add, and no participant's cookie comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web

from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.steps import Answered, Unreachable
from tpsim.mojaloop.wire.headers import build_headers
from tpsim.serve.transports import HttpClient

PATH = "/thirdpartyRequests/transactions/b51ec534-ee48-4575-b6a9-ead2955b8069"


@pytest.fixture
async def participant() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A participant on a loopback port that keeps each request's headers and answers 200
    with a cookie."""
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        response = web.Response(status=200)
        response.set_cookie("session", "s3cr3t")
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def callback(method: str) -> Message:
    headers = build_headers(method, "thirdparty", "dfspa", "pispa", datetime.now(UTC))
    return Message(method, PATH, make_headers(headers), {"transactionRequestState": "RECEIVED"})


async def test_a_put_callback_carries_the_fspiop_headers_and_nothing_aiohttp_adds(
    participant: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = participant
    client = HttpClient(timeout_s=5)
    try:
        result = await client.send(url, callback("PUT"))
    finally:
        await client.close()
    assert isinstance(result, Answered) and result.status == 200
    sent = seen[0]
    assert sent["FSPIOP-Source"] == "dfspa" and sent["FSPIOP-Destination"] == "pispa"
    assert sent["Content-Type"] == "application/vnd.interoperability.thirdparty+json;version=1.0"
    # A PUT has no Accept (FSPIOP §3.2.1.3); aiohttp's */*, User-Agent and
    # Accept-Encoding are not sent.
    assert {"Accept", "User-Agent", "Accept-Encoding"}.isdisjoint(sent)


async def test_a_post_callback_keeps_its_own_accept(
    participant: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = participant
    client = HttpClient(timeout_s=5)
    try:
        await client.send(url, callback("POST"))
    finally:
        await client.close()
    assert seen[0]["Accept"] == "application/vnd.interoperability.thirdparty+json;version=1"


async def test_a_participants_cookie_is_never_sent_back(
    participant: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = participant
    url = url.replace("127.0.0.1", "localhost")  # aiohttp's jar keeps no cookie of an IP
    client = HttpClient(timeout_s=5)
    try:
        await client.send(url, callback("PUT"))
        await client.send(url, callback("PUT"))
    finally:
        await client.close()
    assert len(seen) == 2 and "Cookie" not in seen[1]


async def test_a_path_that_needs_quoting_is_sent_quoted() -> None:
    """The lean client takes plain paths; one with a character a URL must quote goes through
    aiohttp, which quotes it."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/base/"
    headers = build_headers("PUT", "parties", "dfspa", "pispa", datetime.now(UTC))
    client = HttpClient(timeout_s=5)
    try:
        for path in ("/parties/MSISDN/123", "/parties/MSISDN/jé ssica"):
            await client.send(url, Message("PUT", path, make_headers(headers), {"party": {}}))
    finally:
        await client.close()
        await runner.cleanup()
    assert seen == ["/base/parties/MSISDN/123", "/base/parties/MSISDN/j%C3%A9%20ssica"]


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_an_endpoint_that_never_answers_is_unreachable_after_the_timeout(
    scheme: str,
) -> None:
    """The lean client (``http://``) and aiohttp's (here ``https://``, to a server that
    never completes a handshake) both give up after ``timeout_s`` with the same reason."""
    requests: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        requests.append(await reader.read(100))

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = HttpClient(timeout_s=0.2)
    try:
        result = await client.send(f"{scheme}://127.0.0.1:{port}", callback("PUT"))
    finally:
        await client.close()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
    assert isinstance(result, Unreachable)
    assert result.error == "no answer within 0.2 s"
    assert requests  # the request (or the TLS hello) was written


async def test_an_answer_with_a_malformed_status_is_a_failed_delivery() -> None:
    """``HTTP/1.1 2000 OK`` is no 200: the callback was not delivered, and the journal says
    why in aiohttp's words."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = HttpClient(timeout_s=10)
    try:
        result = await client.send(f"http://127.0.0.1:{port}", callback("PUT"))
    finally:
        await client.close()
        server.close()
        await server.wait_closed()
    assert isinstance(result, Unreachable)
    assert result.error == "ClientResponseError: not an HTTP/1.1 status line: 'HTTP/1.1 2000 OK'"
