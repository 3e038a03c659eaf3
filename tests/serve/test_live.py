"""The live traffic view's stream (issue 16): ``GET /admin/journal/stream`` sends, as
Server-Sent Events over real HTTP, the journal's backlog and then each hop as tpsim records
it — the same entries ``GET /admin/journal`` gives — for one conversation when asked; keeps
the connection alive; drops a client that falls behind without ever waiting for it; and is
guarded like the rest of the admin API. ``/ui`` serves the page that draws it (its browser
test is ``test_live_browser.py``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.serve.test_admin_token import TOKEN, served
from tests.serve.test_xs2a import PAYMENTS, Tpp, payment
from tests.support.flows import complete_transfer
from tests.support.scheme import Scheme
from tpsim.config import load_config
from tpsim.journal import Hop, HttpExchange, Journal, JournalEntry
from tpsim.mojaloop.message import Message, make_headers
from tpsim.serve import chunked, live
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

STREAM = "/admin/journal/stream"


# --- an SSE client, reading events as a browser's EventSource does -----------------------


@dataclass
class Event:
    event: str
    data: Any
    id: str | None = None


@dataclass
class EventStream:
    """The events (and comment lines) of one open stream, in order."""

    response: aiohttp.ClientResponse
    comments: list[str] = field(default_factory=list)

    async def next(self) -> Event | None:
        """The next event, or None at the end of the stream; comments are kept aside."""
        kind, data, last_id = "message", list[str](), None
        while True:
            line = await self.response.content.readline()
            if not line:
                return None
            text = line.decode().rstrip("\n")
            if text.startswith(":"):
                self.comments.append(text[1:].strip())
                continue
            if not text:
                if data:
                    return Event(kind, json.loads("\n".join(data)), last_id)
                continue
            name, _, value = text.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                last_id = value

    async def entries(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` entries."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            event = await self.next()
            assert event is not None, f"the stream ended after {len(found)} of {count} entries"
            assert event.event == "entry", event
            assert event.id == str(event.data["seq"])
            found.append(event.data)
        return found

    async def until_live(self) -> list[dict[str, Any]]:
        """The backlog: every entry before the comment saying the stream is live."""
        backlog: list[dict[str, Any]] = []
        while not any(c.startswith("live after") for c in self.comments):
            line = await self.response.content.readline()
            assert line, "the stream ended before it went live"
            text = line.decode().rstrip("\n")
            if text.startswith(":"):
                self.comments.append(text[1:].strip())
            elif text.startswith("data: "):
                backlog.append(json.loads(text.removeprefix("data: ")))
        return backlog


@asynccontextmanager
async def stream(url: str, **params: str | int) -> AsyncIterator[EventStream]:
    headers = {k.replace("_", "-"): str(v) for k, v in params.items() if k[0].isupper()}
    query = {k: str(v) for k, v in params.items() if not k[0].isupper()}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + STREAM, params=query, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        yield EventStream(response)


async def journal(scheme: Scheme, **query: str | int) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{scheme.url}/admin/journal", params=query) as answer,
    ):
        return (await answer.json())["entries"]  # type: ignore[no-any-return]


# --- the flows whose traffic is watched ----------------------------------------------------


async def mojaloop_transfer(scheme: Scheme, n: int) -> str:
    """A whole Third Party transfer by the test PISP; returns its transactionRequestId."""
    request_id = f"{n:08d}-1111-4111-8111-111111111111"
    await complete_transfer(scheme, request_id)
    return request_id


async def xs2a_payment(scheme: Scheme, n: int) -> str:
    """An XS2A payment by a TPP, approved at the bank's redirect page; returns its id."""
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        body = payment(amount=f"{n}.00")
        status, created, _ = await tpp.call(
            "POST", PAYMENTS, body, TPP_Redirect_URI="http://localhost:8000/cb"
        )
        assert status == 201, created
        link = created["_links"]["scaRedirect"]["href"]
        async with http.get(link + "?sim_decision=approve", allow_redirects=False) as back:
            assert back.status == 302
        await scheme.settle()
        assert (await tpp.status(created))["transactionStatus"] == "ACCC"
    return str(created["paymentId"])


Flow = Callable[[Scheme, int], Coroutine[Any, Any, str]]
FLOWS = [pytest.param(mojaloop_transfer, id="mojaloop"), pytest.param(xs2a_payment, id="xs2a")]


# --- what the stream sends ------------------------------------------------------------------


@pytest.mark.parametrize("flow", FLOWS)
async def test_the_stream_sends_the_backlog_then_each_hop_live_as_the_journal_shows_it(
    scheme: Scheme, flow: Flow
) -> None:
    await flow(scheme, 1)
    await scheme.settle()
    before = await journal(scheme)
    async with stream(scheme.url) as events:
        assert await events.until_live() == before
        running = asyncio.create_task(flow(scheme, 2))
        first = await events.entries(1)  # recorded after the stream went live
        await running
        await scheme.settle()
        after = await journal(scheme, since=before[-1]["seq"])
        live_ones = first + await events.entries(len(after) - 1)
    assert live_ones == after
    hops = {e["hop"] for e in live_ones}
    assert {"received", "sent"} <= hops


async def test_a_psd2_payment_shows_its_redirect_and_the_settlement_it_causes(
    scheme: Scheme,
) -> None:
    async with stream(scheme.url) as events:
        await events.until_live()
        payment_id = await xs2a_payment(scheme, 7)
        await scheme.settle()
        seen = await events.entries(len(await journal(scheme)))
    hops = [(e["hop"], e["dialect"], e["destination"]) for e in seen]
    assert ("out-of-band", "xs2a", "psu") in hops
    assert ("delivered", "mojaloop", "dfspb") in hops  # the quote and transfer to Max's bank
    assert all(payment_id in e["correlation_ids"] or e["conversation"] == payment_id for e in seen)


async def test_a_correlation_id_streams_only_its_conversation_linked_ids_included(
    scheme: Scheme,
) -> None:
    wanted = "00000002-1111-4111-8111-111111111111"
    async with stream(scheme.url, correlationId=wanted) as events:
        assert await events.until_live() == []
        # Concurrent: an entry may be recorded before the message that links it in.
        await asyncio.gather(mojaloop_transfer(scheme, 1), mojaloop_transfer(scheme, 2))
        await scheme.settle()
        expected = await journal(scheme, correlationId=wanted)
        seen = await events.entries(len(expected))
    assert sorted(seen, key=lambda e: e["seq"]) == expected
    assert any(e["path"].startswith("/quotes") for e in seen)  # linked by the quote's body
    assert not any("00000001-1111" in json.dumps(e) for e in seen)


async def test_an_entry_a_later_message_links_into_the_conversation_comes_before_that_message(
    scheme: Scheme,
) -> None:
    assert scheme.sim is not None
    target, at = scheme.sim.journal, datetime.now(UTC)

    def hop(**body: str) -> JournalEntry:
        return target.record(Hop.SENT, Message("PUT", "/x", make_headers(), body), at=at)

    async with stream(scheme.url, correlationId="tr-1") as events:
        assert await events.until_live() == []
        quote = hop(quoteId="q-1")  # not (yet) the watched conversation's
        own = hop(transactionRequestId="tr-1")
        linking = hop(transactionRequestId="tr-1", quoteId="q-1")
        seen = await events.entries(3)
    assert [e["seq"] for e in seen] == [own.seq, quote.seq, linking.seq]


async def test_a_filtered_backlog_is_that_conversation_s(scheme: Scheme) -> None:
    one = await mojaloop_transfer(scheme, 1)
    await mojaloop_transfer(scheme, 2)
    await scheme.settle()
    async with stream(scheme.url, correlationId=one) as events:
        assert await events.until_live() == await journal(scheme, correlationId=one)


@pytest.mark.parametrize(
    ("resume", "first"),
    [
        ({"since": 5}, 6),
        ({"Last_Event_ID": 7}, 8),  # what EventSource sends when it reconnects
        ({"since": 3, "Last_Event_ID": 9}, 4),
    ],
    ids=["since", "Last-Event-ID", "since wins"],
)
async def test_a_client_resumes_after_the_seq_it_names(
    scheme: Scheme, resume: dict[str, int], first: int
) -> None:
    await mojaloop_transfer(scheme, 1)
    await scheme.settle()
    async with stream(scheme.url, **resume) as events:
        backlog = await events.until_live()
    assert backlog[0]["seq"] == first
    assert backlog == await journal(scheme, since=first - 1)


@pytest.mark.parametrize("since", ["ten", "-1", "1.5"])
async def test_a_since_that_is_not_a_whole_number_is_refused_saying_so(
    scheme: Scheme, since: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(scheme.url + STREAM, params={"since": since}) as answer,
    ):
        assert answer.status == 400
        assert "since" in (await answer.json())["error"]


async def test_a_keep_alive_comment_comes_while_nothing_happens(
    scheme: Scheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "HEARTBEAT_S", 0.05)
    async with stream(scheme.url) as events:
        await events.until_live()
        line = b"\n"
        while line == b"\n":
            line = await events.response.content.readline()
    assert line == b": keep-alive\n"


# --- a slow client never holds tpsim up ---------------------------------------------------


def record(target: Journal, n: int, body: dict[str, Any] | None = None) -> JournalEntry:
    exchange = HttpExchange("GET", f"/hop/{n}", {}, body, "tpp-one", "dfspa")
    return target.record(Hop.SENT, exchange, at=datetime.now(UTC))


async def test_a_client_that_falls_behind_is_dropped_with_a_last_event_and_can_resume(
    scheme: Scheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "QUEUE_ENTRIES", 3)
    assert scheme.sim is not None
    target = scheme.sim.journal
    async with stream(scheme.url) as events:
        assert await events.until_live() == []
        assert target.subscribers == 1
        for n in range(10):  # all at once: the stream's task cannot run in between
            record(target, n)
        dropped = await events.next()
        assert dropped is not None and dropped.event == "dropped"
        assert dropped.data["code"] == "STREAM_TOO_SLOW"
        assert dropped.data["since"] == 0
        assert "reconnect with since=0" in dropped.data["error"]
        assert await events.next() is None  # the stream ended
    assert target.subscribers == 0
    async with stream(scheme.url, since=dropped.data["since"]) as events:
        caught_up = await events.until_live()
    assert [e["path"] for e in caught_up] == [f"/hop/{n}" for n in range(10)]


async def test_a_client_that_stops_reading_is_cut_off_and_tpsim_goes_on(
    scheme: Scheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "QUEUE_ENTRIES", 20)
    monkeypatch.setattr(chunked, "WRITE_TIMEOUT_S", 0.2)
    assert scheme.sim is not None
    target = scheme.sim.journal
    host, port = scheme.url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    writer.write(f"GET {STREAM} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    assert b"200 OK" in await reader.readline()
    while b"live after" not in await reader.readline():
        pass
    assert target.subscribers == 1
    big = {"blob": "x" * 200_000}
    for n in range(200):  # 40 MB for a client that reads none of it
        record(target, n, big)
        await asyncio.sleep(0)
    async with aiohttp.ClientSession() as session, session.get(scheme.url + "/health") as answer:
        assert answer.status == 200
    assert len(target) == 200
    while target.subscribers:  # tpsim lets the client go, by itself
        await asyncio.sleep(0.05)
    received = 0
    try:
        while chunk := await reader.read(65536):
            received += len(chunk)
    except ConnectionResetError:
        pass
    writer.close()
    assert received < 10_000_000  # what buffers held, never the 40 MB


# --- guarded like the admin API ----------------------------------------------------------


async def status_of(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        if answer.content_type == "application/json":
            return answer.status, await answer.json()
        return answer.status, answer.headers["Content-Type"]


async def test_with_an_admin_token_the_stream_needs_it_in_the_header_never_the_url() -> None:
    async with served(TOKEN) as url:
        status, body = await status_of(url + STREAM)
        assert (status, body["code"]) == (401, "ADMIN_TOKEN_REQUIRED")
        # A token in the URL would stay in access logs, history and proxies: not accepted.
        status, body = await status_of(f"{url}{STREAM}?token={TOKEN}")
        assert (status, body["code"]) == (401, "ADMIN_TOKEN_REQUIRED")
        status, body = await status_of(url + STREAM, {"Authorization": f"Bearer {TOKEN}x"})
        assert (status, body["code"]) == (401, "ADMIN_TOKEN_INVALID")
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + STREAM, headers={"Authorization": f"Bearer {TOKEN}"}) as answer,
        ):
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/event-stream")


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Host": "evil.example"}],
    ids=["foreign Origin", "cross-site fetch", "rebound Host"],
)
async def test_on_loopback_without_a_token_other_sites_cannot_read_the_stream(
    headers: dict[str, str],
) -> None:
    async with served(None) as url:
        status, body = await status_of(url + STREAM, headers)
    assert status == 403 and "admin API" in body["error"]


async def test_shutting_down_ends_open_streams_without_waiting_for_their_clients() -> None:
    app = create_app(Simulation(load_config()))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    async with stream(url) as events:
        await events.until_live()
        # aiohttp would otherwise wait its shutdown_timeout (60 s) for the handler.
        await asyncio.wait_for(server.close(), timeout=20)
        assert await events.next() is None


# --- the page ----------------------------------------------------------------------------


def _hash(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


async def test_the_page_is_served_even_with_a_token_and_allows_only_its_own_code() -> None:
    async with (
        served(TOKEN) as url,
        aiohttp.ClientSession() as session,
        session.get(url + "/ui") as answer,
    ):
        assert answer.status == 200  # static: what it shows comes through the guarded API
        assert answer.content_type == "text/html"
        html = await answer.text()
        policy = answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
    (script,) = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    (style,) = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    assert f"script-src {_hash(script)};" in policy
    assert f"style-src {_hash(style)};" in policy
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    # Self-contained: no CDN, no web font, nothing loaded from anywhere else.
    assert not re.search(r"""(src|href)\s*=|@import|url\(|https?://""", html)


def test_the_page_ships_inside_the_package() -> None:
    page = resources.files("tpsim.serve").joinpath("ui.html")
    assert page.is_file() and "/admin/journal/stream" in page.read_text("utf-8")


# --- the journal's subscription hook ----------------------------------------------------


def test_a_subscriber_is_told_of_each_entry_until_it_unsubscribes() -> None:
    target = Journal()
    told: list[int] = []
    unsubscribe = target.subscribe(lambda entry: told.append(entry.seq))
    record(target, 1)
    record(target, 2)
    unsubscribe()
    record(target, 3)
    assert told == [1, 2] and target.subscribers == 0
    unsubscribe()  # twice is harmless


def test_a_subscriber_that_raises_is_dropped_and_never_fails_the_hop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = Journal()
    told: list[int] = []

    def broken(entry: JournalEntry) -> None:
        raise RuntimeError("boom")

    target.subscribe(broken)
    target.subscribe(lambda entry: told.append(entry.seq))
    record(target, 1)
    record(target, 2)
    assert len(target) == 2 and told == [1, 2]
    assert target.subscribers == 1
    assert "a journal subscriber failed on entry 1" in caplog.text
