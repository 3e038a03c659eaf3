"""Applying an event to a state machine written as a transition table.

Every conversation (a transaction, a consent request, a consent) keeps its own table of
``(state, event) -> state`` and its set of terminal states; this is the one place where
a terminal state is final and an unexpected message is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from tpsim.errors import FspiopError, TransactionStateError

State = TypeVar("State", bound=StrEnum)
Event = TypeVar("Event", bound=StrEnum)


def next_state(
    table: Mapping[tuple[State, Event], State],
    terminal: frozenset[State],
    state: State,
    event: Event,
    *,
    what: str,
    ended: FspiopError | None = None,
) -> State:
    """The state ``event`` leads to from ``state``, or the coded error refusing it.

    A terminal state refuses everything: with ``ended`` (a copy of the error that ended
    the conversation, so late messages learn why) or with 3000 naming the state.
    """
    if state in terminal:
        if ended is not None:
            raise ended
        raise TransactionStateError(f"{what} is already {state.value}")
    target = table.get((state, event))
    if target is None:
        raise TransactionStateError(
            f"{what} is {state.value}; a '{event.value}' message is not expected now"
        )
    return target
