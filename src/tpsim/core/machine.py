"""Applying an event to a state machine written as a transition table.

Every resource (a payment, a consent request, a consent…) keeps its own table of
``(state, event) -> state`` and its set of terminal states; this is the one place where
a terminal state is final and an unexpected event is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from tpsim.core.errors import StateRefused

State = TypeVar("State", bound=StrEnum)
Event = TypeVar("Event", bound=StrEnum)


def next_state(
    table: Mapping[tuple[State, Event], State],
    terminal: frozenset[State],
    state: State,
    event: Event,
    *,
    what: str,
    ended: Exception | None = None,
) -> State:
    """The state ``event`` leads to from ``state``, or the refusal.

    A terminal state refuses everything: with a copy of ``ended`` (the error that ended
    the resource, so late messages learn why) or with a final ``StateRefused``; an event
    the table does not list from ``state`` is a ``StateRefused`` too.
    """
    if state in terminal:
        if ended is not None:
            # A copy: raising the stored error itself would chain every earlier traceback.
            raise copy.copy(ended)
        raise StateRefused(what, state.value, event.value, final=True)
    target = table.get((state, event))
    if target is None:
        raise StateRefused(what, state.value, event.value, final=False)
    return target
