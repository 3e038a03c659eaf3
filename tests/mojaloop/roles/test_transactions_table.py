"""The payer DFSP's transition table: what moves where, and that terminal states are final."""

from __future__ import annotations

import pytest

from tpsim.core.errors import StateRefused
from tpsim.mojaloop.roles.transaction_state import (
    TERMINAL,
    TRANSITIONS,
    Transaction,
    TxEvent,
    TxState,
)

HAPPY = [TxEvent.QUOTED, TxEvent.ACCEPTED, TxEvent.VERIFIED, TxEvent.COMMITTED]


def new() -> Transaction:
    return Transaction("b51ec534-ee48-4575-b6a9-ead2955b8069", "pispa", {}, "t")


def test_happy_path_reaches_completed() -> None:
    tx = new()
    for event in HAPPY:
        tx.advance(event)
    assert tx.state is TxState.COMPLETED


@pytest.mark.parametrize("state", [s for s in TxState if s not in TERMINAL])
def test_every_live_state_can_fail(state: TxState) -> None:
    assert TRANSITIONS[(state, TxEvent.FAILED)] is TxState.FAILED


@pytest.mark.parametrize("state", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(TxEvent))
def test_terminal_states_are_final(state: TxState, event: TxEvent) -> None:
    tx = new()
    tx.state = state
    with pytest.raises(StateRefused, match=f"already {state.value}"):
        tx.advance(event)


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in TxState for e in TxEvent if s not in TERMINAL and (s, e) not in TRANSITIONS],
)
def test_unexpected_events_are_refused(state: TxState, event: TxEvent) -> None:
    tx = new()
    tx.state = state
    with pytest.raises(StateRefused, match="is not expected now"):
        tx.advance(event)
    assert tx.state is state


def test_rejection_only_while_authorizing() -> None:
    sources = [s for (s, e) in TRANSITIONS if e is TxEvent.REJECTED]
    assert sources == [TxState.AUTHORIZING]
