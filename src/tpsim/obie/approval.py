"""The consent page: the bank's side of its OAuth authorisation server for UK Open Banking
(``openbanking_intent_id`` = the ConsentId), as ``auth.oauth.IntentApproval``.

The page shows who asks (the TPP), the payee, amount and reference, and the account to pay
from: the consent's own, or (when it names none) the bank's accounts in the payment's
currency, of which the PSU chooses one. Approving checks the password of the account's
holder (not for a headless decision), and authorises the consent; denying rejects it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney
from tpsim.core.bank import Account
from tpsim.errors import LoginRefused
from tpsim.obie.bank import ObieBank
from tpsim.obie.errors import InvalidConsentStatus, NotFound, ObieError
from tpsim.obie.resources import Consent
from tpsim.obie.states import ConsentState

MAX_SHOWN = 20  # accounts offered for a consent that names none


class ObieApproval:
    """``IntentApproval`` over ``bank``'s consents; ``names`` gives a TPP's name by its
    client_id (its client_id is shown otherwise)."""

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
        accounts = self._accounts(consent)
        owner = accounts[0].owner if consent.order.debtor is not None and accounts else None
        user = self._bank.bank.user(self._bank.fsp_id, owner) if owner else None
        return PsuView(
            bank=self._bank.fsp_id,
            requester=self._names.get(consent.tpp, consent.tpp),
            purpose=f"asks you to approve a payment of {_what(consent)}.",
            user_id=owner or "the holder of the account you choose",
            user_name=(user.name if user and user.name else owner or "Account holder"),
            accounts=tuple(self._shown(a, balance=owner is not None) for a in accounts[:MAX_SHOWN]),
            accounts_legend="From account" if owner else "Pay from (choose one)",
            closed=closed,
            choose_one=True,
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

    def _decided(self, decide: Callable[[], Consent]) -> Consent:
        """The decision, or what the page shows instead (a wrong password passes as is)."""
        try:
            return decide()
        except NotFound as exc:
            raise UnknownJourney("consent", exc.message) from None
        except InvalidConsentStatus as exc:
            raise LoginRefused(exc.message, http_status=409) from None
        except ObieError as exc:
            raise LoginRefused(exc.message, http_status=400) from None

    def _accounts(self, consent: Consent) -> list[Account]:
        """The account the consent names, or the bank's accounts it could be paid from."""
        bank = self._bank.bank
        if consent.order.debtor is not None:
            found = bank.accounts.find(consent.order.debtor.identification)
            return [] if found is None else [found]
        return [
            bank.accounts[address]
            for address in bank.accounts
            if bank.accounts[address].fsp_id == self._bank.fsp_id
            and bank.accounts[address].currency == consent.order.currency
        ]

    def _shown(self, account: Account, *, balance: bool) -> PsuAccount:
        """An account on the page; its balance only when the consent named it (a choice
        is shown before anyone has signed in: no balances of the bank's customers)."""
        named = account.sort_code_account_number or account.iban or account.address
        detail = account.currency
        if balance:
            detail += f", {self._bank.bank.ledger.available(account.address)} available"
        return PsuAccount(
            value=account.address, label=f"{account.nickname} ({named})", detail=detail
        )


def _what(consent: Consent) -> str:
    order = consent.order
    name = order.creditor.name or order.creditor.identification
    what = f"{order.amount_text} {order.currency} to {name} ({order.creditor.identification})"
    if order.reference:
        what += f", reference “{order.reference}”"
    return what
