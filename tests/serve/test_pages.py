"""The PSU page family (serve/pages.py) over any dialect's journey: a stand-in journey shows
what the pages take from a ``PsuJourney`` and hand back to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.support.linking import form_token
from tpsim.auth.psu import PsuAccount, PsuJourney, PsuView, UnknownJourney
from tpsim.config import load_config
from tpsim.errors import LoginRefused
from tpsim.serve.edge import SIMULATION
from tpsim.serve.pages import add_psu_pages
from tpsim.serve.simulation import Simulation

PATH = "/login/{fsp_id}/xs2a/{journey_id}"
Client = TestClient[web.Request, web.Application]


@dataclass
class Payment:
    """A stand-in PSD2 authorisation: one account to pay from, a user typed on the page."""

    decisions: list[tuple[str, ...]] = field(default_factory=list)
    closed: str | None = None

    def view(self) -> PsuView:
        account = PsuAccount("DE02100100109307118603", "Girokonto (EUR)", "pays 12.00 EUR")
        return PsuView(
            bank="dfspa",
            requester="Example TPP",
            purpose="asks to pay 12.00 EUR to Bob from your account at dfspa.",
            user_id="psu-1",
            user_name="Pat",
            accounts=(account,),
            accounts_legend="Account to pay from",
            closed=self.closed,
        )

    def approve(self, user: str | None, password: str, accounts: Sequence[str]) -> str:
        if password != "pw":
            raise LoginRefused("wrong password", http_status=401)
        self.decisions.append(("approve", str(user), *accounts))
        return "https://tpp.example/ok?state=s"

    def deny(self) -> str:
        self.decisions.append(("deny",))
        return "https://tpp.example/nok"


@pytest.fixture
async def pages() -> AsyncIterator[tuple[Client, Payment]]:
    payment = Payment()

    def find(sim: Simulation, fsp_id: str, journey_id: str) -> PsuJourney:
        if (fsp_id, journey_id) != ("dfspa", "a-1"):
            raise UnknownJourney("authorisation", f"{fsp_id} has no authorisation {journey_id}")
        return payment

    app = web.Application()
    app[SIMULATION] = Simulation(load_config())
    add_psu_pages(app, PATH, find)
    async with TestClient(TestServer(app)) as client:
        yield client, payment
    await app[SIMULATION].close()


async def test_the_view_is_drawn(pages: tuple[Client, Payment]) -> None:
    client, _ = pages
    response = await client.get("/login/dfspa/xs2a/a-1")
    page = await response.text()
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert "<title>dfspa: Sign in to dfspa</title>" in page
    assert "<strong>Example TPP</strong> asks to pay 12.00 EUR to Bob" in page
    assert "<legend>Account to pay from</legend>" in page
    assert 'value="DE02100100109307118603" checked> Girokonto (EUR)' in page


async def token(client: Client) -> tuple[str, str]:
    """The form's token, which every POST must carry (cross-site request forgery)."""
    page = await (await client.get("/login/dfspa/xs2a/a-1")).text()
    return ("csrf", form_token(page))


async def test_decisions_reach_the_journey_and_redirect(pages: tuple[Client, Payment]) -> None:
    client, payment = pages
    csrf = await token(client)
    form = [("user", "psu-1"), ("password", "pw"), ("decision", "approve"), ("account", "DE02")]
    approved = await client.post("/login/dfspa/xs2a/a-1", data=[*form, csrf], allow_redirects=False)
    denied = await client.post(
        "/login/dfspa/xs2a/a-1", data=[("decision", "deny"), csrf], allow_redirects=False
    )
    assert (approved.status, approved.headers["Location"]) == (
        303,
        "https://tpp.example/ok?state=s",
    )
    assert (denied.status, denied.headers["Location"]) == (303, "https://tpp.example/nok")
    assert payment.decisions == [("approve", "psu-1", "DE02"), ("deny",)]


async def test_refusals_and_unknown_journeys(pages: tuple[Client, Payment]) -> None:
    client, payment = pages
    data = [("decision", "approve"), await token(client)]
    wrong = await client.post("/login/dfspa/xs2a/a-1", data=data)
    assert wrong.status == 401 and 'role="alert">wrong password' in await wrong.text()
    unknown = await client.get("/login/dfspa/xs2a/a-2")
    assert unknown.status == 404
    assert "<h1>Unknown authorisation</h1>" in await unknown.text()
    payment.closed = "Authorisation a-1 is finalised."
    closed = await client.get("/login/dfspa/xs2a/a-1")
    assert closed.status == 409 and "Authorisation a-1 is finalised." in await closed.text()
    assert payment.decisions == []
