"""``core.payment``: one transition table, its SCA sub-state, and the money each step moves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tpsim.core.bank import Account, Bank
from tpsim.core.errors import InsufficientFunds, StateRefused, UnknownPayment
from tpsim.core.ledger import PostingKind
from tpsim.core.payment import PaymentEvent, PaymentIntent, PaymentState
from tpsim.core.sca import Authentication, ScaEvent, ScaMethod, ScaState
from tpsim.core.settlement import SettlementOutcome, SettlementResult
from tpsim.core.states import PAYMENT_TERMINAL as TERMINAL
from tpsim.core.states import PAYMENT_TRANSITIONS as TRANSITIONS

S, E = PaymentState, PaymentEvent
ALICE = "dfspa.alice"
LIVE = [s for s in S if s not in TERMINAL]

# (state, event) → state: the whole table, spelled out.
MOVES = [
    (S.RECEIVED, E.START_SCA, S.AUTHORISING),
    (S.AUTHORISING, E.SCA_STEP, S.AUTHORISING),
    (S.AUTHORISING, E.SCA_PROVED, S.AUTHORISED),
    (S.AUTHORISED, E.EXECUTE, S.EXECUTING),
    (S.EXECUTING, E.SETTLE, S.SETTLED),
    *[(s, E.REJECT, S.REJECTED) for s in (S.RECEIVED, S.AUTHORISING, S.AUTHORISED)],
    *[(s, E.EXPIRE, S.EXPIRED) for s in (S.RECEIVED, S.AUTHORISING, S.AUTHORISED)],
    *[(s, E.CANCEL, S.CANCELLED) for s in (S.RECEIVED, S.AUTHORISING, S.AUTHORISED)],
    *[(s, E.FAIL, S.FAILED) for s in LIVE],
]


def intent(state: PaymentState = S.RECEIVED, **fields: object) -> PaymentIntent:
    return PaymentIntent("p1", ALICE, "bob", Decimal(30), "USD", state, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "event", "after"), MOVES)
def test_moves(state: PaymentState, event: PaymentEvent, after: PaymentState) -> None:
    assert intent(state).moved(event).state is after


def test_the_table_is_exactly_the_moves_above() -> None:
    assert TRANSITIONS == {(s, e): after for s, e, after in MOVES}


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in LIVE for e in E if (s, e) not in TRANSITIONS],
)
def test_unexpected_events_are_refused(state: PaymentState, event: PaymentEvent) -> None:
    with pytest.raises(StateRefused, match=f"payment p1 is {state.value}; a '{event.value}'"):
        intent(state).moved(event)


@pytest.mark.parametrize("state", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(E))
def test_terminal_states_are_final(state: PaymentState, event: PaymentEvent) -> None:
    with pytest.raises(StateRefused, match=f"payment p1 is already {state.value}"):
        intent(state).moved(event)


@pytest.mark.parametrize("state", list(S))
def test_finalised_is_derived_from_the_state(state: PaymentState) -> None:
    assert intent(state).finalised is (state in TERMINAL)


# -- the authentication sub-state moves the intent ----------------------------------------

# (SCA events from a fresh challenge, intent state afterwards, SCA state afterwards)
SCA_PATHS = [
    ([], S.AUTHORISING, ScaState.CHALLENGED),
    ([ScaEvent.SUBMIT], S.AUTHORISING, ScaState.VERIFYING),
    ([ScaEvent.SUBMIT, ScaEvent.PROVE], S.AUTHORISED, ScaState.PROVED),
    ([ScaEvent.SUBMIT, ScaEvent.DISPROVE], S.REJECTED, ScaState.REFUSED),
    ([ScaEvent.DECLINE], S.REJECTED, ScaState.REFUSED),
    ([ScaEvent.EXPIRE], S.EXPIRED, ScaState.EXPIRED),
    ([ScaEvent.SUBMIT, ScaEvent.EXPIRE], S.EXPIRED, ScaState.EXPIRED),
]


@pytest.mark.parametrize(("events", "state", "sca"), SCA_PATHS)
def test_the_authentication_outcome_moves_the_intent(
    events: list[ScaEvent], state: PaymentState, sca: ScaState
) -> None:
    books = bank()
    for event in events:
        books.payments.authenticate("p1", event, method=ScaMethod.FIDO)
    after = books.payments.get("p1")
    assert (after.state, after.sca and after.sca.state) == (state, sca)


@pytest.mark.parametrize("state", [s for s in S if s is not S.AUTHORISING])
def test_only_an_authorising_intent_takes_sca_events(state: PaymentState) -> None:
    final = state in TERMINAL
    text = f"already {state.value}" if final else f"is {state.value}; a 'submit'"
    with pytest.raises(StateRefused, match=text) as info:
        intent(state, sca=Authentication()).authenticated(ScaEvent.SUBMIT)
    assert info.value.final is final


def test_a_refused_sca_event_leaves_the_intent_as_it_was() -> None:
    books = bank()
    with pytest.raises(StateRefused, match="authentication of payment p1 is CHALLENGED"):
        books.payments.authenticate("p1", ScaEvent.PROVE)
    assert books.payments.get("p1").state is S.AUTHORISING


# -- money ------------------------------------------------------------------------------


def bank(balance: str = "100") -> Bank:
    """A bank with Alice's account and payment p1 of 30 USD, challenged."""
    books = Bank()
    books.open_account(Account(ALICE, "dfspa", "alice", "USD"), Decimal(balance))
    books.payments.receive(intent())
    books.payments.start_sca("p1", Authentication(max_attempts=1))
    return books


def authorised(balance: str = "100") -> Bank:
    books = bank(balance)
    books.payments.authenticate("p1", ScaEvent.SUBMIT)
    books.payments.authenticate("p1", ScaEvent.PROVE)
    return books


def kinds(books: Bank) -> list[PostingKind]:
    return [p.kind for p in books.ledger.postings(ALICE)][1:]


def test_execute_reserves_the_debit_and_settle_commits_it() -> None:
    books = authorised()
    executing = books.payments.execute("p1", debit=Decimal(31))
    assert executing.state is S.EXECUTING
    assert books.ledger.available(ALICE) == Decimal(69)
    settled = books.payments.settle("p1")
    assert (settled.state, settled.finalised) == (S.SETTLED, True)
    assert (books.ledger.balance(ALICE), books.ledger.reserved(ALICE)) == (Decimal(69), 0)
    assert kinds(books) == [PostingKind.RESERVE, PostingKind.COMMIT]


def test_failing_while_executing_gives_the_funds_back() -> None:
    books = authorised()
    books.payments.execute("p1")
    assert books.payments.end("p1", E.FAIL).state is S.FAILED
    assert books.ledger.available(ALICE) == Decimal(100)
    assert kinds(books) == [PostingKind.RESERVE, PostingKind.RELEASE]


@pytest.mark.parametrize("event", [E.REJECT, E.FAIL, E.EXPIRE, E.CANCEL])
def test_ending_before_execution_moves_no_money(event: PaymentEvent) -> None:
    books = authorised()
    assert books.payments.end("p1", event).finalised
    assert kinds(books) == []


def test_end_takes_only_endings() -> None:
    with pytest.raises(TypeError):
        authorised().payments.end("p1", E.SETTLE)


def test_a_zero_debit_reserves_nothing() -> None:
    books = authorised()
    assert books.payments.execute("p1", debit=Decimal(0)).reservation is None
    assert books.payments.settle("p1").state is S.SETTLED
    assert kinds(books) == []


def test_insufficient_funds_leave_the_intent_authorised() -> None:
    books = authorised(balance="29.99")
    with pytest.raises(InsufficientFunds):
        books.payments.execute("p1")
    assert books.payments.get("p1").state is S.AUTHORISED
    assert kinds(books) == []


def test_a_refused_transition_reserves_nothing() -> None:
    books = bank()  # still AUTHORISING
    with pytest.raises(StateRefused, match="is AUTHORISING; a 'execute'"):
        books.payments.execute("p1")
    assert kinds(books) == []


def test_settling_twice_commits_once() -> None:
    books = authorised()
    books.payments.execute("p1")
    books.payments.settle("p1")
    with pytest.raises(StateRefused, match="already SETTLED"):
        books.payments.settle("p1")
    assert kinds(books) == [PostingKind.RESERVE, PostingKind.COMMIT]


@pytest.mark.parametrize(
    ("outcome", "state", "posted"),
    [
        (SettlementOutcome.SETTLED, S.SETTLED, PostingKind.COMMIT),
        (SettlementOutcome.FAILED, S.FAILED, PostingKind.RELEASE),
    ],
)
def test_a_settlement_result_concludes_the_payment(
    outcome: SettlementOutcome, state: PaymentState, posted: PostingKind
) -> None:
    books = authorised()
    books.payments.execute("p1")
    assert books.payments.conclude(SettlementResult("p1", outcome)).state is state
    assert kinds(books) == [PostingKind.RESERVE, posted]


def test_an_unknown_payment_is_refused() -> None:
    with pytest.raises(UnknownPayment, match="no payment intent p2"):
        bank().payments.get("p2")
