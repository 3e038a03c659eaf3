"""Every state machine of the simulated bank: one transition table per resource, applied
by ``next_state``, the one place a terminal state is final (h11's ``_state.py`` is the model).

A payment intent (``core.payment``):

    RECEIVED ─start-sca→ AUTHORISING ─sca-proved→ AUTHORISED ─execute→ EXECUTING ─settle→ SETTLED
                         (sca-step: the authentication moved, nothing decided yet)
    RECEIVED, AUTHORISING, AUTHORISED ─reject→ REJECTED  ─expire→ EXPIRED  ─cancel→ CANCELLED
    any state not ended ─fail→ FAILED

Its strong authentication while AUTHORISING (``core.sca``), whose outcome moves the intent
(``SCA_OUTCOME``: proved authorises it, refused rejects it, expired expires it):

    CHALLENGED ─submit→ VERIFYING ─prove→ PROVED
        │                  ├─disprove→ CHALLENGED   (attempts left: the user may try again)
        │                  └─refuse──→ REFUSED      (no attempts left, or refused outright)
        ├─decline→ REFUSED                          (the user says no)
        └─expire─→ EXPIRED      (also from VERIFYING)

A dialect's own resources (a Mojaloop consent request, a consent) keep their tables in
their dialect's ``states`` module and are applied by the same ``next_state``.
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


# -- strong customer authentication --------------------------------------------------


class ScaMethod(StrEnum):
    FIDO = "FIDO"
    GENERIC = "GENERIC"
    OTP = "OTP"
    REDIRECT = "REDIRECT"  # a password on the bank's own page, reached by redirect
    DECOUPLED = "DECOUPLED"  # approved in the bank's app, out of band


class ScaState(StrEnum):
    CHALLENGED = "CHALLENGED"
    VERIFYING = "VERIFYING"
    PROVED = "PROVED"
    REFUSED = "REFUSED"
    EXPIRED = "EXPIRED"


class ScaEvent(StrEnum):
    SUBMIT = "submit"
    PROVE = "prove"
    DISPROVE = "disprove"
    REFUSE = "refuse"
    DECLINE = "decline"
    EXPIRE = "expire"


SCA_TRANSITIONS: dict[tuple[ScaState, ScaEvent], ScaState] = {
    (ScaState.CHALLENGED, ScaEvent.SUBMIT): ScaState.VERIFYING,
    (ScaState.CHALLENGED, ScaEvent.DECLINE): ScaState.REFUSED,
    (ScaState.CHALLENGED, ScaEvent.EXPIRE): ScaState.EXPIRED,
    (ScaState.VERIFYING, ScaEvent.PROVE): ScaState.PROVED,
    (ScaState.VERIFYING, ScaEvent.DISPROVE): ScaState.CHALLENGED,
    (ScaState.VERIFYING, ScaEvent.REFUSE): ScaState.REFUSED,
    (ScaState.VERIFYING, ScaEvent.EXPIRE): ScaState.EXPIRED,
}
SCA_TERMINAL = frozenset({ScaState.PROVED, ScaState.REFUSED, ScaState.EXPIRED})


# -- payment intents ----------------------------------------------------------------


class PaymentState(StrEnum):
    RECEIVED = "RECEIVED"
    AUTHORISING = "AUTHORISING"
    AUTHORISED = "AUTHORISED"
    EXECUTING = "EXECUTING"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class PaymentEvent(StrEnum):
    START_SCA = "start-sca"
    SCA_STEP = "sca-step"
    SCA_PROVED = "sca-proved"
    EXECUTE = "execute"
    SETTLE = "settle"
    REJECT = "reject"
    FAIL = "fail"
    EXPIRE = "expire"
    CANCEL = "cancel"


_S, _E = PaymentState, PaymentEvent
_BEFORE_EXECUTION = (_S.RECEIVED, _S.AUTHORISING, _S.AUTHORISED)

PAYMENT_TRANSITIONS: dict[tuple[PaymentState, PaymentEvent], PaymentState] = {
    (_S.RECEIVED, _E.START_SCA): _S.AUTHORISING,
    (_S.AUTHORISING, _E.SCA_STEP): _S.AUTHORISING,
    (_S.AUTHORISING, _E.SCA_PROVED): _S.AUTHORISED,
    (_S.AUTHORISED, _E.EXECUTE): _S.EXECUTING,
    (_S.EXECUTING, _E.SETTLE): _S.SETTLED,
    **{(state, _E.REJECT): _S.REJECTED for state in _BEFORE_EXECUTION},
    **{(state, _E.EXPIRE): _S.EXPIRED for state in _BEFORE_EXECUTION},
    **{(state, _E.CANCEL): _S.CANCELLED for state in _BEFORE_EXECUTION},
    **{(state, _E.FAIL): _S.FAILED for state in (*_BEFORE_EXECUTION, _S.EXECUTING)},
}
PAYMENT_TERMINAL = frozenset({_S.SETTLED, _S.REJECTED, _S.FAILED, _S.EXPIRED, _S.CANCELLED})

# What the authentication's state, after an event, does to the intent.
SCA_OUTCOME: dict[ScaState, PaymentEvent] = {
    ScaState.CHALLENGED: _E.SCA_STEP,
    ScaState.VERIFYING: _E.SCA_STEP,
    ScaState.PROVED: _E.SCA_PROVED,
    ScaState.REFUSED: _E.REJECT,
    ScaState.EXPIRED: _E.EXPIRE,
}
