"""UK Open Banking's own state machine, the payment-order consent, and how the core payment
intent's state reads as each version's payment ``Status`` (the digest §1.4), for each kind
of payment order tpsim plays (``Kind``: domestic and domestic scheduled payments).

A domestic payment consent:

    AWAITING ─authorise (the PSU approves at the bank)─→ AUTHORISED ─consume (POST
       │                                                     │        /domestic-payments)─→ CONSUMED
       └─reject (denied, authentication failed, expired, ────┘
                 after its cut-off)──→ REJECTED

    v3.1  AwaitingAuthorisation  Authorised  Consumed  Rejected
    v4.0  AWAU                   AUTH        COND      RJCT

``CONSUMED`` and ``REJECTED`` are final (``core.states.next_state`` refuses every later
event). The payment order's ``Status`` is read from its core intent (``PAYMENT_STATUS``):
the intent moves, the status follows; a settled intent reads as credited (ACCC) when tpsim
credited the creditor, as debited (ACSC) when the money only left the debtor's account.

Both kinds share the consent's states and words (their consent responses list the same
``Status`` values); each kind's payment order has its own table of words
(``PAYMENT_WORDS``), as each official file lists them:

    domestic payment        v3.1  Pending, AcceptedSettlementInProcess, …, Rejected
                            v4.0  RCVD, ACSP, ACSC, ACCC, RJCT
    domestic scheduled      v3.1  InitiationPending (waiting for its date),
    payment                       InitiationCompleted (executed), InitiationFailed
                            v4.0  PDNG (waiting for its date), ACSP, ACSC (its enum has
                                  no ACCC: a creditor credited reads ACSC), RJCT

``/payment-details`` words each step the same way for both (OBWritePaymentDetailsResponse1).
"""

from __future__ import annotations

from enum import StrEnum

from tpsim.core.states import PaymentState

VERSIONS = ("3.1", "4.0")


class Kind(StrEnum):
    """A kind of payment order: its consent and payment resources are named after it."""

    DOMESTIC = "domestic"
    SCHEDULED = "domestic-scheduled"

    @property
    def consents(self) -> str:
        """The consents' path segment: ``domestic-payment-consents``, …"""
        return f"{self.value}-payment-consents"

    @property
    def payments(self) -> str:
        """The payment orders' path segment: ``domestic-payments``, …"""
        return f"{self.value}-payments"

    @property
    def payment_id(self) -> str:
        """The member naming a payment order: ``DomesticPaymentId``, …"""
        return "DomesticPaymentId" if self is Kind.DOMESTIC else "DomesticScheduledPaymentId"

    @property
    def what(self) -> str:
        """The payment order in words: "domestic payment", "domestic scheduled payment"."""
        return self.value.replace("-", " ") + " payment"


class ConsentState(StrEnum):
    AWAITING = "AWAITING"
    AUTHORISED = "AUTHORISED"
    CONSUMED = "CONSUMED"
    REJECTED = "REJECTED"


class ConsentEvent(StrEnum):
    AUTHORISE = "authorise"
    CONSUME = "consume"
    REJECT = "reject"


_C, _CE = ConsentState, ConsentEvent

CONSENT_TRANSITIONS: dict[tuple[ConsentState, ConsentEvent], ConsentState] = {
    (_C.AWAITING, _CE.AUTHORISE): _C.AUTHORISED,
    (_C.AUTHORISED, _CE.CONSUME): _C.CONSUMED,
    (_C.AWAITING, _CE.REJECT): _C.REJECTED,
    (_C.AUTHORISED, _CE.REJECT): _C.REJECTED,
}
CONSENT_TERMINAL = frozenset({_C.CONSUMED, _C.REJECTED})

CONSENT_STATUS: dict[str, dict[ConsentState, str]] = {
    "3.1": {
        _C.AWAITING: "AwaitingAuthorisation",
        _C.AUTHORISED: "Authorised",
        _C.CONSUMED: "Consumed",
        _C.REJECTED: "Rejected",
    },
    "4.0": {
        _C.AWAITING: "AWAU",
        _C.AUTHORISED: "AUTH",
        _C.CONSUMED: "COND",
        _C.REJECTED: "RJCT",
    },
}


class PaymentStatus(StrEnum):
    """A payment order's status in neutral words; ``words`` spells it per version."""

    PENDING = "PENDING"  # taken, waiting to execute (a rule's delay or hold)
    IN_PROCESS = "IN_PROCESS"  # debit reserved, the settlement runs
    DEBITED = "DEBITED"  # settled on the debtor's account (seed 000's DEBITED)
    CREDITED = "CREDITED"  # the creditor's account credited too
    REJECTED = "REJECTED"


PAYMENT_STATUS: dict[PaymentState, PaymentStatus] = {
    PaymentState.RECEIVED: PaymentStatus.PENDING,
    PaymentState.AUTHORISING: PaymentStatus.PENDING,
    PaymentState.AUTHORISED: PaymentStatus.PENDING,
    PaymentState.EXECUTING: PaymentStatus.IN_PROCESS,
    PaymentState.SETTLED: PaymentStatus.DEBITED,
    PaymentState.REJECTED: PaymentStatus.REJECTED,
    PaymentState.FAILED: PaymentStatus.REJECTED,
    PaymentState.EXPIRED: PaymentStatus.REJECTED,
    PaymentState.CANCELLED: PaymentStatus.REJECTED,
}

_P = PaymentStatus
# The domestic payment's ``Status`` (OBWriteDomesticResponse5).
ORDER_WORDS: dict[str, dict[PaymentStatus, str]] = {
    "3.1": {
        _P.PENDING: "Pending",
        _P.IN_PROCESS: "AcceptedSettlementInProcess",
        _P.DEBITED: "AcceptedSettlementCompleted",
        _P.CREDITED: "AcceptedCreditSettlementCompleted",
        _P.REJECTED: "Rejected",
    },
    "4.0": {
        _P.PENDING: "RCVD",
        _P.IN_PROCESS: "ACSP",
        _P.DEBITED: "ACSC",
        _P.CREDITED: "ACCC",
        _P.REJECTED: "RJCT",
    },
}


# The domestic scheduled payment's ``Status`` (OBWriteDomesticScheduledResponse5): v3.1
# words the initiation (pending until its date, completed once executed), v4.0 has no ACCC.
SCHEDULED_WORDS: dict[str, dict[PaymentStatus, str]] = {
    "3.1": {
        _P.PENDING: "InitiationPending",
        _P.IN_PROCESS: "InitiationCompleted",
        _P.DEBITED: "InitiationCompleted",
        _P.CREDITED: "InitiationCompleted",
        _P.REJECTED: "InitiationFailed",
    },
    "4.0": {
        _P.PENDING: "PDNG",
        _P.IN_PROCESS: "ACSP",
        _P.DEBITED: "ACSC",
        _P.CREDITED: "ACSC",
        _P.REJECTED: "RJCT",
    },
}
PAYMENT_WORDS: dict[Kind, dict[str, dict[PaymentStatus, str]]] = {
    Kind.DOMESTIC: ORDER_WORDS,
    Kind.SCHEDULED: SCHEDULED_WORDS,
}


class Step(StrEnum):
    """One step of a payment order's life, listed by ``/payment-details`` (its richer
    statuses, OBWritePaymentDetailsResponse1)."""

    VALIDATED = "VALIDATED"
    PENDING = "PENDING"
    FUNDS_CHECKED = "FUNDS_CHECKED"
    IN_PROCESS = "IN_PROCESS"
    DEBITED = "DEBITED"
    CREDITED = "CREDITED"
    REJECTED = "REJECTED"


_S = Step
# v4.0's payment-details list has no RCVD: a payment taken is technically valid (ACTC).
STEP_WORDS: dict[str, dict[Step, str]] = {
    "3.1": {
        _S.VALIDATED: "AcceptedTechnicalValidation",
        _S.PENDING: "Pending",
        _S.FUNDS_CHECKED: "AcceptedFundsChecked",
        _S.IN_PROCESS: "AcceptedSettlementInProcess",
        _S.DEBITED: "AcceptedSettlementCompleted",
        _S.CREDITED: "AcceptedCreditSettlementCompleted",
        _S.REJECTED: "Rejected",
    },
    "4.0": {
        _S.VALIDATED: "ACTC",
        _S.PENDING: "PDNG",
        _S.FUNDS_CHECKED: "ACFC",
        _S.IN_PROCESS: "ACSP",
        _S.DEBITED: "ACSC",
        _S.CREDITED: "ACCC",
        _S.REJECTED: "RJCT",
    },
}


class ConsentReason(StrEnum):
    """Why a consent is where it is: v4.0's ``StatusReasonCode`` (the OBIE code set's
    status reasons, as the digest §1.4 lists them)."""

    CUT_OFF = "U012"  # Rules.AfterCutOffDateTime
    AUTH_FAILED = "U033"  # authentication failed (too many wrong passwords)
    CONSUMED = "U038"  # consent consumed successfully
    EXPIRED = "U036"  # authorisation not completed in time
    DENIED = "U037"  # the PSU did not authorise
    DATE_PASSED = "U003"  # Field.InvalidDate: authorised once its execution date had passed
