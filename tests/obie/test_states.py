"""``obie.states``: the consent's transition table, its final states, and both versions'
words for every state."""

from __future__ import annotations

import pytest

from tpsim.core.errors import StateRefused
from tpsim.core.states import PaymentState, next_state
from tpsim.obie.states import (
    CONSENT_STATUS,
    CONSENT_TERMINAL,
    CONSENT_TRANSITIONS,
    ORDER_WORDS,
    PAYMENT_STATUS,
    STEP_WORDS,
    ConsentEvent,
    ConsentState,
    PaymentStatus,
)

C, E = ConsentState, ConsentEvent


@pytest.mark.parametrize(
    ("state", "event", "target"),
    [
        (C.AWAITING, E.AUTHORISE, C.AUTHORISED),
        (C.AUTHORISED, E.CONSUME, C.CONSUMED),
        (C.AWAITING, E.REJECT, C.REJECTED),
        (C.AUTHORISED, E.REJECT, C.REJECTED),
    ],
)
def test_a_consent_moves_as_the_digest_draws_it(
    state: ConsentState, event: ConsentEvent, target: ConsentState
) -> None:
    assert next_state(CONSENT_TRANSITIONS, CONSENT_TERMINAL, state, event, what="c") is target


@pytest.mark.parametrize(
    ("state", "event", "final"),
    [
        (C.AWAITING, E.CONSUME, False),  # not authorised: no payment
        (C.AUTHORISED, E.AUTHORISE, False),  # authorised once, never re-authenticated
        (C.CONSUMED, E.REJECT, True),
        (C.REJECTED, E.AUTHORISE, True),
    ],
)
def test_what_a_consent_refuses(state: ConsentState, event: ConsentEvent, final: bool) -> None:
    with pytest.raises(StateRefused) as refused:
        next_state(CONSENT_TRANSITIONS, CONSENT_TERMINAL, state, event, what="c")
    assert refused.value.final is final


def test_each_version_names_every_state() -> None:
    assert set(CONSENT_STATUS["3.1"].values()) == {
        "AwaitingAuthorisation", "Authorised", "Consumed", "Rejected"}  # fmt: skip
    assert set(CONSENT_STATUS["4.0"].values()) == {"AWAU", "AUTH", "COND", "RJCT"}
    for version in ("3.1", "4.0"):
        assert set(ORDER_WORDS[version]) == set(PaymentStatus)
        assert len(set(STEP_WORDS[version].values())) == len(STEP_WORDS[version])
    assert set(PAYMENT_STATUS) == set(PaymentState)
    assert "RCVD" not in STEP_WORDS["4.0"].values()  # v4.0 payment-details has no RCVD
