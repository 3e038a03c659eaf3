"""Payment intents: one payment from a debtor's account, its lifecycle and the money it moves.

Its states, events and transition table are in ``core.states`` (with every other table).

Every dialect maps its own resource onto this one table: the Mojaloop payer DFSP's
transaction request (QUOTING is RECEIVED, AUTHORIZING/VERIFYING are AUTHORISING,
TRANSFERRING is EXECUTING, COMPLETED is SETTLED), an XS2A payment's transactionStatus,
a UK domestic payment's Status. While AUTHORISING the intent carries its strong
authentication (``core.sca``); the authentication's outcome moves the intent
(``SCA_OUTCOME``): proved authorises it, refused rejects it, expired expires it.

``Payments`` applies the transitions and moves the money with them: ``execute`` reserves
the debit, ``settle`` commits it, every other ending releases it. Intents are records in
the store (``core.records``), replaced whole on each transition; an ended intent is dropped
once the bank's retention has passed (counted from the ``at`` of its ending step, or from
its creation when none is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tpsim.core.errors import StateRefused, UnknownPayment
from tpsim.core.ledger import Ledger, Reservation
from tpsim.core.records import Records
from tpsim.core.sca import Authentication
from tpsim.core.settlement import SettlementOutcome, SettlementResult
from tpsim.core.states import (
    PAYMENT_TERMINAL,
    PAYMENT_TRANSITIONS,
    SCA_OUTCOME,
    PaymentEvent,
    PaymentState,
    ScaEvent,
    ScaMethod,
    next_state,
)
from tpsim.core.store import Store
from tpsim.core.values import evolve

__all__ = ["PaymentEvent", "PaymentIntent", "PaymentState", "Payments"]


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
        return self.state in PAYMENT_TERMINAL

    @property
    def what(self) -> str:
        return f"payment {self.intent_id}"

    def _next(self, event: PaymentEvent) -> PaymentState:
        return next_state(PAYMENT_TRANSITIONS, PAYMENT_TERMINAL, self.state, event, what=self.what)

    def moved(self, event: PaymentEvent, **changes: Any) -> PaymentIntent:
        """This intent after ``event``, or the ``StateRefused`` of the table; ``changes``
        to its other fields are made in the same copy (one copy, not one per change: a
        copy is a good part of a transfer's CPU, issue 17)."""
        return evolve(self, state=self._next(event), **changes)

    def authenticated(self, event: ScaEvent, *, method: ScaMethod | None = None) -> PaymentIntent:
        """This intent after ``event`` happened to its authentication (``SCA_OUTCOME``).

        Only an AUTHORISING intent has an authentication: in any other state the intent
        refuses the event, as it refuses an SCA step.
        """
        try:  # only checked: the table says whether an SCA step may happen now
            self._next(PaymentEvent.SCA_STEP)
        except StateRefused as refused:
            raise StateRefused(
                self.what, self.state.value, event.value, final=refused.final
            ) from None
        assert self.sca is not None  # noqa: S101 - every AUTHORISING intent has one
        sca = self.sca.moved(event, what=f"authentication of {self.what}", method=method)
        return self.moved(SCA_OUTCOME[sca.state], sca=sca)


class Payments:
    """The payment intents in ``store``; the money each moves goes through ``ledger``."""

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        *,
        retention: timedelta | None = None,
        max_ended: int | None = None,
    ) -> None:
        self._intents: Records[PaymentIntent] = Records(
            store, "intent", retention=retention, max_ended=max_ended
        )
        self._ledger = ledger

    def get(self, intent_id: str) -> PaymentIntent:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise UnknownPayment(intent_id)
        return intent

    def receive(self, intent: PaymentIntent) -> PaymentIntent:
        """Keep a new intent (RECEIVED, its ``intent_id`` not used before); the dialect has
        checked what it needs to first, or ends it at once."""
        if intent.created_at is not None:
            self._intents.sweep(intent.created_at)
        return self._put(intent)

    def receive_authorised(
        self, intent: PaymentIntent, *, at: datetime | None = None
    ) -> PaymentIntent:
        """Keep a new intent its dialect's own SCA already authorised (the bank's page, its
        OAuth server, an embedded OTP): received, its authentication started, submitted and
        proved at once, so it is AUTHORISED."""
        self.receive(intent)
        self.start_sca(intent.intent_id, Authentication())
        self.authenticate(intent.intent_id, ScaEvent.SUBMIT, at=at)
        return self.authenticate(intent.intent_id, ScaEvent.PROVE, at=at)

    def start_sca(self, intent_id: str, authentication: Authentication) -> PaymentIntent:
        """The payment asks for authorisation: a challenge was issued."""
        return self._put(self.get(intent_id).moved(PaymentEvent.START_SCA, sca=authentication))

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
        return self._released(intent, at) if intent.finalised else self._put(intent, at)

    def execute(
        self, intent_id: str, *, debit: Decimal | None = None, at: datetime | None = None
    ) -> PaymentIntent:
        """Reserve the debit (the intent's amount unless ``debit``, e.g. fees included) and
        start executing; a debit of zero reserves nothing. ``InsufficientFunds`` (or
        another ledger refusal) leaves the intent AUTHORISED, for the dialect to fail."""
        intent = self.get(intent_id)
        state = intent._next(PaymentEvent.EXECUTE)  # refused before anything is reserved
        amount = intent.amount if debit is None else debit
        if amount == 0:
            return self._put(evolve(intent, state=state), at)
        reservation = self._ledger.reserve(
            intent.debtor, amount, currency=intent.currency, ref=intent.intent_id, at=at
        )
        # One copy with both changes, not one per change (issue 17).
        return self._put(evolve(intent, state=state, reservation=reservation), at)

    def settle(self, intent_id: str, *, at: datetime | None = None) -> PaymentIntent:
        """The money reached the creditor: commit the reservation."""
        intent = self.get(intent_id)
        settled = intent.moved(PaymentEvent.SETTLE)
        if intent.reservation is not None:
            self._ledger.commit(intent.reservation, at=at)
        return self._put(settled, at)

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
        return self._put(intent, at)

    def _put(self, intent: PaymentIntent, at: datetime | None = None) -> PaymentIntent:
        """Keep ``intent``; once it has ended, it is dropped after the retention."""
        self._intents.put(intent.intent_id, intent)
        ended = at or intent.created_at
        if intent.finalised and ended is not None:  # (an intent never dated is kept)
            self._intents.end(intent.intent_id, at=ended)
        return intent


_ENDINGS = frozenset(
    {PaymentEvent.REJECT, PaymentEvent.FAIL, PaymentEvent.EXPIRE, PaymentEvent.CANCEL}
)
