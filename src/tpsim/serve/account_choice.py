"""Which account a PSU's headless choice may name, one rule wherever it is made: the admin
decision's ``account`` (``serve.admin_psd2``), ``sim_account`` on a bank's ``/authorize``
(``serve.oauth``) and on its PSU pages (``page_choice``). A bank that paid from the
account it had instead would leave the one who chose believing their choice was taken.

Each dialect's ``…_choice(sim, fsp_id, intent_id)`` finds what its intent allows (None: no
such intent here; its own checks refuse it). A dialect's modules are not imported here:
only its objects are looked into, once it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tpsim.core.bank import Account, Bank
from tpsim.errors import LoginRefused
from tpsim.serve.simulation import Simulation

# (the simulation, fspId, the intent's id) → what its account may be, or None.
ChoiceFinder = Callable[[Simulation, str, str], "AccountChoice | None"]


@dataclass(frozen=True, slots=True)
class AccountChoice:
    """What a decision's account may be, the same in every dialect: the debtor account the
    payment names (``named``, as it names it), else one of the PSU's accounts at bank
    ``fsp_id`` in ``currency``. Checked before anything is decided."""

    bank: Bank
    fsp_id: str
    currency: str
    named: str | None

    def refusal(self, psu: str | None, account: str | None, field: str = "account") -> str | None:
        """Why ``account`` (sent as ``field``) may not pay, saying which accounts ``psu``
        may pick, or None: no account given, or one that may pay. A PSU who holds no
        account here (a sandbox persona signing in for the holder) is left to the bank's
        rules, as at its page."""
        if account is None:
            return None
        chosen = self.bank.accounts.find(account)
        given = f"{field} {account[:60]!r}"
        if self.named is not None:
            debtor = self.bank.accounts.find(self.named)
            if chosen is not None and chosen == debtor:
                return None
            return (
                f"{given} is not the debtor account the payment names,"
                f" {self._shown([debtor] if debtor else [])}: repeat it or leave {field} out"
            )
        if psu:
            if not self.bank.accounts.held_by(self.fsp_id, psu):
                # A persona signs in for the holder: the bank's rules decide, as at its page.
                return None if chosen is not None else self._none_fits(given, psu)
            owner = psu
        elif chosen is not None:
            owner = chosen.owner  # who approves when the decision names no PSU
        else:
            return self._none_fits(given, "the PSU")
        fitting = self._fitting(owner)
        if chosen in fitting:
            return None
        if not fitting:
            return self._none_fits(given, owner)
        return (
            f"{given} is not one of {owner}'s {self.currency} accounts at"
            f" {self.fsp_id}: pick one of {self._shown(fitting)}"
        )

    def _none_fits(self, given: str, who: str) -> str:
        return (
            f"{given} is no {self.currency} account at {self.fsp_id} that {who} may"
            f" pay from: name one of the PSU's {self.currency} accounts there"
        )

    def _fitting(self, owner: str) -> list[Account]:
        held = self.bank.accounts.held_by(self.fsp_id, owner)
        return [a for a in held if a.currency == self.currency]

    @staticmethod
    def _shown(accounts: list[Account]) -> str:
        return ", ".join(
            f"{alias} ({a.address})"
            if (alias := a.sort_code_account_number or a.iban)
            else a.address
            for a in accounts
        )


def page_choice(
    query: Mapping[str, str], choice: AccountChoice | None
) -> tuple[str | None, str | None]:
    """A PSU page's headless ``sim_psu`` and ``sim_account`` (blank: none), once ``choice``
    (None: nothing to check, as for a denial) takes the account; else ``LoginRefused`` (400,
    the page's refusal of its own input) before anything is decided."""
    psu, account = query.get("sim_psu"), query.get("sim_account") or None
    refused = None if choice is None else choice.refusal(psu, account, "sim_account")
    if refused is not None:
        raise LoginRefused(refused, http_status=400)
    return psu, account


def xs2a_choice(sim: Simulation, fsp_id: str, payment_id: str) -> AccountChoice | None:
    """An XS2A payment's: it always names its debtor account."""
    api = sim.psd2.xs2a.get(fsp_id)
    payment = None if api is None else api.bank.payments.get(payment_id)
    if api is None or payment is None:
        return None
    return AccountChoice(api.bank.bank, fsp_id, payment.order.currency, payment.debtor)


def uk_choice(sim: Simulation, fsp_id: str, consent_id: str) -> AccountChoice | None:
    """A UK consent's: its DebtorAccount, if it names one."""
    api = sim.psd2.obie.get(fsp_id)
    consent = None if api is None else api.bank.consents.get(consent_id)
    if api is None or consent is None:
        return None
    order = consent.order
    named = None if order.debtor is None else order.debtor.identification
    return AccountChoice(api.bank.bank, fsp_id, order.currency, named)


def stet_choice(sim: Simulation, fsp_id: str, resource_id: str) -> AccountChoice | None:
    """A STET payment request's: its debtorAccount, if it names one."""
    api = sim.psd2.stet.get(fsp_id)
    request = None if api is None else api.bank.requests.get(resource_id)
    if api is None or request is None:
        return None
    order = request.order
    return AccountChoice(api.bank.bank, fsp_id, order.currency, order.debtor)
