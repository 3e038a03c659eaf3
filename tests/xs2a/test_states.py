"""``xs2a.states``: the authorisation's ``scaStatus`` machine, spelled out as the spec's
flows walk it (digest §2.3–2.4), and how the core intent's state reads as a
``transactionStatus``."""

from __future__ import annotations

import pytest

from tpsim.core.errors import StateRefused
from tpsim.core.states import PaymentState, next_state
from tpsim.xs2a.states import (
    SCA_TERMINAL,
    SCA_TRANSITIONS,
    TRANSACTION_STATUS,
    ScaEvent,
    ScaStatus,
    TransactionStatus,
)

S, E = ScaStatus, ScaEvent
OPEN = [S.RECEIVED, S.PSU_IDENTIFIED, S.PSU_AUTHENTICATED, S.SCA_METHOD_SELECTED, S.STARTED]

# (status, event) → status: the whole table.
MOVES = [
    # Embedded: identify, authenticate (password), select a method, then the OTP.
    (S.RECEIVED, E.IDENTIFY, S.PSU_IDENTIFIED),
    (S.PSU_IDENTIFIED, E.IDENTIFY, S.PSU_IDENTIFIED),
    (S.RECEIVED, E.AUTHENTICATE, S.PSU_AUTHENTICATED),
    (S.PSU_IDENTIFIED, E.AUTHENTICATE, S.PSU_AUTHENTICATED),
    (S.PSU_AUTHENTICATED, E.SELECT, S.SCA_METHOD_SELECTED),
    # Redirect link handed out, decoupled push sent.
    (S.RECEIVED, E.START, S.STARTED),
    (S.PSU_IDENTIFIED, E.START, S.STARTED),
    (S.PSU_AUTHENTICATED, E.START, S.STARTED),
    # The PSU's SCA succeeded: finalised, or unconfirmed when the bank wants confirmation.
    *[(s, E.AUTHORISE, S.FINALISED) for s in OPEN],
    *[(s, E.AWAIT_CONFIRMATION, S.UNCONFIRMED) for s in OPEN],
    (S.UNCONFIRMED, E.CONFIRM, S.FINALISED),
    # Anything not final may fail.
    *[(s, E.FAIL, S.FAILED) for s in (*OPEN, S.UNCONFIRMED)],
]
LIVE = [s for s in S if s not in SCA_TERMINAL]


def move(status: ScaStatus, event: ScaEvent) -> ScaStatus:
    return next_state(SCA_TRANSITIONS, SCA_TERMINAL, status, event, what="authorisation a1")


@pytest.mark.parametrize(("status", "event", "after"), MOVES)
def test_each_step_of_the_flows_moves_the_sca_status(
    status: ScaStatus, event: ScaEvent, after: ScaStatus
) -> None:
    assert move(status, event) is after


def test_the_table_is_exactly_the_steps_above() -> None:
    assert SCA_TRANSITIONS == {(s, e): after for s, e, after in MOVES}


def test_finalised_failed_and_exempted_are_the_final_sca_statuses() -> None:
    assert SCA_TERMINAL == {S.FINALISED, S.FAILED, S.EXEMPTED}


@pytest.mark.parametrize(
    ("status", "event"), [(s, e) for s in LIVE for e in E if (s, e) not in SCA_TRANSITIONS]
)
def test_a_step_out_of_order_is_refused(status: ScaStatus, event: ScaEvent) -> None:
    with pytest.raises(StateRefused, match=f"is {status.value}; a '{event.value}'") as refused:
        move(status, event)
    assert not refused.value.final


@pytest.mark.parametrize("status", sorted(SCA_TERMINAL))
@pytest.mark.parametrize("event", list(E))
def test_a_final_sca_status_refuses_every_event(status: ScaStatus, event: ScaEvent) -> None:
    with pytest.raises(
        StateRefused, match=f"authorisation a1 is already {status.value}"
    ) as refused:
        move(status, event)
    assert refused.value.final


def test_sca_statuses_are_spelled_as_the_spec() -> None:
    assert [s.value for s in S] == [
        "received",
        "psuIdentified",
        "psuAuthenticated",
        "scaMethodSelected",
        "started",
        "unconfirmed",
        "finalised",
        "failed",
        "exempted",
    ]


P, T = PaymentState, TransactionStatus

# The core intent's state → the transactionStatus a TPP reads (ACSC becomes ACCC where
# tpsim credited the creditor: tests/xs2a/test_bank.py).
READS = [
    (P.RECEIVED, T.RCVD),
    (P.AUTHORISING, T.RCVD),
    (P.AUTHORISED, T.ACTC),
    (P.EXECUTING, T.ACSP),
    (P.SETTLED, T.ACSC),
    (P.REJECTED, T.RJCT),
    (P.FAILED, T.RJCT),
    (P.EXPIRED, T.RJCT),
    (P.CANCELLED, T.CANC),
]


@pytest.mark.parametrize(("state", "status"), READS)
def test_the_intent_state_reads_as_a_transaction_status(
    state: PaymentState, status: TransactionStatus
) -> None:
    assert TRANSACTION_STATUS[state] is status


def test_every_intent_state_has_a_transaction_status() -> None:
    assert TRANSACTION_STATUS == dict(READS)


def test_transaction_statuses_are_iso_20022_codes() -> None:
    assert {t.value for t in T} <= {
        "RCVD", "PDNG", "ACTC", "ACCP", "ACFC", "ACWC", "ACWP", "ACSP",
        "PATC", "PART", "ACSC", "ACCC", "RJCT", "CANC",
    }  # fmt: skip
