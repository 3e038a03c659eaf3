"""UK Open Banking's own state machine, the payment-order consent, and how the core payment
intent's state reads as each version's payment ``Status`` (the digest §1.4).

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
"""

from __future__ import annotations

from enum import StrEnum

from tpsim.core.states import PaymentState

VERSIONS = ("3.1", "4.0")


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
