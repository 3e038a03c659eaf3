"""What a STET bank keeps: payment requests, in neutral terms beside the body as sent.

A payment request (``PaymentRequest``) is what the PISP asked: its ``Order`` (read once
from the wire by ``stet.reading``), the body as the model read it (``wire``, given back on
every GET with the statuses filled in), the approach the bank applied, its own state
(``stet.states``) and, once the PSU approved, the debtor account and the PSU. Approving
receives one core payment intent per instruction (``intent_id(i)``), which execution
moves. Records in the bank's store, replaced whole on each change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from tpsim.core.rules import Outcome
from tpsim.stet.states import Approach, RequestState, Why


@dataclass(frozen=True, slots=True)
class Instruction:
    """One ``creditTransferTransaction``."""

    instruction_id: str
    end_to_end_id: str
    amount: Decimal
    amount_text: str  # as the PISP spelled it (rules match on it)
    currency: str
    creditor: str  # the creditor account's IBAN (or other identification)
    creditor_name: str
    execution_at: datetime  # its requestedExecutionDate, else the request's
    remittance: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    payment_information_id: str
    debtor: str | None  # the debtorAccount's IBAN; None: the PSU chooses at the bank
    instructions: tuple[Instruction, ...]
    approaches: tuple[Approach, ...]  # acceptedAuthenticationApproach, in the PISP's order
    successful_url: str
    unsuccessful_url: str | None

    @property
    def currency(self) -> str:
        return self.instructions[0].currency

    @property
    def report_urls(self) -> tuple[str, str | None]:
        return self.successful_url, self.unsuccessful_url

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.instructions), Decimal(0))


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an instruction was rejected (``statusReasonInformation``)."""

    why: Why
    text: str


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    resource_id: str
    tpp: str  # the client_id that created it
    order: Order
    wire: dict[str, Any]  # the PaymentRequestResource as read (no read-only members)
    approach: Approach
    created_at: datetime
    status_at: datetime
    expires_at: datetime  # an unanswered approval (or confirmation) ends RJCT / NOAS then
    state: RequestState = RequestState.AWAITING
    reason: Why | None = None  # with RJCT
    reason_text: str | None = None
    debtor: str | None = None  # the debtor account's address, once known
    psu: str | None = None  # who approved
    attempts: int = 0  # wrong passwords or factors
    rule: str | None = None  # the rule that decides its outcome
    verdict: Outcome | None = None
    # Per instruction (by index): cancelled before execution, rejected by execution, and
    # the status each ended with (outlives its core intent after the retention).
    cancelled: frozenset[int] = frozenset()
    rejections: dict[int, Rejection] = field(default_factory=dict)
    finals: dict[int, str] = field(default_factory=dict)

    @property
    def amount_due(self) -> Decimal:
        """What the PSU approves: the instructions not cancelled."""
        return sum(
            (i.amount for n, i in enumerate(self.order.instructions) if n not in self.cancelled),
            Decimal(0),
        )

    def intent_id(self, index: int) -> str:
        return f"{self.resource_id}-{index}"

    @property
    def report_failure_url(self) -> str:
        """Where the PSU goes back after a refusal (the digest §3.2: the successful URL
        when the PISP gave no unsuccessful one)."""
        return self.order.unsuccessful_url or self.order.successful_url

    def with_rejection(self, index: int, rejection: Rejection) -> PaymentRequest:
        return replace(self, rejections={**self.rejections, index: rejection})
