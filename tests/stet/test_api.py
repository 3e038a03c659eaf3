"""``stet.api.StetApi`` as a PISP meets it, request → answer without sockets: the 201 and
its links, tokens and ``X-Request-ID``, every refusal of a payment request as STET's
``ErrorModel`` naming the member to fix, unknown and foreign ids, the BPCE flavour, PUT
that does more than cancel, strict signatures, and a table of odd requests that never
make the API raise. ``World.call`` checks every answer with ``sent_problems``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from tpsim.config_psd2 import TppConfig
from tpsim.stet.api import StetRequest
from tpsim.stet.models import sent_problems
from tpsim.stet.signatures import sign

from .support import (
    BASE,
    CLAIRE,
    ERIKA_GBP,
    LOUIS,
    OUTSIDE,
    REQUEST_ID_SENT,
    SITE,
    TOMORROW,
    TPP,
    TPP_TWO,
    World,
    check_answer,
    code,
    payment_request,
    resource_id,
    statuses,
    transaction,
    world,
)

CREATE = "payment-requests"


def create(w: World, body: dict[str, Any] | bytes, **headers: str | None) -> Any:
    return w.call("POST", CREATE, body, token=w.client_token(), **headers)


def o_confirmation_world() -> tuple[World, str, str]:
    """A bank of the o-confirmation variant, a request its PSU approved, and her token."""
    w = world(profile={"o_confirmation": True})
    request_id = w.create()
    return w, request_id, w.psu_token(request_id)


# -- the 201 -------------------------------------------------------------------------------


def test_a_created_request_is_201_with_its_location_and_the_approval_link() -> None:
    w = world()
    answer = create(w, payment_request())
    request_id = resource_id(answer)
    assert answer.status == 201 and answer.headers["Location"] == f"{BASE}/{CREATE}/{request_id}"
    assert answer.body == {
        "appliedAuthenticationApproach": "REDIRECT",
        "_links": {"consentApproval": {"href": f"{SITE}/login/dfspa/stet/{request_id}"}},
    }
    got = w.get(request_id)
    assert got.body is not None
    resource = got.body["paymentRequest"]
    assert (resource["resourceId"], resource["paymentInformationStatus"]) == (request_id, "ACTC")
    assert resource["supplementaryData"]["appliedAuthenticationApproach"] == "REDIRECT"
    assert got.body["_links"] == {"self": {"href": f"{BASE}/{CREATE}/{request_id}"}}


def test_a_decoupled_request_has_no_approval_link() -> None:
    w = world(profile={"approaches": ["DECOUPLED"]})
    answer = create(w, payment_request(debtor=CLAIRE, approaches=("DECOUPLED",)))
    assert answer.body == {"appliedAuthenticationApproach": "DECOUPLED"}


def test_in_the_o_confirmation_variant_the_approval_link_is_the_banks_authorize() -> None:
    w = world(profile={"o_confirmation": True})
    answer = create(w, payment_request())
    assert answer.body is not None
    link = urlsplit(answer.body["_links"]["consentApproval"]["href"])
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{SITE}/stet/dfspa/authorize"
    assert parse_qs(link.query) == {
        "response_type": ["code"],
        "client_id": ["tpp-one"],
        "scope": ["pisp"],
        "paymentRequestResourceId": [resource_id(answer)],
    }


def test_an_amount_sent_as_a_json_number_is_kept_as_the_decimal_string_it_spells() -> None:
    w = world()
    got = w.get(resource_id(create(w, payment_request(12.5))))
    assert got.body is not None
    amount = got.body["paymentRequest"]["creditTransferTransaction"][0]["instructedAmount"]
    assert amount == {"currency": "EUR", "amount": "12.5"}


# -- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "error", "challenge"),
    [
        (None, "TOKEN_MISSING", 'Bearer realm="stet"'),
        ("Bearer not-a-token", "TOKEN_INVALID", 'Bearer error="invalid_token"'),
        (
            "Basic dHBwLW9uZTp0cHAtb25lLXNlY3JldA==",
            "TOKEN_INVALID",
            'Bearer error="invalid_request"',
        ),
        ("Bearer", "TOKEN_INVALID", 'Bearer error="invalid_request"'),
    ],
)
def test_a_request_without_a_usable_token_is_401_with_www_authenticate(
    authorization: str | None, error: str, challenge: str
) -> None:
    w = world()
    answer = w.call("POST", CREATE, payment_request(), authorization=authorization)
    assert code(answer) == (401, error)
    assert answer.headers["WWW-Authenticate"].startswith(challenge)


def test_an_expired_token_is_401() -> None:
    w = world()
    token = w.client_token()
    w.clock.advance(3601)
    answer = w.call("POST", CREATE, payment_request(), token=token)
    assert (
        code(answer) == (401, "TOKEN_INVALID") and "expired" in answer.headers["WWW-Authenticate"]
    )


def test_a_token_without_the_pisp_scope_is_403() -> None:
    w = world()
    answer = w.call("POST", CREATE, payment_request(), token=w.client_token(scope="payments"))
    assert code(answer) == (403, "TOKEN_SCOPE")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", CREATE, payment_request()),
        ("GET", "{id}", None),
        ("PUT", "{id}", payment_request()),
        ("POST", "{id}/confirmation", {}),
    ],
)
def test_the_psus_token_on_a_pisp_call_is_403_token_kind(
    method: str, path: str, body: dict[str, Any] | None
) -> None:
    w, request_id, psu = o_confirmation_world()
    target = path if path == CREATE else f"{CREATE}/{path.format(id=request_id)}"
    answer = w.call(method, target, body, token=psu)
    assert code(answer) == (403, "TOKEN_KIND")


def test_o_confirmation_with_the_pisps_own_token_is_403_token_kind() -> None:
    w, request_id, _ = o_confirmation_world()
    answer = w.call("POST", f"{CREATE}/{request_id}/o-confirmation", {}, token=w.client_token())
    assert code(answer) == (403, "TOKEN_KIND") and "authorization_code" in str(answer.body)


def test_o_confirmation_with_another_requests_psu_token_is_403_token_bound() -> None:
    w, first, token = o_confirmation_world()
    second = w.create()
    w.psu_token(second)
    answer = w.call("POST", f"{CREATE}/{second}/o-confirmation", {}, token=token)
    assert code(answer) == (403, "TOKEN_BOUND")
    assert w.stet.status(w.stet.get(second)) == "ACCP"  # not executed
    assert first in str(answer.body)


# -- X-Request-ID --------------------------------------------------------------------------


def test_a_request_without_x_request_id_is_400_and_the_answer_carries_a_new_one() -> None:
    w = world()
    answer = create(w, payment_request(), x_request_id=None)
    assert code(answer) == (400, "HEADER_INVALID") and "X-Request-ID" in str(answer.body)
    assert answer.headers["X-Request-ID"] not in ("", REQUEST_ID_SENT)


@pytest.mark.parametrize("status", [201, 200, 404])
def test_the_x_request_id_sent_is_echoed_on_every_answer(status: int) -> None:
    w = world()
    request_id = w.create() if status == 200 else "unknown"
    answer = (
        create(w, payment_request())
        if status == 201
        else w.call("GET", f"{CREATE}/{request_id}", token=w.client_token())
    )
    assert answer.status == status and answer.headers["X-Request-ID"] == REQUEST_ID_SENT


@pytest.mark.parametrize("sent", ["with space", "é", "x" * 129, "\t"])
def test_an_x_request_id_that_cannot_go_back_in_a_header_is_replaced_by_a_new_one(
    sent: str,
) -> None:
    w = world()
    answer = w.call("GET", f"{CREATE}/unknown", token=w.client_token(), x_request_id=sent)
    assert answer.status == 404
    assert answer.headers["X-Request-ID"] != sent and answer.headers["X-Request-ID"].isascii()


# -- refusals of a payment request ---------------------------------------------------------

AMOUNT = "creditTransferTransaction[0].instructedAmount.amount"
A_YEAR_AND_A_DAY = "2027-12-01T23:59:59Z"  # 366 days after START's date: the furthest taken
A_YEAR_AND_TWO_DAYS = "2027-12-02T00:00:00Z"


def dated(when: str, *, on_transaction: bool = False) -> dict[str, Any]:
    body = payment_request(when=TOMORROW)
    target = body["creditTransferTransaction"][0] if on_transaction else body
    target["requestedExecutionDate"] = when
    return body


@pytest.mark.parametrize(
    ("body", "member"),
    [
        (payment_request("0"), AMOUNT),
        (payment_request("0.00"), AMOUNT),
        (payment_request("-1.00"), AMOUNT),
        (payment_request("1.001"), AMOUNT),  # EUR has 2 decimals
        (payment_request("1e3"), AMOUNT),
        (payment_request("12,50"), AMOUNT),
        (payment_request(0), AMOUNT),
        (payment_request(True), AMOUNT),
        (payment_request(approaches=()), "supplementaryData.acceptedAuthenticationApproach"),
        (payment_request(approaches=("EMBEDDED",)), "supplementaryData.acceptedAuthenticationApp"),
        (payment_request(approaches=("DECOUPLED",)), "supplementaryData.acceptedAuthenticationApp"),
        (payment_request(report=("https://evil.example/ok", None)), "successfulReportUrl"),
        (
            payment_request(report=("https://tpp.example/ok", "https://two.example/")),
            "unsuccessful",
        ),
        (payment_request(report=("https://tpp.example.evil/ok", None)), "successfulReportUrl"),
        (payment_request(report=("ftp://tpp.example/ok", None)), "successfulReportUrl"),
        (payment_request(debtor=LOUIS), "debtorAccount.iban"),
        (payment_request(debtor=OUTSIDE), "debtorAccount.iban"),
        (payment_request(debtor=ERIKA_GBP), "debtorAccount.iban"),
        (payment_request(debtor="FR7630006000011234567890188"), "debtorAccount.iban"),
        (payment_request(when="2026-11-30T10:00:00"), "requestedExecutionDate"),
        (payment_request(numberOfTransactions=2), "numberOfTransactions"),
        (
            payment_request(transactions=[transaction(), transaction(currency="GBP", number=1)]),
            "creditTransferTransaction",
        ),
        (payment_request(chargeBearer="DEBT"), "chargeBearer"),
        (payment_request(when="9999-12-31T23:59:59Z"), "requestedExecutionDate"),
        (payment_request(when=A_YEAR_AND_TWO_DAYS), "requestedExecutionDate"),
        (dated(A_YEAR_AND_TWO_DAYS, on_transaction=True), "requestedExecutionDate"),
        (
            payment_request(transactions=[transaction(number=n) for n in range(101)]),
            "creditTransferTransaction",
        ),
    ],
)
def test_a_payment_request_stet_or_the_bank_refuses_is_400_naming_the_member(
    body: dict[str, Any], member: str
) -> None:
    w = world(profile={"approaches": ["REDIRECT", "EMBEDDED-1-FACTOR"]})
    answer = create(w, body)
    assert code(answer) == (400, "FIELD_INVALID")
    assert answer.body is not None and member in answer.body["message"], answer.body["message"]
    assert w.stet.next_due() is None  # no request was kept (each would wait to expire)


def test_an_execution_date_up_to_a_year_ahead_is_taken_and_waits_for_its_day() -> None:
    """366 days (a leap year's length) after the bank's date is the furthest it takes, as
    tpsim's other banks (``core.execution.MAX_DAYS_AHEAD``); further is 400 above."""
    w = world()
    answer = create(w, payment_request(when=A_YEAR_AND_A_DAY))
    assert answer.status == 201
    assert statuses(w.get(resource_id(answer)))[0] == "ACTC"


def test_a_payment_request_holds_at_most_100_transactions() -> None:
    w = world()
    most = payment_request(transactions=[transaction(number=n) for n in range(100)])
    assert create(w, most).status == 201  # one more is 400 above


def test_report_urls_under_any_registered_redirect_uri_are_accepted() -> None:
    w = world()
    body = payment_request(report=("http://localhost:8000/shop/ok?ref=1", "http://127.0.0.1:8000/"))
    assert create(w, body).status == 201


def test_a_repeated_payment_information_id_is_400_duplicate_when_the_profile_refuses_it() -> None:
    w = world(profile={"reject_duplicate_payment_information_id": True})
    first = w.create()
    answer = create(w, payment_request())
    assert code(answer) == (400, "DUPLICATE") and first in str(answer.body)


# -- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 403])
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("PUT", "", "put"), ("POST", "/confirmation", {})],
)
def test_an_unknown_id_and_another_pisps_request_read_the_same(
    status: int, method: str, suffix: str, body: Any
) -> None:
    w = world(profile={"unknown_id_status": status})
    mine = w.create()
    sent = w.cancellation(mine) if body == "put" else body
    for request_id, tpp in (("f" * 32, TPP), (mine, TPP_TWO)):
        path = f"{CREATE}/{request_id}{suffix}"
        answer = w.call(method, path, sent, token=w.client_token(tpp))
        assert code(answer) == (status, "PAYMENT_REQUEST_UNKNOWN")
        assert answer.body is not None and answer.body["message"].endswith(request_id)
    assert statuses(w.get(mine))[0] == "ACTC"


# -- the BPCE flavour ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"), [("PUT", ""), ("POST", "/confirmation"), ("POST", "/o-confirmation")]
)
def test_the_bpce_flavour_answers_405_to_put_and_both_confirmations(
    method: str, suffix: str
) -> None:
    w = world(profile={"flavour": "bpce-1.4.0"})
    request_id = w.create()
    body = w.cancellation(request_id) if method == "PUT" else {}
    answer = w.call(method, f"{CREATE}/{request_id}{suffix}", body, token=w.client_token())
    assert code(answer) == (405, "METHOD_NOT_ALLOWED") and "bpce-1.4.0" in str(answer.body)
    assert statuses(w.get(request_id))[0] == "ACTC"


# -- strict signatures ---------------------------------------------------------------------

SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
SIGNED_TPP = TppConfig(
    client_id="tpp-one",
    client_secret="tpp-one-secret",
    name="Example TPP",
    redirect_uris=["https://tpp.example/"],
    jwks={"keys": [ECKey.import_key(SIGNING_KEY.public_key(), {"kid": "ec-1"}).as_dict()]},
)


def strict_world() -> tuple[World, StetRequest]:
    """A bank checking signatures, and an unsigned POST of its signing PISP."""
    w = world(behaviour={"strict_signatures": True}, tpps=(SIGNED_TPP,))
    token = w.client_token(SIGNED_TPP)
    date = "Mon, 30 Nov 2026 10:00:00 GMT"
    return w, w.request("POST", CREATE, payment_request(), token=token, date=date)


def test_in_strict_mode_a_signed_request_is_served_and_an_unsigned_one_is_401() -> None:
    w, asked = strict_world()
    unsigned = w.api.handle(asked)
    assert code(unsigned) == (401, "SIGNATURE_MISSING")
    assert unsigned.body is not None and sent_problems("error", unsigned.body) == []
    signature = sign(
        "POST", asked.target, asked.headers, asked.body, SIGNING_KEY, "ec-1", algorithm="hs2019"
    )
    signed = replace(asked, headers={**asked.headers, **signature})
    assert check_answer(w.api.handle(signed)).status == 201
    tampered = replace(signed, body=asked.body.replace(b"124.35", b"999.99"))
    assert code(check_answer(w.api.handle(tampered))) == (400, "DIGEST_MISMATCH")


def test_in_strict_mode_a_signature_not_covering_the_request_target_is_401() -> None:
    """Signed over its digest and request id only, a request's signature would hold for
    the same body sent to another path or with another method: refused, naming what to
    sign."""
    w, asked = strict_world()
    signature = sign(
        "POST",
        asked.target,
        asked.headers,
        asked.body,
        SIGNING_KEY,
        "ec-1",
        algorithm="hs2019",
        covered=("digest", "x-request-id"),
    )
    answer = check_answer(w.api.handle(replace(asked, headers={**asked.headers, **signature})))
    assert code(answer) == (401, "SIGNATURE_INVALID")
    assert answer.body is not None and "(request-target)" in answer.body["message"]
    assert answer.headers["WWW-Authenticate"].startswith("Signature")


def test_an_unsigned_requests_401_carries_a_signature_challenge() -> None:
    w, asked = strict_world()
    unsigned = check_answer(w.api.handle(asked))
    assert unsigned.headers["WWW-Authenticate"].startswith("Signature")


# -- every answer conforms -----------------------------------------------------------------


def test_an_approved_request_of_the_o_confirmation_variant_reads_as_stet_defines_it() -> None:
    w, request_id, _ = o_confirmation_world()
    answer = w.api.handle(w.request("GET", f"{CREATE}/{request_id}", token=w.client_token()))
    assert answer.status == 200 and answer.body is not None
    assert sent_problems("payment_request", answer.body) == []


# -- nothing a client sends makes the API raise --------------------------------------------

DEEP = b'{"a":' * 40 + b"1" + b"}" * 40


ODD: list[Any] = [
    # (method, path after /v1/ with {id} for a REDIRECT request, body, headers)
    ("POST", CREATE, b"", {}),
    ("POST", CREATE, b"null", {}),
    ("POST", CREATE, b"[]", {}),
    ("POST", CREATE, b'"text"', {}),
    ("POST", CREATE, b"{", {}),
    ("POST", CREATE, b"\xff\xfe{}", {}),
    ("POST", CREATE, b'{"a": NaN}', {}),
    ("POST", CREATE, b'{"a": 1, "a": 2}', {}),
    ("POST", CREATE, DEEP, {}),
    ("POST", CREATE, b"[" * 5000 + b"]" * 5000, {}),
    ("POST", CREATE, b"1" * 5000, {}),
    ("POST", CREATE, {"paymentInformationId": "x"}, {}),
    ("POST", CREATE, payment_request(when="2026-02-30T10:00:00Z"), {}),
    ("POST", CREATE, payment_request(when="2026-11-30T24:00:00Z"), {}),
    ("POST", CREATE, payment_request(report=("https://tpp.example/ok\r\nSet-Cookie: x", None)), {}),
    ("POST", CREATE, payment_request(report=("https://tpp.example:99999/ok", None)), {}),
    ("POST", CREATE, payment_request(transactions=[]), {}),
    ("POST", CREATE, payment_request(transactions=[transaction("1" * 14)]), {}),
    ("POST", CREATE, payment_request(creditor="FR76 3000"), {}),
    ("POST", CREATE, payment_request(), {"content_type": "text/plain"}),
    ("POST", CREATE, payment_request(), {"content_type": None}),
    ("POST", CREATE, payment_request(), {"accept": "text/html"}),
    ("POST", CREATE, payment_request(), {"authorization": "Bearer " + "x" * 5000}),
    ("POST", CREATE, payment_request(), {"authorization": "Bearer é"}),
    ("POST", CREATE, payment_request(), {"authorization": "Digest abc"}),
    ("POST", CREATE, payment_request(), {"x_request_id": ""}),
    ("PATCH", CREATE, payment_request(), {}),
    ("GET", CREATE, None, {}),
    ("DELETE", "{id}", None, {}),
    ("GET", "", None, {}),
    ("GET", "accounts", None, {}),
    ("GET", f"{CREATE}/{{id}}/confirmation/x", None, {}),
    ("POST", f"{CREATE}/{{id}}/unknown", {}, {}),
    ("GET", f"{CREATE}/" + "é" * 300, None, {}),
    ("GET", f"{CREATE}/" + "a" * 10_000, None, {}),
    ("GET", f"{CREATE}/%00", None, {}),
    ("PUT", f"{CREATE}/{{id}}", {}, {}),
    ("PUT", f"{CREATE}/{{id}}", b"[]", {}),
    ("PUT", f"{CREATE}/{{id}}", payment_request(paymentInformationStatus="ACSC"), {}),
    ("PUT", f"{CREATE}/{{id}}", payment_request(statusReasonInformation="DS02"), {}),
    ("POST", f"{CREATE}/{{id}}/confirmation", b"", {}),
    ("POST", f"{CREATE}/{{id}}/confirmation", b"[]", {}),
    ("POST", f"{CREATE}/{{id}}/confirmation", {"psuAuthenticationFactor": 123456}, {}),
    ("POST", f"{CREATE}/{{id}}/confirmation", {"psuAuthenticationFactor": ["123456"]}, {}),
    ("POST", f"{CREATE}/{{id}}/confirmation", {}, {}),  # nothing to confirm yet
    ("POST", f"{CREATE}/{{id}}/o-confirmation", {}, {}),
    (
        "POST",
        CREATE,
        dated("9999-12-31T23:59:59-14:00"),
        {},
    ),
    (
        "POST",
        CREATE,
        dated("0001-01-01T00:00:00+14:00", on_transaction=True),
        {},
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), ODD)
def test_an_odd_request_is_a_coded_4xx_error_model_and_changes_nothing(
    method: str, path: str, body: Any, headers: dict[str, str | None]
) -> None:
    w = world()
    request_id = w.create()
    target = path.replace("{id}", request_id) if path != "{id}" else f"{CREATE}/{request_id}"
    asked = w.request(method, target, body, token=w.client_token(), **headers)
    answer = check_answer(w.api.handle(asked))
    assert 400 <= answer.status < 500 and answer.body is not None
    assert answer.body["error"] and answer.body["message"]
    assert statuses(w.get(request_id)) == ("ACTC", None, [None])
    assert w.balances()["claire"] == "3000.00"
