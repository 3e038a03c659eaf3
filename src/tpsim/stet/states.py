"""STET's own state machine, the payment request, and how its statuses read (the digest
§3.4, STET 1.4.2).

A payment request, before its instructions are handed to execution:

    AWAITING ──approve──→ APPROVED ──order──→ ORDERED
        │                    │
        └──────reject────────┴──────→ REJECTED

    approve   the PSU at the bank's page, the admin decision (DECOUPLED, or headless), or
              the OTP relayed in /confirmation (EMBEDDED-1-FACTOR)
    order     at once, or on the PISP's /confirmation or /o-confirmation where the profile
              awaits it
    reject    denied, no answer in time (NOAS), too many wrong passwords or factors,
              cancelled by PUT (DS02)

``ORDERED`` and ``REJECTED`` are final here: once ordered, each instruction is a core
payment intent and its ``transactionStatus`` is read from it (``TRANSACTION_STATUS``). The
request's ``paymentInformationStatus``:

    AWAITING  ACTC   (authenticated by the PISP's token, awaiting the PSU)
    APPROVED  ACCP   (the PSU approved; the PISP's confirmation is awaited)
    REJECTED  RJCT   + statusReasonInformation (CUST, NOAS, DS02, …)
    ORDERED   from its instructions (``ordered_status``): ACCP while none has started
              (a future requestedExecutionDate), PDNG while a rule holds them, ACSP while
              money moves, ACSC when all settled, RJCT when all were rejected, PART when
              some settled and some were rejected.

STET 1.4 has no CANC: a cancellation is RJCT + DS02. ``statusReasonInformation`` goes with
RJCT only.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from tpsim.core.rules import Reason
from tpsim.core.states import PaymentState


class RequestState(StrEnum):
    AWAITING = "AWAITING"
    APPROVED = "APPROVED"
    ORDERED = "ORDERED"
    REJECTED = "REJECTED"


class RequestEvent(StrEnum):
    APPROVE = "approve"
    ORDER = "order"
    REJECT = "reject"


_R, _E = RequestState, RequestEvent

REQUEST_TRANSITIONS: dict[tuple[RequestState, RequestEvent], RequestState] = {
    (_R.AWAITING, _E.APPROVE): _R.APPROVED,
    (_R.APPROVED, _E.ORDER): _R.ORDERED,
    (_R.AWAITING, _E.REJECT): _R.REJECTED,
    (_R.APPROVED, _E.REJECT): _R.REJECTED,
}
REQUEST_TERMINAL = frozenset({_R.ORDERED, _R.REJECTED})

REQUEST_STATUS: dict[RequestState, str] = {
    _R.AWAITING: "ACTC",
    _R.APPROVED: "ACCP",
    _R.REJECTED: "RJCT",
}


class Approach(StrEnum):
    """``appliedAuthenticationApproach``."""

    REDIRECT = "REDIRECT"
    DECOUPLED = "DECOUPLED"
    EMBEDDED = "EMBEDDED-1-FACTOR"


class Why(StrEnum):
    """``statusReasonInformation``: why a request or an instruction was rejected (the
    STET 1.4 list, the digest §3.4)."""

    CANCELLED = "DS02"  # cancelled by the PISP (PUT)
    CUSTOMER = "CUST"  # refused by the PSU, or the debtor's funds do not cover it
    NO_ANSWER = "NOAS"  # the PSU never answered
    BLOCKED = "AC06"
    CLOSED = "AC04"
    WRONG_ACCOUNT = "AC01"
    FORBIDDEN = "AG01"
    FRAUD = "FRAD"
    UNSPECIFIED = "MS03"
    # The rest of STET 1.4's list: tpsim never picks them itself, the admin API may.
    TRANSACTIONS_NUMBER = "AM18"
    EXECUTION_DATE = "CH03"
    FILE_FORMAT = "FF01"
    REGULATORY_DEBTOR = "RR01"
    REGULATORY_CREDITOR_NAME = "RR03"
    REGULATORY = "RR04"
    REGULATORY_IDENTIFICATION = "RR12"


# A rule's (or the ledger's) reason as a STET reason code.
WHY_OF: dict[Reason, Why] = {
    Reason.INSUFFICIENT_FUNDS: Why.CUSTOMER,
    Reason.BLOCKED_ACCOUNT: Why.BLOCKED,
    Reason.CLOSED_ACCOUNT: Why.CLOSED,
    Reason.LIMIT_EXCEEDED: Why.FORBIDDEN,
    Reason.REJECTED: Why.UNSPECIFIED,
    Reason.PSU_UNKNOWN: Why.UNSPECIFIED,
    Reason.SCA_FAILED: Why.UNSPECIFIED,
}

# An instruction's ``transactionStatus``, read from its core intent.
TRANSACTION_STATUS: dict[PaymentState, str] = {
    PaymentState.RECEIVED: "PDNG",
    PaymentState.AUTHORISING: "PDNG",
    PaymentState.AUTHORISED: "PDNG",
    PaymentState.EXECUTING: "ACSP",
    PaymentState.SETTLED: "ACSC",
    PaymentState.REJECTED: "RJCT",
    PaymentState.FAILED: "RJCT",
    PaymentState.EXPIRED: "RJCT",
    PaymentState.CANCELLED: "RJCT",
}


def ordered_status(statuses: Sequence[str], *, started: bool, held: bool) -> str:
    """An ordered request's ``paymentInformationStatus`` from its instructions'
    ``transactionStatus`` (``started``: some instruction's execution began; ``held``: a
    rule holds the request pending)."""
    if all(s == "RJCT" for s in statuses):
        return "RJCT"
    if all(s in ("ACSC", "RJCT") for s in statuses):
        return "PART" if "RJCT" in statuses else "ACSC"
    if held:
        return "PDNG"
    return "ACSP" if started else "ACCP"
