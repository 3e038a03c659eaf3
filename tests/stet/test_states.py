"""``stet.states``: the payment request's transition table (every move it allows and every
one it refuses), the words its states read as, an ordered request's status from its
instructions' (``ordered_status``), and ``statusReasonInformation`` only beside RJCT."""

from __future__ import annotations

import itertools

import pytest

from tpsim.core.errors import StateRefused
from tpsim.core.rules import Reason
from tpsim.core.states import PaymentState, next_state
from tpsim.stet.models import PAYMENT_STATUSES, REASON_CODES, TRANSACTION_STATUSES, sent_problems
from tpsim.stet.states import (
    REQUEST_STATUS,
    REQUEST_TERMINAL,
    REQUEST_TRANSITIONS,
    TRANSACTION_STATUS,
    WHY_OF,
    RequestEvent,
    RequestState,
    Why,
    ordered_status,
)

from .support import CLAIRE, LUCA, payment_request, world

S, E = RequestState, RequestEvent
ALLOWED = [
    (S.AWAITING, E.APPROVE, S.APPROVED),
    (S.APPROVED, E.ORDER, S.ORDERED),
    (S.AWAITING, E.REJECT, S.REJECTED),
    (S.APPROVED, E.REJECT, S.REJECTED),
]
REFUSED = [
    (state, event)
    for state, event in itertools.product(RequestState, RequestEvent)
    if (state, event) not in REQUEST_TRANSITIONS
]


def move(state: RequestState, event: RequestEvent) -> RequestState:
    return next_state(REQUEST_TRANSITIONS, REQUEST_TERMINAL, state, event, what="request")


@pytest.mark.parametrize(("state", "event", "target"), ALLOWED)
def test_a_payment_request_moves_as_the_digest_draws_it(
    state: RequestState, event: RequestEvent, target: RequestState
) -> None:
    assert move(state, event) is target


def test_the_table_holds_exactly_those_moves() -> None:
    assert {(s, e): t for s, e, t in ALLOWED} == REQUEST_TRANSITIONS
    assert frozenset({S.ORDERED, S.REJECTED}) == REQUEST_TERMINAL


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_every_other_move_is_refused_and_an_ended_request_stays_ended(
    state: RequestState, event: RequestEvent
) -> None:
    with pytest.raises(StateRefused) as refused:
        move(state, event)
    assert refused.value.final is (state in REQUEST_TERMINAL)


def test_the_refusals_cover_the_holes_that_matter() -> None:
    # Ordered before the PSU approved, approved twice, anything after the end.
    assert (S.AWAITING, E.ORDER) in REFUSED and (S.APPROVED, E.APPROVE) in REFUSED
    assert all((S.ORDERED, e) in REFUSED and (S.REJECTED, e) in REFUSED for e in RequestEvent)


def test_each_state_before_the_order_reads_as_one_status_word() -> None:
    assert REQUEST_STATUS == {S.AWAITING: "ACTC", S.APPROVED: "ACCP", S.REJECTED: "RJCT"}
    assert S.ORDERED not in REQUEST_STATUS  # read from its instructions


@pytest.mark.parametrize(
    ("transactions", "started", "held", "expected"),
    [
        (["PDNG"], False, False, "ACCP"),  # ordered, a future requestedExecutionDate
        (["PDNG", "PDNG"], False, True, "PDNG"),  # a rule holds it
        (["ACSP"], True, False, "ACSP"),  # the money is moving
        (["ACSC", "PDNG"], True, False, "ACSP"),
        (["ACSC", "PDNG"], True, True, "PDNG"),
        (["ACSC"], True, False, "ACSC"),
        (["ACSC", "ACSC"], True, True, "ACSC"),  # ended: a hold no longer shows
        (["RJCT"], True, False, "RJCT"),
        (["RJCT", "RJCT"], False, False, "RJCT"),  # all cancelled before they started
        (["ACSC", "RJCT"], True, False, "PART"),
        (["RJCT", "ACSC", "ACSC"], True, False, "PART"),
        (["RJCT", "PDNG"], False, False, "ACCP"),  # one cancelled, one still to come
        (["RJCT", "ACSP"], True, False, "ACSP"),
    ],
)
def test_an_ordered_request_reads_its_status_from_its_instructions(
    transactions: list[str], started: bool, held: bool, expected: str
) -> None:
    assert ordered_status(transactions, started=started, held=held) == expected


def test_every_core_payment_state_reads_as_a_transaction_status_stet_defines() -> None:
    assert set(TRANSACTION_STATUS) == set(PaymentState)
    assert set(TRANSACTION_STATUS.values()) <= set(TRANSACTION_STATUSES)
    assert set(REQUEST_STATUS.values()) <= set(PAYMENT_STATUSES)
    ended = {PaymentState.REJECTED, PaymentState.FAILED, PaymentState.EXPIRED}
    assert {TRANSACTION_STATUS[s] for s in ended | {PaymentState.CANCELLED}} == {"RJCT"}
    assert TRANSACTION_STATUS[PaymentState.SETTLED] == "ACSC"  # STET has no ACCC


def test_every_reason_is_a_stet_reason_code_and_every_neutral_reason_has_one() -> None:
    assert {w.value for w in Why} <= set(REASON_CODES)
    assert set(WHY_OF) == set(Reason)
    assert WHY_OF[Reason.INSUFFICIENT_FUNDS] is Why.CUSTOMER
    assert (Why.CANCELLED.value, Why.NO_ANSWER.value) == ("DS02", "NOAS")  # STET has no CANC


@pytest.mark.parametrize("status", sorted(set(PAYMENT_STATUSES) - {"RJCT"}))
def test_a_reason_beside_any_status_but_rjct_is_refused_in_what_tpsim_sends(status: str) -> None:
    w = world()
    found = w.get(w.create())
    assert found.body is not None
    body = dict(found.body)
    body["paymentRequest"] = {
        **found.body["paymentRequest"],
        "paymentInformationStatus": status,
        "statusReasonInformation": "CUST",
    }
    assert any("statusReasonInformation" in p for p in sent_problems("payment_request", body))


def test_the_bank_sends_a_reason_only_with_rjct() -> None:
    w = world()
    ordered = w.create(debtor=CLAIRE, creditor=LUCA)
    w.approved(ordered)
    denied = w.create()
    w.page(denied).deny()
    waiting = w.create()
    for request_id, expected in ((ordered, "ACSC"), (denied, "RJCT"), (waiting, "ACTC")):
        status, reason, transactions = w.status(request_id)
        assert status == expected
        assert (reason is not None) is (status == "RJCT")
        assert transactions == ([None] if status == "ACTC" else [status])


def test_the_example_body_is_created_as_a_redirect_request() -> None:
    w = world()
    assert w.status(w.create(payment_request())) == ("ACTC", None, [None])
