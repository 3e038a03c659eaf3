"""What a UK bank checks of a payment order, sans-IO: a scheduled payment's date
(``check_date``), the consent's cut-off (``next_cut_off``, ``check_cut_off``), the debtor
account the consent names or the PSU chooses (``debtor_account``, ``chosen_account``),
and what its rules see of it (``facts``). ``obie.bank.ObieBank`` applies them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tpsim.config_psd2 import ObieProfile
from tpsim.core.bank import Account, Bank
from tpsim.core.execution import MAX_DAYS_AHEAD
from tpsim.core.rules import Fact, RuleEvent
from tpsim.obie.errors import AfterCutOff, FieldInvalid, InvalidDate, UnsupportedCurrency
from tpsim.obie.resources import Consent, Order
from tpsim.obie.states import ConsentReason


def check_date(order: Order, now: datetime) -> None:
    """A scheduled payment's ``RequestedExecutionDateTime`` must be ahead of the bank's
    clock, and on a date at most ``MAX_DAYS_AHEAD`` days after today (UTC), as every
    dialect's banks take (a later one would keep the payment waiting for ever):
    otherwise 400 U003 naming it. Checked when the consent is created and again when
    its payment is (the PSU may have taken until after it)."""
    at = order.execute_at
    if at is None:
        return
    path = "Data.Initiation.RequestedExecutionDateTime"
    if at <= now:
        raise InvalidDate(
            f"{path} {at.isoformat()} is not in the future (the bank's time is"
            f" {now.replace(microsecond=0).isoformat()}): give a later date-time, or"
            " make a domestic payment to pay now",
            path=path,
        )
    latest = now.date() + timedelta(days=MAX_DAYS_AHEAD)
    if at.date() > latest:
        raise InvalidDate(
            f"{path} {at.isoformat()} is over {MAX_DAYS_AHEAD} days ahead of the bank's"
            f" date {now.date()}: give {latest} or earlier",
            path=path,
        )


def next_cut_off(profile: ObieProfile, now: datetime) -> datetime | None:
    """The next cut-off after ``now`` (the profile's daily ``cut_off_time``, UTC)."""
    cut = profile.cut_off
    if cut is None:
        return None
    today = now.replace(hour=cut.hour, minute=cut.minute, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


def check_cut_off(consent: Consent) -> None:
    """``AfterCutOff`` (400 U012) for a consent its cut-off rejected (``fresh``, the
    reject strategy): nothing more may happen to it. A consent consumed before its
    cut-off is not refused here: a second payment on it is told it was consumed."""
    if consent.cut_off is None or consent.reason != ConsentReason.CUT_OFF.value:
        return
    raise AfterCutOff(
        f"the consent's CutOffDateTime {consent.cut_off.isoformat()} has passed: the"
        " bank takes no payment on it; create a new consent",
        path="Data.CutOffDateTime",
    )


def debtor_account(bank: Bank, fsp_id: str, order: Order, name: str, where: str | None) -> Account:
    """The debtor account ``name`` (an alias or address; ``where`` the body member that
    named it, None when the PSU chose it): held at this bank in ``order``'s currency,
    or the error naming the field."""
    account = bank.accounts.find(name)
    if account is None or account.fsp_id != fsp_id:
        raise FieldInvalid(
            f"{name[:60]} is not an account of {fsp_id}: the debtor account must be"
            " held at the bank the consent is created at",
            path=None if where is None else f"{where}.Identification",
        )
    if account.currency != order.currency:
        raise UnsupportedCurrency(
            f"the debtor account is held in {account.currency}, not {order.currency}:"
            " tpsim's banks make no currency conversion",
            path="Data.Initiation.InstructedAmount.Currency",
        )
    return account


def chosen_account(
    bank: Bank, fsp_id: str, consent: Consent, user: str | None, accounts: Sequence[str]
) -> Account:
    """The account the payment debits: the consent's own, else the one chosen, else
    the PSU's only account in the payment's currency."""
    if consent.order.debtor is not None:
        return debtor_account(
            bank, fsp_id, consent.order, consent.order.debtor.identification, None
        )
    if accounts:
        return debtor_account(bank, fsp_id, consent.order, accounts[0], None)
    held = [] if user is None else bank.accounts.held_by(fsp_id, user)
    fitting = [a for a in held if a.currency == consent.order.currency]
    if len(fitting) == 1:
        return fitting[0]
    currency = consent.order.currency
    if not fitting:
        who = "the PSU" if user is None else repr(user[:60])
        raise FieldInvalid(
            f"the consent names no debtor account and {who} holds no {currency} account"
            f" at {fsp_id}: the PSU must sign in and choose one of their own",
            path="DebtorAccount",
        )
    shown = ", ".join(a.sort_code_account_number or a.address for a in fitting)
    raise FieldInvalid(
        f"the consent names no debtor account and {user} holds several {currency}"
        f" accounts at {fsp_id}: choose the account to pay from ({shown})",
        path="DebtorAccount",
    )


def facts(fsp_id: str, tpp: str, order: Order, event: RuleEvent) -> dict[str, str]:
    """What the rules see of a consent (``core.rules.Fact``)."""
    facts = {
        Fact.DIALECT: "obie",
        Fact.EVENT: event.value,
        Fact.BANK: fsp_id,
        Fact.TPP: tpp,
        Fact.CREDITOR: order.creditor.identification,
        Fact.AMOUNT: order.amount_text,
        Fact.CURRENCY: order.currency,
        Fact.END_TO_END_ID: order.end_to_end_id,
    }
    if order.debtor is not None:
        facts[Fact.DEBTOR] = order.debtor.identification
    return {str(k): v for k, v in facts.items()}
