"""The core ledger's invariants, read from the one ``Bank`` behind every dialect: money
conserved per currency (what left the scheme for accounts nobody simulates counted), no
balance below its reservations (but a bank's own fee account, below zero when its
commissions paid exceed its fees earned), no reservation held by an intent that ended, no
intent debited twice; and, once nothing is under way, no hold open and nothing executing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from tpsim.core.bank import BANK_OWNER, Bank
from tpsim.core.ledger import PostingKind
from tpsim.core.payment import PaymentIntent
from tpsim.core.states import PaymentState


def totals(bank: Bank) -> dict[str, Decimal]:
    """The booked balances of every account, summed per currency."""
    found: dict[str, Decimal] = defaultdict(Decimal)
    for account in bank.accounts.values():
        found[account.currency] += bank.ledger.balance(account.address)
    return dict(found)


def intents(bank: Bank) -> list[PaymentIntent]:
    """Every core payment intent the store still keeps (all dialects)."""
    return [r for r in bank.store.records("intent") if isinstance(r, PaymentIntent)]


def commits(bank: Bank) -> Counter[str]:
    """How many times each ``ref`` (an intent's id) had a hold spent."""
    return Counter(p.ref for p in bank.ledger.postings() if p.kind is PostingKind.COMMIT)


def ledger_problems(bank: Bank, opening: dict[str, Decimal], left: dict[str, Decimal]) -> list[str]:
    """What breaks the ledger's invariants now (the module docstring): ``opening`` the
    totals per currency at the start, ``left`` what has since been paid to accounts
    outside tpsim."""
    found: list[str] = []
    now = totals(bank)
    for currency, total in opening.items():
        gone = left.get(currency, Decimal(0))
        if now.get(currency, Decimal(0)) + gone != total:
            found.append(
                f"{currency}: the balances sum to {now.get(currency)} and {gone} left the"
                f" scheme, but {total} was there at the start"
            )
    for account in bank.accounts.values():
        balance, held = bank.ledger.balance(account.address), bank.ledger.reserved(account.address)
        overdrawn = balance < held and account.owner != BANK_OWNER
        if held < 0 or overdrawn:
            found.append(f"{account.address}: balance {balance}, reserved {held}")
    open_holds = {r.seq for r in bank.ledger.reservations()}
    for intent in intents(bank):
        hold = intent.reservation
        if intent.finalised and hold is not None and hold.seq in open_holds:
            found.append(f"intent {intent.intent_id} is {intent.state.value} and holds {hold}")
    found += [f"{ref}: debited {n} times" for ref, n in commits(bank).items() if n > 1]
    return found


def quiet_problems(bank: Bank) -> list[str]:
    """What must hold once nothing is under way (every participant simulated, the router
    drained): no hold left open, no intent still executing."""
    found = [f"a hold is still open: {r}" for r in bank.ledger.reservations()]
    found += [
        f"intent {i.intent_id} is still EXECUTING"
        for i in intents(bank)
        if i.state is PaymentState.EXECUTING
    ]
    return found
