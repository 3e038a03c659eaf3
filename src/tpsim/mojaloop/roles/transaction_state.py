"""The payer DFSP's Third Party transaction as data: states, events, the transition table.

    QUOTING ─quoted→ AUTHORIZING ─accepted→ VERIFYING ─verified→ TRANSFERRING ─committed→ COMPLETED
    AUTHORIZING ─rejected→ REJECTED;   any live state ─failed→ FAILED

``roles/transactions.py`` drives it; ``roles/machine.next_state`` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tpsim.core.machine import next_state
from tpsim.mojaloop.message import Message


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
    COMMITTED = "committed"
    FAILED = "failed"


TRANSITIONS: dict[tuple[TxState, TxEvent], TxState] = {
    (TxState.QUOTING, TxEvent.QUOTED): TxState.AUTHORIZING,
    (TxState.QUOTING, TxEvent.FAILED): TxState.FAILED,
    (TxState.AUTHORIZING, TxEvent.ACCEPTED): TxState.VERIFYING,
    (TxState.AUTHORIZING, TxEvent.REJECTED): TxState.REJECTED,
    (TxState.AUTHORIZING, TxEvent.FAILED): TxState.FAILED,
    (TxState.VERIFYING, TxEvent.VERIFIED): TxState.TRANSFERRING,
    (TxState.VERIFYING, TxEvent.FAILED): TxState.FAILED,
    (TxState.TRANSFERRING, TxEvent.COMMITTED): TxState.COMPLETED,
    (TxState.TRANSFERRING, TxEvent.FAILED): TxState.FAILED,
}
TERMINAL = frozenset({TxState.COMPLETED, TxState.REJECTED, TxState.FAILED})

# What GET /thirdpartyRequests/transactions/{ID} reports for each internal state.
REQUEST_STATE = {
    TxState.QUOTING: "RECEIVED",
    TxState.AUTHORIZING: "PENDING",
    TxState.VERIFYING: "PENDING",
    TxState.TRANSFERRING: "ACCEPTED",
    TxState.COMPLETED: "ACCEPTED",
    TxState.REJECTED: "REJECTED",
    TxState.FAILED: "REJECTED",
}


@dataclass(slots=True)
class Transaction:
    request_id: str
    pisp: str
    request: dict[str, Any]
    transaction_id: str
    state: TxState = TxState.QUOTING
    consent_id: str = ""
    payer_address: str = ""
    quote_id: str = ""
    quote: dict[str, Any] = field(default_factory=dict)
    authorization_id: str = ""
    challenge: str = ""
    verification_id: str = ""
    debited: Decimal = Decimal(0)
    last_callback: Message | None = None

    def advance(self, event: TxEvent) -> None:
        """Apply ``event`` or raise: terminal states are final, unknown moves are refused."""
        self.state = next_state(
            TRANSITIONS, TERMINAL, self.state, event, what=f"transaction request {self.request_id}"
        )
