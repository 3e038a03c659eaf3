"""Strong customer authentication of a payment: the sub-state of an AUTHORISING intent.

(its table, with every other one, in ``core.states``)

A challenge is issued when the payment starts its authorisation (``core.payment``); the
user (or their PISP / TPP) submits a proof — a FIDO assertion, a GENERIC signature, an
OTP, a password on the bank's page, an approval in the bank's app (decoupled) — counted
against ``max_attempts``. Nothing here checks a proof: the dialect verifies it (``auth``,
an auth-service's answer, a password compare) and reports ``prove`` or ``disprove``;
a ``disprove`` on the last attempt becomes ``refuse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tpsim.core.states import (
    SCA_TERMINAL,
    SCA_TRANSITIONS,
    ScaEvent,
    ScaMethod,
    ScaState,
    next_state,
)
from tpsim.core.values import evolve

__all__ = ["Authentication", "ScaEvent", "ScaMethod", "ScaState"]


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
        state = next_state(SCA_TRANSITIONS, SCA_TERMINAL, self.state, event, what=what)
        if event is not ScaEvent.SUBMIT:
            return evolve(self, state=state)
        return evolve(self, state=state, attempts=self.attempts + 1, method=method or self.method)
