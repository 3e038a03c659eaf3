"""What aiohttp's HTTP parser refuses before tpsim sees a request (a method token it does
not know, a control character in a header value, a duplicate ``Content-Type``, a
``Content-Length`` that is no number) is refused in the addressed API's own format, with
a code and what to fix, never aiohttp's ``400 text/plain``.

Each test writes the bytes of one head to tpsim served on a loopback ephemeral port
(``tpsim.testing.Tpsim``, the server ``tpsim serve`` runs)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serve.test_unserved_methods import (  # one tpsim per test, served on loopback
    FSPIOP,
    OBIE,
    STET,
    XS2A,
    answered_and_closed,
    head,
    port,
)

__all__ = ["port"]  # the fixture, found by pytest in this module's namespace


async def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], Any]:
    """``request`` written as is; the answer's status, headers (names in lower case) and
    JSON body, the connection closed after it (what follows a refused head cannot be
    framed)."""
    answer = await answered_and_closed(port, request)
    return answer.status, answer.headers, answer.json()


BAD_HEADERS = [
    b"X-Note: a\x01b\r\n",
    b"Content-Type: application/json\r\nContent-Type: text/plain\r\n",
    b"Content-Length: 1x\r\n",
]


@pytest.mark.parametrize("bad", BAD_HEADERS)
async def test_a_head_the_parser_refuses_on_the_fspiop_api_is_error_information_3101(
    port: int, bad: bytes
) -> None:
    status, _, body = await exchange(port, head(b"POST", FSPIOP, bad))
    assert status == 400
    assert body["errorInformation"]["errorCode"] == "3101"
    assert "RFC 9112" in body["errorInformation"]["errorDescription"]


async def test_a_method_the_parser_does_not_know_on_the_fspiop_api_is_3000(port: int) -> None:
    status, _, body = await exchange(port, head(b"FOO", FSPIOP))
    assert status == 405
    info = body["errorInformation"]
    assert info["errorCode"] == "3000"
    assert "Invalid method" in info["errorDescription"]


@pytest.mark.parametrize("bad", BAD_HEADERS)
async def test_a_head_the_parser_refuses_on_xs2a_is_a_format_error(port: int, bad: bytes) -> None:
    status, headers, body = await exchange(port, head(b"POST", XS2A, bad))
    assert status == 400
    assert body["tppMessages"][0]["code"] == "FORMAT_ERROR"
    assert headers["x-request-id"]


@pytest.mark.parametrize("bad", BAD_HEADERS)
async def test_a_head_the_parser_refuses_on_the_uk_api_is_an_ob_error(
    port: int, bad: bytes
) -> None:
    status, headers, body = await exchange(port, head(b"POST", OBIE, bad))
    assert status == 400
    assert body["Errors"][0]["ErrorCode"] == "UK.OBIE.Resource.InvalidFormat"
    assert headers["x-fapi-interaction-id"] == body["Id"]


@pytest.mark.parametrize("bad", BAD_HEADERS)
async def test_a_head_the_parser_refuses_on_stet_is_an_error_model(port: int, bad: bytes) -> None:
    status, _, body = await exchange(port, head(b"POST", STET, bad))
    assert status == 400
    assert body["error"] == "HEADER_INVALID"
    assert body["path"] == STET.decode()


async def test_a_head_the_parser_refuses_on_the_admin_api_is_its_problem_json(port: int) -> None:
    status, _, body = await exchange(
        port, head(b"GET", b"/admin/journal", b"Content-Length: -1\r\n")
    )
    assert status == 400
    assert body["code"] == "MALFORMED_REQUEST"
    assert "Content-Length" in body["error"]


async def test_a_method_the_parser_does_not_know_on_xs2a_is_service_invalid(port: int) -> None:
    status, headers, body = await exchange(port, head(b"FOO", XS2A))
    assert status == 405
    assert body["tppMessages"][0]["code"] == "SERVICE_INVALID"
    assert headers["x-request-id"]


async def test_a_method_the_parser_does_not_know_on_stet_is_method_not_allowed(port: int) -> None:
    status, _, body = await exchange(port, head(b"FOO", STET))
    assert status == 405
    assert body["error"] == "METHOD_NOT_ALLOWED"
    assert body["path"] == STET.decode()


OAUTH = [
    (b"POST", b"/xs2a/dfspa/token"),
    (b"POST", b"/obie/dfspa/token"),
    (b"POST", b"/stet/dfspa/token"),
    (b"GET", b"/obie/dfspa/authorize"),
    (b"GET", b"/xs2a/dfspa/.well-known/openid-configuration"),
]


@pytest.mark.parametrize("bad", BAD_HEADERS)
@pytest.mark.parametrize(("method", "target"), OAUTH)
async def test_a_head_the_parser_refuses_on_a_bank_oauth_endpoint_is_an_oauth_error(
    port: int, bad: bytes, method: bytes, target: bytes
) -> None:
    # Before, the dialect's API error (tppMessages, OBErrorResponse1, ErrorModel).
    status, headers, body = await exchange(port, head(method, target, bad))
    assert status == 400
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == "invalid_request"
    assert "RFC 9112" in body["error_description"]
    assert headers["cache-control"] == "no-store"
