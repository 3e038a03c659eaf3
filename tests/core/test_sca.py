"""``core.sca``: the strong-authentication sub-state, its one table and attempt counting."""

from __future__ import annotations

import pytest

from tpsim.core.errors import StateRefused
from tpsim.core.sca import Authentication, ScaEvent, ScaMethod, ScaState
from tpsim.core.states import SCA_TERMINAL as TERMINAL
from tpsim.core.states import SCA_TRANSITIONS as TRANSITIONS

S, E = ScaState, ScaEvent
WHAT = "authentication of payment p1"

# (state, event) → state: the whole table, spelled out.
MOVES = [
    (S.CHALLENGED, E.SUBMIT, S.VERIFYING),
    (S.CHALLENGED, E.DECLINE, S.REFUSED),
    (S.CHALLENGED, E.EXPIRE, S.EXPIRED),
    (S.VERIFYING, E.PROVE, S.PROVED),
    (S.VERIFYING, E.REFUSE, S.REFUSED),
    (S.VERIFYING, E.EXPIRE, S.EXPIRED),
]


@pytest.mark.parametrize(("state", "event", "after"), MOVES)
def test_moves(state: ScaState, event: ScaEvent, after: ScaState) -> None:
    assert Authentication(state).moved(event, what=WHAT).state is after


def test_the_table_is_the_moves_above_plus_disprove() -> None:
    listed = {(s, e) for s, e, _ in MOVES} | {(S.VERIFYING, E.DISPROVE)}
    assert set(TRANSITIONS) == listed


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in S for e in E if s not in TERMINAL and (s, e) not in TRANSITIONS],
)
def test_unexpected_events_are_refused(state: ScaState, event: ScaEvent) -> None:
    with pytest.raises(StateRefused, match="is not expected now"):
        Authentication(state).moved(event, what=WHAT)


@pytest.mark.parametrize("state", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(E))
def test_terminal_states_are_final(state: ScaState, event: ScaEvent) -> None:
    with pytest.raises(StateRefused, match=f"{WHAT} is already {state.value}"):
        Authentication(state).moved(event, what=WHAT)


def test_submitting_counts_an_attempt_and_records_the_method() -> None:
    sca = Authentication(max_attempts=2).moved(E.SUBMIT, what=WHAT, method=ScaMethod.OTP)
    assert (sca.state, sca.attempts, sca.method, sca.attempts_left) == (
        S.VERIFYING,
        1,
        ScaMethod.OTP,
        1,
    )


@pytest.mark.parametrize(
    ("max_attempts", "after"),
    [
        (1, [S.REFUSED]),
        (2, [S.CHALLENGED, S.REFUSED]),
        (3, [S.CHALLENGED, S.CHALLENGED, S.REFUSED]),
    ],
)
def test_a_wrong_proof_may_be_retried_until_the_attempts_run_out(
    max_attempts: int, after: list[ScaState]
) -> None:
    sca = Authentication(max_attempts=max_attempts)
    seen = []
    while not seen or seen[-1] is S.CHALLENGED:
        sca = sca.moved(E.SUBMIT, what=WHAT).moved(E.DISPROVE, what=WHAT)
        seen.append(sca.state)
    assert seen == after
    assert sca.attempts == max_attempts


def test_a_proof_on_the_last_attempt_still_proves() -> None:
    sca = Authentication(max_attempts=2)
    sca = sca.moved(E.SUBMIT, what=WHAT).moved(E.DISPROVE, what=WHAT)
    sca = sca.moved(E.SUBMIT, what=WHAT).moved(E.PROVE, what=WHAT)
    assert (sca.state, sca.attempts) == (S.PROVED, 2)
