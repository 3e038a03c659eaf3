"""A method tpsim does not serve on a path is refused at once in the addressed API's own
format, and no request can hold its connection: a ``CONNECT`` (which aiohttp reads as the
opening of a tunnel, with no path) is refused like any other method and its connection
closed after the answer; an ``Upgrade`` nobody accepts is an ordinary request; a body
that never ends is answered after ``server.body_timeout_s``.

Each test writes raw bytes to tpsim on a loopback ephemeral port, through the site
``tpsim serve`` uses, and gives up after a few seconds so that a held connection fails it
quickly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.serve.test_connections import guarded, raw
from tpsim.testing import Tpsim

# How long a client waits for an answer (and for the end of the connection) it must have
# at once; aiohttp's lingering close would hold a connection for 10 s.
SOON = 3.0

FSPIOP = b"/thirdpartyRequests/transactions"
XS2A = b"/xs2a/dfspa/v1/payments/sepa-credit-transfers"
XS2A_CONSENTS = b"/xs2a/dfspa/v1/consents"
OBIE = b"/obie/dfspa/open-banking/v3.1/pisp/domestic-payment-consents"
STET = b"/stet/dfspa/v1/payment-requests"
ADMIN = b"/admin/journal"


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with Tpsim() as tpsim:
        yield int(tpsim.url.rsplit(":", 1)[1])


class Answer:
    """One answer read off the wire: status, headers, the body's bytes."""

    def __init__(self, data: bytes) -> None:
        top, _, self.content = data.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self.content
        return json.loads(self.content)


async def answered_and_closed(port: int, request: bytes) -> Answer:
    """``request`` written as is; its answer, read to the end of the connection, which
    tpsim must close within ``SOON``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        async with asyncio.timeout(SOON):
            data = await reader.read()
    finally:
        writer.close()
    return Answer(data)


def head(method: bytes, target: bytes, *lines: bytes) -> bytes:
    return method + b" " + target + b" HTTP/1.1\r\nHost: tpsim\r\n" + b"".join(lines) + b"\r\n"


async def test_a_connect_on_the_fspiop_api_is_3000_and_its_connection_is_closed(
    port: int,
) -> None:
    answer = await answered_and_closed(port, head(b"CONNECT", FSPIOP))
    assert answer.status == 405
    info = answer.json()["errorInformation"]
    assert info["errorCode"] == "3000"
    assert "CONNECT" in info["errorDescription"]


async def test_a_connect_on_xs2a_is_service_invalid(port: int) -> None:
    answer = await answered_and_closed(port, head(b"CONNECT", XS2A))
    assert answer.status == 405
    assert answer.json()["tppMessages"][0]["code"] == "SERVICE_INVALID"
    assert answer.headers["x-request-id"]


async def test_a_connect_where_xs2a_has_no_resource_is_resource_unknown(port: int) -> None:
    answer = await answered_and_closed(port, head(b"CONNECT", XS2A_CONSENTS))
    assert answer.status == 404  # as a DELETE there is told: tpsim plays no AIS consents
    assert answer.json()["tppMessages"][0]["code"] == "RESOURCE_UNKNOWN"
    assert answer.headers["x-request-id"]


async def test_a_connect_on_the_uk_api_is_its_bodiless_405(port: int) -> None:
    answer = await answered_and_closed(port, head(b"CONNECT", OBIE))
    assert answer.status == 405
    assert answer.content == b""
    assert answer.headers["x-fapi-interaction-id"]


async def test_a_connect_on_stet_is_method_not_allowed(port: int) -> None:
    answer = await answered_and_closed(port, head(b"CONNECT", STET))
    assert answer.status == 405
    body = answer.json()
    assert body["error"] == "METHOD_NOT_ALLOWED"
    assert body["path"] == STET.decode()


# A method aiohttp cannot parse (FOO) or a CONNECT never reaches STET's routing, yet is
# told the methods the path serves, as a DELETE on it is (RFC 9110 §15.5.6).
STET_ALLOW = [
    (STET, "POST"),
    (STET + b"/0e8a2f5c-1d7b-4c3e-9a6f-5b2d8c1e4f70", "GET, PUT"),
    (STET + b"/0e8a2f5c-1d7b-4c3e-9a6f-5b2d8c1e4f70/confirmation", "POST"),
    (STET + b"/0e8a2f5c-1d7b-4c3e-9a6f-5b2d8c1e4f70/o-confirmation", "POST"),
]


@pytest.mark.parametrize("method", [b"CONNECT", b"FOO"])
@pytest.mark.parametrize(("path", "allow"), STET_ALLOW)
async def test_an_unserved_method_on_stet_is_told_the_methods_the_path_serves(
    port: int, method: bytes, path: bytes, allow: str
) -> None:
    answer = await answered_and_closed(port, head(method, path))
    assert answer.status == 405
    assert answer.headers["allow"] == allow
    assert answer.json()["error"] == "METHOD_NOT_ALLOWED"
    async with raw(port) as (reader, writer):  # what STET's routing says to a DELETE
        writer.write(head(b"DELETE", path))
        async with asyncio.timeout(SOON):
            routed = Answer(await reader.readuntil(b"\r\n\r\n"))
    assert (routed.status, routed.headers["allow"]) == (405, allow)


@pytest.mark.parametrize("method", [b"CONNECT", b"FOO"])
@pytest.mark.parametrize("path", [STET + b"/x/y/z", b"/stet/nobank/v1/payment-requests"])
async def test_an_unserved_method_where_stet_has_no_resource_is_its_404(
    port: int, method: bytes, path: bytes
) -> None:
    answer = await answered_and_closed(port, head(method, path))
    assert answer.status == 404
    assert "allow" not in answer.headers
    assert answer.json()["error"] == "RESOURCE_UNKNOWN"


@pytest.mark.parametrize("target", [ADMIN, b"tpsim.example:443"])
async def test_a_connect_on_the_admin_api_or_to_an_authority_is_its_problem_json(
    port: int, target: bytes
) -> None:
    answer = await answered_and_closed(port, head(b"CONNECT", target))
    assert answer.status == 400
    body = answer.json()
    assert body["code"] == "MALFORMED_REQUEST"
    assert "CONNECT is not served" in body["error"]


async def test_a_connect_frees_its_connection_slot_at_once() -> None:
    async with guarded(max_connections=1) as (port, site):
        answer = await answered_and_closed(port, head(b"CONNECT", FSPIOP))
        assert answer.status == 405
        await asyncio.sleep(0.05)
        assert site.connections.open == 0


@pytest.mark.parametrize(
    ("path", "status"), [(FSPIOP, 405), (XS2A, 405), (STET, 405), (b"/health", 405)]
)
async def test_a_trace_is_refused_in_the_apis_format_and_the_connection_is_kept(
    port: int, path: bytes, status: int
) -> None:
    async with raw(port) as (reader, writer):
        for _ in range(2):  # the second on the same connection: it stays usable
            writer.write(head(b"TRACE", path))
            async with asyncio.timeout(SOON):
                answer = Answer(await reader.readuntil(b"\r\n\r\n"))
                body = await reader.readexactly(int(answer.headers["content-length"]))
            assert answer.status == status
            assert json.loads(body)


async def test_an_upgrade_to_websocket_on_the_fspiop_api_is_an_ordinary_request(
    port: int,
) -> None:
    upgrade = head(
        b"GET",
        FSPIOP,
        b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    )
    async with raw(port) as (reader, writer):
        writer.write(upgrade)
        async with asyncio.timeout(SOON):
            answer = Answer(await reader.readuntil(b"\r\n\r\n"))
            body = json.loads(await reader.readexactly(int(answer.headers["content-length"])))
            assert answer.status == 405
            assert body["errorInformation"]["errorCode"] == "3000"
            writer.write(head(b"GET", b"/health"))  # no websocket: still HTTP
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")


async def test_a_chunked_body_that_never_ends_is_answered_after_the_body_timeout() -> None:
    unending = head(
        b"POST",
        FSPIOP,
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n",
    )
    async with guarded(body_timeout_s=1) as (port, _), raw(port) as (reader, writer):
        writer.write(unending + b"5\r\nhello\r\n")
        async with asyncio.timeout(SOON):
            answer = Answer(await reader.readuntil(b"\r\n\r\n"))
            body = json.loads(await reader.readexactly(int(answer.headers["content-length"])))
        assert answer.status == 400
        assert body["errorInformation"]["errorCode"] == "3101"
        assert "did not arrive within 1 s" in body["errorInformation"]["errorDescription"]


@pytest.mark.parametrize("path", [FSPIOP, XS2A])
async def test_a_client_that_leaves_in_the_middle_of_its_body_logs_no_error(
    path: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    unending = head(
        b"POST", path, b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    )
    async with guarded(body_timeout_s=SOON) as (port, site):
        with capture_logs() as logs:
            async with raw(port) as (_, writer):
                writer.write(unending + b"5\r\nhello\r\n")
                await asyncio.sleep(0.2)
            async with asyncio.timeout(SOON):
                while site.connections.open:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)  # the handler's end, after the connection's
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
