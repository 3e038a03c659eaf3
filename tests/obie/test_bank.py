"""``obie.bank`` and ``obie.payments``: the money a UK payment moves on the shared ledger,
the consent's clock (lazy expiry, the cut-off's reject strategy), the settlement port's
outcomes and the sandbox rules, for v3.1 and v4.0 (the digest §1.4, §1.7, §5.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.ledger_invariants import ledger_problems, quiet_problems, totals
from tests.xs2a.support import RefusingSettlement
from tpsim.config_psd2 import ObieProfile
from tpsim.core.rules import Match, Outcome, Rule, Status
from tpsim.core.settlement import SettlementOutcome, SettlementResult
from tpsim.obie.api import Answer

from .support import BOB, MITS, MITS_2, RORA, VERSIONS, World, payment_body, world


def data(answer: Answer) -> dict[str, Any]:
    assert answer.body is not None, answer
    return dict(answer.body["Data"])


def read_consent(w: World, answer: Answer, version: str) -> dict[str, Any]:
    got = w.call("GET", f"domestic-payment-consents/{answer.consent_id}", version=version,
                 token=w.client_token())  # fmt: skip
    assert got.status == 200, got
    return data(got)


def read_payment(w: World, answer: Answer, version: str) -> dict[str, Any]:
    got = w.call("GET", f"domestic-payments/{answer.payment_id}", version=version,
                 token=w.client_token())  # fmt: skip
    assert got.status == 200, got
    return data(got)


@pytest.mark.parametrize("version", VERSIONS)
def test_insufficient_funds_reject_the_payment_and_leave_the_balances(version: str) -> None:
    w = world()
    consent, token = w.authorised(version, amount="5000.00")
    funds = w.call("GET", f"domestic-payment-consents/{consent.consent_id}/funds-confirmation",
                   version=version, token=token)  # fmt: skip
    assert data(funds)["FundsAvailableResult"]["FundsAvailable"] is False
    before = w.balances()
    paid = w.pay(consent, token, version)
    assert paid.status == 201
    assert data(paid)["Status"] == ("Rejected" if version == "3.1" else "RJCT")
    if version == "4.0":
        assert data(paid)["StatusReason"][0]["StatusReasonCode"] == "AM04"
    assert w.balances() == before
    assert read_consent(w, consent, version)["Status"] in ("Consumed", "COND")
    details = w.call("GET", f"domestic-payments/{paid.payment_id}/payment-details",
                     version=version, token=w.client_token())  # fmt: skip
    last = data(details)["PaymentStatus"][-1]
    assert "AM04" in last["StatusDetail"]["StatusReasonDescription"] + last["StatusDetail"].get(
        "StatusReason", ""
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unused_consent_expires_rejected_when_next_read(version: str) -> None:
    w = world(profile=ObieProfile(consent_expiry_s=600))
    waiting = w.consent(version)
    authorised, token = w.authorised(version)
    w.clock.advance(601)
    for consent in (waiting, authorised):
        found = read_consent(w, consent, version)
        assert found["Status"] == ("Rejected" if version == "3.1" else "RJCT")
        if version == "4.0":
            assert found["StatusReason"][0]["StatusReasonCode"] == "U036"
    paid = w.pay(authorised, token, version)
    assert (paid.status, paid.body["Errors"][0]["ErrorCode"]) == (
        400,
        "UK.OBIE.Resource.InvalidConsentStatus" if version == "3.1" else "U009",
    )
    assert w.available(MITS) == 1000


@pytest.mark.parametrize("version", VERSIONS)
def test_after_the_cut_off_a_payment_is_refused_and_the_consent_rejected(version: str) -> None:
    w = world(profile=ObieProfile(cut_off_time="09:30"))  # the clock starts at 09:00 UTC
    consent, token = w.authorised(version)
    assert data(consent)["CutOffDateTime"] == "2030-01-07T09:30:00+00:00"
    w.clock.advance(timedelta(minutes=30, seconds=1).total_seconds())  # the token still valid
    paid = w.pay(consent, token, version)
    expected = "UK.OBIE.Rules.AfterCutOffDateTime" if version == "3.1" else "U012"
    assert (paid.status, paid.body["Errors"][0]["ErrorCode"]) == (400, expected)
    found = read_consent(w, consent, version)
    assert found["Status"] == ("Rejected" if version == "3.1" else "RJCT")
    assert w.available(MITS) == 1000


def test_after_the_cut_off_the_psu_cannot_authorise() -> None:
    w = world(profile=ObieProfile(cut_off_time="09:30"))
    consent = w.consent()
    w.clock.advance(3600)
    with pytest.raises(Exception, match="CutOffDateTime"):
        w.authorise(str(consent.consent_id))
    found = read_consent(w, consent, "4.0")
    assert (found["Status"], found["StatusReason"][0]["StatusReasonCode"]) == ("RJCT", "U012")


def settle(w: World, outcome: SettlementOutcome, reason: str = "") -> None:
    """The settlement port reports on the only request it got (as serve/ wires it)."""
    [request] = w.settlement.requests
    result = SettlementResult(request.intent_id, outcome, reason)
    w.bank.payments.conclude(result, at=w.clock.now())
    w.obie.concluded(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_settlement_committed_credits_the_creditor(version: str) -> None:
    w = world()
    consent, token = w.authorised(version, creditor=BOB)
    paid = w.pay(consent, token, version)
    settle(w, SettlementOutcome.SETTLED)
    expected = "AcceptedCreditSettlementCompleted" if version == "3.1" else "ACCC"
    assert read_payment(w, paid, version)["Status"] == expected
    assert w.available(MITS) == 1000 - 10.5


@pytest.mark.parametrize("version", VERSIONS)
def test_a_settlement_that_fails_rejects_the_payment_and_gives_the_money_back(
    version: str,
) -> None:
    w = world()
    consent, token = w.authorised(version, creditor=BOB)
    paid = w.pay(consent, token, version)
    settle(w, SettlementOutcome.FAILED, "payee unknown")
    assert read_payment(w, paid, version)["Status"] == ("Rejected" if version == "3.1" else "RJCT")
    assert w.available(MITS) == 1000


def test_without_a_settlement_port_a_creditor_at_another_bank_is_only_debited() -> None:
    w = world(settlement=False)
    consent, token = w.authorised(creditor=BOB)
    paid = w.pay(consent, token)
    assert (data(paid)["Status"], read_payment(w, paid, "4.0")["Status"]) == ("RCVD", "ACSC")
    assert w.balances()[BOB] == "0.00" and w.balances()[MITS] == "989.50"


# -- the consent without a debtor account ------------------------------------------------------


def test_the_psu_chooses_the_account_when_the_consent_names_none() -> None:
    w = world()
    consent = w.consent(debtor=None)
    token = w.authorise(str(consent.consent_id), accounts=("dfspa.mits.savings",))
    paid = w.pay(consent, token)
    assert data(paid)["Debtor"]["Identification"] == MITS_2
    assert w.balances()[MITS_2] == "39.50" and w.balances()[RORA] == "10.50"


def test_a_psu_with_several_accounts_must_choose_one() -> None:
    w = world()
    consent = w.consent(debtor=None)
    with pytest.raises(Exception, match="choose the account"):
        w.authorise(str(consent.consent_id))


# -- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("fields", "user", "reason"),
    [
        ({"e2e": "FAIL-1"}, "mits", "MS03"),
        ({"amount": "12.99"}, "mits", "AM04"),
        ({}, "PSU-Rejected", "MS03"),
        ({}, "PSU-InternalLimit", "AM02"),
    ],
)
def test_the_sandbox_personas_reject_the_payment_when_it_executes(
    version: str, fields: dict[str, str], user: str, reason: str
) -> None:
    w = world()
    consent = w.consent(version, **fields)
    token = w.authorise(str(consent.consent_id), user=user, password=None)
    paid = w.pay(consent, token, version)
    assert data(paid)["Status"] == ("Rejected" if version == "3.1" else "RJCT")
    if version == "4.0":
        assert data(paid)["StatusReason"][0]["StatusReasonCode"] == reason
    assert w.available(MITS) == 1000


def test_the_persona_psu_unknown_cannot_authorise() -> None:
    w = world()
    consent = w.consent()
    with pytest.raises(Exception, match="PSU-Unknown"):
        w.authorise(str(consent.consent_id), user="PSU-Unknown", password=None)
    assert read_consent(w, consent, "4.0")["Status"] == "AWAU"


def test_a_rule_may_delay_the_payment_which_the_tick_then_executes() -> None:
    delay = Rule("slow", Match.of({"creditor": RORA}), Outcome(delay_s=30))
    w = world(rules=[delay])
    consent, token = w.authorised()
    paid = w.pay(consent, token)
    assert data(paid)["Status"] == "RCVD" and w.available(RORA) == 0
    assert w.obie.next_due() == w.clock.now() + timedelta(seconds=30)
    w.advance(seconds=30)
    assert read_payment(w, paid, "4.0")["Status"] == "ACCC"
    assert w.available(RORA) == 10.5


def test_a_rule_may_stop_the_money_at_the_debtor() -> None:
    stop = Rule("debit-only", Match.of({"creditor": RORA}), Outcome(status=Status.SETTLED_DEBTOR))
    w = world(rules=[stop])
    consent, token = w.authorised()
    paid = w.pay(consent, token)
    assert (data(paid)["Status"], read_payment(w, paid, "4.0")["Status"]) == ("RCVD", "ACSC")
    assert w.available(RORA) == 0


def test_a_body_handed_out_cannot_change_what_the_bank_keeps() -> None:
    w = world()
    consent, token = w.authorised()
    assert consent.body is not None
    consent.body["Data"]["Initiation"]["InstructedAmount"]["Amount"] = "999.00"
    paid = w.call("POST", "domestic-payments", payment_body(consent), token=token)
    assert paid.body["Errors"][0]["ErrorCode"] == "U008"  # the consent still says 10.50


@pytest.mark.parametrize("version", VERSIONS)
def test_a_payment_the_settlement_port_refuses_ends_rejected_with_the_money_untouched(
    version: str,
) -> None:
    """The payment consumed its consent (born RJCT in v4.0, the digest §1.3): it must end
    Rejected with a reason, never stay Pending with the debit held."""
    w = world()
    w.obie.orders.settlement = RefusingSettlement()
    opening = totals(w.bank)
    consent, token = w.authorised(version, creditor=BOB)
    paid = w.pay(consent, token, version)
    assert paid.status == 201
    assert data(paid)["Status"] == ("Rejected" if version == "3.1" else "RJCT")
    if version == "4.0":
        assert data(paid)["StatusReason"][0]["StatusReasonCode"] == "MS03"
    assert read_payment(w, paid, version)["Status"] in ("Rejected", "RJCT")
    assert read_consent(w, consent, version)["Status"] in ("Consumed", "COND")
    assert w.balances()[MITS] == "1000.00" and w.balances()[BOB] == "0.00"
    assert ledger_problems(w.bank, opening, {}) == [] and quiet_problems(w.bank) == []


def test_a_delayed_payment_the_settlement_port_refuses_ends_rejected_when_the_tick_runs_it() -> (
    None
):
    delay = Rule("slow", Match.of({"creditor": BOB}), Outcome(delay_s=30))
    w = world(rules=[delay])
    w.obie.orders.settlement = RefusingSettlement()
    opening = totals(w.bank)
    consent, token = w.authorised(creditor=BOB)
    paid = w.pay(consent, token)
    assert data(paid)["Status"] == "RCVD"
    w.advance(seconds=30)
    assert read_payment(w, paid, "4.0")["Status"] == "RJCT"
    assert w.balances()[MITS] == "1000.00"
    assert ledger_problems(w.bank, opening, {}) == [] and quiet_problems(w.bank) == []
