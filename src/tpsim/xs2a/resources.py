"""What an XS2A bank keeps: payment resources and their authorisation sub-resources.

A payment resource (``Xs2aPayment``) is what the TPP initiated, as the spec names it
(service, product, ``paymentId``), over one core payment intent per money movement
(``parts``: the payment's own id for a single payment; one per bulk entry or periodic
execution). An authorisation (``Authorisation``) is one SCA sub-resource of a payment, for
its initiation or its cancellation, with its ``scaStatus`` (``xs2a.states``). Both are
records in the bank's store (``core.records``), replaced whole on each change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tpsim.core.records import evolvable
from tpsim.core.rules import Outcome
from tpsim.xs2a.states import ScaStatus


class Approach(StrEnum):
    """The SCA approaches: OAUTH is REDIRECT on the wire (``ASPSP-SCA-Approach``)."""

    REDIRECT = "REDIRECT"
    OAUTH = "OAUTH"
    EMBEDDED = "EMBEDDED"
    DECOUPLED = "DECOUPLED"

    @property
    def header(self) -> str:
        return "REDIRECT" if self is Approach.OAUTH else self.value


class Service(StrEnum):
    PAYMENTS = "payments"
    PERIODIC = "periodic-payments"
    BULK = "bulk-payments"


@dataclass(frozen=True, slots=True)
class Transfer:
    """One money movement a payment orders: ``amount`` to ``creditor_iban``."""

    creditor_iban: str
    creditor_name: str
    amount: Decimal
    currency: str
    end_to_end_id: str | None = None
    remittance: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A periodic payment's schedule (``frequency`` as the spec spells it)."""

    start: date
    frequency: str
    end: date | None = None
    day_of_execution: int | None = None
    execution_rule: str | None = None
    months: tuple[int, ...] = ()  # MonthlyVariable: the months (1-12) it executes in


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    """A payment as the TPP ordered it, in neutral terms: the edge builds it from the wire
    model, and keeps the wire ``body`` for ``GET``."""

    debtor_iban: str
    transfers: tuple[Transfer, ...]
    body: dict[str, Any]
    execution_date: date | None = None
    batch_booking: bool = False
    schedule: Schedule | None = None

    @property
    def currency(self) -> str:
        return self.transfers[0].currency


@dataclass(frozen=True, slots=True)
class TppRequest:
    """What the TPP's headers say about how it wants the payment handled."""

    tpp: str  # the TPP's client_id
    tpp_name: str
    psu_id: str | None = None
    redirect_uri: str | None = None
    nok_redirect_uri: str | None = None
    redirect_preferred: bool | None = None
    decoupled_preferred: bool | None = None
    explicit_preferred: bool | None = None
    reject_no_funds: bool | None = None


@evolvable  # kept in --state files: fields added since read back at their defaults
@dataclass(frozen=True, slots=True)
class Xs2aPayment:
    payment_id: str
    service: Service
    product: str
    bank: str
    tpp: TppRequest
    order: PaymentOrder
    debtor: str  # the debtor account's address
    owner: str  # the user who holds it: the PSU who must authorise
    approach: Approach
    created_at: datetime
    parts: tuple[str, ...]
    authorisations: tuple[str, ...] = ()
    cancellations: tuple[str, ...] = ()
    funds_available: bool | None = None
    reason: str | None = None  # why it was rejected, in neutral words
    rule: str | None = None  # the rule that decides its outcome, if any (``core.rules``)
    verdict: Outcome | None = None  # what that rule says happens when it executes
    held: str | None = None  # a status a rule stopped it in (ACCP, PDNG) instead of executing
    executed: tuple[date, ...] = ()  # a periodic payment's execution dates so far
    stopped: bool = False  # a periodic payment cancelled: no execution any more
    # The TPP asked to cancel it and the bank wants that authorised (DELETE answered 202):
    # only then may a cancellation authorisation start.
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class Authorisation:
    authorisation_id: str
    payment_id: str
    cancellation: bool
    approach: Approach
    created_at: datetime
    expires_at: datetime
    sca_status: ScaStatus = ScaStatus.RECEIVED
    psu_id: str | None = None
    method_id: str | None = None
    attempts: int = 0
    link_expires_at: datetime | None = None
    started_at: datetime | None = None  # a decoupled push sent
    confirmation_code: str | None = None
    history: tuple[str, ...] = field(default=())
