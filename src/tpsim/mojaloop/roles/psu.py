"""A WEB consent request's sign-in (linking patterns §3.4) as a PSU page journey.

The consent request's ``authUri`` is the simulated DFSP's page ``/login/{fspId}/{ID}``:
it shows who asks to link which of the user's accounts; the user signs in with the
password, may untick accounts (the consent then covers only those left, §3.4.1) and
approves (a secret in the redirect to the callbackUri) or denies (``error=access_denied``
in the redirect, and ``PUT /consentRequests/{ID}/error`` 6102 to the PISP at once).
``ConsentRequests`` keeps the state; this only translates to and from the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney, WrongPassword
from tpsim.errors import LoginRefused
from tpsim.mojaloop.errors import ConsentRequestNotFound
from tpsim.mojaloop.message import Effects
from tpsim.mojaloop.roles.consent_requests import ConsentRequests, LoginView, PasswordsExhausted
from tpsim.mojaloop.roles.states import CrState

WHAT = "consent request"

# Hands the router what a decision causes (the error callback of a denial, the notes).
Submit = Callable[[Effects], None]


class ConsentRequestJourney:
    """The sign-in of consent request ``request_id`` at the DFSP ``requests`` belong to."""

    def __init__(self, requests: ConsentRequests, request_id: str, submit: Submit) -> None:
        self._requests = requests
        self._id = request_id
        self._submit = submit

    def view(self) -> PsuView:
        with _known():
            return _view(self._requests.login_view(self._id))

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str:
        """Sign in as the request's user and link ``accounts``: the redirect with the secret."""
        with _known():
            expected = self._requests.login_view(self._id).user_id
            if user is not None and user != expected:
                raise LoginRefused(f"wrong user: sign in as {expected}", http_status=401)
            try:
                url, effects = self._requests.approve(self._id, password, list(accounts))
            except PasswordsExhausted as closed:
                self._submit(closed.effects)  # the PISP is told, as for a denial
                raise
            except WrongPassword:
                # Nothing to send, but the count changed: written (--state) before the
                # page says how many attempts are left.
                self._submit(Effects())
                raise
        self._submit(effects)
        return url

    def deny(self) -> str:
        with _known():
            url, effects = self._requests.deny(self._id)
        self._submit(effects)
        return url


def consent_request_journey(
    requests: ConsentRequests | None, fsp_id: str, request_id: str, submit: Submit
) -> ConsentRequestJourney:
    """The journey of ``request_id`` at ``fsp_id`` (``requests`` None: not a simulated DFSP);
    ``UnknownJourney`` when there is none."""
    if requests is None:
        raise UnknownJourney(WHAT, f"{fsp_id} is not a DFSP simulated by tpsim")
    journey = ConsentRequestJourney(requests, request_id, submit)
    journey.view()  # the page for an unknown request is the 404 one, for either method
    return journey


def _view(login: LoginView) -> PsuView:
    closed = None
    if login.state is not CrState.AUTHENTICATING:
        closed = (
            f"Consent request {login.request_id} is not waiting for a sign-in"
            f" (it is {login.state})."
        )
    accounts = tuple(
        PsuAccount(
            value=scope["address"],
            label=f"{account.nickname} ({account.currency})" if account else scope["address"],
            detail=f"{scope['address']}: {', '.join(scope['actions'])}",
        )
        for scope, account in login.accounts
    )
    return PsuView(
        bank=login.dfsp,
        requester=login.pisp,
        purpose=f"asks to link your accounts at {login.dfsp}.",
        user_id=login.user_id,
        user_name=login.user_name,
        accounts=accounts,
        accounts_legend="Accounts to link",
        closed=closed,
    )


@contextmanager
def _known() -> Iterator[None]:
    """The page's 404 for a consent request the DFSP does not have."""
    try:
        yield
    except ConsentRequestNotFound as exc:
        raise UnknownJourney(WHAT, exc.detail) from None
