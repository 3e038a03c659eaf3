"""Synchronous refusals at the HTTP edge (FSPIOP v1.1 §3.1–3.3, digest §3), over real HTTP.

Each row is one request a careless PISP might send and the status, ``errorCode`` and the
text the ``errorInformation`` must name. A refused request is never routed: no callback
follows it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.support.flows import AUTHZ, TX, complete_transfer
from tests.support.scheme import Scheme, transaction_request
from tpsim.mojaloop.wire.headers import format_http_date

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
THIRDPARTY = "application/vnd.interoperability.thirdparty+json;version="


def request(**changes: Any) -> dict[str, Any]:
    """A valid transaction request with top-level ``changes`` (None deletes a key)."""
    body = transaction_request(REQUEST_ID)
    for key, value in changes.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    return body


def nested(path: str, value: Any) -> dict[str, Any]:
    """A valid transaction request with the dotted ``path`` set to ``value`` (None deletes)."""
    body = transaction_request(REQUEST_ID)
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return body


C = "Content-Type"
V = "supported versions: 1.0"

# fmt: off
# (case, body, raw bytes, header overrides, status, code, text the description must contain)
BODY_CASES: list[tuple[str, Any, bytes | None, dict[str, str | None], int, str, str]] = [
    ("malformed JSON", None, b'{"transactionRequestId": ', {}, 400, "3101", "not valid JSON"),
    ("JSON array", None, b"[1, 2]", {}, 400, "3101", "JSON object"),
    ("missing body", None, None, {}, 400, "3102", "needs a JSON body"),
    ("missing payee", request(payee=None), None, {}, 400, "3102", "payee"),
    ("missing currency", nested("amount.currency", None), None, {}, 400, "3102", "amount.currency"),
    ("bad CorrelationId", request(transactionRequestId="1"), None, {}, 400, "3100",
     "transactionRequestId"),
    ("bad Amount", nested("amount.amount", "10.00"), None, {}, 400, "3100", "amount.amount"),
    ("negative Amount", nested("amount.amount", "-5"), None, {}, 400, "3100", "amount.amount"),
    ("bad enum", request(amountType="GIVE"), None, {}, 400, "3100", "amountType"),
    ("amount as number", nested("amount.amount", 100), None, {}, 400, "3101", "amount.amount"),
]
# (case, header overrides, status, code, text the description must contain)
HEADER_CASES: list[tuple[str, dict[str, str | None], int, str, str]] = [
    ("missing Date",                {"Date": None},                  400, "3102", "Date"),
    ("bad Date",                    {"Date": "yesterday"},           400, "3100", "Date"),
    ("missing FSPIOP-Source",       {"FSPIOP-Source": None},         400, "3102", "FSPIOP-Source"),
    ("unregistered FSPIOP-Source",  {"FSPIOP-Source": "pispz"},      400, "3100", "pispz"),
    ("missing FSPIOP-Destination",  {"FSPIOP-Destination": None},    400, "3102",
     "FSPIOP-Destination"),
    ("missing Content-Type",        {C: None},                       400, "3102", C),
    ("missing Accept",              {"Accept": None},                400, "3102", "Accept"),
    ("other media type",            {C: "text/plain"},               400, "3100", C),
    ("Content-Type version 2.0",    {C: THIRDPARTY + "2.0"},         406, "3001", V),
    ("Accept version 2",            {"Accept": THIRDPARTY + "2"},    406, "3001", V),
    ("Accept version 1.1",          {"Accept": THIRDPARTY + "1.1"},  406, "3001", V),
]
# fmt: on


async def assert_refused(
    scheme: Scheme, sent_status: int, sent_body: Any, status: int, code: str, text: str
) -> None:
    assert sent_status == status, sent_body
    info = sent_body["errorInformation"]
    assert info["errorCode"] == code
    assert text in info["errorDescription"]
    await scheme.settle()
    assert scheme.pisp.received == []  # never routed


@pytest.mark.parametrize(
    ("body", "raw", "headers", "status", "code", "text"),
    [pytest.param(*row[1:], id=row[0]) for row in BODY_CASES],
)
async def test_body_is_refused(
    scheme: Scheme,
    body: Any,
    raw: bytes | None,
    headers: dict[str, str | None],
    status: int,
    code: str,
    text: str,
) -> None:
    if body is None and raw is None:
        headers = {"Content-Type": THIRDPARTY + "1.0"}
    sent = await scheme.pisp.send("POST", TX, body, raw=raw, headers=headers, destination="dfspa")
    await assert_refused(scheme, sent.status, sent.body, status, code, text)


# PUT /thirdpartyRequests/authorizations/{ID} is additionalProperties:false (digest §4.3);
# POST /thirdpartyRequests/transactions is open, so extra members there are accepted.
FIDO_ASSERTION: dict[str, Any] = {
    "id": "A" * 86,
    "rawId": "A" * 86 + "==",
    "response": {
        "authenticatorData": "A" * 50,
        "clientDataJSON": "A" * 124,
        "signature": "A" * 96,
    },
    "type": "public-key",
}
ACCEPTED: dict[str, Any] = {
    "responseType": "ACCEPTED",
    "signedPayload": {"signedPayloadType": "FIDO", "fidoSignedPayload": FIDO_ASSERTION},
}
SIGNED: dict[str, Any] = ACCEPTED["signedPayload"]

# fmt: off
# (case, body, code, text the description must contain)
CLOSED_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("extra member", dict(ACCEPTED, surprise="!"), "3100", "surprise"),
    ("extra in signedPayload", dict(ACCEPTED, signedPayload=dict(SIGNED, colour="red")), "3100",
     "signedPayload.colour"),
    ("extra in the assertion", dict(ACCEPTED, signedPayload=dict(
        SIGNED, fidoSignedPayload=dict(FIDO_ASSERTION, colour="red"))), "3100",
     "signedPayload.fidoSignedPayload.colour"),
    ("missing signedPayload", {"responseType": "ACCEPTED"}, "3102", "signedPayload"),
    ("unknown responseType", {"responseType": "MAYBE"}, "3100", "responseType"),
    ("standard base64 GENERIC", dict(ACCEPTED, signedPayload={
        "signedPayloadType": "GENERIC", "genericSignedPayload": "ab+/cd=="}), "3100",
     "signedPayload.genericSignedPayload"),
]
# fmt: on


@pytest.mark.parametrize(
    ("body", "code", "text"), [pytest.param(*row[1:], id=row[0]) for row in CLOSED_CASES]
)
async def test_closed_body_is_refused(
    scheme: Scheme, body: dict[str, Any], code: str, text: str
) -> None:
    sent = await scheme.pisp.send("PUT", f"{AUTHZ}/{REQUEST_ID}", body, destination="dfspa")
    await assert_refused(scheme, sent.status, sent.body, 400, code, text)


async def test_extra_members_of_an_open_body_are_accepted(scheme: Scheme) -> None:
    body = dict(transaction_request(REQUEST_ID), surprise="!")
    body["payer"] = dict(body["payer"], colour="red")
    sent = await scheme.pisp.send("POST", TX, body, destination="dfspa")
    assert sent.status == 202, sent.body


@pytest.mark.parametrize(
    ("headers", "status", "code", "text"),
    [pytest.param(*row[1:], id=row[0]) for row in HEADER_CASES],
)
async def test_headers_are_refused(
    scheme: Scheme, headers: dict[str, str | None], status: int, code: str, text: str
) -> None:
    sent = await scheme.pisp.send(
        "POST", TX, transaction_request(REQUEST_ID), headers=headers, destination="dfspa"
    )
    await assert_refused(scheme, sent.status, sent.body, status, code, text)


async def test_unsupported_version_lists_the_supported_ones(scheme: Scheme) -> None:
    sent = await scheme.pisp.send(
        "POST",
        TX,
        transaction_request(REQUEST_ID),
        headers={"Content-Type": THIRDPARTY + "9.9"},
        destination="dfspa",
    )
    assert sent.status == 406
    assert sent.body is not None
    extension = sent.body["errorInformation"]["extensionList"]["extension"]
    assert {"key": "supportedVersions", "value": "1.0"} in extension


# (case, method, path, status, code, text)
URI_CASES = [
    ("unknown URI", "POST", "/thirdpartyRequests/payments", 404, "3002", "/thirdpartyRequests"),
    ("unknown root", "GET", "/", 404, "3002", "/"),
    ("too many segments", "GET", f"{TX}/{REQUEST_ID}/extra/more", 404, "3002", "extra"),
    ("DELETE on transactions", "DELETE", f"{TX}/{REQUEST_ID}", 405, "3000", "GET, PUT, PATCH"),
    ("GET on the collection", "GET", TX, 405, "3000", "POST"),
    ("POST on an error callback", "POST", f"{AUTHZ}/{REQUEST_ID}/error", 405, "3000", "PUT"),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "text"), [pytest.param(*r[1:], id=r[0]) for r in URI_CASES]
)
async def test_uri_and_method_are_refused(
    scheme: Scheme, method: str, path: str, status: int, code: str, text: str
) -> None:
    sent = await scheme.pisp.send(method, path, destination="dfspa")
    await assert_refused(scheme, sent.status, sent.body, status, code, text)


async def test_body_over_5_mib_is_refused(scheme: Scheme) -> None:
    padding = "x" * (5 * 1024 * 1024)
    raw = json.dumps(dict(transaction_request(REQUEST_ID), note=padding)).encode()
    sent = await scheme.pisp.send("POST", TX, raw=raw, destination="dfspa")
    await assert_refused(scheme, sent.status, sent.body, 413, "3104", "5242880")


async def test_chunked_body_over_5_mib_is_refused(scheme: Scheme) -> None:
    """Without a Content-Length the edge counts what it reads and stops past the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"note": "'
        for _ in range(6):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    headers = {
        "Content-Type": THIRDPARTY + "1.0",
        "Accept": THIRDPARTY + "1",
        "Date": format_http_date(datetime.now(UTC)),
        "FSPIOP-Source": "pispa",
        "FSPIOP-Destination": "dfspa",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{scheme.url}{TX}", data=chunks(), headers=headers) as response,
    ):
        body = await response.json()
    await assert_refused(scheme, response.status, body, 413, "3104", "5242880")


async def test_body_of_exactly_5_mib_is_read(scheme: Scheme) -> None:
    """The limit is inclusive: a 5 MiB body is parsed (and then fails on its content)."""
    body = transaction_request(REQUEST_ID)
    text = json.dumps(dict(body, note=""))
    raw = text.replace('"note": ""', '"note": "' + "x" * (5 * 1024 * 1024 - len(text)) + '"')
    assert len(raw.encode()) == 5 * 1024 * 1024
    sent = await scheme.pisp.send("POST", TX, raw=raw.encode(), destination="dfspa")
    await assert_refused(scheme, sent.status, sent.body, 400, "3100", "note")


async def test_a_burst_of_garbage_leaves_the_switch_serving(scheme: Scheme) -> None:
    host, port = scheme.url.removeprefix("http://").split(":")
    garbage = [
        os.urandom(512),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # a TLS hello
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"BREW /thirdpartyRequests/transactions HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /thirdpartyRequests/transactions HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{",
        b"GET /" + b"a/" * 5000 + b" HTTP/1.1\r\n\r\n",
    ]
    for chunk in garbage:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(chunk)
        await writer.drain()
        writer.write_eof()
        await reader.read()  # whatever it answers, it answers and closes
        writer.close()
        await writer.wait_closed()
    async with aiohttp.ClientSession() as session:
        for method in ("PATCH", "OPTIONS", "TRACE", "PURGE"):
            async with session.request(method, f"{scheme.url}{TX}") as response:
                assert response.status in (400, 404, 405)
        async with session.get(f"{scheme.url}/health") as response:
            assert response.status == 200

    patch = await complete_transfer(scheme, REQUEST_ID)
    assert patch.body is not None
    assert patch.body["transactionState"] == "COMPLETED"


async def test_a_refused_request_is_journaled_in_its_conversation(scheme: Scheme) -> None:
    # The id of PUT /thirdpartyRequests/authorizations/{ID} is only in its path.
    auth_id = "0f6d1a3e-2b4c-4d5e-8f90-a1b2c3d4e5f6"
    sent = await scheme.pisp.send("PUT", f"{AUTHZ}/{auth_id}", {"responseType": "MAYBE"})
    assert sent.status == 400
    assert scheme.sim is not None
    (entry,) = scheme.sim.journal.entries(correlation_id=auth_id)
    assert (entry.hop, entry.status, entry.correlation_ids) == ("received", 400, [auth_id])


async def test_a_newline_in_a_path_gets_a_coded_fspiop_answer(scheme: Scheme) -> None:
    # aiohttp's ".*" route pattern does not match a decoded %0A: such a path fell through to
    # aiohttp's own text/plain 404 instead of the edge (found fuzzing the XS2A edge).
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{scheme.url}/parties/MSISDN/1%0A2") as answer:
            assert answer.content_type == "application/json"
            assert "errorInformation" in await answer.json()
