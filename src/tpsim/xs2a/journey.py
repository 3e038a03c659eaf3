"""The PSU at the bank's own page: XS2A redirect SCA as a ``PsuJourney`` (``auth.psu``),
and the same approval for the bank's OAuth authorisation server (``scope=PIS:{paymentId}``).

The page shows who asks (the TPP), what (amount, creditor, reference) and from which
account; the PSU enters their password and approves or denies. The browser then goes back
to the TPP's ``TPP-Redirect-URI`` (or ``TPP-Nok-Redirect-URI``), or, for OAuth, to the
authorisation server's redirect with its code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney, WrongPassword
from tpsim.errors import LoginRefused
from tpsim.xs2a.authorisations import Authorisations, Decision
from tpsim.xs2a.errors import PsuCredentialsInvalid, StatusInvalid, Xs2aError
from tpsim.xs2a.resources import Approach, Authorisation, Xs2aPayment
from tpsim.xs2a.states import SCA_TERMINAL, ScaStatus


def payment_view(
    auths: Authorisations, payment: Xs2aPayment, *, closed: str | None, cancellation: bool = False
) -> PsuView:
    """What the page shows of ``payment`` (``cancellation``: the PSU approves cancelling
    it, and is told so)."""
    bank = auths.bank
    account = bank.bank.accounts[payment.debtor]
    available = bank.bank.ledger.available(account.address)
    user = bank.bank.user(bank.fsp_id, payment.owner)
    transfers = payment.order.transfers
    total = sum(t.amount for t in transfers)
    if len(transfers) == 1:
        what = f"{total} {transfers[0].currency} to {transfers[0].creditor_name}"
        what += f" ({transfers[0].creditor_iban})"
        if transfers[0].remittance:
            what += f", reference “{transfers[0].remittance}”"
    else:
        what = f"{len(transfers)} payments, {total} {transfers[0].currency} in all"
    if payment.order.schedule is not None:
        what += f", {payment.order.schedule.frequency.lower()} from {payment.order.schedule.start}"
    elif payment.order.execution_date is not None:
        what += f", on {payment.order.execution_date}"
    return PsuView(
        bank=bank.fsp_id,
        requester=payment.tpp.tpp_name,
        purpose=(
            f"asks you to cancel your payment of {what}: approving stops it."
            if cancellation
            else f"asks you to approve a payment of {what}."
        ),
        user_id=payment.owner,
        user_name=(user.name if user and user.name else payment.owner),
        accounts=(
            PsuAccount(
                value=account.address,
                label=f"{account.nickname} ({account.iban or account.address})",
                detail=f"{account.currency}, {available} available",
            ),
        ),
        accounts_legend="From account",
        closed=closed,
    )


class RedirectJourney:
    """The page of one redirect authorisation (``authorisation_id``)."""

    def __init__(self, auths: Authorisations, authorisation_id: str) -> None:
        self._auths, self._id = auths, authorisation_id

    def _auth(self) -> Authorisation:
        auth = self._auths.find(self._id)
        if auth is None or auth.approach is not Approach.REDIRECT:
            raise UnknownJourney(
                "authorisation",
                f"{self._auths.bank.fsp_id} has no redirect authorisation {self._id}",
            )
        return auth

    def view(self) -> PsuView:
        auth = self._auth()
        payment = self._auths.bank.payments[auth.payment_id]
        closed = self._auths.link_open(auth)
        return payment_view(self._auths, payment, closed=closed, cancellation=auth.cancellation)

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str:
        return _target(self._decide(lambda: self._auths.approve(self._id, user, password)))

    def deny(self) -> str:
        return _target(self._decide(lambda: self._auths.deny(self._id)))

    def decide_headless(self, approve: bool, psu: str | None) -> Decision:
        """``sim_decision`` on the link: no password, no page; refused as the page refuses
        (``LoginRefused``: a ``sim_psu`` who does not hold the account, a closed link)."""
        if approve:
            return self._decide(lambda: self._auths.approve(self._id, psu, None))
        return self._decide(lambda: self._auths.deny(self._id))

    def _check_open(self) -> None:
        closed = self._auths.link_open(self._auth())
        if closed is not None:
            raise LoginRefused(closed, http_status=409)

    def _decide(self, decide: Callable[[], Decision]) -> Decision:
        self._check_open()
        try:
            decision = decide()
        except PsuCredentialsInvalid as exc:
            raise self._wrong(exc) from None
        except Xs2aError as exc:
            raise LoginRefused(exc.text, http_status=409) from None
        return decision

    def _wrong(self, exc: PsuCredentialsInvalid) -> WrongPassword:
        auth = self._auth()
        left = max(self._auths.bank.settings.max_attempts - auth.attempts, 0)
        if auth.sca_status is ScaStatus.FAILED:
            tpp = self._auths.bank.payments[auth.payment_id].tpp
            return WrongPassword(
                exc.text, left=0, redirect=tpp.nok_redirect_uri or tpp.redirect_uri
            )
        return WrongPassword(exc.text, left=left)


def _target(decision: Decision) -> str:
    if decision.redirect is None:  # a redirect payment always has its TPP-Redirect-URI
        raise LoginRefused("the TPP gave no address to return to", http_status=409)
    return decision.redirect


class OAuthApproval:
    """The bank's side of its OAuth authorisation server for XS2A (``PIS:{paymentId}``):
    ``auth.oauth.IntentApproval``. Approving finalises the payment's OAuth authorisation
    under way, its cancellation's first (else its initiation's, started now if it has none
    open)."""

    def __init__(self, auths: Authorisations) -> None:
        self._auths = auths

    def _payment(self, intent_id: str) -> Xs2aPayment:
        payment = self._auths.bank.payments.get(intent_id)
        if payment is None or payment.approach is not Approach.OAUTH:
            raise UnknownJourney(
                "payment", f"{self._auths.bank.fsp_id} has no OAuth payment {intent_id}"
            )
        return self._auths.bank.fresh(payment)

    def _open(self, payment: Xs2aPayment) -> Authorisation | None:
        """The authorisation the PSU decides here: the payment's cancellation under way
        (the 202 DELETE linked ``scaOAuth`` for it), else its initiation's."""
        for authorisation_id in (
            *reversed(payment.cancellations),
            *reversed(payment.authorisations),
        ):
            auth = self._auths.find(authorisation_id)
            if auth is not None and auth.sca_status not in SCA_TERMINAL:
                return auth
        return None

    def _authorisation(self, payment: Xs2aPayment) -> Authorisation:
        auth = self._open(payment)
        if auth is not None:
            return auth
        try:
            return self._auths.start(payment)[1]
        except Xs2aError as exc:
            raise LoginRefused(exc.text, http_status=409) from None

    def client_of(self, intent_id: str) -> str | None:
        payment = self._auths.bank.payments.get(intent_id)
        return None if payment is None else payment.tpp.tpp

    def view(self, intent_id: str) -> PsuView:
        payment = self._payment(intent_id)
        auth = self._open(payment)
        if auth is not None and auth.cancellation:
            return payment_view(self._auths, payment, closed=None, cancellation=True)
        status = self._auths.bank.transaction_status(payment).value
        closed = None if status == "RCVD" else f"this payment is {status}: nothing to approve"
        return payment_view(self._auths, payment, closed=closed)

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str:
        payment = self._payment(intent_id)
        auth = self._authorisation(payment)
        try:
            self._auths.approve(auth.authorisation_id, user, password)
        except PsuCredentialsInvalid as exc:
            failed = self._auths.find(auth.authorisation_id)
            left = 0 if failed is None else self._auths.bank.settings.max_attempts - failed.attempts
            raise WrongPassword(exc.text, left=max(left, 0)) from None
        except StatusInvalid as exc:
            raise LoginRefused(exc.text, http_status=409) from None
        return payment.owner

    def deny(self, intent_id: str) -> None:
        payment = self._payment(intent_id)
        try:
            self._auths.deny(self._authorisation(payment).authorisation_id)
        except Xs2aError as exc:
            raise LoginRefused(exc.text, http_status=409) from None
