"""The consent page: the bank's side of its OAuth authorisation server for UK Open Banking
(``openbanking_intent_id`` = the ConsentId), as ``auth.oauth.IntentApproval``.

The page shows who asks (the TPP), the payee, amount and reference (and, for a scheduled
payment, the date and time it executes), and the account to pay from. When the consent
names its debtor account, the PSU signs in for its holder and approves or denies on one
page. When it names none, the PSU first signs in, then chooses among their own accounts in
the payment's currency (the digest §1.3 step 4): before that the page lists no account, so
it tells nobody which accounts the bank holds. Approving checks the password (not for a
headless decision, nor once signed in), and authorises the consent; denying rejects it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney
from tpsim.core.bank import Account
from tpsim.errors import LoginRefused
from tpsim.obie.bank import ObieBank
from tpsim.obie.errors import InvalidConsentStatus, NotFound, ObieError
from tpsim.obie.resources import Consent
from tpsim.obie.states import ConsentState

MAX_SHOWN = 20  # accounts offered for a consent that names none
T = TypeVar("T")


class ObieApproval:
    """``IntentApproval`` (a ``SigningInApproval``) over ``bank``'s consents; ``names``
    gives a TPP's name by its client_id (its client_id is shown otherwise)."""

    def __init__(self, bank: ObieBank, names: Mapping[str, str]) -> None:
        self._bank, self._names = bank, dict(names)

    def client_of(self, intent_id: str) -> str | None:
        found = self._bank.consents.get(intent_id)
        return None if found is None else found.tpp

    def view(self, intent_id: str) -> PsuView:
        consent = self._consent(intent_id)
        closed = None
        if consent.state is not ConsentState.AWAITING:
            word = self._bank.status_word(consent)
            closed = f"this consent is {word}: there is nothing to approve"
        account = self._named(consent)
        return self._page(
            consent,
            account.owner if account is not None else "",
            () if account is None else (account,),
            closed=closed,
            sign_in_first=consent.order.debtor is None,
        )

    def sign_in(self, intent_id: str, user: str, password: str) -> PsuView:
        """The page after ``user`` signed in: their accounts that can pay the consent (in
        its currency), of which they choose one."""
        consent = self._consent(intent_id)
        held = self._decided(lambda: self._bank.sign_in(intent_id, user, password))
        if not held:
            raise LoginRefused(
                f"you hold no {consent.order.currency} account at {self._bank.fsp_id}: deny"
                " the payment, or ask the payee for another currency",
                http_status=400,
            )
        return self._page(consent, user, held[:MAX_SHOWN])

    def _page(
        self,
        consent: Consent,
        user_id: str,
        accounts: Sequence[Account],
        *,
        closed: str | None = None,
        sign_in_first: bool = False,
    ) -> PsuView:
        """The page of ``consent`` for ``user_id`` ("" before anyone signed in), offering
        ``accounts`` to pay from."""
        person = self._bank.bank.user(self._bank.fsp_id, user_id) if user_id else None
        named = consent.order.debtor is not None
        return PsuView(
            bank=self._bank.fsp_id,
            requester=self._names.get(consent.tpp, consent.tpp),
            purpose=f"asks you to approve a payment of {_what(consent)}.",
            user_id=user_id,
            user_name=(person.name if person and person.name else user_id),
            accounts=tuple(self._shown(a) for a in accounts),
            accounts_legend="From account" if named else "Pay from (choose one)",
            closed=closed,
            choose_one=True,
            sign_in_first=sign_in_first,
        )

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str:
        if len(accounts) > 1:
            raise LoginRefused("choose one account to pay from", http_status=400)
        consent = self._decided(lambda: self._bank.approve(intent_id, user, password, accounts))
        assert consent.psu is not None  # noqa: S101 - an authorised consent has its PSU
        return consent.psu

    def deny(self, intent_id: str) -> None:
        self._decided(lambda: self._bank.deny(intent_id))

    def _consent(self, intent_id: str) -> Consent:
        found = self._bank.consents.get(intent_id)
        if found is None:
            raise UnknownJourney("consent", f"{self._bank.fsp_id} has no consent {intent_id}")
        return self._bank.fresh(found)

    def _decided(self, decide: Callable[[], T]) -> T:
        """The decision (or sign-in), or what the page shows instead (a wrong password
        passes as is)."""
        try:
            return decide()
        except NotFound as exc:
            raise UnknownJourney("consent", exc.message) from None
        except InvalidConsentStatus as exc:
            raise LoginRefused(exc.message, http_status=409) from None
        except ObieError as exc:
            raise LoginRefused(exc.message, http_status=400) from None

    def _named(self, consent: Consent) -> Account | None:
        """The debtor account the consent names, if any."""
        if consent.order.debtor is None:
            return None
        return self._bank.bank.accounts.find(consent.order.debtor.identification)

    def _shown(self, account: Account) -> PsuAccount:
        """An account on the page, with its balance: the one the consent names (its holder
        signs in on this page), or one of the signed-in PSU's own."""
        named = account.sort_code_account_number or account.iban or account.address
        available = self._bank.bank.ledger.available(account.address)
        return PsuAccount(
            value=account.address,
            label=f"{account.nickname} ({named})",
            detail=f"{account.currency}, {available} available",
        )


def _what(consent: Consent) -> str:
    order = consent.order
    name = order.creditor.name or order.creditor.identification
    what = f"{order.amount_text} {order.currency} to {name} ({order.creditor.identification})"
    if order.reference:
        what += f", reference “{order.reference}”"
    if order.execute_at is not None:
        what += f", on {order.execute_at.strftime('%Y-%m-%d at %H:%M')} UTC"
    return what
