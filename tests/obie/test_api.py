"""``obie.api``: the UK interface as a TPP meets it (the digest §1.2–1.6), request → answer,
without sockets, for v3.1 and v4.0. Every answer is checked against the official OpenAPI
(``support.World.call``). The money and the clock are ``test_bank.py``; the consent page
``test_approval.py``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from tpsim.config_psd2 import ObieProfile
from tpsim.obie.api import Answer

from .support import (
    BOB,
    INTERACTION,
    MITS,
    TPP_TWO,
    VERSIONS,
    consent_body,
    payment_body,
    world,
)

# The v3.1 name of each v4.0 code tpsim sends (the OBIE code set).
V3 = {
    "U002": "UK.OBIE.Field.Invalid",
    "U004": "UK.OBIE.Field.Missing",
    "U005": "UK.OBIE.Field.Unexpected",
    "U006": "UK.OBIE.Header.Invalid",
    "U007": "UK.OBIE.Header.Missing",
    "U008": "UK.OBIE.Resource.ConsentMismatch",
    "U009": "UK.OBIE.Resource.InvalidConsentStatus",
    "U010": "UK.OBIE.Resource.InvalidFormat",
    "U011": "UK.OBIE.Resource.NotFound",
    "U021": "UK.OBIE.Unsupported.AccountIdentifier",
    "U023": "UK.OBIE.Unsupported.Currency",
}


def refusal(answer: Answer, version: str) -> tuple[int, str, str | None]:
    """(status, v4 code, Path) of a refusal, its v3.1 spelling checked on the way."""
    assert answer.body is not None, answer
    error = answer.body["Errors"][0]
    assert error["Message"]  # every refusal says what to fix
    code = error["ErrorCode"]
    if version == "3.1":
        assert answer.body["Code"].startswith(str(answer.status))
        code = next(u for u, name in V3.items() if name == code)
    else:
        assert set(answer.body) == {"Id", "Errors"}
    return answer.status, code, error.get("Path")


def with_initiation(**changes: Any) -> dict[str, Any]:
    body = consent_body()
    body["Data"]["Initiation"].update(changes)
    return {k: v for k, v in body.items()}


def without(path: str) -> dict[str, Any]:
    body = consent_body()
    *parents, last = path.split(".")
    node = body
    for name in parents:
        node = node[name]
    del node[last]
    return body


# (body, headers) → (status, v4 code, Path): nothing is kept.
CONSENT_REFUSALS = [
    pytest.param(without("Data.Initiation.InstructedAmount"), {},
                 (400, "U004", "Data.Initiation.InstructedAmount"), id="a mandatory field missing"),
    pytest.param(with_initiation(InstructedAmount={"Amount": "10,50", "Currency": "GBP"}), {},
                 (400, "U002", "Data.Initiation.InstructedAmount.Amount"),
                 id="an amount of bad shape"),
    pytest.param(with_initiation(InstructedAmount={"Amount": "0", "Currency": "GBP"}), {},
                 (400, "U002", "Data.Initiation.InstructedAmount.Amount"), id="a zero amount"),
    pytest.param(with_initiation(InstructedAmount={"Amount": "10.505", "Currency": "GBP"}), {},
                 (400, "U002", "Data.Initiation.InstructedAmount.Amount"),
                 id="an amount finer than a penny (GBP's minor unit)"),
    pytest.param(with_initiation(Colour="blue"), {},
                 (400, "U005", "Data.Initiation.Colour"), id="a member the schema does not have"),
    pytest.param(b'{"Data": ', {}, (400, "U010", None), id="malformed JSON"),
    pytest.param(consent_body(), {"x_idempotency_key": None},
                 (400, "U007", "x-idempotency-key"), id="no x-idempotency-key"),
    pytest.param(consent_body(), {"x_idempotency_key": "k" * 41},
                 (400, "U006", "x-idempotency-key"), id="x-idempotency-key over 40 characters"),
    pytest.param(consent_body(), {"x_idempotency_key": " key"},
                 (400, "U006", "x-idempotency-key"), id="x-idempotency-key with a leading space"),
    pytest.param(consent_body(), {"x_fapi_auth_date": "yesterday"},
                 (400, "U006", "x-fapi-auth-date"), id="x-fapi-auth-date not an RFC 7231 date"),
    pytest.param(with_initiation(CreditorAccount={"SchemeName": "UK.OBIE.PAN",
                                                  "Identification": "5555", "Name": "R"}), {},
                 (400, "U021", "Data.Initiation.CreditorAccount.SchemeName"),
                 id="an account scheme tpsim does not play"),
    pytest.param(with_initiation(CreditorAccount={"SchemeName": "UK.OBIE.SortCodeAccountNumber",
                                                  "Identification": "1234", "Name": "R"}), {},
                 (400, "U002", "Data.Initiation.CreditorAccount.Identification"),
                 id="a sort code and number that is not 14 digits"),
    pytest.param(consent_body(debtor=BOB), {},
                 (400, "U002", "Data.Initiation.DebtorAccount.Identification"),
                 id="a debtor account at another bank"),
    pytest.param(with_initiation(InstructedAmount={"Amount": "1.00", "Currency": "EUR"}), {},
                 (400, "U023", "Data.Initiation.InstructedAmount.Currency"),
                 id="a currency the debtor account is not held in"),
]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("body", "headers", "expected"), CONSENT_REFUSALS)
def test_a_consent_refused_names_the_field_and_keeps_nothing(
    version: str, body: dict[str, Any] | bytes, headers: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    w = world()
    if version == "3.1" and isinstance(body, dict):
        body = json.loads(json.dumps(body))
        remittance = body["Data"]["Initiation"].get("RemittanceInformation")
        if remittance:
            remittance["Unstructured"] = "Invoice 42"
    answer = w.call("POST", "domestic-payment-consents", body, version=version,
                    token=w.client_token(), **headers)  # fmt: skip
    assert refusal(answer, version) == expected
    assert len(w.obie.consents) == 0


def test_every_problem_of_a_body_is_listed() -> None:
    w = world()
    body = without("Data.Initiation.InstructedAmount")
    del body["Data"]["Initiation"]["EndToEndIdentification"]
    answer = w.call("POST", "domestic-payment-consents", body, token=w.client_token())
    assert answer.body is not None
    paths = {e["Path"] for e in answer.body["Errors"]}
    assert paths == {"Data.Initiation.InstructedAmount", "Data.Initiation.EndToEndIdentification"}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_body_that_is_not_json_is_415_without_a_body(version: str) -> None:
    w = world()
    answer = w.call("POST", "domestic-payment-consents", b"<xml/>", version=version,
                    token=w.client_token(), Content_Type="application/xml")  # fmt: skip
    assert (answer.status, answer.body) == (415, None)
    assert "send application/json" in answer.headers["x-tpsim-error"]  # what to fix, still


# -- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_no_token_or_an_unknown_one_is_401_without_a_body(version: str) -> None:
    w = world()
    for token in (None, "not-a-token"):
        answer = w.call("GET", "domestic-payment-consents/c-1", version=version, token=token)
        assert (answer.status, answer.body) == (401, None)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("version", VERSIONS)
def test_an_expired_token_is_401_saying_it_expired(version: str) -> None:
    w = world()
    token = w.client_token()
    w.clock.advance(3601)
    answer = w.call("GET", "domestic-payment-consents/c-1", version=version, token=token)
    assert (answer.status, answer.body) == (401, None)
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert "expired" in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("version", VERSIONS)
def test_token_misuse_is_403_invalid_consent_status(version: str) -> None:
    w = world()
    consent, psu_token = w.authorised(version)
    other, other_token = w.authorised(version)
    consent_id = consent.consent_id
    cases = {
        "a client token where the PSU's is needed": w.call(
            "GET", f"domestic-payment-consents/{consent_id}/funds-confirmation",
            version=version, token=w.client_token()),
        "a PSU token where the client's is needed": w.call(
            "GET", f"domestic-payment-consents/{consent_id}", version=version, token=psu_token),
        "a PSU token of another consent": w.call(
            "GET", f"domestic-payment-consents/{consent_id}/funds-confirmation",
            version=version, token=other_token),
        "a payment with a PSU token of another consent": w.call(
            "POST", "domestic-payments", payment_body(consent, version), version=version,
            token=other_token),
        "a token without the payments scope": w.call(
            "GET", f"domestic-payment-consents/{consent_id}", version=version,
            token=w.client_token(scope="accounts")),
    }  # fmt: skip
    for case, answer in cases.items():
        assert refusal(answer, version)[:2] == (403, "U009"), case
    assert w.available(MITS) == 1000  # nothing paid


@pytest.mark.parametrize("version", VERSIONS)
def test_another_tpps_consent_or_payment_is_unknown_not_forbidden(version: str) -> None:
    """Answering 403 "created by another TPP" would tell the caller the id exists."""
    w = world()
    consent, token = w.authorised(version)
    paid = w.pay(consent, token, version)
    other = w.client_token(TPP_TWO)
    for path, where in (
        (f"domestic-payment-consents/{consent.consent_id}", "ConsentId"),
        (f"domestic-payments/{paid.payment_id}", "DomesticPaymentId"),
        (f"domestic-payments/{paid.payment_id}/payment-details", "DomesticPaymentId"),
    ):
        answer = w.call("GET", path, version=version, token=other)
        assert refusal(answer, version) == (400, "U011", where), path
        assert answer.body is not None
        assert "another TPP" not in answer.body["Errors"][0]["Message"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "path", ["domestic-payment-consents/{c}", "domestic-payments/{p}",
             "domestic-payments/{p}/payment-details",
             "domestic-payment-consents/{c}/funds-confirmation"],
)  # fmt: skip
def test_a_gets_headers_are_checked_against_its_operation(version: str, path: str) -> None:
    """As a POST's: ``x-fapi-auth-date`` must match its RFC 7231 pattern (the spec gives
    ``x-fapi-customer-ip-address`` none to check)."""
    w = world()
    consent, psu = w.authorised(version)
    paid = w.pay(consent, psu, version)
    token = psu if path.endswith("funds-confirmation") else w.client_token()
    url = path.format(c=consent.consent_id, p=paid.payment_id)
    answer = w.call("GET", url, version=version, token=token, x_fapi_auth_date="yesterday")
    assert refusal(answer, version) == (400, "U006", "x-fapi-auth-date")


# -- routes and headers ----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_the_interaction_id_is_echoed_or_minted_on_every_answer(version: str) -> None:
    w = world()
    echoed = w.call("GET", "domestic-payment-consents/c-1", version=version)
    assert echoed.headers["x-fapi-interaction-id"] == INTERACTION
    minted = w.call("GET", "domestic-payment-consents/c-1", version=version,
                    x_fapi_interaction_id=None)  # fmt: skip
    assert re.fullmatch(r"[0-9a-f-]{36}", minted.headers["x-fapi-interaction-id"])


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_consent_or_payment_is_400_not_found(version: str) -> None:
    w = world()
    token = w.client_token()
    unknown = (
        ("domestic-payment-consents/nope", "ConsentId"),
        ("domestic-payments/nope", "DomesticPaymentId"),
        ("domestic-payments/nope/payment-details", "DomesticPaymentId"),
    )
    for path, where in unknown:
        answer = w.call("GET", path, version=version, token=token)
        assert refusal(answer, version) == (400, "U011", where)


def test_a_consent_is_read_through_the_version_it_was_made_with() -> None:
    w = world()
    consent = w.consent("4.0")
    answer = w.call("GET", f"domestic-payment-consents/{consent.consent_id}", version="3.1",
                    token=w.client_token())  # fmt: skip
    assert refusal(answer, "3.1") == (400, "U011", "ConsentId")


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "why"),
    [
        ("GET", "international-payments", {}, 404, "no UK resource"),
        ("DELETE", "domestic-payment-consents/c-1", {}, 405, "use GET"),
        ("GET", "domestic-payment-consents", {}, 405, "use POST"),
        ("GET", "domestic-payment-consents/c-1", {"Accept": "text/html"}, 406, "admits no JSON"),
    ],
)
def test_what_the_spec_documents_without_a_body(
    method: str, path: str, headers: dict[str, str], status: int, why: str
) -> None:
    w = world()
    answer = w.call(method, path, version="4.0", token=w.client_token(), **headers)
    assert (answer.status, answer.body) == (status, None)
    assert why in answer.headers["x-tpsim-error"]  # no body, yet it says what to fix


# -- idempotency ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_the_same_key_and_body_give_the_same_consent_with_its_current_status(
    version: str,
) -> None:
    w = world()
    body = consent_body(version)
    token = w.client_token()
    first = w.call("POST", "domestic-payment-consents", body, version=version, token=token,
                   x_idempotency_key="k-1")  # fmt: skip
    assert first.consent_id is not None
    w.authorise(first.consent_id)
    again = w.call("POST", "domestic-payment-consents", body, version=version, token=token,
                   x_idempotency_key="k-1")  # fmt: skip
    assert again.status == 201 and again.consent_id == first.consent_id
    assert again.body["Data"]["Status"] in ("AUTH", "Authorised")
    assert len(w.obie.consents) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_the_same_key_with_another_body_is_refused_within_24_hours(version: str) -> None:
    w = world()
    token = w.client_token()
    w.call("POST", "domestic-payment-consents", consent_body(version), version=version,
           token=token, x_idempotency_key="k-1")  # fmt: skip
    other = consent_body(version, amount="99.00")
    answer = w.call("POST", "domestic-payment-consents", other, version=version, token=token,
                    x_idempotency_key="k-1")  # fmt: skip
    assert refusal(answer, version) == (400, "U002", "x-idempotency-key")
    w.clock.advance(timedelta(hours=24, seconds=1).total_seconds())
    token = w.client_token()
    later = w.call("POST", "domestic-payment-consents", other, version=version, token=token,
                   x_idempotency_key="k-1")  # fmt: skip
    assert later.status == 201
    assert len(w.obie.consents) == 2


def test_the_profile_may_treat_a_reused_key_as_forbidden() -> None:
    w = world(profile=ObieProfile(reused_key_status=403))
    token = w.client_token()
    w.call("POST", "domestic-payment-consents", consent_body(), token=token,
           x_idempotency_key="k-1")  # fmt: skip
    answer = w.call("POST", "domestic-payment-consents", consent_body(amount="1.00"),
                    token=token, x_idempotency_key="k-1")  # fmt: skip
    assert refusal(answer, "4.0") == (403, "U002", "x-idempotency-key")


def test_keys_are_per_tpp() -> None:
    w = world()
    for tpp in (None, TPP_TWO):
        token = w.client_token() if tpp is None else w.client_token(tpp)
        answer = w.call("POST", "domestic-payment-consents", consent_body(amount="2.00"),
                        token=token, x_idempotency_key="shared")  # fmt: skip
        assert answer.status == 201
    assert len(w.obie.consents) == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_a_payment_posted_again_with_its_key_is_the_same_payment(version: str) -> None:
    w = world()
    consent, token = w.authorised(version)
    first = w.pay(consent, token, version, x_idempotency_key="pay-1")
    again = w.pay(consent, token, version, x_idempotency_key="pay-1")
    assert (again.status, again.payment_id) == (201, first.payment_id)
    assert w.available(MITS) == 1000 - 10.5


@pytest.mark.parametrize(("version", "expected"), [("4.0", (409, "U029")), ("3.1", (400, "U009"))])
def test_a_second_payment_on_a_consumed_consent_is_refused(
    version: str, expected: tuple[int, str]
) -> None:
    w = world()
    consent, token = w.authorised(version)
    w.pay(consent, token, version)
    again = w.pay(consent, token, version)
    assert refusal(again, version)[:2] == expected
    assert w.available(MITS) == 1000 - 10.5


def test_the_profile_may_answer_a_second_payment_with_invalid_consent_status() -> None:
    w = world(profile=ObieProfile(second_payment="invalid-status"))
    consent, token = w.authorised()
    w.pay(consent, token)
    assert refusal(w.pay(consent, token), "4.0")[:2] == (400, "U009")


# -- the consent mismatch -----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b["Data"]["Initiation"]["InstructedAmount"].update(Amount="10.51"),
         "Data.Initiation.InstructedAmount.Amount"),
        (lambda b: b["Data"]["Initiation"].pop("RemittanceInformation"),
         "Data.Initiation.RemittanceInformation"),
        (lambda b: b["Risk"].update(PaymentContextCode="TransferToSelf"),
         "Risk.PaymentContextCode"),
    ],
)  # fmt: skip
def test_a_payment_that_is_not_the_consent_is_a_consent_mismatch(
    version: str, change: Any, path: str
) -> None:
    w = world()
    consent, token = w.authorised(version)
    body = payment_body(consent, version)
    change(body)
    answer = w.call("POST", "domestic-payments", body, version=version, token=token)
    assert refusal(answer, version) == (400, "U008", path)
    assert w.available(MITS) == 1000
    status = w.call("GET", f"domestic-payment-consents/{consent.consent_id}", version=version,
                    token=w.client_token())  # fmt: skip
    assert status.body["Data"]["Status"] in ("AUTH", "Authorised")
