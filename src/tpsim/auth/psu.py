"""A user's sign-in and decision at a simulated bank, as its page presents it, in no
dialect's words.

A dialect offers each thing it asks a user (a PSU) to approve as a ``PsuJourney``: today a
Mojaloop WEB consent request (link accounts to a PISP); later a PSD2 payment's redirect
SCA. ``serve/pages.py`` draws one page family for all of them from the journey's
``PsuView`` and hands the user's decision back; the journey checks it, moves its own state,
tells whoever asked, and names the URL the browser goes to next.

    LoginRefused (tpsim.errors)   the page refuses what the user entered: shows the form
    │                             again with the message (401, 400), or "nothing to
    │                             approve" (409: the journey no longer waits for the user)
    └── UnknownJourney            the bank has no such journey: the 404 page
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
    that, with status 409); ``choose_one``: the user picks exactly one of ``accounts``.
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


class PsuJourney(Protocol):
    """One thing a user is asked to approve at a simulated bank.

    ``approve`` and ``deny`` return the URL the user's browser is sent to (303) or raise
    ``LoginRefused`` (401 wrong user or password, 400 nothing chosen, 409 no longer open);
    either decision is final for the journey. Every method may raise ``UnknownJourney``.
    The page counts the 401s of a journey and, after ``serve.pages.MAX_WRONG_PASSWORDS``,
    ends it with ``deny``: a journey needs no attempt counting of its own.
    """

    def view(self) -> PsuView: ...

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str: ...

    def deny(self) -> str: ...


MAX_WRONG_PASSWORDS = 5


class WrongPassword(LoginRefused):
    """A wrong password: ``left`` attempts remain. At none the journey has ended (its
    requester is told, as for a denial) and the user goes back to ``redirect``."""

    def __init__(self, detail: str, *, left: int, redirect: str | None = None) -> None:
        self.left, self.redirect = left, redirect
        super().__init__(detail, http_status=401)


class UnknownJourney(LoginRefused):
    """The bank has no such ``what`` (a consent request…): ``detail`` says which."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        super().__init__(detail, http_status=404)
