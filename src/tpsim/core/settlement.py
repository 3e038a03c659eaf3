"""The settlement port: "move this amount from my bank to that account at another bank".

A payment whose creditor is at another simulated (or external) bank cannot settle inside
the debtor's bank. Once it is EXECUTING (its debit reserved, ``core.payment``), the
dialect that took it hands a ``SettlementRequest`` to a ``Settlement``; the outcome comes
back later as a ``SettlementResult``, which ``Payments.conclude`` applies (settled: the
reservation is committed; anything else: the payment fails and the funds go back).

``submit`` only accepts the request and returns at once: core is synchronous and sans-IO,
so the port implementation does its own I/O. The Mojaloop package implements it through
tpsim's switch, as a DFSP would: ``POST /quotes`` to ``to_bank`` naming the creditor (an
MSISDN, an IBAN or an account address; the creditor's bank resolves it among its parties
and accounts), then ``POST /transfers`` with the quote's condition; ``PUT /transfers/{ID}``
COMMITTED is ``SETTLED``, an error callback, ABORTED or no answer by the deadline is
``FAILED`` with the reason. ``serve/`` builds that implementation and hands it to the
dialects that need one, so no dialect imports another.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SettlementRequest:
    """Move ``amount`` ``currency`` for payment ``intent_id`` from ``debtor`` (an account
    of ``from_bank``) to ``creditor`` (an address or alias) at ``to_bank``."""

    intent_id: str
    from_bank: str
    debtor: str
    to_bank: str
    creditor: str
    amount: Decimal
    currency: str


class SettlementOutcome(StrEnum):
    SETTLED = "SETTLED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class SettlementResult:
    """How the settlement of ``intent_id`` ended; ``reason`` says why one failed."""

    intent_id: str
    outcome: SettlementOutcome
    reason: str = ""


class Settlement(Protocol):
    """Moves money to another bank; reports each outcome later as a ``SettlementResult``."""

    def submit(self, request: SettlementRequest) -> None: ...
