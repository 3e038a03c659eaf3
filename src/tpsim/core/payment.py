"""Payment intents: one payment from a debtor's account, its lifecycle and the money it moves.

    RECEIVED ─start-sca→ AUTHORISING ─sca-proved→ AUTHORISED ─execute→ EXECUTING ─settle→ SETTLED
                         (sca-step: the authentication moved, nothing decided yet)
    RECEIVED, AUTHORISING, AUTHORISED ─reject→ REJECTED  ─expire→ EXPIRED  ─cancel→ CANCELLED
    any state not ended ─fail→ FAILED

Every dialect maps its own resource onto this one table: the Mojaloop payer DFSP's
transaction request (QUOTING is RECEIVED, AUTHORIZING/VERIFYING are AUTHORISING,
TRANSFERRING is EXECUTING, COMPLETED is SETTLED), an XS2A payment's transactionStatus,
a UK domestic payment's Status. While AUTHORISING the intent carries its strong
authentication (``core.sca``); the authentication's outcome moves the intent
(``SCA_OUTCOME``): proved authorises it, refused rejects it, expired expires it.

``Payments`` applies the transitions and moves the money with them: ``execute`` reserves
the debit, ``settle`` commits it, every other ending releases it. Intents are records in
the store, replaced whole on each transition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from tpsim.core.errors import StateRefused, UnknownPayment
from tpsim.core.ledger import Ledger, Reservation
from tpsim.core.machine import next_state
from tpsim.core.sca import Authentication, ScaEvent, ScaMethod, ScaState
from tpsim.core.settlement import SettlementOutcome, SettlementResult
from tpsim.core.store import Store


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

TRANSITIONS: dict[tuple[PaymentState, PaymentEvent], PaymentState] = {
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
TERMINAL = frozenset({_S.SETTLED, _S.REJECTED, _S.FAILED, _S.EXPIRED, _S.CANCELLED})

# What the authentication's state, after an event, does to the intent.
SCA_OUTCOME: dict[ScaState, PaymentEvent] = {
    ScaState.CHALLENGED: _E.SCA_STEP,
    ScaState.VERIFYING: _E.SCA_STEP,
    ScaState.PROVED: _E.SCA_PROVED,
    ScaState.REFUSED: _E.REJECT,
    ScaState.EXPIRED: _E.EXPIRE,
}


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """A payment of ``amount`` ``currency`` from the ``debtor`` account (its address) to
    ``creditor`` (as the dialect names them: an alias, an IBAN, a party…). ``reservation``
    is the hold its debit used, from ``execute`` on (committed or released when it ends)."""

    intent_id: str
    debtor: str
    creditor: str
    amount: Decimal
    currency: str
    state: PaymentState = PaymentState.RECEIVED
    sca: Authentication | None = None
    reservation: Reservation | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def finalised(self) -> bool:
        """Whether the outcome is known for good: no event moves the intent any more."""
        return self.state in TERMINAL

    @property
    def what(self) -> str:
        return f"payment {self.intent_id}"

    def moved(self, event: PaymentEvent) -> PaymentIntent:
        """This intent after ``event``, or the ``StateRefused`` of the table."""
        return replace(
            self, state=next_state(TRANSITIONS, TERMINAL, self.state, event, what=self.what)
        )

    def authenticated(self, event: ScaEvent, *, method: ScaMethod | None = None) -> PaymentIntent:
        """This intent after ``event`` happened to its authentication (``SCA_OUTCOME``).

        Only an AUTHORISING intent has an authentication: in any other state the intent
        refuses the event, as it refuses an SCA step.
        """
        try:  # only checked: the table says whether an SCA step may happen now
            next_state(TRANSITIONS, TERMINAL, self.state, PaymentEvent.SCA_STEP, what=self.what)
        except StateRefused as refused:
            raise StateRefused(
                self.what, self.state.value, event.value, final=refused.final
            ) from None
        assert self.sca is not None  # noqa: S101 - every AUTHORISING intent has one
        sca = self.sca.moved(event, what=f"authentication of {self.what}", method=method)
        return replace(self.moved(SCA_OUTCOME[sca.state]), sca=sca)


class Payments:
    """The payment intents in ``store``; the money each moves goes through ``ledger``."""

    def __init__(self, store: Store, ledger: Ledger) -> None:
        self._store, self._ledger = store, ledger

    def get(self, intent_id: str) -> PaymentIntent:
        intent = self._store.intent(intent_id)
        if intent is None:
            raise UnknownPayment(intent_id)
        return intent

    def receive(self, intent: PaymentIntent) -> PaymentIntent:
        """Keep a new intent (RECEIVED, its ``intent_id`` not used before); the dialect has
        checked what it needs to first, or ends it at once."""
        self._store.put_intent(intent)
        return intent

    def start_sca(self, intent_id: str, authentication: Authentication) -> PaymentIntent:
        """The payment asks for authorisation: a challenge was issued."""
        intent = self.get(intent_id).moved(PaymentEvent.START_SCA)
        return self._put(replace(intent, sca=authentication))

    def authenticate(
        self,
        intent_id: str,
        event: ScaEvent,
        *,
        method: ScaMethod | None = None,
        at: datetime | None = None,
    ) -> PaymentIntent:
        """``event`` happened to the payment's authentication (see ``SCA_OUTCOME``)."""
        intent = self.get(intent_id).authenticated(event, method=method)
        return self._released(intent, at) if intent.finalised else self._put(intent)

    def execute(
        self, intent_id: str, *, debit: Decimal | None = None, at: datetime | None = None
    ) -> PaymentIntent:
        """Reserve the debit (the intent's amount unless ``debit``, e.g. fees included) and
        start executing; a debit of zero reserves nothing. ``InsufficientFunds`` (or
        another ledger refusal) leaves the intent AUTHORISED, for the dialect to fail."""
        intent = self.get(intent_id)
        executing = intent.moved(PaymentEvent.EXECUTE)
        amount = intent.amount if debit is None else debit
        if amount == 0:
            return self._put(executing)
        reservation = self._ledger.reserve(
            intent.debtor, amount, currency=intent.currency, ref=intent.intent_id, at=at
        )
        return self._put(replace(executing, reservation=reservation))

    def settle(self, intent_id: str, *, at: datetime | None = None) -> PaymentIntent:
        """The money reached the creditor: commit the reservation."""
        intent = self.get(intent_id)
        settled = intent.moved(PaymentEvent.SETTLE)
        if intent.reservation is not None:
            self._ledger.commit(intent.reservation, at=at)
        return self._put(settled)

    def end(
        self, intent_id: str, event: PaymentEvent, *, at: datetime | None = None
    ) -> PaymentIntent:
        """``reject``, ``fail``, ``expire`` or ``cancel`` the payment; reserved funds go back."""
        if event not in _ENDINGS:
            raise TypeError(f"{event} does not end a payment")  # a caller's mistake
        return self._released(self.get(intent_id).moved(event), at)

    def conclude(self, result: SettlementResult, *, at: datetime | None = None) -> PaymentIntent:
        """What the settlement port reported: settled, or failed with the funds given back."""
        if result.outcome is SettlementOutcome.SETTLED:
            return self.settle(result.intent_id, at=at)
        return self.end(result.intent_id, PaymentEvent.FAIL, at=at)

    def _released(self, intent: PaymentIntent, at: datetime | None) -> PaymentIntent:
        """Keep ``intent``, which just ended unsettled, giving its reserved funds back."""
        if intent.reservation is not None:
            self._ledger.release(intent.reservation, at=at)
        return self._put(intent)

    def _put(self, intent: PaymentIntent) -> PaymentIntent:
        self._store.put_intent(intent)
        return intent


_ENDINGS = frozenset({_E.REJECT, _E.FAIL, _E.EXPIRE, _E.CANCEL})
