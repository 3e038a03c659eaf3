"""``core.states.next_state``: the one place a table is applied and terminal states are final."""

from __future__ import annotations

from enum import StrEnum

import pytest

from tpsim.core.errors import StateRefused
from tpsim.core.states import next_state


class S(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"


class E(StrEnum):
    FINISH = "finish"
    POKE = "poke"


TABLE = {(S.OPEN, E.FINISH): S.DONE}
TERMINAL = frozenset({S.DONE})


def test_a_listed_event_moves() -> None:
    assert next_state(TABLE, TERMINAL, S.OPEN, E.FINISH, what="thing 1") is S.DONE


def test_an_unlisted_event_is_refused_naming_state_and_event() -> None:
    with pytest.raises(StateRefused, match="thing 1 is OPEN; a 'poke' message") as info:
        next_state(TABLE, TERMINAL, S.OPEN, E.POKE, what="thing 1")
    assert (info.value.state, info.value.event, info.value.final) == ("OPEN", "poke", False)


@pytest.mark.parametrize("event", list(E))
def test_a_terminal_state_refuses_everything(event: E) -> None:
    with pytest.raises(StateRefused, match="thing 1 is already DONE") as info:
        next_state(TABLE, TERMINAL, S.DONE, event, what="thing 1")
    assert info.value.final


def test_an_ended_resource_raises_a_copy_of_what_ended_it() -> None:
    ended = ValueError("revoked")
    with pytest.raises(ValueError, match="revoked") as info:
        next_state(TABLE, TERMINAL, S.DONE, E.POKE, what="thing 1", ended=ended)
    assert info.value is not ended
