"""The whole UK flow as a TPP drives it, for v3.1 and v4.0: a client token, a consent, the
PSU's authorisation at the bank (through the real OAuth server), the code exchanged for the
PSU's token, funds confirmed, the payment made, its status and details read; with
balances. Every answer is checked against the official OpenAPI (``support.World.call``)."""

from __future__ import annotations

import pytest

from .support import BOB, MITS, NOBODY, RORA, VERSIONS, world

WORDS = {
    "3.1": {
        "AWAU": "AwaitingAuthorisation",
        "AUTH": "Authorised",
        "COND": "Consumed",
        "RJCT": "Rejected",
        "ACCC": "AcceptedCreditSettlementCompleted",
        "ACSC": "AcceptedSettlementCompleted",
        "ACSP": "AcceptedSettlementInProcess",
    },
    "4.0": {w: w for w in ("AWAU", "AUTH", "COND", "RJCT", "ACCC", "ACSC", "ACSP")},
}


def status(answer: object) -> str:
    return str(answer.body["Data"]["Status"])  # type: ignore[attr-defined]


def created(version: str, then: str) -> str:
    """What ``POST /domestic-payments`` answers of a payment that is ``then`` by the time
    it is read: v3.1 the status it has; v4.0 RCVD, as every payment it creates is born
    (domestic-payments.md, POST, Status: "RCVD, RJCT"); a GET tells how it went on."""
    return WORDS[version][then] if version == "3.1" else "RCVD"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_consent_authorised_and_paid_moves_the_money_to_a_creditor_at_the_same_bank(
    version: str,
) -> None:
    w = world()
    words = WORDS[version]
    consent = w.consent(version)
    assert status(consent) == words["AWAU"]
    consent_id = consent.consent_id
    assert consent_id and consent.body["Links"]["Self"].endswith(
        f"/obie/dfspa/open-banking/v{version}/pisp/domestic-payment-consents/{consent_id}"
    )
    token = w.authorise(consent_id)

    read = w.call(
        "GET", f"domestic-payment-consents/{consent_id}", version=version, token=w.client_token()
    )
    assert (read.status, status(read)) == (200, words["AUTH"])
    funds = w.call(
        "GET",
        f"domestic-payment-consents/{consent_id}/funds-confirmation",
        version=version,
        token=token,
    )
    assert funds.status == 200
    assert funds.body["Data"]["FundsAvailableResult"]["FundsAvailable"] is True

    paid = w.pay(consent, token, version)
    assert (paid.status, status(paid)) == (201, created(version, "ACCC"))
    assert paid.body["Data"]["ConsentId"] == consent_id
    assert w.balances()[MITS] == "989.50" and w.balances()[RORA] == "10.50"

    payment_id = paid.payment_id
    got = w.call("GET", f"domestic-payments/{payment_id}", version=version, token=w.client_token())
    assert (got.status, status(got)) == (200, words["ACCC"])
    assert got.body["Data"]["Debtor"]["Identification"] == MITS
    consumed = w.call(
        "GET", f"domestic-payment-consents/{consent_id}", version=version, token=w.client_token()
    )
    assert status(consumed) == words["COND"]
    details = w.call(
        "GET",
        f"domestic-payments/{payment_id}/payment-details",
        version=version,
        token=w.client_token(),
    )
    steps = [s["Status"] for s in details.body["Data"]["PaymentStatus"]]
    assert steps[-1] == words["ACCC"] and words["ACSC"] in steps


@pytest.mark.parametrize("version", VERSIONS)
def test_a_creditor_at_another_simulated_bank_is_paid_through_the_settlement_port(
    version: str,
) -> None:
    w = world()
    consent, token = w.authorised(version, creditor=BOB)
    paid = w.pay(consent, token, version)
    assert status(paid) == created(version, "ACSP")
    [request] = w.settlement.requests
    # named by its address: a sort code + account number would read as an MSISDN
    assert (request.to_bank, request.creditor, str(request.amount)) == (
        "dfspb",
        "ACCOUNT_ID dfspb.bob",
        "10.50",
    )
    assert w.balances()[MITS] == "989.50"  # reserved


@pytest.mark.parametrize("version", VERSIONS)
def test_a_creditor_outside_tpsim_only_sees_the_money_leave(version: str) -> None:
    w = world()
    consent, token = w.authorised(version, creditor=NOBODY)
    paid = w.pay(consent, token, version)
    assert status(paid) == created(version, "ACSC")
    assert w.balances()[MITS] == "989.50"
