"""The payer DFSP's transaction in Mojaloop's words, on the core payment intent.

Every (state, event) pair either moves as the Mojaloop table below says or is refused with
the words PISPs and scenarios see ("… is AUTHORIZING; a 'quoted' message is not expected
now", "… is already COMPLETED"); what GET reports follows from the state.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.scheme import transaction_request
from tpsim.core.bank import Account, Bank
from tpsim.core.errors import StateRefused
from tpsim.core.payment import PaymentIntent, PaymentState
from tpsim.mojaloop.roles.transaction_state import (
    REQUEST_STATE,
    Step,
    Transaction,
    TxEvent,
    TxState,
    advance,
    state_of,
    tx_state,
)
from tpsim.mojaloop.wire.models import ThirdpartyRequestsTransactionsPostRequest
from tpsim.mojaloop.wire.models.transfer import TransactionRequestState

S, E = TxState, TxEvent
REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
ALICE = "dfspa.alice.chequing"

# The Mojaloop transaction's table: (state, event) → state.
TABLE = {
    (S.QUOTING, E.QUOTED): S.AUTHORIZING,
    (S.QUOTING, E.FAILED): S.FAILED,
    (S.AUTHORIZING, E.ACCEPTED): S.VERIFYING,
    (S.AUTHORIZING, E.REJECTED): S.REJECTED,
    (S.AUTHORIZING, E.EXPIRED): S.FAILED,
    (S.AUTHORIZING, E.FAILED): S.FAILED,
    (S.VERIFYING, E.VERIFIED): S.TRANSFERRING,
    (S.VERIFYING, E.EXPIRED): S.FAILED,  # the payer DFSP only times out AUTHORIZING
    (S.VERIFYING, E.FAILED): S.FAILED,
    (S.TRANSFERRING, E.COMMITTED): S.COMPLETED,
    # Once the transfer is sent only its outcome ends it: 'failed' (an error about anything
    # else) would give the debit back while the payee may have credited it.
    (S.TRANSFERRING, E.ABORTED): S.FAILED,
}
TERMINAL = {S.COMPLETED, S.REJECTED, S.FAILED}
# The events that lead from QUOTING to each state (TRANSFERRING: the debit reserved).
PATHS = {
    S.QUOTING: [],
    S.AUTHORIZING: [E.QUOTED],
    S.VERIFYING: [E.QUOTED, E.ACCEPTED],
    S.TRANSFERRING: [E.QUOTED, E.ACCEPTED, E.VERIFIED, E.RESERVED],
    S.COMPLETED: [E.QUOTED, E.ACCEPTED, E.VERIFIED, E.RESERVED, E.COMMITTED],
    S.REJECTED: [E.QUOTED, E.REJECTED],
    S.FAILED: [E.FAILED],
}


def transaction(state: TxState) -> tuple[Bank, Transaction]:
    """A transaction of 30 USD from Alice's account, taken to ``state``."""
    books = Bank()
    books.open_account(Account(ALICE, "dfspa", "alice", "USD"), Decimal(100))
    body = transaction_request(REQUEST_ID, amount="30")
    model = ThirdpartyRequestsTransactionsPostRequest.model_validate(body)
    tx = Transaction(REQUEST_ID, "pispa", body, model, "t1")
    books.payments.receive(PaymentIntent("t1", ALICE, "MSISDN 16135551212", Decimal(30), "USD"))
    for event in PATHS[state]:
        advance(books.payments, tx, event, Step())
    assert state_of(books.payments, tx) is state
    return books, tx


@pytest.mark.parametrize(("state", "event"), [(s, e) for s in S for e in E])
def test_every_state_and_event(state: TxState, event: TxEvent) -> None:
    books, tx = transaction(state)
    after = TABLE.get((state, event))
    if after is not None:
        advance(books.payments, tx, event, Step())
        assert state_of(books.payments, tx) is after
        return
    if state in TERMINAL:
        text = f"transaction request {REQUEST_ID} is already {state.value}$"
    else:
        text = f"is {state.value}; a '{event.value}' message is not expected now"
    with pytest.raises(StateRefused, match=text) as refused:
        advance(books.payments, tx, event, Step())
    assert refused.value.final is (state in TERMINAL)
    assert state_of(books.payments, tx) is state


def test_the_debit_is_reserved_committed_or_released_with_the_state() -> None:
    books, tx = transaction(S.VERIFYING)
    advance(books.payments, tx, E.VERIFIED, Step())
    advance(books.payments, tx, E.RESERVED, Step(debit=Decimal(31)))
    assert books.ledger.available(ALICE) == Decimal(69)
    advance(books.payments, tx, E.ABORTED, Step())
    assert books.ledger.available(ALICE) == Decimal(100)
    assert [p.kind.value for p in books.ledger.postings(ALICE)] == ["OPEN", "RESERVE", "RELEASE"]


@pytest.mark.parametrize(
    ("intent_state", "named"),
    [
        (PaymentState.RECEIVED, S.QUOTING),
        (PaymentState.AUTHORISED, S.TRANSFERRING),
        (PaymentState.EXECUTING, S.TRANSFERRING),
        (PaymentState.SETTLED, S.COMPLETED),
        (PaymentState.REJECTED, S.REJECTED),
        (PaymentState.FAILED, S.FAILED),
        (PaymentState.EXPIRED, S.FAILED),
        (PaymentState.CANCELLED, S.FAILED),
    ],
)
def test_mojaloop_names_of_the_intent_states(intent_state: PaymentState, named: TxState) -> None:
    intent = PaymentIntent("t1", ALICE, "bob", Decimal(1), "USD", intent_state)
    assert tx_state(intent) is named


def test_an_expired_authorization_reads_as_failed() -> None:
    books, tx = transaction(S.AUTHORIZING)
    advance(books.payments, tx, E.EXPIRED, Step())
    assert books.payments.get("t1").state is PaymentState.EXPIRED
    assert REQUEST_STATE[state_of(books.payments, tx)] is TransactionRequestState.REJECTED


def test_what_get_reports() -> None:
    assert {s: REQUEST_STATE[s].value for s in S} == {
        S.QUOTING: "RECEIVED",
        S.AUTHORIZING: "PENDING",
        S.VERIFYING: "PENDING",
        S.TRANSFERRING: "ACCEPTED",
        S.COMPLETED: "ACCEPTED",
        S.REJECTED: "REJECTED",
        S.FAILED: "REJECTED",
    }
