"""Domestic scheduled payments, v3.1 and v4.0, as a TPP meets them, without sockets: the
consent (``Permission: Create``, a ``RequestedExecutionDateTime`` the bank takes), the PSU's
authorisation, the payment that waits for its date and executes then on the bank's clock,
moving the money as a domestic payment does. Every answer is checked against the official
OpenAPI of its version (``support.World.call``)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from tpsim.core.execution import MAX_DAYS_AHEAD
from tpsim.errors import LoginRefused
from tpsim.obie.api import Answer
from tpsim.obie.errors import InvalidDate

from .support import (
    BOB,
    DUE,
    MITS,
    RORA,
    START,
    TPP_TWO,
    VERSIONS,
    payment_body,
    scheduled_body,
    world,
)

CONSENTS, PAYMENTS = "domestic-scheduled-payment-consents", "domestic-scheduled-payments"
# Each version's words for the consent and the scheduled payment (OBWriteDomesticScheduled…).
WORDS = {
    "3.1": {
        "AWAU": "AwaitingAuthorisation",
        "AUTH": "Authorised",
        "COND": "Consumed",
        "PENDING": "InitiationPending",
        "DONE": "InitiationCompleted",
        "FAILED": "InitiationFailed",
        # payment-details
        "PDNG": "Pending",
        "ACCC": "AcceptedCreditSettlementCompleted",
        "RJCT": "Rejected",
    },
    "4.0": {
        "AWAU": "AWAU",
        "AUTH": "AUTH",
        "COND": "COND",
        "PENDING": "PDNG",
        "DONE": "ACSC",  # the scheduled enum has no ACCC
        "FAILED": "RJCT",
        "PDNG": "PDNG",
        "ACCC": "ACCC",
        "RJCT": "RJCT",
    },
}
CODES = {
    "3.1": {
        "U002": "UK.OBIE.Field.Invalid",
        "U003": "UK.OBIE.Field.InvalidDate",
        "U008": "UK.OBIE.Resource.ConsentMismatch",
        "U009": "UK.OBIE.Resource.InvalidConsentStatus",
        "U011": "UK.OBIE.Resource.NotFound",
    },
    "4.0": {code: code for code in ("U002", "U003", "U008", "U009", "U011")},
}
WHEN = "Data.Initiation.RequestedExecutionDateTime"


def status(answer: Answer) -> str:
    assert answer.body is not None, answer
    return str(answer.body["Data"]["Status"])


def refused(answer: Answer, version: str) -> tuple[int, str, str | None]:
    """(status, v4.0 code, Path) of a refusal, its version's spelling checked."""
    assert answer.body is not None, answer
    error = answer.body["Errors"][0]
    code = next(c for c, word in CODES[version].items() if word == error["ErrorCode"])
    return answer.status, code, error.get("Path")


def authorised_payment(version: str, **fields: Any) -> tuple[Any, Answer, Answer]:
    """A world, a scheduled consent (due ``DUE``) the PSU authorised, and its payment."""
    w = world()
    consent = w.scheduled(version, **fields)
    assert consent.consent_id is not None
    token = w.authorise(consent.consent_id)
    paid = w.pay(consent, token, version, kind="domestic-scheduled")
    assert paid.status == 201, paid
    return w, consent, paid


@pytest.mark.parametrize("version", VERSIONS)
def test_a_scheduled_consent_is_created_as_the_spec_defines_it(version: str) -> None:
    w = world()
    consent = w.scheduled(version)
    assert consent.body is not None and consent.consent_id is not None
    data = consent.body["Data"]
    assert (status(consent), data["Permission"]) == (WORDS[version]["AWAU"], "Create")
    assert data["Initiation"]["RequestedExecutionDateTime"] == DUE.isoformat()
    assert data["ExpectedExecutionDateTime"] == DUE.isoformat()
    assert consent.body["Links"]["Self"].endswith(
        f"/v{version}/pisp/{CONSENTS}/{consent.consent_id}"
    )
    read = w.get(f"{CONSENTS}/{consent.consent_id}", version)
    assert (read.status, read.body) == (200, consent.body)
    # Its id is unknown under the domestic consents', and it has no funds confirmation.
    other = w.get(f"domestic-payment-consents/{consent.consent_id}", version)
    assert refused(other, version)[:2] == (400, "U011")
    funds = w.get(f"{CONSENTS}/{consent.consent_id}/funds-confirmation", version)
    assert (funds.status, funds.body) == (404, None)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("at", "code"),
    [
        (START - timedelta(days=1), "U003"),  # in the past
        (START, "U003"),  # now is not in the future
        (START + timedelta(days=MAX_DAYS_AHEAD + 1), "U003"),  # too far ahead
        ("2030-01-09T09:00:00", "U002"),  # no UTC offset: no RFC 3339 date-time
    ],
    ids=["past", "now", "too-far", "no-offset"],
)
def test_a_date_the_bank_does_not_take_is_refused_naming_the_field(
    version: str, at: Any, code: str
) -> None:
    w = world()
    body = scheduled_body(version, at)
    answer = w.call("POST", CONSENTS, body, version=version, token=w.client_token())
    assert refused(answer, version) == (400, code, WHEN)
    assert len(w.obie.consents) == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_the_latest_date_and_a_second_ahead_are_taken(version: str) -> None:
    w = world()
    for at in (START + timedelta(seconds=1), START + timedelta(days=MAX_DAYS_AHEAD, hours=14)):
        assert status(w.scheduled(version, at)) == WORDS[version]["AWAU"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "at",
    ["2030-01-09t09:00:00z", "2030-01-09T09:00:00Z", "2030-01-09T10:00:00+01:00"],
    ids=["lower-case", "Z", "offset"],
)
def test_each_rfc_3339_spelling_of_the_date_is_taken_and_expected_in_utc(
    version: str, at: str
) -> None:
    # RFC 3339 (5.6): "T" and "Z" may be lower case.
    body = world().scheduled(version, at).body
    assert body is not None
    data = body["Data"]
    assert data["Initiation"]["RequestedExecutionDateTime"] == at  # as sent
    assert data["ExpectedExecutionDateTime"] == "2030-01-09T09:00:00+00:00"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_payment_waits_for_its_date_then_moves_the_money(version: str) -> None:
    w, consent, paid = authorised_payment(version)
    words = WORDS[version]
    assert status(paid) == words["PENDING"]  # taken, waiting for its date
    assert paid.body is not None and paid.payment_id is not None
    data = paid.body["Data"]
    assert data["DomesticScheduledPaymentId"] == paid.payment_id
    assert data["ExpectedExecutionDateTime"] == DUE.isoformat()
    path = f"{PAYMENTS}/{paid.payment_id}"
    assert status(w.get(path, version)) == words["PENDING"]
    assert status(w.get(f"{CONSENTS}/{consent.consent_id}", version)) == words["COND"]
    assert w.balances()[MITS] == "1000.00"  # nothing moves before the date

    w.advance(days=2, seconds=-1)
    assert status(w.get(path, version)) == words["PENDING"]
    assert w.balances()[MITS] == "1000.00"
    w.advance(seconds=1)
    got = w.get(path, version)
    assert status(got) == words["DONE"]
    assert got.body is not None and got.body["Data"]["StatusUpdateDateTime"] == DUE.isoformat()
    assert (w.balances()[MITS], w.balances()[RORA]) == ("989.50", "10.50")
    details = w.get(f"{path}/payment-details", version)
    assert details.body is not None
    steps = [s["Status"] for s in details.body["Data"]["PaymentStatus"]]
    assert words["PDNG"] in steps and steps[-1] == words["ACCC"]
    # A scheduled payment is unknown under the domestic payments' path.
    assert refused(w.get(f"domestic-payments/{paid.payment_id}", version), version)[:2] == (
        400,
        "U011",
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_creditor_at_another_bank_is_paid_through_the_switch_on_the_date(version: str) -> None:
    w, _, paid = authorised_payment(version, creditor=BOB)
    assert w.settlement.requests == []
    w.advance(days=3)
    [request] = w.settlement.requests
    assert (request.to_bank, str(request.amount)) == ("dfspb", "10.50")
    got = w.get(f"{PAYMENTS}/{paid.payment_id}", version)
    assert status(got) == ("InitiationCompleted" if version == "3.1" else "ACSP")
    assert w.balances()[MITS] == "989.50"  # reserved until the switch's transfer commits


@pytest.mark.parametrize("version", VERSIONS)
def test_insufficient_funds_on_the_date_reject_it_and_move_nothing(version: str) -> None:
    w, _, paid = authorised_payment(version, amount="1500.00")
    w.advance(days=2)
    got = w.get(f"{PAYMENTS}/{paid.payment_id}", version)
    assert status(got) == WORDS[version]["FAILED"]
    if version == "4.0":
        assert got.body is not None
        assert got.body["Data"]["StatusReason"][0]["StatusReasonCode"] == "AM04"
    assert w.balances() == {MITS: "1000.00", "10000109010104": "50.00", RORA: "0.00", BOB: "0.00"}
    details = w.get(f"{PAYMENTS}/{paid.payment_id}/payment-details", version)
    assert details.body is not None
    assert details.body["Data"]["PaymentStatus"][-1]["Status"] == WORDS[version]["RJCT"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("member", "path"),
    [("RequestedExecutionDateTime", WHEN), ("Risk", "Risk.PaymentContextCode")],
)
def test_a_payment_that_is_not_its_consent_is_a_consent_mismatch(
    version: str, member: str, path: str
) -> None:
    w = world()
    consent = w.scheduled(version)
    assert consent.consent_id is not None and consent.body is not None
    token = w.authorise(consent.consent_id)
    data = consent.body["Data"]
    body: dict[str, Any] = {
        "Data": {"ConsentId": consent.consent_id, "Initiation": dict(data["Initiation"])},
        "Risk": {} if member == "Risk" else consent.body["Risk"],
    }
    if member != "Risk":
        body["Data"]["Initiation"][member] = (DUE + timedelta(days=1)).isoformat()
    answer = w.call("POST", PAYMENTS, body, version=version, token=token)
    assert refused(answer, version) == (400, "U008", path)
    assert status(w.get(f"{CONSENTS}/{consent.consent_id}", version)) == WORDS[version]["AUTH"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_date_passed_before_the_payment_is_refused_and_nothing_is_made(version: str) -> None:
    w = world()
    consent = w.scheduled(version, START + timedelta(minutes=10))
    assert consent.consent_id is not None
    token = w.authorise(consent.consent_id)
    w.advance(minutes=20)  # within the PSU token's life
    answer = w.pay(consent, token, version, kind="domestic-scheduled")
    assert refused(answer, version) == (400, "U003", WHEN)
    assert status(w.get(f"{CONSENTS}/{consent.consent_id}", version)) == WORDS[version]["AUTH"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_date_passed_before_the_psu_authorises_rejects_the_consent_saying_why(
    version: str,
) -> None:
    # Before, the PSU could authorise it, its payment was then refused U003, and the
    # consent stayed Authorised until it expired.
    w = world()
    consent = w.scheduled(version, START + timedelta(minutes=10))
    assert consent.consent_id is not None
    w.advance(minutes=10)  # no longer ahead of the bank's clock
    with pytest.raises(LoginRefused, match="RequestedExecutionDateTime .* passed"):
        w.api.approval.approve(consent.consent_id, "mits", "mits", [])
    got = w.get(f"{CONSENTS}/{consent.consent_id}", version)
    assert status(got) == WORDS[version]["RJCT"]
    assert got.body is not None
    if version == "4.0":
        [reason] = got.body["Data"]["StatusReason"]
        assert reason["StatusReasonCode"] == "U003"
        assert "passed before it was authorised" in reason["StatusReasonDescription"]
    else:
        assert "StatusReason" not in got.body["Data"]


def test_an_admin_decision_on_a_scheduled_consent_whose_date_passed_rejects_it() -> None:
    w = world()
    consent = w.scheduled("4.0", START + timedelta(minutes=10))
    assert consent.consent_id is not None
    w.advance(minutes=11)
    with pytest.raises(InvalidDate, match="is rejected"):
        w.obie.decide(consent.consent_id, True, None, None)
    assert status(w.get(f"{CONSENTS}/{consent.consent_id}")) == "RJCT"


@pytest.mark.parametrize("version", VERSIONS)
def test_tokens_keys_and_other_tpps_are_checked_as_for_domestic_payments(version: str) -> None:
    w = world()
    consent = w.scheduled(version)
    assert consent.consent_id is not None
    token = w.authorise(consent.consent_id)
    # The TPP's own token cannot make the payment; the PSU's cannot read it.
    client = w.pay(consent, w.client_token(), version, kind="domestic-scheduled")
    assert refused(client, version) == (403, "U009", "Authorization")
    # A domestic payment cannot consume a scheduled consent.
    body = copy.deepcopy(payment_body(consent, version))
    del body["Data"]["Initiation"]["RequestedExecutionDateTime"]
    domestic = w.call("POST", "domestic-payments", body, version=version, token=token)
    assert refused(domestic, version) == (400, "U011", "ConsentId")
    first = w.pay(consent, token, version, kind="domestic-scheduled", x_idempotency_key="k-1")
    again = w.pay(consent, token, version, kind="domestic-scheduled", x_idempotency_key="k-1")
    assert (first.status, again.status, again.payment_id) == (201, 201, first.payment_id)
    other = w.client_token(TPP_TWO)
    for path in (f"{CONSENTS}/{consent.consent_id}", f"{PAYMENTS}/{first.payment_id}"):
        answer = w.call("GET", path, version=version, token=other)
        assert refused(answer, version)[:2] == (400, "U011")
    psu = w.call("GET", f"{PAYMENTS}/{first.payment_id}", version=version, token=token)
    assert refused(psu, version)[:2] == (403, "U009")


def test_the_consent_page_shows_when_the_payment_executes() -> None:
    w = world()
    consent = w.scheduled("4.0")
    assert consent.consent_id is not None
    view = w.api.approval.view(consent.consent_id)
    assert "on 2030-01-09 at 09:00 UTC" in view.purpose
