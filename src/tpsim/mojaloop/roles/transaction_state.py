"""The payer DFSP's Third Party transaction: a core payment intent, in Mojaloop's words.

Its lifecycle is the core ``PaymentIntent`` (``core.payment``: one table, with the strong
authentication sub-state of ``core.sca``); this module says which core step each message
is, and what Mojaloop calls the states (the names refusals and callbacks use):

    Mojaloop state   core intent (authentication)       GET reports
    QUOTING          RECEIVED                           RECEIVED
    AUTHORIZING      AUTHORISING (CHALLENGED)           PENDING
    VERIFYING        AUTHORISING (VERIFYING)            PENDING
    TRANSFERRING     AUTHORISED, EXECUTING              ACCEPTED
    COMPLETED        SETTLED                            ACCEPTED
    REJECTED         REJECTED                           REJECTED
    FAILED           FAILED, EXPIRED, CANCELLED         REJECTED

    event      message                                   core step
    quoted     PUT /quotes/{ID}                          start SCA: challenge the PISP's user
    accepted   PUT …/authorizations/{ID} ACCEPTED         SCA submit (FIDO or GENERIC)
    rejected   PUT …/authorizations/{ID} REJECTED         SCA decline → REJECTED
    verified   PUT …/verifications/{ID}                  SCA prove → AUTHORISED
    reserved   (the debit is reserved)                   execute → EXECUTING
    committed  PUT /transfers/{ID} COMMITTED              settle: the debit is committed
    expired    the authorization timer                   SCA expire → EXPIRED
    failed     any error before the transfer is sent      fail: the debit is released
    aborted    the transfer's answer is not COMMITTED,    fail: the debit is released
               or its expiration passed; and a
               simulated payee did not credit it
               (credited, it is ``committed``)

Once the transfer is sent (the intent EXECUTING) only its own outcome ends the transaction
(``aborted``): the payee DFSP may have credited it, and failing it for anything else (a
late or repeated error callback about the quote, the authorization, the verification)
would give the debit back while the credit stays.

``advance`` applies an event; a refusal names the Mojaloop state and event
("transaction request X is AUTHORIZING; a 'quoted' message is not expected now").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from tpsim.config_settings import Profile
from tpsim.core.errors import StateRefused
from tpsim.core.payment import PaymentEvent, PaymentIntent, Payments, PaymentState
from tpsim.core.records import evolvable
from tpsim.core.sca import Authentication, ScaEvent, ScaMethod, ScaState
from tpsim.mojaloop.wire.models import (
    QuotesIDPutResponse,
    ThirdpartyRequestsTransactionsPostRequest,
    TransactionRequestState,
)


class TxState(StrEnum):
    QUOTING = "QUOTING"
    AUTHORIZING = "AUTHORIZING"
    VERIFYING = "VERIFYING"
    TRANSFERRING = "TRANSFERRING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class TxEvent(StrEnum):
    QUOTED = "quoted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    VERIFIED = "verified"
    RESERVED = "reserved"
    COMMITTED = "committed"
    EXPIRED = "expired"
    FAILED = "failed"
    ABORTED = "aborted"


_P = PaymentState
_NAMES: dict[PaymentState, TxState] = {
    _P.RECEIVED: TxState.QUOTING,
    _P.AUTHORISING: TxState.AUTHORIZING,
    _P.AUTHORISED: TxState.TRANSFERRING,
    _P.EXECUTING: TxState.TRANSFERRING,
    _P.SETTLED: TxState.COMPLETED,
    _P.REJECTED: TxState.REJECTED,
    _P.FAILED: TxState.FAILED,
    _P.EXPIRED: TxState.FAILED,
    _P.CANCELLED: TxState.FAILED,
}

# What GET /thirdpartyRequests/transactions/{ID} reports for each state.
REQUEST_STATE: dict[TxState, TransactionRequestState] = {
    TxState.QUOTING: TransactionRequestState.RECEIVED,
    TxState.AUTHORIZING: TransactionRequestState.PENDING,
    TxState.VERIFYING: TransactionRequestState.PENDING,
    TxState.TRANSFERRING: TransactionRequestState.ACCEPTED,
    TxState.COMPLETED: TransactionRequestState.ACCEPTED,
    TxState.REJECTED: TransactionRequestState.REJECTED,
    TxState.FAILED: TransactionRequestState.REJECTED,
}


def tx_state(intent: PaymentIntent) -> TxState:
    """The Mojaloop name of ``intent``'s state (the table in the module docstring)."""
    if intent.sca is not None and intent.sca.state is ScaState.VERIFYING:
        if intent.state is PaymentState.AUTHORISING:
            return TxState.VERIFYING
    return _NAMES[intent.state]


class Step(NamedTuple):
    """What a step may need: when it happens, the debit to reserve, the SCA method."""

    at: datetime | None = None
    debit: Decimal | None = None
    method: ScaMethod | None = None


# Each event as the core call that applies it to the intent ``i``.
STEPS: dict[TxEvent, Callable[[Payments, str, Step], PaymentIntent]] = {
    TxEvent.QUOTED: lambda p, i, s: p.start_sca(i, Authentication(max_attempts=1)),
    TxEvent.ACCEPTED: lambda p, i, s: p.authenticate(i, ScaEvent.SUBMIT, method=s.method),
    TxEvent.REJECTED: lambda p, i, s: p.authenticate(i, ScaEvent.DECLINE, at=s.at),
    TxEvent.VERIFIED: lambda p, i, s: p.authenticate(i, ScaEvent.PROVE, at=s.at),
    TxEvent.RESERVED: lambda p, i, s: p.execute(i, debit=s.debit, at=s.at),
    TxEvent.COMMITTED: lambda p, i, s: p.settle(i, at=s.at),
    TxEvent.EXPIRED: lambda p, i, s: p.authenticate(i, ScaEvent.EXPIRE, at=s.at),
    TxEvent.FAILED: lambda p, i, s: p.end(i, PaymentEvent.FAIL, at=s.at),
    TxEvent.ABORTED: lambda p, i, s: p.end(i, PaymentEvent.FAIL, at=s.at),
}


def _expected(event: TxEvent, state: PaymentState) -> bool:
    """Whether Mojaloop expects ``event`` in ``state`` as far as the core does not say:
    once the transfer is sent (EXECUTING) only its outcome ends the transaction (``aborted``,
    never ``failed``), and only then is there one."""
    sent = state is PaymentState.EXECUTING
    return sent if event is TxEvent.ABORTED else not (sent and event is TxEvent.FAILED)


@evolvable
@dataclass(slots=True)
class Transaction:
    """One transaction request at the payer DFSP: the Mojaloop ids and bodies of its
    conversation; its state is the payment intent ``transaction_id`` in the core bank.

    ``request`` and ``quote`` are the bodies exactly as received (forwarded objects stay
    byte-identical, the challenge hashes the quote); ``model`` and ``quote_model`` the same
    bodies typed. ``deadline`` is when the timer of the wait under way is due
    (``transaction_timers``): one that runs before it is set again, not obeyed.
    """

    request_id: str
    pisp: str
    request: dict[str, Any]
    model: ThirdpartyRequestsTransactionsPostRequest
    transaction_id: str
    request_expiry: datetime | None = None
    consent_id: str = ""
    payer_address: str = ""
    quote_id: str = ""
    quote: dict[str, Any] = field(default_factory=dict)
    quote_model: QuotesIDPutResponse | None = None
    quote_expiry: datetime | None = None
    authorization_id: str = ""
    challenge: str = ""
    verification_id: str = ""
    deadline: datetime | None = None

    @property
    def what(self) -> str:
        return f"transaction request {self.request_id}"

    @property
    def payee_fsp(self) -> str | None:
        """The payee's DFSP (checked present when the request came): it quotes the
        transaction and takes its transfer."""
        return self.model.payee.partyIdInfo.fspId

    def transfer_expiration(self, profile: Profile) -> tuple[str, datetime | None]:
        """The ``expiration`` of the transfer sent on the quote's terms, as written and
        parsed: the quote's (the payee DFSP's terms) under the written spec; the
        request's under the reference profile, as Mojaloop's payer DFSP sets it (digest
        §4.4 step 6)."""
        if profile is Profile.REFERENCE:
            return self.model.expiration, self.request_expiry
        assert self.quote_model is not None  # noqa: S101 - only asked once the quote arrived
        return self.quote_model.expiration, self.quote_expiry


def state_of(payments: Payments, tx: Transaction) -> TxState:
    return tx_state(payments.get(tx.transaction_id))


def advance(payments: Payments, tx: Transaction, event: TxEvent, step: Step) -> PaymentIntent:
    """Apply ``event`` to ``tx``'s intent, or refuse it in Mojaloop's words.

    A ledger refusal (``InsufficientFunds`` when reserving) passes through unchanged.
    """
    try:
        intent = payments.get(tx.transaction_id)
        if not (intent.finalised or _expected(event, intent.state)):  # the core refuses those
            raise StateRefused(tx.what, "", event.value, final=False)
        return STEPS[event](payments, tx.transaction_id, step)
    except StateRefused as refused:
        # A refused step leaves the intent as it was: its state is the one refused in.
        state = state_of(payments, tx)
        raise StateRefused(tx.what, state.value, event.value, final=refused.final) from None
