"""Every 405 names the methods the resource takes in ``Allow`` (RFC 9110 §15.5.6: "The
origin server MUST generate an Allow header field in a 405 response containing a list of
the target resource's currently supported methods"), in each API's own error format.

A method the API's routing reads (DELETE, PATCH) and one that never reaches it (a
``CONNECT``, which aiohttp takes for a tunnel, or ``FOO``, which its parser refuses) are
told the same ``Allow``: both read the API's one table of methods per resource. Where the
API has no resource, both are its 404, without ``Allow``.

Each test writes to tpsim on a loopback ephemeral port (``tpsim.testing.Tpsim``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest

from tests.serve.test_connections import raw
from tests.serve.test_unserved_methods import SOON, Answer, answered_and_closed, head, port

__all__ = ["port"]  # the fixture, found by pytest in this module's namespace

UNPARSED = [b"CONNECT", b"FOO"]  # never reach an API's routing


async def routed(port: int, method: bytes, path: bytes, *lines: bytes) -> Answer:
    """What the API's routing answers to ``method`` on ``path`` (head and body)."""
    async with raw(port) as (reader, writer):
        writer.write(head(method, path, *lines))
        async with asyncio.timeout(SOON):
            answer = Answer(await reader.readuntil(b"\r\n\r\n"))
            answer.content = await reader.readexactly(int(answer.headers["content-length"]))
    return answer


async def refused(port: int, method: bytes, path: bytes) -> Answer:
    """The answer to ``method`` on ``path``: one the routing reads on a kept connection, a
    ``CONNECT`` or ``FOO`` on one tpsim closes after it."""
    if method in UNPARSED:
        return await answered_and_closed(port, head(method, path))
    return await routed(port, method, path)


# --- the FSPIOP / Third Party API: errorInformation 3000 -----------------------------------

FSPIOP_ALLOW = [
    (b"/thirdpartyRequests/transactions", "POST"),
    (b"/thirdpartyRequests/transactions/0e8a2f5c", "GET, PUT, PATCH"),
    (b"/parties/MSISDN/123456789", "GET, PUT"),
    (b"/parties/MSISDN/123456789/error", "PUT"),
    (b"/consents/0e8a2f5c", "GET, PUT, PATCH, DELETE"),
]


@pytest.mark.parametrize("method", [b"POST", *UNPARSED])
@pytest.mark.parametrize(("path", "allow"), FSPIOP_ALLOW[1:])
async def test_a_method_a_third_party_resource_has_not_is_3000_with_allow(
    port: int, method: bytes, path: bytes, allow: str
) -> None:
    answer = await refused(port, method, path)
    assert answer.status == 405
    assert answer.headers["allow"] == allow
    assert answer.json()["errorInformation"]["errorCode"] == "3000"


@pytest.mark.parametrize("method", [b"DELETE", *UNPARSED])
async def test_a_method_a_third_party_collection_has_not_is_3000_with_allow(
    port: int, method: bytes
) -> None:
    path, allow = FSPIOP_ALLOW[0]
    answer = await refused(port, method, path)
    assert (answer.status, answer.headers["allow"]) == (405, allow)
    assert answer.json()["errorInformation"]["errorCode"] == "3000"


@pytest.mark.parametrize("method", [b"DELETE", *UNPARSED])
async def test_a_method_where_the_fspiop_api_has_no_resource_is_3002(
    port: int, method: bytes
) -> None:
    path = b"/thirdpartyRequests/nothing/here/at/all"
    answer = await refused(port, method, path)
    assert answer.status == 404
    assert "allow" not in answer.headers
    assert answer.json()["errorInformation"]["errorCode"] == "3002"


@pytest.mark.parametrize("method", [b"DELETE", *UNPARSED])
async def test_a_method_the_sdk_lookup_has_not_is_its_405_with_allow(
    port: int, method: bytes
) -> None:
    path = b"/sdk/pispa/parties/MSISDN/123456789"
    answer = await refused(port, method, path)
    assert (answer.status, answer.headers["allow"]) == (405, "GET")
    assert answer.json()["statusCode"] == "3000"


# --- XS2A: tppMessages SERVICE_INVALID -------------------------------------------------------

SCT = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
XS2A_ALLOW = [
    ("", "POST"),
    ("/{id}", "GET, DELETE"),
    ("/{id}/status", "GET"),
    ("/{id}/authorisations", "POST, GET"),
    ("/{id}/authorisations/0e8a2f5c-1d7b-4c3e-9a6f-5b2d8c1e4f70", "GET, PUT"),
    ("/{id}/cancellation-authorisations", "POST, GET"),
    ("/{id}/cancellation-authorisations/0e8a2f5c-1d7b-4c3e-9a6f-5b2d8c1e4f70", "GET, PUT"),
]
XS2A_HEADERS = {"PSU-IP-Address": "192.168.8.78", "Content-Type": "application/json"}


async def xs2a_payment(port: int) -> str:
    """The id of a payment the built-in TPP initiated at dfspa."""
    order = {
        "instructedAmount": {"currency": "EUR", "amount": "42.00"},
        "debtorAccount": {"iban": "DE89370400440532013000"},
        "creditorName": "Max Mustermann",
        "creditorAccount": {"iban": "DE02120300000000202051"},
    }
    headers = {
        **XS2A_HEADERS,
        "X-Request-ID": str(uuid.uuid4()),
        "TPP-Redirect-URI": "https://tpp.example/back",
    }
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}{SCT}"
        async with http.post(url, json=order, headers=headers) as response:
            assert response.status == 201, await response.text()
            created: dict[str, Any] = await response.json()
    return str(created["paymentId"])


@pytest.mark.parametrize(("tail", "allow"), XS2A_ALLOW)
async def test_a_method_an_xs2a_resource_has_not_is_service_invalid_with_allow(
    port: int, tail: str, allow: str
) -> None:
    path = (SCT + tail.replace("{id}", await xs2a_payment(port))).encode()
    lines = [f"{name}: {value}\r\n".encode() for name, value in XS2A_HEADERS.items()]
    request_id = f"X-Request-ID: {uuid.uuid4()}\r\n".encode()
    answers = [
        await routed(port, b"PATCH", path, request_id, *lines, b"Content-Length: 0\r\n"),
        *[await answered_and_closed(port, head(method, path)) for method in UNPARSED],
    ]
    for answer in answers:
        assert (answer.status, answer.headers.get("allow")) == (405, allow), answer.content
        assert answer.json()["tppMessages"][0]["code"] == "SERVICE_INVALID"
        assert answer.headers["x-request-id"]


@pytest.mark.parametrize("method", [b"DELETE", *UNPARSED])
@pytest.mark.parametrize(
    "path", [b"/xs2a/dfspa/v1/consents", b"/xs2a/nobank/v1/payments/sepa-credit-transfers"]
)
async def test_a_method_where_xs2a_has_no_resource_is_resource_unknown(
    port: int, method: bytes, path: bytes
) -> None:
    answer = await refused(port, method, path)
    assert answer.status == 404
    assert "allow" not in answer.headers
    assert answer.json()["tppMessages"][0]["code"] == "RESOURCE_UNKNOWN"


# --- UK Open Banking: the spec's bodiless 405 -------------------------------------------------

PISP = b"/obie/dfspa/open-banking/v3.1/pisp"
OBIE_ALLOW = [
    (PISP + b"/domestic-payment-consents", "POST"),
    (PISP + b"/domestic-payment-consents/c-1", "GET"),
    (PISP + b"/domestic-payment-consents/c-1/funds-confirmation", "GET"),
    (PISP + b"/domestic-scheduled-payment-consents", "POST"),
    (PISP + b"/domestic-payments", "POST"),
    (PISP + b"/domestic-payments/p-1", "GET"),
    (PISP + b"/domestic-scheduled-payments/p-1/payment-details", "GET"),
    (b"/obie/dfspa/open-banking/v4.0/pisp/domestic-payments", "POST"),
]


@pytest.mark.parametrize("method", [b"DELETE", *UNPARSED])
@pytest.mark.parametrize(("path", "allow"), OBIE_ALLOW)
async def test_a_method_a_uk_resource_has_not_is_its_bodiless_405_with_allow(
    port: int, method: bytes, path: bytes, allow: str
) -> None:
    answer = await refused(port, method, path)
    assert answer.status == 405
    assert answer.headers["allow"] == allow
    assert answer.headers.get("content-length", "0") == "0"
    assert answer.headers["x-fapi-interaction-id"]
    assert answer.headers["x-tpsim-error"]


@pytest.mark.parametrize("method", [b"DELETE", *UNPARSED])
@pytest.mark.parametrize(
    "path",
    [
        PISP + b"/domestic-payment-consents/c-1/nothing",
        PISP + b"/domestic-scheduled-payment-consents/c-1/funds-confirmation",
        b"/obie/dfspa/open-banking/v9.9/pisp/domestic-payments",
        b"/obie/nobank/open-banking/v3.1/pisp/domestic-payments",
    ],
)
async def test_a_method_where_the_uk_api_has_no_resource_is_its_404(
    port: int, method: bytes, path: bytes
) -> None:
    answer = await refused(port, method, path)
    assert answer.status == 404
    assert "allow" not in answer.headers
    assert answer.headers["x-fapi-interaction-id"]


# --- each bank's OAuth server, in every dialect: RFC 6749's error JSON ------------------------

OAUTH_ALLOW = [
    (b"/token", "POST"),
    (b"/authorize", "GET, HEAD"),
    (b"/jwks", "GET, HEAD"),
    (b"/.well-known/openid-configuration", "GET, HEAD"),
    (b"/.well-known/oauth-authorization-server", "GET, HEAD"),
]


@pytest.mark.parametrize("method", [b"PATCH", *UNPARSED])
@pytest.mark.parametrize("base", [b"/xs2a/dfspa", b"/obie/dfspa", b"/stet/dfspa"])
@pytest.mark.parametrize(("endpoint", "allow"), OAUTH_ALLOW)
async def test_a_method_an_oauth_endpoint_has_not_is_its_405_with_allow(
    port: int, method: bytes, base: bytes, endpoint: bytes, allow: str
) -> None:
    path = base + endpoint
    answer = await refused(port, method, path)
    assert answer.status == 405
    assert answer.headers["allow"] == allow
    assert answer.json()["error"] == "invalid_request"
