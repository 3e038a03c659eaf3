"""``stet.bank.StetBank`` without the HTTP shape: what a payment request may be created
with (the approach both sides accept, the debtor account), the PSU's and the admin's
decisions, the clock (decoupled approvals after their delay, expiry), execution (a rule's
hold or delay, the settlement port) and cancellation, read from the bank and the ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.ledger_invariants import ledger_problems, quiet_problems, totals
from tests.xs2a.support import RefusingSettlement
from tpsim.core.payment import PaymentState
from tpsim.core.rules import Match, Outcome, Rule, Status
from tpsim.core.settlement import SettlementOutcome
from tpsim.stet import reading
from tpsim.stet.errors import Duplicate, FieldInvalid, NotFound, StatusInvalid
from tpsim.stet.resources import PaymentRequest
from tpsim.stet.states import Approach, RequestState, Why

from .support import (
    CLAIRE,
    ERIKA_GBP,
    LOUIS,
    LUCA,
    OUTSIDE,
    START,
    TOMORROW,
    World,
    payment_request,
    transaction,
    world,
)

ALL = ("REDIRECT", "DECOUPLED", "EMBEDDED-1-FACTOR")


def made(w: World, tpp: str = "tpp-one", **fields: Any) -> PaymentRequest:
    """A payment request created at the bank (the body as ``reading`` reads it)."""
    return w.stet.create(tpp, reading.payment_request(payment_request(**fields)))


def state(w: World, request_id: str) -> RequestState:
    """The request's own state as kept (no clock applied: what ``tick`` left)."""
    found = w.stet.requests.get(request_id)
    assert found is not None
    return found.state


def read(w: World, request_id: str) -> tuple[str, Why | None]:
    """The request's status word and reason, as the clock finds it."""
    found = w.stet.get(request_id)
    reason = w.stet.orders.reason(found)
    return w.stet.status(found), None if reason is None else reason.why


# -- creating ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bank", "pisp", "applied"),
    [
        (ALL, ("DECOUPLED", "REDIRECT"), Approach.REDIRECT),  # the bank's preference wins
        (("DECOUPLED", "REDIRECT"), ("REDIRECT", "DECOUPLED"), Approach.DECOUPLED),
        (("EMBEDDED-1-FACTOR",), ("REDIRECT", "EMBEDDED-1-FACTOR"), Approach.EMBEDDED),
        (("REDIRECT", "DECOUPLED"), ("DECOUPLED",), Approach.DECOUPLED),
    ],
)
def test_the_first_approach_of_the_banks_preference_the_pisp_accepts_is_applied(
    bank: tuple[str, ...], pisp: tuple[str, ...], applied: Approach
) -> None:
    w = world(profile={"approaches": list(bank)})
    assert made(w, debtor=CLAIRE, approaches=pisp).approach is applied


def test_no_approach_both_sides_accept_is_refused_naming_the_member() -> None:
    w = world(profile={"approaches": ["REDIRECT"]})
    with pytest.raises(FieldInvalid) as refused:
        made(w, debtor=CLAIRE, approaches=("DECOUPLED", "EMBEDDED-1-FACTOR"))
    assert refused.value.message.startswith("supplementaryData.acceptedAuthenticationApproach")
    assert "REDIRECT" in refused.value.message


def test_redirect_lets_the_psu_choose_the_debtor_account_at_the_bank() -> None:
    w = world()
    assert made(w).order.debtor is None


@pytest.mark.parametrize("approach", ["DECOUPLED", "EMBEDDED-1-FACTOR"])
def test_decoupled_and_embedded_need_the_debtor_account(approach: str) -> None:
    w = world(profile={"approaches": [approach]})
    with pytest.raises(FieldInvalid, match=r"^debtorAccount: the .* approach needs"):
        made(w, approaches=(approach,))
    assert made(w, debtor=CLAIRE, approaches=(approach,)).approach.value == approach


@pytest.mark.parametrize(
    ("debtor", "why"),
    [
        (LOUIS, "is not an account of dfspa"),  # held at another bank
        (OUTSIDE, "is not an account of dfspa"),  # nobody's
        (ERIKA_GBP, "held in GBP, not EUR"),
    ],
)
def test_the_debtor_account_is_the_banks_own_in_the_payments_currency(
    debtor: str, why: str
) -> None:
    w = world()
    with pytest.raises(FieldInvalid) as refused:
        made(w, debtor=debtor)
    assert refused.value.message.startswith("debtorAccount.iban: ") and why in refused.value.message


def test_a_repeated_payment_information_id_is_refused_only_when_the_profile_says_so() -> None:
    lenient = world()
    assert made(lenient).resource_id != made(lenient).resource_id
    strict = world(profile={"reject_duplicate_payment_information_id": True})
    first = made(strict)
    with pytest.raises(Duplicate) as refused:
        made(strict)
    assert (refused.value.status, refused.value.code) == (400, "DUPLICATE")
    assert first.resource_id in refused.value.message
    other = made(strict, tpp="tpp-two", report=("https://two.example/ok", None))
    assert other.tpp == "tpp-two"  # each PISP has its own identifiers
    assert made(strict, paymentInformationId="Another").order.payment_information_id == "Another"


def test_a_payment_information_id_stays_taken_while_its_request_is_open() -> None:
    w = world(
        profile={"reject_duplicate_payment_information_id": True, "approval_expiry_s": 900},
        retention=timedelta(seconds=300),
    )
    first = made(w)
    w.advance(seconds=301)
    assert read(w, first.resource_id) == ("ACTC", None)
    with pytest.raises(Duplicate):
        made(w)


# -- deciding ------------------------------------------------------------------------------


def test_the_admin_decision_approves_from_the_named_account_and_executes() -> None:
    w = world()
    request = made(w, debtor=CLAIRE, creditor=LUCA)
    decided = w.stet.decide(request.resource_id, True, None, None)
    assert (decided.state, decided.psu, decided.debtor) == (
        RequestState.ORDERED,
        "claire",
        "dfspa.claire.courant",
    )
    assert read(w, request.resource_id) == ("ACSC", None)
    assert (w.available(CLAIRE), w.available(LUCA)) == (Decimal("2875.65"), Decimal("224.35"))


def test_the_admin_decision_may_choose_the_account_when_the_request_names_none() -> None:
    w = world()
    request = made(w, creditor=LUCA)
    w.stet.decide(request.resource_id, True, "claire", "dfspa.claire.courant")
    assert read(w, request.resource_id) == ("ACSC", None)
    with pytest.raises(FieldInvalid, match="say who approves"):
        w.stet.decide(made(w).resource_id, True, None, None)


def test_a_denial_rejects_with_cust_and_a_second_decision_is_refused() -> None:
    w = world()
    request = made(w)
    w.stet.decide(request.resource_id, False, None, None)
    assert read(w, request.resource_id) == ("RJCT", Why.CUSTOMER)
    with pytest.raises(StatusInvalid, match="not awaiting the PSU's approval"):
        w.stet.decide(request.resource_id, True, "claire", CLAIRE)


def test_the_persona_psu_rejected_approves_but_the_payment_is_rejected() -> None:
    w = world()
    request = made(w, creditor=LUCA)
    w.stet.decide(request.resource_id, True, "PSU-Rejected", CLAIRE)
    assert read(w, request.resource_id) == ("RJCT", Why.UNSPECIFIED)
    assert w.available(CLAIRE) == 3000


def test_the_persona_psu_unknown_is_refused_and_the_request_still_waits() -> None:
    w = world()
    request = made(w)
    with pytest.raises(FieldInvalid, match="PSU-Unknown is no PSU"):
        w.stet.decide(request.resource_id, True, "PSU-Unknown", CLAIRE)
    assert read(w, request.resource_id) == ("ACTC", None)


def test_only_the_holder_of_the_account_approves() -> None:
    w = world()
    request = made(w, debtor=CLAIRE)
    with pytest.raises(FieldInvalid, match="luca does not hold account"):
        w.stet.decide(request.resource_id, True, "luca", None)


# -- the clock -----------------------------------------------------------------------------


def test_a_decoupled_request_is_approved_after_the_configured_delay_by_tick() -> None:
    w = world(profile={"approaches": ["DECOUPLED"]}, behaviour={"decoupled_approval_delay_s": 30})
    request = made(w, debtor=CLAIRE, creditor=LUCA, approaches=("DECOUPLED",))
    assert w.stet.next_due() == START.replace(second=30)
    w.advance(seconds=29)
    assert state(w, request.resource_id) is RequestState.AWAITING
    w.advance(seconds=1)
    assert state(w, request.resource_id) is RequestState.ORDERED
    assert w.available(LUCA) == Decimal("224.35")


def test_a_decoupled_request_nobody_approves_ends_noas() -> None:
    w = world(profile={"approaches": ["DECOUPLED"], "approval_expiry_s": 120})
    request = made(w, debtor=CLAIRE, approaches=("DECOUPLED",))
    w.advance(seconds=119)
    assert read(w, request.resource_id) == ("ACTC", None)
    w.advance(seconds=1)
    ended = w.stet.requests.get(request.resource_id)
    assert ended is not None and (ended.state, ended.reason) == (
        RequestState.REJECTED,
        Why.NO_ANSWER,
    )


def test_an_unanswered_request_ends_noas_when_read_even_without_a_tick() -> None:
    w = world(profile={"approval_expiry_s": 60})
    request = made(w)
    w.clock.advance(60)
    assert read(w, request.resource_id) == ("RJCT", Why.NO_ANSWER)


# -- execution -----------------------------------------------------------------------------


def test_a_creditor_at_another_simulated_bank_is_paid_through_the_settlement_port() -> None:
    w = world()
    request = made(w, debtor=CLAIRE, creditor=LOUIS)
    w.stet.decide(request.resource_id, True, None, None)
    assert read(w, request.resource_id) == ("ACSP", None)
    [sent] = w.settlement.requests
    assert (sent.to_bank, sent.creditor, sent.amount) == (
        "dfspb",
        "ACCOUNT_ID dfspb.louis.courant",
        Decimal("124.35"),
    )
    w.settle(SettlementOutcome.SETTLED)
    assert read(w, request.resource_id) == ("ACSC", None)
    assert w.available(CLAIRE) == Decimal("2875.65")


def test_a_settlement_that_fails_rejects_the_instruction_and_gives_the_money_back() -> None:
    w = world()
    request = made(w, debtor=CLAIRE, creditor=LOUIS)
    w.stet.decide(request.resource_id, True, None, None)
    w.settle(SettlementOutcome.FAILED, "the creditor's bank said no")
    assert read(w, request.resource_id) == ("RJCT", Why.UNSPECIFIED)
    assert w.available(CLAIRE) == 3000


@pytest.mark.parametrize("delay", [None, 60], ids=["at once", "after a rule's delay"])
def test_an_instruction_the_settlement_port_refuses_is_rejected_with_the_money_untouched(
    delay: int | None,
) -> None:
    """A port refusing at once (``SwitchSettlement.submit``) ends the instruction RJCT
    with its hold released, whether it executes on approval or later, by ``tick``."""
    rules = [] if delay is None else [Rule("slow", Match.of({"dialect": "stet"}),
                                           Outcome(delay_s=delay))]  # fmt: skip
    w = world(rules=rules)
    w.stet.orders.settlement = RefusingSettlement()
    opening = totals(w.bank)
    request = made(w, debtor=CLAIRE, creditor=LOUIS)
    w.stet.decide(request.resource_id, True, None, None)
    if delay is not None:
        w.advance(seconds=delay)
    assert read(w, request.resource_id) == ("RJCT", Why.UNSPECIFIED)
    assert w.balances()["claire"] == "3000.00" and w.balances()["louis"] == "0.00"
    assert ledger_problems(w.bank, opening, {}) == [] and quiet_problems(w.bank) == []


def test_without_a_settlement_port_a_creditor_at_another_bank_only_sees_the_money_leave() -> None:
    w = world(settlement=False)
    request = made(w, debtor=CLAIRE, creditor=LOUIS)
    w.stet.decide(request.resource_id, True, None, None)
    assert read(w, request.resource_id) == ("ACSC", None)
    assert w.balances()["claire"] == "2875.65" and w.balances()["louis"] == "0.00"


@pytest.mark.parametrize(("status", "word"), [(Status.PENDING, "PDNG"), (Status.ACCEPTED, "ACCP")])
def test_a_rule_that_holds_the_payment_never_executes_it(status: Status, word: str) -> None:
    hold = Rule("hold", Match.of({"dialect": "stet", "amount": "77.00"}), Outcome(status=status))
    w = world(rules=[hold])
    request = made(w, amount="77.00", debtor=CLAIRE, creditor=LUCA)
    w.stet.decide(request.resource_id, True, None, None)
    w.advance(days=30)
    assert read(w, request.resource_id) == (word, None)
    assert w.available(CLAIRE) == 3000


def test_a_rules_delay_executes_the_payment_later() -> None:
    delay = Rule("slow", Match.of({"dialect": "stet"}), Outcome(delay_s=60))
    w = world(rules=[delay])
    request = made(w, debtor=CLAIRE, creditor=LUCA)
    w.stet.decide(request.resource_id, True, None, None)
    assert read(w, request.resource_id) == ("ACCP", None)
    w.advance(seconds=60)
    assert state(w, request.resource_id) is RequestState.ORDERED
    assert read(w, request.resource_id) == ("ACSC", None)


# -- cancellation --------------------------------------------------------------------------


def test_cancelling_an_approved_future_payment_cancels_its_intent_and_nothing_executes() -> None:
    w = world()
    request = made(w, debtor=CLAIRE, creditor=LUCA, when=TOMORROW)
    w.stet.decide(request.resource_id, True, None, None)
    assert read(w, request.resource_id) == ("ACCP", None)
    w.stet.cancel(request.resource_id, "tpp-one", None)
    intent = w.bank.payments.get(request.intent_id(0))
    assert intent.state is PaymentState.CANCELLED
    w.advance(days=2)
    assert read(w, request.resource_id) == ("RJCT", Why.CANCELLED)
    assert (w.balances()["claire"], w.balances()["luca"]) == ("3000.00", "100.00")


@pytest.mark.parametrize("approved", [False, True], ids=["before-approval", "ordered"])
def test_cancelling_what_is_cancelled_already_is_refused(approved: bool) -> None:
    w = world(profile={"confirmation_required": False})
    two = [transaction("10.00", creditor=LUCA), transaction("20.00", creditor=LUCA, number=1)]
    request = made(w, debtor=CLAIRE, transactions=two, when=TOMORROW)
    if approved:
        w.stet.decide(request.resource_id, True, None, None)
    w.stet.cancel(request.resource_id, "tpp-one", frozenset({1}))
    with pytest.raises(StatusInvalid, match=r"\[1\] .* RJCT already: there is nothing to cancel"):
        w.stet.cancel(request.resource_id, "tpp-one", frozenset({1}))
    w.stet.cancel(request.resource_id, "tpp-one", None)  # the other one still may be
    with pytest.raises(StatusInvalid, match="nothing to cancel"):
        w.stet.cancel(request.resource_id, "tpp-one", None)


def test_another_pisp_cannot_cancel_the_request() -> None:
    w = world()
    request = made(w)
    with pytest.raises(NotFound, match="has no payment request") as refused:
        w.stet.cancel(request.resource_id, "tpp-two", None)
    assert refused.value.status == 404
    assert read(w, request.resource_id) == ("ACTC", None)


def test_an_instruction_cancelled_while_awaiting_confirmation_ends_its_intent() -> None:
    w = world(profile={"confirmation_required": True})
    two = [transaction("10.00", creditor=LUCA), transaction("20.00", creditor=LUCA, number=1)]
    request = made(w, debtor=CLAIRE, transactions=two)
    w.stet.decide(request.resource_id, True, None, None)
    w.stet.cancel(request.resource_id, "tpp-one", frozenset({1}))
    w.stet.confirm(request.resource_id, "tpp-one", None)
    assert read(w, request.resource_id) == ("PART", None)
    assert w.bank.payments.get(request.intent_id(1)).finalised


def test_a_decoupled_request_is_confirmed_by_confirmation_even_in_the_o_confirmation_variant() -> (
    None
):
    w = world(
        profile={
            "approaches": ["DECOUPLED"],
            "confirmation_required": True,
            "o_confirmation": True,
        }
    )
    request = made(w, debtor=CLAIRE, creditor=LUCA, approaches=("DECOUPLED",))
    w.stet.decide(request.resource_id, True, None, None)
    assert read(w, request.resource_id) == ("ACCP", None)
    w.stet.confirm(request.resource_id, "tpp-one", None)
    assert read(w, request.resource_id) == ("ACSC", None)
