"""XS2A's own state machine, the authorisation's ``scaStatus``, and how the core payment
intent's state reads as a ``transactionStatus`` (NextGenPSD2 1.3.11, the digest §2.4).

An authorisation sub-resource (``…/authorisations/{id}`` or ``…/cancellation-authorisations/{id}``):

    received ─identify→ psuIdentified ─authenticate→ psuAuthenticated ─select→ scaMethodSelected
       │  │                  │                 │                                  │
       │  └──authenticate────┴─────────────────┘ (a password with the PSU-ID)     │
       │                                                                          │
       ├─start→ started (redirect link handed out, decoupled push sent) ──────────┤
       │                                                                          ▼
       └──────────────── authorise (the PSU's SCA succeeded) ──→ finalised  or  unconfirmed
                                                             (the bank asks the TPP to confirm)
    unconfirmed ─confirm→ finalised
    every state not final ─fail→ failed        (wrong credentials at the last attempt, a
                                                denial, an expired payment or link)

``finalised``, ``failed`` and ``exempted`` are final (``core.states.next_state`` refuses
every later event). The payment's ``transactionStatus`` is read from the core intent
(``TRANSACTION_STATUS``): the intent moves, the status follows.
"""

from __future__ import annotations

from enum import StrEnum

from tpsim.core.states import PaymentState


class ScaStatus(StrEnum):
    RECEIVED = "received"
    PSU_IDENTIFIED = "psuIdentified"
    PSU_AUTHENTICATED = "psuAuthenticated"
    SCA_METHOD_SELECTED = "scaMethodSelected"
    STARTED = "started"
    UNCONFIRMED = "unconfirmed"
    FINALISED = "finalised"
    FAILED = "failed"
    EXEMPTED = "exempted"


class ScaEvent(StrEnum):
    IDENTIFY = "identify"
    AUTHENTICATE = "authenticate"
    SELECT = "select-method"
    START = "start"
    AUTHORISE = "authorise"
    AWAIT_CONFIRMATION = "await-confirmation"
    CONFIRM = "confirm"
    FAIL = "fail"


_S, _E = ScaStatus, ScaEvent
_OPEN = (_S.RECEIVED, _S.PSU_IDENTIFIED, _S.PSU_AUTHENTICATED, _S.SCA_METHOD_SELECTED, _S.STARTED)

SCA_TRANSITIONS: dict[tuple[ScaStatus, ScaEvent], ScaStatus] = {
    (_S.RECEIVED, _E.IDENTIFY): _S.PSU_IDENTIFIED,
    (_S.PSU_IDENTIFIED, _E.IDENTIFY): _S.PSU_IDENTIFIED,
    (_S.RECEIVED, _E.AUTHENTICATE): _S.PSU_AUTHENTICATED,
    (_S.PSU_IDENTIFIED, _E.AUTHENTICATE): _S.PSU_AUTHENTICATED,
    (_S.PSU_AUTHENTICATED, _E.SELECT): _S.SCA_METHOD_SELECTED,
    (_S.RECEIVED, _E.START): _S.STARTED,
    (_S.PSU_IDENTIFIED, _E.START): _S.STARTED,
    (_S.PSU_AUTHENTICATED, _E.START): _S.STARTED,
    **{(state, _E.AUTHORISE): _S.FINALISED for state in _OPEN},
    **{(state, _E.AWAIT_CONFIRMATION): _S.UNCONFIRMED for state in _OPEN},
    (_S.UNCONFIRMED, _E.CONFIRM): _S.FINALISED,
    **{(state, _E.FAIL): _S.FAILED for state in (*_OPEN, _S.UNCONFIRMED)},
}
SCA_TERMINAL = frozenset({_S.FINALISED, _S.FAILED, _S.EXEMPTED})


class TransactionStatus(StrEnum):
    """The ISO 20022 codes XS2A reports (``transactionStatus``); tpsim reaches these."""

    RCVD = "RCVD"
    PDNG = "PDNG"
    ACTC = "ACTC"
    ACCP = "ACCP"
    ACSP = "ACSP"
    ACSC = "ACSC"
    ACCC = "ACCC"
    PART = "PART"
    RJCT = "RJCT"
    CANC = "CANC"


# The intent's state → its transactionStatus. A SETTLED intent is ACCC when tpsim credited
# the creditor (an account of a simulated bank), ACSC when the money only left the debtor's
# account (a creditor outside tpsim): ``settled_status``.
TRANSACTION_STATUS: dict[PaymentState, TransactionStatus] = {
    PaymentState.RECEIVED: TransactionStatus.RCVD,
    PaymentState.AUTHORISING: TransactionStatus.RCVD,
    PaymentState.AUTHORISED: TransactionStatus.ACTC,
    PaymentState.EXECUTING: TransactionStatus.ACSP,
    PaymentState.SETTLED: TransactionStatus.ACSC,
    PaymentState.REJECTED: TransactionStatus.RJCT,
    PaymentState.FAILED: TransactionStatus.RJCT,
    PaymentState.EXPIRED: TransactionStatus.RJCT,
    PaymentState.CANCELLED: TransactionStatus.CANC,
}
