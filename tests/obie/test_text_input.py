"""What is no text never breaks an answer or the state file: a body's lone surrogate escape
(``"\\ud800"``, valid JSON grammar but no Unicode) is 400 U010 at its field; a header's
bytes that are no UTF-8 (the edge decodes them as lone surrogates) are quoted escaped in
the error that names them, an ``x-idempotency-key`` of them is 400 U006 and never kept,
and a bearer token of them is unknown (401)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tpsim.core.sqlite_store import SqliteStore
from tpsim.mojaloop.roles.state import PICKLING
from tpsim.obie.api import Answer, encode

from .support import VERSIONS, consent_body, world

NOT_UTF8 = "k\udcff\udcfe"  # what the edge makes of the header bytes b"k\xff\xfe"


def codes(answer: Answer) -> list[tuple[str, str | None]]:
    assert answer.body is not None
    encode(answer.body)  # the answer can be sent
    return [(e["ErrorCode"], e.get("Path")) for e in answer.body["Errors"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_lone_surrogate_escape_in_a_body_string_is_an_invalid_format_at_its_field(
    version: str,
) -> None:
    w = world()
    raw = json.dumps(consent_body(version)).replace("E2E-1", "\\ud800E2E").encode()
    answer = w.call("POST", "domestic-payment-consents", raw, version=version,
                    token=w.client_token())  # fmt: skip
    code = "UK.OBIE.Resource.InvalidFormat" if version == "3.1" else "U010"
    assert answer.status == 400
    assert codes(answer) == [(code, "Data.Initiation.EndToEndIdentification")]


def test_a_lone_surrogate_escape_in_a_member_name_is_an_invalid_format_at_its_object() -> None:
    w = world()
    raw = json.dumps(consent_body()).replace('"Risk": {', '"Risk": {"\\udfff": 1, ').encode()
    answer = w.call("POST", "domestic-payment-consents", raw, token=w.client_token())
    assert (answer.status, codes(answer)) == (400, [("U010", "Risk")])


def test_a_payment_body_with_a_lone_surrogate_escape_is_refused_and_pays_nothing() -> None:
    w = world()
    consent, token = w.authorised()
    assert consent.body is not None
    body = {"Data": {"ConsentId": consent.consent_id, "Initiation": consent.body["Data"][
        "Initiation"]}, "Risk": {"PaymentContextCode": "TransferToThirdParty"}}  # fmt: skip
    raw = json.dumps(body).replace("Invoice 42", "\\udc00").encode()
    before = w.balances()
    answer = w.call("POST", "domestic-payments", raw, token=token)
    assert answer.status == 400 and codes(answer)[0][0] == "U010"
    assert w.balances() == before


@pytest.mark.parametrize("version", VERSIONS)
def test_an_error_quoting_a_header_of_bytes_that_are_no_utf8_can_still_be_sent(
    version: str,
) -> None:
    w = world()
    answer = w.call("POST", "domestic-payment-consents", consent_body(version), version=version,
                    token=w.client_token(), x_fapi_auth_date=NOT_UTF8)  # fmt: skip
    code = "UK.OBIE.Header.Invalid" if version == "3.1" else "U006"
    assert answer.status == 400 and codes(answer) == [(code, "x-fapi-auth-date")]
    assert answer.body is not None and "\\udcff" in answer.body["Errors"][0]["Message"]


def test_an_idempotency_key_of_bytes_that_are_no_utf8_is_refused_and_the_state_file_still_writes(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "state.db", reducers=PICKLING)
    try:
        w = world(store=store)
        token = w.client_token()
        answer = w.call("POST", "domestic-payment-consents", consent_body(), token=token,
                        x_idempotency_key=NOT_UTF8)  # fmt: skip
        assert (answer.status, codes(answer)) == (400, [("U006", "x-idempotency-key")])
        store.flush()  # a key kept as it came would fail this, and every later write
        assert w.consent().status == 201
        store.flush()
    finally:
        store.close()


def test_a_bearer_token_of_bytes_that_are_no_utf8_is_an_unknown_token() -> None:
    w = world()
    answer = w.call("POST", "domestic-payment-consents", consent_body(),
                    Authorization=f"Bearer {NOT_UTF8}")  # fmt: skip
    assert (answer.status, answer.body) == (401, None)
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
