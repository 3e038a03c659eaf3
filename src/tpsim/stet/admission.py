"""What a STET bank checks of a payment request before it takes it, sans-IO: the SCA
approach both sides accept, the accounts it names, how far ahead it is dated, and what
its rules see of it."""

from __future__ import annotations

from datetime import datetime, timedelta

from tpsim.config_psd2 import StetProfile
from tpsim.core.bank import Account, Accounts
from tpsim.core.execution import MAX_DAYS_AHEAD
from tpsim.core.rules import Fact, RuleEvent
from tpsim.stet.errors import FieldInvalid
from tpsim.stet.resources import Order
from tpsim.stet.states import Approach


def approach(profile: StetProfile, fsp_id: str, order: Order) -> Approach:
    """The first approach of the bank's preference the PISP accepts."""
    for name in profile.approaches:
        if Approach(name) in order.approaches:
            return Approach(name)
    raise FieldInvalid(
        "supplementaryData.acceptedAuthenticationApproach: "
        f"{fsp_id} applies {', '.join(profile.approaches)}; accept one of them"
    )


def check_creditors(accounts: Accounts, order: Order) -> None:
    """A creditor account tpsim simulates must be held in the payment's currency."""
    for index, instruction in enumerate(order.instructions):
        account = accounts.find(instruction.creditor)
        if account is not None and account.currency != instruction.currency:
            raise FieldInvalid(
                f"creditTransferTransaction[{index}].beneficiary.creditorAccount:"
                f" {instruction.creditor[:60]} is held in {account.currency}, not"
                f" {instruction.currency}: tpsim's banks make no currency conversion"
            )


def check_dates(order: Order, now: datetime) -> None:
    """Refuse an instruction dated more than ``MAX_DAYS_AHEAD`` days after the bank's date
    (a past date executes at once). 400 at creation rather than RJCT / CH03 later: the
    PISP learns at once which member to fix, and no PSU approves a payment never made."""
    furthest = now.date() + timedelta(days=MAX_DAYS_AHEAD)
    for index, instruction in enumerate(order.instructions):
        if instruction.execution_at.date() > furthest:
            raise FieldInvalid(
                f"creditTransferTransaction[{index}].requestedExecutionDate:"
                f" {instruction.execution_at.date()} is over {MAX_DAYS_AHEAD} days ahead;"
                f" give {furthest} or earlier"
            )


def debtor_account(
    accounts: Accounts, fsp_id: str, order: Order, name: str, where: str | None
) -> Account:
    """The debtor account ``name`` (an alias or address; ``where`` the member that named
    it, None when chosen at the bank), held at bank ``fsp_id`` in the order's currency."""
    account = accounts.find(name)
    member = f"{where}: " if where else ""
    if account is None or account.fsp_id != fsp_id:
        raise FieldInvalid(
            f"{member}{name[:60]} is not an account of {fsp_id}: the debtor account"
            " is held at the bank the payment request is sent to"
        )
    if account.currency != order.currency:
        raise FieldInvalid(
            f"{member}the debtor account is held in {account.currency}, not"
            f" {order.currency}: tpsim's banks make no currency conversion"
        )
    return account


def facts(fsp_id: str, tpp: str, order: Order, event: RuleEvent) -> dict[str, str]:
    """What the rules see of a request (``core.rules.Fact``): its first instruction."""
    first = order.instructions[0]
    found = {
        Fact.DIALECT: "stet",
        Fact.EVENT: event.value,
        Fact.BANK: fsp_id,
        Fact.TPP: tpp,
        Fact.CREDITOR: first.creditor,
        Fact.AMOUNT: first.amount_text,
        Fact.CURRENCY: first.currency,
        Fact.END_TO_END_ID: first.end_to_end_id,
    }
    if order.debtor is not None:
        found[Fact.DEBTOR] = order.debtor
    return {str(k): v for k, v in found.items()}
