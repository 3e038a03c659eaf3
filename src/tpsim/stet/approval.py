"""The PSU at the bank: a STET payment request's approval page (REDIRECT), the same
approval for the bank's OAuth server (the o-confirmation variant), and the headless
decision (``sim_decision``).

The page shows who asks (the PISP), what (amount, creditor, reference) and from which
account. When the request names its debtor account, the PSU signs in for its holder and
approves or denies on one page. When it names none (seed 002), the PSU first signs in, then
chooses among their own accounts that can pay it (its currency, the whole amount
available), then approves. The browser then goes back to ``successfulReportUrl`` (a
refusal: ``unsuccessfulReportUrl``, else ``successfulReportUrl``), or, in the
o-confirmation variant, to the PISP's ``redirect_uri`` with the OAuth code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney, WrongPassword
from tpsim.core.bank import Account
from tpsim.errors import LoginRefused
from tpsim.stet.bank import StetBank
from tpsim.stet.errors import NotFound, StatusInvalid, StetError
from tpsim.stet.resources import PaymentRequest
from tpsim.stet.states import Approach, RequestState

T = TypeVar("T")


class StetApproval:
    """``auth.oauth.IntentApproval`` (with sign-in first) over ``bank``'s REDIRECT payment
    requests; ``names`` gives a PISP's name by its client_id. ``via_oauth``: the approval
    of the bank's OAuth server (the o-confirmation variant), else of its own page; each
    shows only the requests approved its way."""

    def __init__(self, bank: StetBank, names: dict[str, str], *, via_oauth: bool) -> None:
        self.bank, self._names, self._via_oauth = bank, names, via_oauth

    def client_of(self, intent_id: str) -> str | None:
        try:
            return self.current(intent_id).tpp
        except UnknownJourney:
            return None

    def view(self, intent_id: str) -> PsuView:
        request = self.current(intent_id)
        closed = None
        if request.state is not RequestState.AWAITING:
            closed = f"this payment request is {self.bank.status(request)}: nothing to approve"
        named = request.order.debtor
        account = self.bank.bank.accounts.find(named) if named else None
        owner = account.owner if account is not None else None
        user = self.bank.bank.user(self.bank.fsp_id, owner) if owner else None
        return PsuView(
            bank=self.bank.fsp_id,
            requester=self._names.get(request.tpp, request.tpp),
            purpose=f"asks you to approve a payment of {_what(request)}.",
            user_id=owner or "",
            user_name=(user.name if user and user.name else owner or ""),
            accounts=() if account is None else (self._shown(account),),
            accounts_legend="From account" if account else "Pay from (choose one)",
            closed=closed,
            choose_one=True,
            sign_in_first=account is None,
        )

    def sign_in(self, intent_id: str, user: str, password: str) -> PsuView:
        """The page after ``user`` signed in: their accounts that can pay."""
        self.current(intent_id)
        fitting = self._decided(lambda: self.bank.sign_in(intent_id, user, password))
        request = self.current(intent_id)
        if not fitting:
            raise LoginRefused(
                f"you hold no {request.order.currency} account at {self.bank.fsp_id} with"
                f" {request.amount_due} {request.order.currency} available: deny the payment,"
                " or pay it in again later",
                http_status=400,
            )
        person = self.bank.bank.user(self.bank.fsp_id, user)
        return PsuView(
            bank=self.bank.fsp_id,
            requester=self._names.get(request.tpp, request.tpp),
            purpose=f"asks you to approve a payment of {_what(request)}.",
            user_id=user,
            user_name=(person.name if person and person.name else user),
            accounts=tuple(self._shown(a) for a in fitting),
            accounts_legend="Pay from (accounts that can pay it)",
            choose_one=True,
        )

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str:
        """Approve as ``user`` (``password`` None: signed in already, or headless) from the
        chosen account: the PSU's id."""
        if len(accounts) > 1:
            raise LoginRefused("choose one account to pay from", http_status=400)
        chosen = accounts[0] if accounts else None
        self.current(intent_id)
        request = self._decided(lambda: self.bank.approve(intent_id, user, password, chosen))
        assert request.psu is not None  # noqa: S101 - an approved request has its PSU
        return request.psu

    def deny(self, intent_id: str) -> None:
        self.current(intent_id)
        self._decided(lambda: self.bank.deny(intent_id))

    def current(self, intent_id: str) -> PaymentRequest:
        """The payment request ``intent_id`` as the clock finds it, or ``UnknownJourney``."""
        found = self.bank.requests.get(intent_id)
        ours = self._via_oauth == self.bank.profile.o_confirmation
        if found is None or found.approach is not Approach.REDIRECT or not ours:
            raise UnknownJourney(
                "payment request",
                f"{self.bank.fsp_id} has no payment request {intent_id[:64]} approved here",
            )
        return self.bank.fresh(found)

    def _decided(self, decide: Callable[[], T]) -> T:
        """The decision, or what the page shows instead (a wrong password passes as is)."""
        try:
            return decide()
        except NotFound as exc:
            raise UnknownJourney("payment request", exc.message) from None
        except StatusInvalid as exc:
            raise LoginRefused(exc.message, http_status=409) from None
        except StetError as exc:
            raise LoginRefused(exc.message, http_status=400) from None

    def _shown(self, account: Account) -> PsuAccount:
        available = self.bank.bank.ledger.available(account.address)
        return PsuAccount(
            value=account.address,
            label=f"{account.nickname} ({account.iban or account.address})",
            detail=f"{account.currency}, {available} available",
        )


class RedirectJourney:
    """The page of one REDIRECT payment request (``auth.psu.SigningInJourney``): the
    browser goes back to the PISP's report URLs."""

    def __init__(self, approval: StetApproval, resource_id: str) -> None:
        self._approval, self._id = approval, resource_id

    def _request(self) -> PaymentRequest:
        return self._approval.current(self._id)

    def view(self) -> PsuView:
        self._request()
        return self._approval.view(self._id)

    def sign_in(self, user: str, password: str) -> PsuView:
        self._request()
        return self._locked_out(lambda: self._approval.sign_in(self._id, user, password))

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str:
        self._request()
        self._locked_out(lambda: self._approval.approve(self._id, user, password, accounts))
        return self._back()

    def approve_signed_in(self, user: str, accounts: Sequence[str]) -> str:
        return self._approved(user, accounts)

    def deny(self) -> str:
        self._request()
        self._approval.deny(self._id)
        return self._back()

    def decide_headless(self, approve: bool, psu: str | None, account: str | None) -> str:
        """``sim_decision`` on the link: no password, no page; the URL the browser goes
        back to, or ``LoginRefused`` as the page refuses."""
        if not approve:
            return self.deny()
        return self._approved(psu, [account] if account else [])

    def _approved(self, user: str | None, accounts: Sequence[str]) -> str:
        """Approve as ``user``, already signed in (or headless): where the browser goes."""
        self._request()
        self._approval.approve(self._id, user, None, accounts)
        return self._back()

    def _back(self) -> str:
        """The report URL for the request as the decision left it (``StetBank.report_url``:
        a request rejected at once, e.g. for want of funds, goes back unsuccessful)."""
        bank = self._approval.bank
        return bank.report_url(bank.requests[self._id])

    def _locked_out(self, decide: Callable[[], T]) -> T:
        """``decide``; a wrong password that ended the request sends the PSU back."""
        try:
            return decide()
        except WrongPassword as exc:
            if exc.left > 0:
                raise
            ended = self._approval.bank.requests.get(self._id)
            back = ended.report_failure_url if ended else None
            raise WrongPassword(str(exc), left=0, redirect=back) from None


def _what(request: PaymentRequest) -> str:
    order = request.order
    if len(order.instructions) == 1:
        one = order.instructions[0]
        what = f"{one.amount} {one.currency} to {one.creditor_name} ({one.creditor})"
        return what + (f", reference “{one.remittance}”" if one.remittance else "")
    count = len(order.instructions) - len(request.cancelled)
    return f"{count} transfers, {request.amount_due} {order.currency} in all"
