"""Strong customer authentication of a payment: the sub-state of an AUTHORISING intent.

    CHALLENGED ─submit→ VERIFYING ─prove→ PROVED
        │                  ├─disprove→ CHALLENGED   (attempts left: the user may try again)
        │                  └─refuse──→ REFUSED      (no attempts left, or refused outright)
        ├─decline→ REFUSED                          (the user says no)
        └─expire─→ EXPIRED      (also from VERIFYING)

A challenge is issued when the payment starts its authorisation (``core.payment``); the
user (or their PISP / TPP) submits a proof — a FIDO assertion, a GENERIC signature, an
OTP, a password on the bank's page, an approval in the bank's app (decoupled) — counted
against ``max_attempts``. Nothing here checks a proof: the dialect verifies it (``auth``,
an auth-service's answer, a password compare) and reports ``prove`` or ``disprove``;
a ``disprove`` on the last attempt becomes ``refuse``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from tpsim.core.machine import next_state


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


TRANSITIONS: dict[tuple[ScaState, ScaEvent], ScaState] = {
    (ScaState.CHALLENGED, ScaEvent.SUBMIT): ScaState.VERIFYING,
    (ScaState.CHALLENGED, ScaEvent.DECLINE): ScaState.REFUSED,
    (ScaState.CHALLENGED, ScaEvent.EXPIRE): ScaState.EXPIRED,
    (ScaState.VERIFYING, ScaEvent.PROVE): ScaState.PROVED,
    (ScaState.VERIFYING, ScaEvent.DISPROVE): ScaState.CHALLENGED,
    (ScaState.VERIFYING, ScaEvent.REFUSE): ScaState.REFUSED,
    (ScaState.VERIFYING, ScaEvent.EXPIRE): ScaState.EXPIRED,
}
TERMINAL = frozenset({ScaState.PROVED, ScaState.REFUSED, ScaState.EXPIRED})


@dataclass(frozen=True, slots=True)
class Authentication:
    """One strong authentication: its state, the method the proof came by (None until a
    proof is submitted, as XS2A lets the user choose late), proofs submitted so far."""

    state: ScaState = ScaState.CHALLENGED
    method: ScaMethod | None = None
    attempts: int = 0
    max_attempts: int = 1
    expires_at: datetime | None = None

    @property
    def attempts_left(self) -> int:
        return max(self.max_attempts - self.attempts, 0)

    def moved(
        self, event: ScaEvent, *, what: str, method: ScaMethod | None = None
    ) -> Authentication:
        """This authentication after ``event``, or the ``StateRefused`` of the table.

        ``submit`` counts an attempt and records ``method`` (when given); ``disprove``
        on the last attempt is a ``refuse``.
        """
        if event is ScaEvent.DISPROVE and self.attempts_left == 0:
            event = ScaEvent.REFUSE
        state = next_state(TRANSITIONS, TERMINAL, self.state, event, what=what)
        if event is not ScaEvent.SUBMIT:
            return replace(self, state=state)
        return replace(self, state=state, attempts=self.attempts + 1, method=method or self.method)
