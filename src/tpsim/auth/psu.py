"""A user's sign-in and decision at a simulated bank, as its page presents it, in no
dialect's words.

A dialect offers each thing it asks a user (a PSU) to approve as a ``PsuJourney``: today a
Mojaloop WEB consent request (link accounts to a PISP); later a PSD2 payment's redirect
SCA. ``serve/pages.py`` draws one page family for all of them from the journey's
``PsuView`` and hands the user's decision back; the journey checks it, moves its own state,
tells whoever asked, and names the URL the browser goes to next.

A journey whose user is not known until they sign in (a payment that names no debtor
account: the PSU "identifies and authenticates, then selects a bank account with a
sufficient balance", STET) is a ``SigningInJourney``: its view says ``sign_in_first``, the
page asks user id and password, and shows the view ``sign_in`` gives for that user.

    LoginRefused (tpsim.errors)   the page refuses what the user entered: shows the form
    │                             again with the message (401, 400), or "nothing to
    │                             approve" (409: the journey no longer waits for the user)
    ├── UnknownJourney            the bank has no such journey: the 404 page
    └── JourneyEnded              what was refused has ended the journey, and its requester
                                  is told: the browser goes back to ``redirect`` (303)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tpsim.errors import LoginRefused


@dataclass(frozen=True, slots=True)
class PsuAccount:
    """An account the user may choose: ``value`` is what the form sends back for it."""

    value: str
    label: str  # "Carol's chequing account (USD)"
    detail: str  # what is asked of it: "dfspa.carol.chequing: ACCOUNTS_TRANSFER"


@dataclass(frozen=True, slots=True)
class PsuView:
    """What the page shows: which bank, who asks what of whom, the accounts to choose from.

    ``closed`` says why the journey no longer waits for the user (then the page only says
    that, with status 409); ``choose_one``: the user picks exactly one of ``accounts``;
    ``sign_in_first``: the page asks a user id and password and shows no accounts (the
    user is not known yet), then shows ``SigningInJourney.sign_in``'s view.
    """

    bank: str  # the simulated bank's id
    requester: str  # the PISP / TPP that asks
    purpose: str  # what it asks, a sentence after its name: "asks to link your accounts at…"
    user_id: str
    user_name: str
    accounts: tuple[PsuAccount, ...]
    accounts_legend: str  # "Accounts to link"
    closed: str | None = None
    choose_one: bool = False  # exactly one account is chosen (a payment's debtor account)
    sign_in_first: bool = False  # user id + password first, then the user's accounts


class PsuJourney(Protocol):
    """One thing a user is asked to approve at a simulated bank.

    ``approve`` and ``deny`` return the URL the user's browser is sent to (303) or raise
    ``LoginRefused`` (401 wrong user or password, 400 nothing chosen, 409 no longer open;
    ``JourneyEnded`` when the refusal itself ended the journey, with the way back); either
    decision is final for the journey. Every method may raise ``UnknownJourney``.
    The journey counts its wrong passwords (``WrongPassword``, at most
    ``MAX_WRONG_PASSWORDS`` by default): at the last one it ends as a denial would and
    names the way back in ``WrongPassword.redirect``; the page then shows the lock-out.
    """

    def view(self) -> PsuView: ...

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str: ...

    def deny(self) -> str: ...


@runtime_checkable
class SigningInJourney(PsuJourney, Protocol):
    """A journey whose user signs in before choosing (its view has ``sign_in_first``).

    ``sign_in`` checks ``user``'s ``password`` and returns what the user chooses from: the
    accounts of theirs that can pay (``choose_one``, ``sign_in_first`` False), or raises
    ``WrongPassword`` (counted by the journey, as ``approve`` does), ``LoginRefused`` (400:
    "you hold no account that can pay 12.25 EUR"; 409: no longer open) or
    ``UnknownJourney``. It decides nothing. ``approve_signed_in`` approves as ``user``,
    whom the page has seen sign in (it vouches for that, so no password is asked again),
    with the chosen ``accounts``: the redirect URL, or ``LoginRefused`` as ``approve``
    (the journey still checks the accounts are ``user``'s and can pay).
    """

    def sign_in(self, user: str, password: str) -> PsuView: ...

    def approve_signed_in(self, user: str, accounts: Sequence[str]) -> str: ...


MAX_WRONG_PASSWORDS = 5


class WrongPassword(LoginRefused):
    """A wrong password: ``left`` attempts remain. At none the journey has ended (its
    requester is told, as for a denial) and the user goes back to ``redirect``."""

    def __init__(self, detail: str, *, left: int, redirect: str | None = None) -> None:
        self.left, self.redirect = left, redirect
        super().__init__(detail, http_status=401)


class JourneyEnded(LoginRefused):
    """What the user did was refused, and the refusal ended what they were deciding (a
    payment whose date passed, which expired while the page was open): its requester has
    been told, as for a denial, and the user goes back to ``redirect`` (303)."""

    def __init__(self, detail: str, *, redirect: str) -> None:
        self.redirect = redirect
        super().__init__(detail, http_status=303)


class UnknownJourney(LoginRefused):
    """The bank has no such ``what`` (a consent request…): ``detail`` says which."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        super().__init__(detail, http_status=404)
