"""What a UK bank keeps: payment-order consents and their payment orders (domestic and
domestic scheduled payments, ``Kind``), and its UK profile.

A consent (``Consent``) is what the TPP asked the PSU to approve: its ``Order`` in neutral
terms (read once from the wire ``Initiation``, which is kept as sent, with the ``Risk``,
so ``POST /domestic-payments`` can be compared with it and every GET can give it back),
its status (``obie.states``) and, once authorised, the debtor account and PSU. Approving
it receives the core payment intent (``intent_id`` = the ConsentId), which the domestic
payment (``DomesticPayment``) executes. Both are records in the bank's store, replaced
whole on each change. A scheduled consent's order carries its ``RequestedExecutionDateTime``
(``Order.execute_at``): its payment waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from tpsim.core.records import evolvable
from tpsim.core.rules import Outcome
from tpsim.obie.states import ConsentState, Kind, PaymentStatus, Step

SORT_CODE = "UK.OBIE.SortCodeAccountNumber"
IBAN = "UK.OBIE.IBAN"
SCHEMES = (SORT_CODE, IBAN)


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account as a UK body names it (``OBCashAccountDebtor4``/``Creditor4``)."""

    scheme: str
    identification: str
    name: str | None = None
    secondary: str | None = None

    def wire(self) -> dict[str, str]:
        found = {"SchemeName": self.scheme, "Identification": self.identification}
        if self.name:
            found["Name"] = self.name
        if self.secondary:
            found["SecondaryIdentification"] = self.secondary
        return found


@evolvable  # kept in --state files: fields added since read back at their defaults
@dataclass(frozen=True, slots=True)
class Order:
    """The payment a consent orders, in neutral terms."""

    instruction_id: str
    end_to_end_id: str
    amount: Decimal
    amount_text: str  # as the TPP spelled it (rules match on it)
    currency: str
    creditor: AccountRef
    debtor: AccountRef | None
    reference: str | None = None
    execute_at: datetime | None = None  # a scheduled payment's RequestedExecutionDateTime


@evolvable  # kept in --state files: fields added since read back at their defaults
@dataclass(frozen=True, slots=True)
class Consent:
    consent_id: str
    version: str  # "3.1" or "4.0": the API it was created through, and is read through
    tpp: str  # the client_id that created it
    order: Order
    initiation: dict[str, Any]  # Data.Initiation as sent
    risk: dict[str, Any]  # Risk as sent
    extras: dict[str, Any]  # the other Data members as sent (Authorisation, …)
    created_at: datetime
    status_at: datetime
    expires_at: datetime
    cut_off: datetime | None = None
    state: ConsentState = ConsentState.AWAITING
    reason: str | None = None  # v4 StatusReasonCode
    reason_text: str | None = None
    debtor: str | None = None  # the debtor account's address, once known
    debtor_ref: AccountRef | None = None  # the same as a UK body names it
    psu: str | None = None  # who authorised it
    attempts: int = 0  # wrong passwords on the consent page
    rule: str | None = None  # the rule that decides the payment's outcome
    verdict: Outcome | None = None
    payment_id: str | None = None  # the payment order that consumed it
    kind: Kind = Kind.DOMESTIC

    @property
    def intent_id(self) -> str:
        return self.consent_id


@evolvable  # kept in --state files: fields added since read back at their defaults
@dataclass(frozen=True, slots=True)
class DomesticPayment:
    payment_id: str
    consent_id: str
    version: str
    tpp: str
    created_at: datetime
    steps: tuple[tuple[Step, datetime], ...] = ()
    reason: str | None = None  # an ISO reason code (AM04…) when rejected
    reason_text: str | None = None
    credited: bool = False  # tpsim credited the creditor (an account of a simulated bank)
    final: PaymentStatus | None = None  # the status it ended in (outlives the core intent)
    kind: Kind = Kind.DOMESTIC  # its consent's

    def stepped(self, step: Step, at: datetime) -> DomesticPayment:
        """This payment with ``step`` reached at ``at`` (once)."""
        if any(s is step for s, _ in self.steps):
            return self
        return replace(self, steps=(*self.steps, (step, at)))
