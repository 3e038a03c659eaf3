"""XS2A over real HTTP: a header the bank reads whose bytes are not UTF-8 is 400
FORMAT_ERROR on that header, never kept (a redirect URI of such bytes sent the PSU's
browser to another address: the bytes were dropped from the ``Location``), and every
answer still carries a UUID ``X-Request-ID``. A body's lone surrogate escape is a
FORMAT_ERROR at its field. Requests go over a raw socket (``tests.support.raw_http``)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.raw_http import RawAnswer, send_raw
from tests.support.scheme import Scheme
from tpsim.xs2a.headers import UUID

PAYMENTS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
BODY = {
    "instructedAmount": {"currency": "EUR", "amount": "42.00"},
    "debtorAccount": {"iban": "DE89370400440532013000"},
    "creditorName": "Max Mustermann",
    "creditorAccount": {"iban": "DE02120300000000202051"},
    "remittanceInformationUnstructured": "Invoice 7",
}
REDIRECT = "http://localhost:8000/cb"
NOT_UTF8 = b"\xff\xfe"


def code(answer: RawAnswer) -> tuple[str, str | None]:
    message = answer.body["tppMessages"][0]
    return message["code"], message.get("path")


async def send(
    scheme: Scheme, method: str, path: str, headers: dict[str, str | bytes], body: bytes = b""
) -> RawAnswer:
    return await send_raw(scheme.url, method, path, headers, body)


def initiation(**more: str | bytes) -> dict[str, str | bytes]:
    return {
        "X-Request-ID": str(uuid.uuid4()),
        "PSU-IP-Address": "192.168.8.78",
        "Content-Type": "application/json",
        "TPP-Redirect-URI": REDIRECT,
        **more,
    }


def payments(scheme: Scheme) -> int:
    assert scheme.sim is not None
    return len(list(scheme.sim.psd2.xs2a["dfspa"].bank.payments))


@pytest.mark.parametrize(
    "name",
    [
        "X-Request-ID",
        "PSU-ID",
        "PSU-ID-Type",
        "PSU-Corporate-ID",
        "PSU-Corporate-ID-Type",
        "PSU-IP-Address",
        "TPP-Redirect-URI",
        "TPP-Nok-Redirect-URI",
        "TPP-Redirect-Preferred",
        "TPP-Client-ID",
        "Authorization",
    ],
)
async def test_a_header_the_bank_reads_of_bytes_that_are_no_utf8_is_a_format_error_on_it(
    scheme: Scheme, name: str
) -> None:
    value = REDIRECT.encode() + b"/" + NOT_UTF8 if "URI" in name else b"x" + NOT_UTF8
    answer = await send(scheme, "POST", PAYMENTS, initiation(**{name: value}),
                        json.dumps(BODY).encode())  # fmt: skip
    assert (answer.status, code(answer)) == (400, ("FORMAT_ERROR", name))
    assert "not UTF-8" in answer.body["tppMessages"][0]["text"]
    assert UUID.fullmatch(answer.headers["X-Request-ID"])
    assert payments(scheme) == 0
    assert scheme.validate_xs2a_answers() >= 1


async def test_a_redirect_uri_of_bytes_that_are_no_utf8_never_sends_the_browser_elsewhere(
    scheme: Scheme,
) -> None:
    headers = initiation(**{"TPP-Redirect-URI": REDIRECT.encode() + b"/\xff"})
    answer = await send(scheme, "POST", PAYMENTS, headers, json.dumps(BODY).encode())
    assert (answer.status, code(answer)) == (400, ("FORMAT_ERROR", "TPP-Redirect-URI"))


async def test_a_psu_id_of_bytes_that_are_no_utf8_at_an_embedded_step_costs_no_attempt(
    scheme: Scheme,
) -> None:
    headers = initiation(**{"TPP-Redirect-Preferred": "false", "PSU-ID": "erika"})
    created = await send(scheme, "POST", PAYMENTS, headers, json.dumps(BODY).encode())
    assert created.status == 201
    step = created.body["_links"]["updatePsuAuthentication"]["href"].removeprefix(scheme.url)
    body = json.dumps({"psuData": {"password": "12345"}}).encode()
    refused = await send(scheme, "PUT", step, initiation(**{"PSU-ID": b"erika\xff"}), body)
    assert (refused.status, code(refused)) == (400, ("FORMAT_ERROR", "PSU-ID"))
    done = await send(scheme, "PUT", step, initiation(**{"PSU-ID": "erika"}), body)
    assert (done.status, done.body["scaStatus"]) == (200, "psuAuthenticated")


@pytest.mark.parametrize(
    ("text", "path"),
    [('"Max Mustermann"', "creditorName"), ('"Invoice 7"', "remittanceInformationUnstructured")],
)
async def test_a_lone_surrogate_escape_in_a_body_string_is_a_format_error_at_its_field(
    scheme: Scheme, text: str, path: str
) -> None:
    raw = json.dumps(BODY).replace(text, '"\\ud800"').encode()
    answer = await send(scheme, "POST", PAYMENTS, initiation(), raw)
    assert (answer.status, code(answer)) == (400, ("FORMAT_ERROR", path))
    assert payments(scheme) == 0
