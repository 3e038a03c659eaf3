"""The PSU page's sign-in first (serve/pages.py with an ``auth.psu.SigningInJourney``): when a
payment names no debtor account, the user signs in with user id and password, then chooses
one of the accounts of theirs that can pay, and approves or denies. Over real HTTP on
127.0.0.1 with a stand-in journey, which shows what the pages take from a journey and hand
back to it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from html import escape

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.support.linking import form_token
from tpsim.auth.psu import (
    PsuAccount,
    PsuJourney,
    PsuView,
    SigningInJourney,
    UnknownJourney,
    WrongPassword,
)
from tpsim.config import load_config
from tpsim.errors import LoginRefused
from tpsim.serve.edge import SIMULATION
from tpsim.serve.pages import add_psu_pages
from tpsim.serve.simulation import Simulation

PATH = "/login/{fsp_id}/stet/{journey_id}"
OK, NOK = "https://tpp.example/ok?state=s", "https://tpp.example/nok"
Client = TestClient[web.Request, web.Application]
Form = list[tuple[str, str]]

PAT_CURRENT = PsuAccount("FR7630001007941234567890185", "Compte courant (EUR)", "150.00 EUR")
PAT_SAVINGS = PsuAccount("FR7630004000031234567890143", "Livret (EUR)", "80.00 EUR")
PASSWORDS = {"pat": "pw", "max": "pw2"}
# What each user holds that can pay 12.25 EUR (Pat's third account, 3.00 EUR, cannot).
CAN_PAY = {"pat": (PAT_CURRENT, PAT_SAVINGS), "max": ()}


@dataclass
class Linking:
    """A journey with one form (no sign-in step): the page's behaviour before this one."""

    decisions: list[tuple[str, ...]] = field(default_factory=list)

    def view(self) -> PsuView:
        account = PsuAccount("acc-1", "Chequing (USD)", "ACCOUNTS_TRANSFER")
        return PsuView("bank-a", "Example PISP", "asks to link.", "pat", "Pat", (account,), "Link")

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str:
        self.decisions.append(("approve", str(user), *accounts))
        return OK

    def deny(self) -> str:
        self.decisions.append(("deny",))
        return NOK


@dataclass
class Payment(Linking):
    """A stand-in payment that names no debtor account: the user signs in first. Three wrong
    passwords end it (the journey counts them, as ``WrongPassword`` says)."""

    signed_in: list[str] = field(default_factory=list)
    tries: int = 3

    def view(self) -> PsuView:
        return PsuView(
            bank="bank-a",
            requester="Example TPP",
            purpose="asks to pay 12.25 EUR to Bob from an account of yours at bank-a.",
            user_id="",
            user_name="",
            accounts=(),
            accounts_legend="Account to pay from",
            choose_one=True,
            sign_in_first=True,
        )

    def sign_in(self, user: str, password: str) -> PsuView:
        if PASSWORDS.get(user) != password:
            self.tries -= 1
            last = self.tries == 0
            raise WrongPassword(
                "wrong user id or password", left=self.tries, redirect=NOK if last else None
            )
        if not CAN_PAY[user]:
            raise LoginRefused("you hold no account that can pay 12.25 EUR")
        self.signed_in.append(user)
        view = replace(self.view(), user_id=user, user_name=user.title(), sign_in_first=False)
        return replace(view, accounts=CAN_PAY[user])

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str:
        if PASSWORDS.get(str(user)) != password:
            raise LoginRefused("wrong user id or password", http_status=401)
        return super().approve(user, password, accounts)

    def approve_signed_in(self, user: str, accounts: Sequence[str]) -> str:
        paying = {a.value for a in CAN_PAY[user]}
        if len(accounts) != 1 or accounts[0] not in paying:
            raise LoginRefused("choose one of your accounts that can pay 12.25 EUR")
        self.decisions.append(("approve_signed_in", user, *accounts))
        return OK


@dataclass
class Bank:
    """The journeys the page family finds: two sign-in payments and one linking."""

    payment: Payment = field(default_factory=Payment)
    other: Payment = field(default_factory=Payment)
    linking: Linking = field(default_factory=Linking)

    def find(self, sim: Simulation, fsp_id: str, journey_id: str) -> PsuJourney:
        journeys: dict[str, PsuJourney] = {
            "p-1": self.payment,
            "p-2": self.other,
            "l-1": self.linking,
        }
        if fsp_id != "bank-a" or journey_id not in journeys:
            raise UnknownJourney("authorisation", f"{fsp_id} has no authorisation {journey_id}")
        return journeys[journey_id]


@pytest.fixture
async def bank() -> AsyncIterator[tuple[Client, Bank]]:
    bank = Bank()
    app = web.Application()
    app[SIMULATION] = Simulation(load_config())
    add_psu_pages(app, PATH, bank.find)
    async with TestClient(TestServer(app)) as client:  # 127.0.0.1, an ephemeral port
        yield client, bank
    await app[SIMULATION].close()


def url(journey: str = "p-1") -> str:
    return f"/login/bank-a/stet/{journey}"


async def csrf(client: Client, journey: str = "p-1") -> tuple[str, str]:
    """The form's token, which every POST must carry (cross-site request forgery)."""
    page = await (await client.get(url(journey))).text()
    return ("csrf", form_token(page))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)
    assert found is not None, page
    return found.group(1)


async def post(client: Client, form: Form, journey: str = "p-1") -> tuple[int, str, str | None]:
    """Status, page and Location of the form posted to ``journey``'s page."""
    response = await client.post(url(journey), data=form, allow_redirects=False)
    return response.status, await response.text(), response.headers.get("Location")


async def signed_in(client: Client, journey: str = "p-1") -> str:
    """Step 2's page once Pat signed in on ``journey``'s page."""
    form = [("user", "pat"), ("password", PASSWORDS["pat"]), ("decision", "sign_in")]
    status, page, _ = await post(client, [*form, await csrf(client, journey)], journey)
    assert status == 200, page
    return page


def step_two(page: str, **changes: str | None) -> Form:
    """The hidden fields step 2's page sends back (csrf, user, signed_in), with ``changes``
    (None drops the field)."""
    fields: dict[str, str | None] = {n: hidden(page, n) for n in ("csrf", "user", "signed_in")}
    fields.update(changes)
    return [(name, value) for name, value in fields.items() if value is not None]


# --- step 1: who are you ------------------------------------------------------------------


async def test_step_one_asks_user_id_and_password_and_shows_no_account(
    bank: tuple[Client, Bank],
) -> None:
    client, _ = bank
    response = await client.get(url())
    page = await response.text()
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<title>bank-a: Sign in to bank-a</title>" in page
    assert "<strong>Example TPP</strong> asks to pay 12.25 EUR to Bob" in page
    assert '<input type="text" name="user" value="" autocomplete="username">' in page
    assert 'name="password" autocomplete="current-password"' in page
    assert '<button type="submit" name="decision" value="sign_in">Sign in</button>' in page
    assert '<button type="submit" name="decision" value="deny">Deny</button>' in page
    assert 'name="account"' not in page and 'value="approve"' not in page
    assert 'name="signed_in"' not in page and form_token(page)


# (case, user, password, status, what step 1 says again)
STEP_ONE_REFUSALS = [
    ("a wrong password", "pat", "nope", 401, "wrong user id or password"),
    ("an unknown user", "eve", "pw", 401, "wrong user id or password"),
    ("no account that can pay", "max", "pw2", 400, "you hold no account that can pay 12.25 EUR"),
    ("no user id", "  ", "pw", 400, "enter your user id"),
]


@pytest.mark.parametrize(
    ("user", "password", "status", "says"),
    [pytest.param(*r[1:], id=r[0]) for r in STEP_ONE_REFUSALS],
)
async def test_a_refused_sign_in_shows_step_one_again_saying_why(
    bank: tuple[Client, Bank], user: str, password: str, status: int, says: str
) -> None:
    client, journeys = bank
    form = [("user", user), ("password", password), ("decision", "sign_in"), await csrf(client)]
    got, page, _ = await post(client, form)
    assert got == status
    assert f'<p class="error" role="alert">{says}</p>' in page
    assert f'name="user" value="{user}"' in page  # what the user typed, to correct
    assert 'value="sign_in">Sign in' in page and 'name="account"' not in page
    assert 'name="signed_in"' not in page
    assert journeys.payment.signed_in == [] and journeys.payment.decisions == []


async def test_the_last_wrong_password_ends_the_journey_with_the_way_back(
    bank: tuple[Client, Bank],
) -> None:
    client, journeys = bank
    form = [("user", "pat"), ("password", "nope"), ("decision", "sign_in"), await csrf(client)]
    statuses = [(await post(client, form))[0] for _ in range(2)]
    status, page, _ = await post(client, form)
    assert (statuses, status) == ([401, 401], 403)
    assert "<h1>Too many wrong passwords</h1>" in page
    assert f'<a href="{escape(NOK)}">Back to Example TPP</a>' in page


async def test_what_the_user_types_is_escaped(bank: tuple[Client, Bank]) -> None:
    client, _ = bank
    typed = '"><script>alert(1)</script>'
    form = [("user", typed), ("password", "x"), ("decision", "sign_in"), await csrf(client)]
    status, page, _ = await post(client, form)
    assert status == 401 and "<script>" not in page
    assert f'value="{escape(typed)}"' in page


# --- step 2: which account ----------------------------------------------------------------


async def test_the_right_password_shows_only_the_users_accounts_that_can_pay(
    bank: tuple[Client, Bank],
) -> None:
    client, journeys = bank
    page = await signed_in(client)
    assert "<h1>Signed in to bank-a</h1>" in page
    assert "<p>Signed in as <strong>Pat</strong> (pat)</p>" in page
    assert "<legend>Account to pay from</legend>" in page
    assert re.findall(r'<input type="(\w+)" name="account" value="(\w+)"( checked)?', page) == [
        ("radio", PAT_CURRENT.value, " checked"),
        ("radio", PAT_SAVINGS.value, ""),
    ]
    assert "150.00 EUR" in page and "80.00 EUR" in page
    assert hidden(page, "user") == "pat" and hidden(page, "signed_in")
    assert 'type="password"' not in page  # no password asked again
    assert 'value="approve">Approve' in page and 'value="deny">Deny' in page
    assert journeys.payment.signed_in == ["pat"] and journeys.payment.decisions == []


async def test_approving_with_the_proof_redirects_and_the_journey_gets_user_and_account(
    bank: tuple[Client, Bank],
) -> None:
    client, journeys = bank
    page = await signed_in(client)
    form = [*step_two(page), ("account", PAT_SAVINGS.value), ("decision", "approve")]
    status, _, location = await post(client, form)
    assert (status, location) == (303, OK)
    assert journeys.payment.decisions == [("approve_signed_in", "pat", PAT_SAVINGS.value)]


async def test_an_account_the_journey_refuses_shows_step_one_again_saying_why(
    bank: tuple[Client, Bank],
) -> None:
    client, journeys = bank
    page = await signed_in(client)
    form = [*step_two(page), ("account", "FR76-not-hers"), ("decision", "approve")]
    status, again, _ = await post(client, form)
    assert status == 400
    assert "choose one of your accounts that can pay 12.25 EUR" in again
    assert 'name="user" value="pat"' in again and 'value="sign_in"' in again
    assert journeys.payment.decisions == []


# (case, what replaces step 2's hidden fields) → 403, nothing decided
FORGED: list[tuple[str, dict[str, str | None]]] = [
    ("the proof of another user", {"user": "max"}),
    ("a tampered proof", {"signed_in": "A" * 43}),
    ("an empty proof", {"signed_in": ""}),
    ("no user", {"user": None}),
]


@pytest.mark.parametrize("changes", [pytest.param(c, id=case) for case, c in FORGED])
async def test_a_forged_sign_in_is_refused_and_nothing_is_decided(
    bank: tuple[Client, Bank], changes: dict[str, str | None]
) -> None:
    client, journeys = bank
    page = await signed_in(client)
    form = [*step_two(page, **changes), ("account", PAT_CURRENT.value), ("decision", "approve")]
    status, refused, _ = await post(client, form)
    assert status == 403 and "<h1>Sign in again</h1>" in refused
    assert journeys.payment.decisions == []


async def test_a_proof_from_another_journeys_page_is_refused(bank: tuple[Client, Bank]) -> None:
    client, journeys = bank
    page = await signed_in(client)  # p-1's step 2, its token
    proof = hidden(await signed_in(client, "p-2"), "signed_in")  # Pat's, on p-2's page
    form = [
        *step_two(page, signed_in=proof),
        ("account", PAT_CURRENT.value),
        ("decision", "approve"),
    ]
    status, _, _ = await post(client, form)
    assert status == 403
    assert journeys.payment.decisions == [] and journeys.other.decisions == []


@pytest.mark.parametrize("step", ["sign in", "approve"])
async def test_each_step_needs_the_forms_token(bank: tuple[Client, Bank], step: str) -> None:
    client, journeys = bank
    if step == "sign in":
        form: Form = [("user", "pat"), ("password", "nope"), ("decision", "sign_in")]
    else:
        fields = step_two(await signed_in(client), csrf=None)
        form = [*fields, ("account", PAT_CURRENT.value), ("decision", "approve")]
    status, page, _ = await post(client, form)
    assert status == 403 and "<h1>Form not accepted</h1>" in page
    assert journeys.payment.decisions == []
    assert journeys.payment.tries == 3  # another site cannot spend the user's attempts


@pytest.mark.parametrize("step", ["step 1", "step 2"])
async def test_the_user_may_deny_at_either_step(bank: tuple[Client, Bank], step: str) -> None:
    client, journeys = bank
    fields = [await csrf(client)] if step == "step 1" else step_two(await signed_in(client))
    status, _, location = await post(client, [*fields, ("decision", "deny")])
    assert (status, location) == (303, NOK)
    assert journeys.payment.decisions == [("deny",)]


# --- journeys without a sign-in step, and the one-form path -------------------------------


@pytest.mark.parametrize(
    "decision", [[("decision", "sign_in")], [("decision", "approve"), ("signed_in", "x")]]
)
async def test_a_journey_without_a_sign_in_step_refuses_one(
    bank: tuple[Client, Bank], decision: Form
) -> None:
    client, journeys = bank
    assert not isinstance(journeys.linking, SigningInJourney)
    form = [("user", "pat"), ("password", "pw"), *decision, await csrf(client, "l-1")]
    status, page, _ = await post(client, form, "l-1")
    assert status == 400 and "this page has no separate sign-in" in page
    assert "Signing in as <strong>Pat</strong>" in page  # its one form, as before
    assert journeys.linking.decisions == []


async def test_approve_with_the_password_and_no_proof_keeps_the_one_form_path(
    bank: tuple[Client, Bank],
) -> None:
    client, journeys = bank
    assert isinstance(journeys.payment, SigningInJourney)
    form = [("user", "pat"), ("password", "pw"), ("account", PAT_CURRENT.value)]
    status, _, location = await post(client, [*form, ("decision", "approve"), await csrf(client)])
    assert (status, location) == (303, OK)
    assert journeys.payment.decisions == [("approve", "pat", PAT_CURRENT.value)]
