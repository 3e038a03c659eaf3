"""Moving an authorised intent's money, once for every dialect.

An XS2A payment (each part of a bulk, each execution of a standing order) and a UK
domestic payment take the same steps once their intent is AUTHORISED:

    a rule's reject            → the intent is rejected             REJECTED (by_rule)
    a creditor account of a simulated bank in another currency
                               → rejected before any money moves   REJECTED
    ``Payments.execute``       → the debit reserved, or             REJECTED (funds: False)
                                 InsufficientFunds rejects it, or
                                 another ledger refusal does        REJECTED (funds: None)
    the creditor is at another simulated bank and a settlement port is given
                               → the request is submitted           IN_PROCESS
                                 or, refused at once, fails it
                                 and the hold is released           REJECTED
    otherwise the debit is committed (``settle``), and a creditor at the same bank is
    credited at once           →                                    CREDITED
    a creditor outside tpsim (or a rule's SETTLED_DEBTOR) only sees the money leave
                               →                                    DEBITED

Whatever refuses part-way ends the intent, its money untouched: a dialect that took the
payment (a UK consent consumed by it) always has a final status to show, never one stuck
executing with its debit held and no settlement under way.

Each dialect words the ``Executed`` it gets back in its own status (XS2A ACSP / ACSC /
ACCC / RJCT, UK AcceptedSettlementInProcess / …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tpsim.core.bank import Account, Bank
from tpsim.core.errors import BankRefused, InsufficientFunds, TpsimError
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.rules import Outcome, Reason, Status
from tpsim.core.settlement import Settlement, SettlementRequest

# The furthest ahead of the bank's date a payment may be dated: a year, a leap year's 366
# days. A later date would keep a request pending (and its PISP waiting) for ever.
MAX_DAYS_AHEAD = 366


class Execution(StrEnum):
    """Where executing an intent left it."""

    IN_PROCESS = "IN_PROCESS"  # debit reserved; the settlement port pays the other bank
    DEBITED = "DEBITED"  # settled; the creditor is outside tpsim (or a rule stopped there)
    CREDITED = "CREDITED"  # settled, and the creditor at the same bank credited
    REJECTED = "REJECTED"  # a rule's reject, the funds, the ledger or the port refused it


@dataclass(frozen=True, slots=True)
class Executed:
    """The outcome of ``execute``. When REJECTED: ``reason`` why, ``text`` in words (the
    rule's own text or its reason, or the ledger's refusal) and ``by_rule`` whether a rule
    decided it. ``funds``: whether the debtor's funds covered the payment (None when a rule
    rejected it for another reason, so nobody looked)."""

    outcome: Execution
    reason: Reason | None = None
    text: str = ""
    by_rule: bool = False
    funds: bool | None = True


def execute(
    bank: Bank,
    intent_id: str,
    *,
    own_bank: str,
    settlement: Settlement | None,
    verdict: Outcome | None,
    at: datetime,
) -> Executed:
    """Move the money of the AUTHORISED intent ``intent_id`` of the bank ``own_bank`` (see
    the module docstring), as the rule ``verdict`` (None: no rule) says; ``settlement``
    pays creditors at other simulated banks (None: such a payment is only DEBITED)."""
    if verdict is not None and verdict.reject is not None:
        bank.payments.end(intent_id, PaymentEvent.REJECT, at=at)
        funds = False if verdict.reject is Reason.INSUFFICIENT_FUNDS else None
        text = verdict.text or verdict.reject.value
        return Executed(Execution.REJECTED, verdict.reject, text, by_rule=True, funds=funds)
    creditor = bank.accounts.find(bank.payments.get(intent_id).creditor)
    currency = bank.payments.get(intent_id).currency
    if creditor is not None and creditor.currency != currency:  # before any money moves
        bank.payments.end(intent_id, PaymentEvent.REJECT, at=at)
        text = f"the creditor account is held in {creditor.currency}, not {currency}"
        return Executed(Execution.REJECTED, Reason.REJECTED, text, funds=None)
    try:
        intent = bank.payments.execute(intent_id, at=at)
    except InsufficientFunds as exc:
        bank.payments.end(intent_id, PaymentEvent.REJECT, at=at)
        reason = Reason.INSUFFICIENT_FUNDS
        return Executed(Execution.REJECTED, reason, f"insufficient funds: {exc}", funds=False)
    except BankRefused as exc:  # the ledger refused the debtor account: nothing reserved
        bank.payments.end(intent_id, PaymentEvent.REJECT, at=at)
        return Executed(Execution.REJECTED, Reason.REJECTED, f"refused: {exc}", funds=None)
    creditor = bank.accounts.find(intent.creditor)
    if verdict is not None and verdict.status is Status.SETTLED_DEBTOR:
        creditor = None  # the money leaves the debtor's account, and goes no further
    if creditor is not None and creditor.fsp_id != own_bank and settlement is not None:
        try:
            settlement.submit(settlement_request(intent, own_bank, creditor))
        except TpsimError as exc:  # the port would not start: no settlement will end it
            bank.payments.end(intent_id, PaymentEvent.FAIL, at=at)
            return Executed(Execution.REJECTED, Reason.REJECTED, f"settlement refused: {exc}")
        return Executed(Execution.IN_PROCESS)
    bank.payments.settle(intent_id, at=at)
    if creditor is None or creditor.fsp_id != own_bank:
        return Executed(Execution.DEBITED)
    bank.ledger.credit(
        creditor.address, intent.amount, currency=intent.currency, ref=intent_id, at=at
    )
    return Executed(Execution.CREDITED)


def settlement_request(
    intent: PaymentIntent, own_bank: str, creditor: Account
) -> SettlementRequest:
    """What the settlement port is asked for ``intent``: the creditor named by its
    address, which every bank resolves (a UK sort code + account number would read as an
    MSISDN otherwise)."""
    return SettlementRequest(
        intent_id=intent.intent_id,
        from_bank=own_bank,
        debtor=intent.debtor,
        to_bank=creditor.fsp_id,
        creditor=f"ACCOUNT_ID {creditor.address}",
        amount=intent.amount,
        currency=intent.currency,
    )
