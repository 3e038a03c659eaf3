"""The OAuth page journey's sign-in first (auth/oauth.py ``OAuthJourney.sign_in`` and
``approve_signed_in`` over a dialect's ``SigningInApproval``), sans-IO: the user signs in,
is shown their accounts that can pay, and the approval of the one they choose grants the
client a code for that user and account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

import pytest

from tpsim.auth.oauth import (
    AuthorizationServer,
    IntentApproval,
    OAuthClient,
    OAuthJourney,
    SigningInApproval,
    intent_from_scope,
)
from tpsim.auth.oauth_jose import SigningKey
from tpsim.auth.psu import PsuAccount, PsuView, SigningInJourney, UnknownJourney, WrongPassword
from tpsim.core.clock import ManualClock, SequentialIds
from tpsim.core.store import MemoryStore
from tpsim.errors import LoginRefused

REDIRECT = "https://tpp.example/cb"
SECRET = "s3cret"
KEY = SigningKey()  # one bank key for the module: generating RSA keys is slow
CURRENT = PsuAccount("FR76-1", "Compte courant (EUR)", "150.00 EUR")
PASSWORDS = {"pat": "pw", "max": "pw2"}
CAN_PAY = {"pat": (CURRENT,), "max": ()}  # what each user holds that can pay 12.25 EUR


@dataclass
class OneForm:
    """A stand-in dialect whose page is one form (password and accounts): no sign-in step."""

    decisions: list[tuple[str | None, ...]] = field(default_factory=list)
    tries: int = 2

    def client_of(self, intent_id: str) -> str | None:
        return "tpp"

    def view(self, intent_id: str) -> PsuView:
        if intent_id != "pay-1":
            raise UnknownJourney("payment", f"no payment {intent_id}")
        return PsuView(
            "bank-a", "Example TPP", "asks to pay 12.25 EUR.", "", "", (), "Pay from", None, True
        )

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str:
        if password is not None and PASSWORDS.get(str(user)) != password:
            self.tries -= 1
            raise WrongPassword("wrong user id or password", left=self.tries)
        self.decisions.append(("approve", intent_id, user, password, *accounts))
        return str(user)

    def deny(self, intent_id: str) -> None:
        self.decisions.append(("deny", intent_id))


@dataclass
class SignInFirst(OneForm):
    """A stand-in STET payment that names no debtor account: the user signs in first."""

    signed_in: list[str] = field(default_factory=list)

    def view(self, intent_id: str) -> PsuView:
        return replace(super().view(intent_id), sign_in_first=True)

    def sign_in(self, intent_id: str, user: str, password: str) -> PsuView:
        view = self.view(intent_id)
        if PASSWORDS.get(user) != password:
            self.tries -= 1
            raise WrongPassword("wrong user id or password", left=self.tries)
        if not CAN_PAY[user]:
            raise LoginRefused("you hold no account that can pay 12.25 EUR")
        self.signed_in.append(user)
        return replace(view, user_id=user, accounts=CAN_PAY[user], sign_in_first=False)


@pytest.fixture
def server() -> AuthorizationServer:
    clients = [OAuthClient("tpp", SECRET, "Example TPP", (REDIRECT,))]
    store, clock, ids = MemoryStore(), ManualClock(), SequentialIds()
    return AuthorizationServer(
        "https://bank.example/stet/bank-a",
        clients,
        store,
        clock,
        ids,
        key=KEY,
        scope_templates=("PIS:{paymentId}",),  # the stand-in dialect's intents
    )


def journey(server: AuthorizationServer, approval: IntentApproval) -> OAuthJourney:
    params = {
        "client_id": "tpp",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "PIS:pay-1",
        "state": "xyz",
    }
    pending = server.authorize(params, intent=intent_from_scope)
    return OAuthJourney(server, pending.id, approval)


def answer(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_an_approval_with_a_sign_in_step_makes_a_signing_in_journey(
    server: AuthorizationServer,
) -> None:
    assert isinstance(SignInFirst(), SigningInApproval)
    assert not isinstance(OneForm(), SigningInApproval)
    assert isinstance(journey(server, SignInFirst()), SigningInJourney)
    assert journey(server, SignInFirst()).view().sign_in_first


def test_signing_in_shows_the_users_accounts_that_can_pay_and_decides_nothing(
    server: AuthorizationServer,
) -> None:
    approval = SignInFirst()
    flow = journey(server, approval)
    view = flow.sign_in("pat", "pw")
    assert (view.user_id, view.accounts, view.sign_in_first) == ("pat", (CURRENT,), False)
    assert approval.signed_in == ["pat"] and approval.decisions == []
    assert flow.view().closed is None  # the request still waits for the decision


def test_approving_the_signed_in_user_grants_the_client_that_user_and_account(
    server: AuthorizationServer,
) -> None:
    approval = SignInFirst()
    flow = journey(server, approval)
    flow.sign_in("pat", "pw")
    redirect = answer(flow.approve_signed_in("pat", [CURRENT.value]))
    # The dialect approves without a password (already checked when the user signed in).
    assert approval.decisions == [("approve", "pay-1", "pat", None, CURRENT.value)]
    assert redirect["state"] == "xyz"
    form = {
        "grant_type": "authorization_code",
        "code": redirect["code"],
        "redirect_uri": REDIRECT,
        "client_id": "tpp",
        "client_secret": SECRET,
    }
    access = server.access(server.token(form, None)["access_token"])
    assert (access.psu_id, access.intent_id, access.accounts) == ("pat", "pay-1", (CURRENT.value,))


# (case, user, password, the refusal's type and status)
REFUSALS = [
    ("a wrong password", "pat", "nope", WrongPassword, 401),
    ("no account that can pay", "max", "pw2", LoginRefused, 400),
]


@pytest.mark.parametrize(
    ("user", "password", "refusal", "status"), [pytest.param(*r[1:], id=r[0]) for r in REFUSALS]
)
def test_a_refused_sign_in_says_why_and_the_request_still_waits(
    server: AuthorizationServer,
    user: str,
    password: str,
    refusal: type[LoginRefused],
    status: int,
) -> None:
    flow = journey(server, SignInFirst())
    with pytest.raises(refusal) as refused:
        flow.sign_in(user, password)
    assert refused.value.http_status == status
    assert flow.view().closed is None


def test_the_last_wrong_password_at_sign_in_refuses_the_request(
    server: AuthorizationServer,
) -> None:
    approval = SignInFirst()
    flow = journey(server, approval)
    with pytest.raises(WrongPassword) as first:
        flow.sign_in("pat", "nope")
    assert (first.value.left, first.value.redirect) == (1, None)
    with pytest.raises(WrongPassword) as last:
        flow.sign_in("pat", "nope")
    assert answer(last.value.redirect or "")["error"] == "access_denied"
    with pytest.raises(LoginRefused) as closed:
        flow.sign_in("pat", "pw")
    assert closed.value.http_status == 409 and approval.signed_in == []


def take(flow: OAuthJourney, step: str) -> None:
    """Pat's ``step`` of the sign-in: signing in, or approving once signed in (with no
    password: the page vouches that Pat signed in)."""
    if step == "sign_in":
        flow.sign_in("pat", "pw")
    else:
        flow.approve_signed_in("pat", [CURRENT.value])


# (case, the approval, whether the user denied first, the refusal's status and words)
CANNOT_SIGN_IN: list[tuple[str, type[OneForm], bool, int, str]] = [
    ("a decided request", SignInFirst, True, 409, "has already been decided"),
    ("an approval without a sign-in step", OneForm, False, 400, "no separate sign-in"),
]


@pytest.mark.parametrize("step", ["sign_in", "approve_signed_in"])
@pytest.mark.parametrize(
    ("approval_type", "denied", "status", "says"),
    [pytest.param(*r[1:], id=r[0]) for r in CANNOT_SIGN_IN],
)
def test_no_sign_in_where_there_is_nothing_to_sign_in_to(
    server: AuthorizationServer,
    step: str,
    approval_type: type[OneForm],
    denied: bool,
    status: int,
    says: str,
) -> None:
    approval = approval_type()
    flow = journey(server, approval)
    if denied:
        flow.deny()
    with pytest.raises(LoginRefused) as refused:
        take(flow, step)
    assert refused.value.http_status == status and says in str(refused.value)
    assert approval.decisions == ([("deny", "pay-1")] if denied else [])


def test_an_unknown_request_is_an_unknown_journey(server: AuthorizationServer) -> None:
    with pytest.raises(UnknownJourney):
        OAuthJourney(server, "nope", SignInFirst()).sign_in("pat", "pw")
