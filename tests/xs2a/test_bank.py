"""``xs2a.bank.Xs2aBank`` (its ``xs2a.payments``): the money an XS2A payment moves once
authorised, when, and what it reads as (digest §2.4, §2.7; issue 12 "Money"). Payments are
initiated through the API and approved as a decoupled PSU would in their app, so each test
reads: pay → ``transactionStatus`` → ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.ledger_invariants import ledger_problems, quiet_problems, totals
from tpsim.core.ledger import PostingKind
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.rules import Match, Outcome, Reason, Rule, Status
from tpsim.core.settlement import SettlementOutcome, SettlementRequest, SettlementResult
from tpsim.xs2a.api import Answer
from tpsim.xs2a.errors import StatusInvalid

from .support import (
    BOB,
    DECOUPLED,
    ERIKA,
    MAX,
    NOBODY,
    TODAY,
    RefusingSettlement,
    World,
    bulk,
    periodic,
    single,
    world,
)

SCT = "payments/sepa-credit-transfers"
BULK = "bulk-payments/sepa-credit-transfers"
PERIODIC = "periodic-payments/sepa-credit-transfers"


def pay(w: World, body: dict[str, Any] | None = None, path: str = SCT, /, **headers: Any) -> Answer:
    """Initiate (decoupled, PSU erika unless ``headers`` say otherwise) and approve."""
    answer = w.initiate(body, path, **{**DECOUPLED, **headers})
    assert answer.authorisation_id is not None
    w.auths.approve(answer.authorisation_id, None, None)
    return answer


def status_body(w: World, answer: Answer, path: str = SCT) -> dict[str, Any]:
    got = w.call("GET", f"{path}/{answer.payment_id}/status")
    assert got.status == 200 and got.body is not None, got
    return got.body


def postings(w: World, iban: str) -> list[tuple[PostingKind, str]]:
    """The account's postings since it was opened."""
    address = w.bank.accounts.require(iban).address
    moved = w.bank.ledger.postings(address)
    return [(p.kind, f"{p.amount:.2f}") for p in moved if p.kind is not PostingKind.OPEN]


def day(days: int) -> str:
    return str(TODAY + timedelta(days=days))


# -- where the money goes ----------------------------------------------------------------------


def test_a_creditor_at_the_same_bank_is_credited_at_once() -> None:
    w = world()
    answer = pay(w)
    assert status_body(w, answer) == {"transactionStatus": "ACCC", "fundsAvailable": True}
    assert w.balances() == {
        ERIKA: "900.00",
        MAX: "100.00",
        BOB: "0.00",
        "GB82WEST12345698765432": "500.00",
    }
    assert postings(w, ERIKA) == [(PostingKind.RESERVE, "100.00"), (PostingKind.COMMIT, "100.00")]
    assert postings(w, MAX) == [(PostingKind.CREDIT, "100.00")]
    assert w.settlement.requests == []


def test_a_creditor_at_another_simulated_bank_is_paid_through_the_settlement_port() -> None:
    """The request names the creditor by its account address (``ACCOUNT_ID …``), as the UK
    dialect does: the one settlement step both share (``core.execution``)."""
    w = world()
    answer = pay(w, single(creditor=BOB))
    assert answer.payment_id is not None
    assert w.settlement.requests == [
        SettlementRequest(
            intent_id=answer.payment_id,
            from_bank="dfspa",
            debtor="dfspa.erika",
            to_bank="dfspb",
            creditor="ACCOUNT_ID dfspb.bob",
            amount=Decimal("100.00"),
            currency="EUR",
        )
    ]
    assert w.status(answer) == "ACSP"
    assert w.available(ERIKA) == Decimal("900.00")  # reserved while the transfer runs
    assert w.bank.ledger.balance("dfspa.erika") == Decimal("1000.00")
    w.bank.payments.conclude(SettlementResult(answer.payment_id, SettlementOutcome.SETTLED))
    assert w.status(answer) == "ACCC"
    assert w.bank.ledger.balance("dfspa.erika") == Decimal("900.00")
    # Crediting bob is the settlement's business (the creditor's bank), not dfspa's.
    assert w.available(BOB) == 0


def test_a_failed_settlement_rejects_and_gives_the_funds_back() -> None:
    w = world()
    answer = pay(w, single(creditor=BOB))
    assert answer.payment_id is not None
    w.bank.payments.conclude(
        SettlementResult(answer.payment_id, SettlementOutcome.FAILED, "payee unreachable")
    )
    assert w.status(answer) == "RJCT"
    assert w.balances()[ERIKA] == "1000.00"


def test_without_a_settlement_port_another_banks_creditor_is_not_reported_credited() -> None:
    w = world(settlement=False)
    answer = pay(w, single(creditor=BOB))
    assert w.status(answer) == "ACSC"  # the money left erika's account and went no further
    assert (w.balances()[ERIKA], w.balances()[BOB]) == ("900.00", "0.00")


def test_a_creditor_outside_tpsim_only_sees_the_money_leave() -> None:
    w = world()
    answer = pay(w, single(creditor=NOBODY))
    assert w.status(answer) == "ACSC"
    assert w.balances() == {
        ERIKA: "900.00",
        MAX: "0.00",
        BOB: "0.00",
        "GB82WEST12345698765432": "500.00",
    }
    assert w.settlement.requests == []


def test_insufficient_funds_at_execution_reject_and_touch_nothing() -> None:
    w = world()
    answer = pay(w, single("1500.00"))
    body = status_body(w, answer)
    assert (body["transactionStatus"], body["fundsAvailable"]) == ("RJCT", False)
    assert w.balances()[ERIKA] == "1000.00"
    assert postings(w, ERIKA) == []


def test_a_payment_the_settlement_port_refuses_is_rejected_and_touches_nothing() -> None:
    """A port refusing at once (``SwitchSettlement.submit``) ends the payment RJCT with
    its hold released: it is never left ACSP with no settlement under way."""
    w = world()
    w.xs2a.settlement = RefusingSettlement()
    opening = totals(w.bank)
    answer = pay(w, single(creditor=BOB))
    assert status_body(w, answer)["transactionStatus"] == "RJCT"
    assert (w.balances()[ERIKA], w.balances()[BOB]) == ("1000.00", "0.00")
    assert ledger_problems(w.bank, opening, {}) == [] and quiet_problems(w.bank) == []


# -- bulk -------------------------------------------------------------------------------------


def test_a_bulk_payment_pays_each_entry() -> None:
    w = world()
    answer = pay(w, bulk("100.00", "250.00"), BULK)
    assert w.status(answer, BULK) == "ACCC"
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("650.00", "350.00")


def test_batch_booking_is_all_or_nothing() -> None:
    w = world()
    answer = pay(w, bulk("600.00", "600.00", batch=True), BULK)
    body = status_body(w, answer, BULK)
    assert (body["transactionStatus"], body["fundsAvailable"]) == ("RJCT", False)
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("1000.00", "0.00")


def test_without_batch_booking_a_bulk_is_partly_accepted_when_one_entry_fails() -> None:
    w = world()
    answer = pay(w, bulk("600.00", "600.00", batch=False), BULK)
    assert w.status(answer, BULK) == "PART"
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("400.00", "600.00")


def test_a_bulk_with_every_entry_failed_is_rejected() -> None:
    w = world()
    answer = pay(w, bulk("1600.00", "1700.00"), BULK)
    assert w.status(answer, BULK) == "RJCT"
    assert w.balances()[ERIKA] == "1000.00"


def test_a_bulk_entry_to_another_bank_settles_while_the_others_are_done() -> None:
    w = world()
    body = bulk("100.00", "200.00")
    body["payments"][1]["creditorAccount"] = {"iban": BOB}
    answer = pay(w, body, BULK)
    assert w.status(answer, BULK) == "ACSP"
    [request] = w.settlement.requests
    w.bank.payments.conclude(SettlementResult(request.intent_id, SettlementOutcome.SETTLED))
    assert w.status(answer, BULK) == "ACCC"
    assert w.balances()[ERIKA] == "700.00"


def test_a_bulk_entry_the_settlement_port_refuses_is_rejected_while_the_others_are_paid() -> None:
    w = world()
    w.xs2a.settlement = RefusingSettlement()
    opening = totals(w.bank)
    body = bulk("100.00", "200.00")
    body["payments"][1]["creditorAccount"] = {"iban": BOB}
    answer = pay(w, body, BULK)
    assert w.status(answer, BULK) == "PART"
    assert (w.balances()[ERIKA], w.balances()[MAX], w.balances()[BOB]) == (
        "900.00",
        "100.00",
        "0.00",
    )
    assert ledger_problems(w.bank, opening, {}) == [] and quiet_problems(w.bank) == []


# -- future-dated -------------------------------------------------------------------------------


def test_a_future_dated_payment_waits_authorised_until_its_date() -> None:
    w = world()
    answer = pay(w, single(requestedExecutionDate=day(3)))
    assert w.status(answer) == "ACTC"
    assert w.xs2a.next_due() == datetime.combine(
        TODAY + timedelta(days=3), datetime.min.time(), UTC
    )
    w.advance(days=2)
    assert (w.status(answer), w.balances()[ERIKA]) == ("ACTC", "1000.00")
    w.advance(days=1)
    assert (w.status(answer), w.balances()[ERIKA], w.balances()[MAX]) == (
        "ACCC",
        "900.00",
        "100.00",
    )
    assert w.xs2a.next_due() is None


def test_a_future_dated_payment_due_is_executed_on_the_next_read_too() -> None:
    w = world()
    answer = pay(w, single(requestedExecutionDate=day(1)))
    w.clock.advance(86_400)  # no tick
    assert w.status(answer) == "ACCC"


def test_a_payment_dated_today_executes_at_once() -> None:
    w = world()
    assert w.status(pay(w, single(requestedExecutionDate=day(0)))) == "ACCC"


def test_a_future_dated_payment_without_funds_on_its_date_is_rejected() -> None:
    w = world()
    answer = pay(w, single("800.00", requestedExecutionDate=day(2)))
    pay(w, single("300.00"))  # spent meanwhile
    w.advance(days=2)
    assert status_body(w, answer)["fundsAvailable"] is False
    assert w.status(answer) == "RJCT"
    assert w.balances()[ERIKA] == "700.00"


# -- periodic -----------------------------------------------------------------------------------


def test_a_periodic_payment_executes_each_date_once_then_ends() -> None:
    w = world()
    body = periodic("10.00", start=day(0), frequency="Weekly", end=day(21))
    answer = pay(w, body, PERIODIC)
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACTC", "10.00")
    w.advance(days=7)
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACTC", "20.00")
    w.status(answer, PERIODIC)
    w.xs2a.tick()
    assert w.balances()[MAX] == "20.00"  # read and ticked again: nothing twice
    w.advance(days=30)  # two dates passed at once: each executes once
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACCC", "40.00")
    assert w.balances()[ERIKA] == "960.00"
    assert w.xs2a.next_due() is None


def test_a_standing_order_debits_nothing_after_its_end_date() -> None:
    # Weekly on Saturdays from 01-12 to 01-26 (endDate, "the last applicable day of
    # execution"): the 12th and 19th are paid on the Monday after; the 26th's Monday is
    # after the end, so it is paid on Friday 01-25, and the order ends there.
    w = world()
    answer = pay(w, periodic("10.00", start=day(5), frequency="Weekly", end=day(19)), PERIODIC)
    w.advance(days=17)  # Thursday 01-24
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACTC", "20.00")
    w.advance(days=1)  # Friday 01-25
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACCC", "30.00")
    assert w.xs2a.next_due() is None
    w.advance(days=30)
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("970.00", "30.00")


def test_a_standing_order_with_no_execution_date_is_refused_naming_the_end_it_needs() -> None:
    # "31 is ultimo of the month": from April 5 to 29 it never falls due. Taken, the order
    # would end at once, settled without a single debit.
    w = world()
    body = {**periodic(start="2030-04-05", frequency="Monthly", end="2030-04-29"),
            "dayOfExecution": "31"}  # fmt: skip
    refused = w.call("POST", PERIODIC, body, **DECOUPLED)
    assert refused.body is not None
    [message] = refused.body["tppMessages"]
    assert (refused.status, message["code"], message["path"]) == (
        400,
        "EXECUTION_DATE_INVALID",
        "endDate",
    )
    assert "send an endDate on or after 2030-04-30" in message["text"]
    assert w.kept() == {}
    answer = pay(w, {**body, "endDate": "2030-04-30"}, PERIODIC)
    w.advance(days=120)
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACCC", "10.00")


def test_a_periodic_payment_waits_for_its_start_date() -> None:
    w = world()
    answer = pay(w, periodic("10.00", start=day(10), frequency="Monthly"), PERIODIC)
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("ACTC", "0.00")
    w.advance(days=10)
    assert w.balances()[MAX] == "10.00"


def test_a_periodic_execution_without_funds_is_rejected_and_the_order_goes_on() -> None:
    w = world()
    answer = pay(w, periodic("400.00", start=day(0), frequency="Weekly", end=day(14)), PERIODIC)
    w.advance(days=14)
    assert w.balances()[ERIKA] == "200.00"  # 400 twice; the third found 200
    assert w.status(answer, PERIODIC) == "ACCC"


def test_a_cancelled_periodic_payment_stops() -> None:
    w = world()
    answer = pay(w, periodic("10.00", start=day(0), frequency="Weekly"), PERIODIC)
    assert w.call("DELETE", f"{PERIODIC}/{answer.payment_id}").status == 204
    w.advance(days=60)
    assert (w.status(answer, PERIODIC), w.balances()[MAX]) == ("CANC", "10.00")
    assert w.xs2a.next_due() is None
    again = w.call("DELETE", f"{PERIODIC}/{answer.payment_id}")
    assert again.body is not None
    assert (again.status, again.body["tppMessages"][0]["code"]) == (400, "FORMAT_ERROR")


# -- rules: magic outcomes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "text", "funds"),
    [
        pytest.param(single(), {"PSU-ID": "PSU-Rejected"}, "payments of PSU-Rejected", None,
                     id="PSU-Rejected"),
        pytest.param(single(), {"PSU-ID": "PSU-InternalLimit"}, "exceed its limit", None,
                     id="PSU-InternalLimit"),
        pytest.param(single(endToEndIdentification="FAIL-7"), {}, "starting FAIL-", None,
                     id="endToEndIdentification FAIL-"),
        pytest.param(single("12.99"), {}, "ending in .99", False, id="amount .99"),
    ],
)  # fmt: skip
def test_sandbox_personas_reject_at_execution_with_the_rules_text(
    body: dict[str, Any], headers: dict[str, str], text: str, funds: bool | None
) -> None:
    w = world()
    answer = pay(w, body, **headers)
    got = status_body(w, answer)
    assert got["transactionStatus"] == "RJCT"
    assert text in got["psuMessage"]
    assert got.get("fundsAvailable") is funds
    assert w.balances()[ERIKA] == "1000.00"


def test_sandbox_personas_can_be_turned_off() -> None:
    w = world()
    w.xs2a.rules = type(w.xs2a.rules)([])
    assert w.status(pay(w, single("12.99"))) == "ACCC"


def rule(name: str, then: Outcome, **when: str) -> Rule:
    return Rule(name, Match.of(when), then)


def test_a_configured_rule_comes_before_the_personas() -> None:
    let_through = rule("let-through", Outcome(delay_s=0), amount=r"re:.*\.99")
    w = world(rules=[let_through])
    assert w.status(pay(w, single(amount="12.99"))) == "ACCC"


def test_a_rule_settling_at_the_debtor_stops_the_money_there() -> None:
    w = world(rules=[rule("debtor-only", Outcome(status=Status.SETTLED_DEBTOR), creditor=MAX)])
    answer = pay(w)
    assert w.status(answer) == "ACSC"
    assert (w.balances()[ERIKA], w.balances()[MAX]) == ("900.00", "0.00")


def test_a_pending_rule_holds_the_payment_until_the_bank_forces_it() -> None:
    w = world(rules=[rule("hold", Outcome(status=Status.PENDING), amount=">= 100")])
    answer = pay(w)
    assert (w.status(answer), w.balances()[ERIKA]) == ("PDNG", "1000.00")
    w.advance(days=5)
    assert w.status(answer) == "PDNG"
    assert answer.payment_id is not None
    w.xs2a.force(w.xs2a.payments[answer.payment_id], "ACSC", None)
    assert (w.status(answer), w.balances()[ERIKA], w.balances()[MAX]) == (
        "ACCC",
        "900.00",
        "100.00",
    )


def test_an_accepted_rule_stops_at_accp() -> None:
    w = world(rules=[rule("accept", Outcome(status=Status.ACCEPTED), creditor=MAX)])
    answer = pay(w)
    assert (w.status(answer), w.balances()[ERIKA]) == ("ACCP", "1000.00")


def test_a_rule_delay_executes_after_the_simulated_seconds() -> None:
    w = world(rules=[rule("slow", Outcome(delay_s=60), creditor=MAX)])
    answer = pay(w)
    assert w.status(answer) == "ACTC"
    w.advance(seconds=60)
    assert w.status(answer) == "ACCC"


def test_a_configured_rejection_names_its_reason() -> None:
    blocked = Outcome(reject=Reason.BLOCKED_ACCOUNT, text="erika's account is blocked")
    w = world(rules=[rule("blocked", blocked, debtor=ERIKA)])
    got = status_body(w, pay(w))
    assert (got["transactionStatus"], got["psuMessage"]) == (
        "RJCT",
        "Rejected: erika's account is blocked",
    )


# -- the bank decides (admin "direct ASPSP update") -------------------------------------------


def test_the_bank_may_reject_or_cancel_what_has_not_executed() -> None:
    w = world()
    waiting = pay(w, single(requestedExecutionDate=day(3)))
    open_ = w.initiate(**DECOUPLED)
    assert waiting.payment_id is not None and open_.payment_id is not None
    w.xs2a.force(w.xs2a.payments[waiting.payment_id], "RJCT", "compliance")
    w.xs2a.force(w.xs2a.payments[open_.payment_id], "CANC", None)
    assert (w.status(waiting), w.status(open_)) == ("RJCT", "CANC")
    assert status_body(w, waiting)["psuMessage"] == "Rejected: compliance"
    w.advance(days=5)
    assert w.balances()[ERIKA] == "1000.00"


@pytest.mark.parametrize(
    ("setup", "forced"),
    [("executed", "RJCT"), ("executed", "CANC"), ("unauthorised", "ACSC"), ("executed", "ACSC")],
)
def test_the_bank_cannot_force_what_the_state_does_not_allow(setup: str, forced: str) -> None:
    w = world()
    answer = pay(w) if setup == "executed" else w.initiate(**DECOUPLED)
    assert answer.payment_id is not None
    before = w.status(answer)
    with pytest.raises(StatusInvalid):
        w.xs2a.force(w.xs2a.payments[answer.payment_id], forced, None)
    assert w.status(answer) == before


def test_forcing_a_future_dated_payment_executes_it_now() -> None:
    w = world()
    answer = pay(w, single(requestedExecutionDate=day(3)))
    assert answer.payment_id is not None
    w.xs2a.force(w.xs2a.payments[answer.payment_id], "ACSC", None)
    assert w.status(answer) == "ACCC"
    w.advance(days=3)
    assert w.balances()[ERIKA] == "900.00"  # not twice


# -- bounded memory ------------------------------------------------------------------------------


def test_ended_payments_and_authorisations_stay_bounded() -> None:
    w = world(retention=timedelta(hours=1), max_ended=5)
    for _ in range(30):
        pay(w, single("1.00"))
    assert len(w.xs2a.payments) <= 5
    assert len(w.auths.records) <= 5
    assert w.balances()[ERIKA] == "970.00"


def test_ended_payments_are_forgotten_after_the_retention() -> None:
    w = world(retention=timedelta(seconds=300))
    first = pay(w)
    assert first.payment_id is not None and first.authorisation_id is not None
    w.clock.advance(301)
    pay(w)  # keeping another sweeps what is due
    assert first.payment_id not in w.xs2a.payments
    assert first.authorisation_id not in w.auths.records
    assert len(w.xs2a.payments) == 1
    gone = w.call("GET", f"{SCT}/{first.payment_id}/status")
    assert gone.status == 404


def test_a_payment_whose_intents_other_traffic_pushed_out_is_forgotten_too() -> None:
    w = world(retention=timedelta(hours=1), max_ended=3)
    answer = pay(w)
    assert answer.payment_id is not None
    for i in range(3):  # the shared bank's other payments (a Mojaloop transfer…) end
        now = w.clock.now()
        w.bank.payments.receive(
            PaymentIntent(f"other-{i}", "dfspa.erika", MAX, Decimal(1), "EUR", created_at=now)
        )
        w.bank.payments.end(f"other-{i}", PaymentEvent.REJECT, at=now)
    gone = w.call("GET", f"{SCT}/{answer.payment_id}/status")
    assert gone.body is not None
    assert (gone.status, gone.body["tppMessages"][0]["code"]) == (404, "RESOURCE_UNKNOWN")
    assert answer.payment_id not in w.xs2a.payments


def test_a_live_payment_is_never_dropped() -> None:
    w = world(retention=timedelta(seconds=1), max_ended=1)
    waiting = pay(w, single(requestedExecutionDate=day(30)))
    for _ in range(5):
        w.clock.advance(10)
        pay(w, single("1.00"))
    assert w.status(waiting) == "ACTC"


def test_a_standing_order_outlives_the_retention_of_its_executions() -> None:
    w = world(retention=timedelta(seconds=300), max_ended=2)
    answer = pay(w, periodic("10.00", start=day(0), frequency="Weekly", end=day(35)), PERIODIC)
    for _ in range(3):
        w.advance(days=7)
        pay(w, single("1.00"))  # other payments come and go meanwhile
    assert w.status(answer, PERIODIC) == "ACTC"
    assert w.balances()[MAX] == "43.00"
    w.advance(days=14)
    assert w.status(answer, PERIODIC) == "ACCC"
    assert w.balances()[MAX] == "63.00"


def test_a_payment_cancelled_unauthorised_leaves_no_authorisation_behind() -> None:
    w = world(retention=timedelta(seconds=300))
    cancelled = w.initiate(**DECOUPLED)
    assert w.call("DELETE", f"{SCT}/{cancelled.payment_id}").status == 204
    w.clock.advance(301)
    kept = pay(w)
    assert [a.authorisation_id for a in w.auths.records] == [kept.authorisation_id]
    assert len(w.xs2a.payments) == 1


def test_a_settled_cross_bank_payment_is_forgotten_after_its_retention() -> None:
    w = world(retention=timedelta(seconds=300))
    answer = pay(w, single(creditor=BOB))
    assert answer.payment_id is not None
    result = SettlementResult(answer.payment_id, SettlementOutcome.SETTLED)
    w.bank.payments.conclude(result)
    w.xs2a.concluded(result)  # the edge's settlement listener
    w.clock.advance(301)
    pay(w)
    assert answer.payment_id not in w.xs2a.payments


def test_a_failed_settlement_says_why_in_the_status() -> None:
    w = world()
    answer = pay(w, single(creditor=BOB))
    assert answer.payment_id is not None
    result = SettlementResult(answer.payment_id, SettlementOutcome.FAILED, "payee unreachable")
    w.bank.payments.conclude(result)
    w.xs2a.concluded(result)
    got = status_body(w, answer)
    assert (got["transactionStatus"], got["psuMessage"]) == (
        "RJCT",
        "Rejected: settlement failed: payee unreachable",
    )


def test_a_payment_the_bank_holds_can_still_be_cancelled() -> None:
    w = world(rules=[rule("hold", Outcome(status=Status.PENDING), amount=">= 100")])
    answer = pay(w)
    assert answer.payment_id is not None
    cancelled = w.call("DELETE", f"payments/sepa-credit-transfers/{answer.payment_id}")
    assert (cancelled.status, w.status(answer), w.balances()[ERIKA]) == (204, "CANC", "1000.00")
