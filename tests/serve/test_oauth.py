"""The banks' OAuth 2.0 / OIDC endpoints over HTTP (serve/oauth.py): discovery, JWKS, the
token endpoint's JSON, /authorize with headless decisions and with the PSU page, mounted
in a small app with a stand-in dialect."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.linking import form_token
from tpsim.auth.oauth import AuthorizationServer, intent_from_claims, intent_from_scope
from tpsim.auth.psu import PsuAccount, PsuView, UnknownJourney
from tpsim.config import Config, load_config, overlay, parse_config
from tpsim.errors import LoginRefused
from tpsim.serve.edge import SIMULATION
from tpsim.serve.oauth import UnknownAuthorizationServer, add_oauth_routes
from tpsim.serve.psd2 import server_for
from tpsim.serve.simulation import Simulation

Client = TestClient[web.Request, web.Application]
REDIRECT = "https://tpp.example/cb"
SECRET = "s3cret"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
SITE = "http://127.0.0.1:4040"  # Simulation.site before it listens
TPP = {
    "client_id": "tpp",
    "client_secret": SECRET,
    "name": "Example TPP",
    "redirect_uris": [REDIRECT],
}
BASIC = "Basic " + base64.b64encode(f"tpp:{quote_plus(SECRET)}".encode()).decode()


def config(*, headless: bool = True) -> Config:
    data = load_config().model_dump(mode="json")
    return parse_config(
        overlay(data, {"tpps": [TPP], "behaviour": {"psd2": {"headless": headless}}})
    )


CLIENT_OF_PAYMENTS = "tpp"  # the client that created the stand-in payments


@dataclass
class Approval:
    """A stand-in dialect with one payment, ``pay-1`` (password ``pw``)."""

    purpose: str = "asks to pay 12.00 EUR to Bob."
    decisions: list[tuple[Any, ...]] = field(default_factory=list)

    client: str = CLIENT_OF_PAYMENTS

    def client_of(self, intent_id: str) -> str | None:
        return self.client  # every payment here is the test client's

    def view(self, intent_id: str) -> PsuView:
        if intent_id not in ("pay-1", "pay-done"):
            raise UnknownJourney("payment", f"dfspa has no payment {intent_id}")
        account = PsuAccount("DE02", "Girokonto (EUR)", "pays 12.00 EUR")
        closed = "payment pay-done is already authorised" if intent_id == "pay-done" else None
        return PsuView(
            "dfspa", "Example TPP", self.purpose, "psu-1", "Pat", (account,), "Pay from", closed
        )

    def approve(
        self, intent_id: str, user: str | None, password: str | None, accounts: Sequence[str]
    ) -> str:
        if user not in (None, "psu-1"):
            raise LoginRefused(f"dfspa has no user {user}", http_status=401)
        if password is not None and password != "pw":
            raise LoginRefused("wrong password", http_status=401)
        self.decisions.append(("approve", intent_id, password, *accounts))
        return "psu-1"

    def deny(self, intent_id: str) -> None:
        self.decisions.append(("deny", intent_id))


@dataclass
class Bank:
    client: Client
    server: AuthorizationServer
    approval: Approval


async def serve(cfg: Config) -> AsyncIterator[Bank]:
    sim = Simulation(cfg)
    server = server_for(sim.config, "dfspa", sim.state.bank.store, sim.clock, sim.ids)
    approval = Approval()

    def find(sim: Simulation, fsp_id: str) -> tuple[AuthorizationServer, Approval]:
        if fsp_id != "dfspa":
            raise UnknownAuthorizationServer(fsp_id)
        return server, approval

    app = web.Application()
    app[SIMULATION] = sim
    add_oauth_routes(
        app, "/xs2a/{fsp_id}", find, intent=intent_from_scope, scope_templates=("PIS:{paymentId}",)
    )
    async with TestClient(TestServer(app)) as client:
        yield Bank(client, server, approval)
    await sim.close()


@pytest.fixture
async def bank() -> AsyncIterator[Bank]:
    async for served in serve(config()):
        yield served


def authorize(**changes: str) -> dict[str, str]:
    return {
        "client_id": "tpp",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "PIS:pay-1",
        "state": "st-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **changes,
    }


def carried(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query))


async def test_discovery_names_the_endpoints_under_the_base(bank: Bank) -> None:
    base = f"{SITE}/xs2a/dfspa"
    oidc = await bank.client.get("/xs2a/dfspa/.well-known/openid-configuration")
    rfc8414 = await bank.client.get("/xs2a/dfspa/.well-known/oauth-authorization-server")
    doc = await oidc.json()
    assert oidc.status == 200 and doc == await rfc8414.json()
    assert (doc["issuer"], doc["authorization_endpoint"]) == (base, f"{base}/authorize")
    assert (doc["token_endpoint"], doc["jwks_uri"]) == (f"{base}/token", f"{base}/jwks")
    unknown = await bank.client.get("/xs2a/nobank/.well-known/openid-configuration")
    assert unknown.status == 404 and (await unknown.json())["error"] == "invalid_request"


async def test_jwks_publishes_the_public_signing_key(bank: Bank) -> None:
    response = await bank.client.get("/xs2a/dfspa/jwks")
    (key,) = (await response.json())["keys"]
    assert response.status == 200 and key["kid"] == bank.server.key.kid and "d" not in key


async def test_headless_approve_redirects_with_code_and_state(bank: Bank) -> None:
    query = [*authorize().items(), ("sim_decision", "approve"), ("sim_account", "DE02")]
    response = await bank.client.get("/xs2a/dfspa/authorize", params=query, allow_redirects=False)
    location = response.headers["Location"]
    assert response.status == 302 and location.startswith(REDIRECT + "?")
    assert carried(location)["state"] == "st-1" and carried(location)["code"]
    assert bank.approval.decisions == [("approve", "pay-1", None, "DE02")]  # no password
    form = {
        "grant_type": "authorization_code",
        "code": carried(location)["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    token = await bank.client.post("/xs2a/dfspa/token", data=form, headers={"Authorization": BASIC})
    body = await token.json()
    assert token.status == 200 and token.headers["Cache-Control"] == "no-store"
    assert (body["token_type"], body["scope"]) == ("Bearer", "PIS:pay-1")
    access = bank.server.access(body["access_token"])
    assert (access.intent_id, access.psu_id, access.accounts) == ("pay-1", "psu-1", ("DE02",))


async def test_headless_deny_and_refused_approvals_come_back_as_access_denied(bank: Bank) -> None:
    deny = await bank.client.get(
        "/xs2a/dfspa/authorize",
        params={**authorize(), "sim_decision": "deny"},
        allow_redirects=False,
    )
    assert carried(deny.headers["Location"])["error"] == "access_denied"
    unknown_psu = {**authorize(), "sim_decision": "approve", "sim_psu": "mallory"}
    refused = await bank.client.get(
        "/xs2a/dfspa/authorize", params=unknown_psu, allow_redirects=False
    )
    answer = carried(refused.headers["Location"])
    assert (answer["error"], answer["error_description"]) == (
        "access_denied",
        "dfspa has no user mallory",
    )
    assert bank.approval.decisions == [("deny", "pay-1")]


async def test_a_bad_sim_decision_is_shown_not_guessed(bank: Bank) -> None:
    params = {**authorize(), "sim_decision": "maybe"}
    response = await bank.client.get("/xs2a/dfspa/authorize", params=params, allow_redirects=False)
    assert (
        response.status == 400 and "sim_decision must be approve or deny" in await response.text()
    )


@pytest.mark.parametrize(
    ("changes", "status", "shown"),
    [
        ({"client_id": "nobody"}, 400, "invalid_request: client_id 'nobody' is not a client"),
        # Echoed as text, not markup (plain text, nosniff); no quote or line break.
        (
            {"client_id": '<script>alert("x")</script>\r\n'},
            400,
            "client_id '<script>alert(?x?)</script>?r?n' is not a client",
        ),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "is not one of client tpp's"),
        # urlsplit drops CR and LF, so the path rule alone would admit a header injection.
        ({"redirect_uri": f"{REDIRECT}/\r\nX-Injected: 1"}, 400, "is not one of client tpp's"),
        # Under the registered path as written, elsewhere once the browser follows it: the
        # code would go to another page of the host.
        ({"redirect_uri": f"{REDIRECT}/../admin"}, 400, "is not one of client tpp's"),
        ({"redirect_uri": f"{REDIRECT}/%2e%2e/admin"}, 400, "is not one of client tpp's"),
        ({"redirect_uri": f"{REDIRECT}/..%2Fadmin"}, 400, "is not one of client tpp's"),
        ({"redirect_uri": f"{REDIRECT}/x\\..\\..\\admin"}, 400, "is not one of client tpp's"),
    ],
)
async def test_requests_the_client_cannot_be_told_of_are_shown(
    bank: Bank, changes: dict[str, str], status: int, shown: str
) -> None:
    response = await bank.client.get(
        "/xs2a/dfspa/authorize", params=authorize(**changes), allow_redirects=False
    )
    assert response.status == status and response.content_type == "text/plain"
    # The page echoes the client_id or redirect_uri asked: never to be sniffed as HTML.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert shown in await response.text()


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"response_type": "token"}, "unsupported_response_type", "use code or 'code id_token'"),
        ({"scope": "PIS:pay-404"}, "invalid_request", "dfspa has no payment pay-404"),
        ({"scope": "PIS:pay-done"}, "invalid_request", "payment pay-done is already authorised"),
        ({"scope": "payments"}, "invalid_request", "does not name the payment"),
        (
            {"scope": "PIS:pay-1 accounts anything"},
            "invalid_scope",
            "scope anything is not supported at http://127.0.0.1:4040/xs2a/dfspa: ask for"
            " scopes among openid payments accounts fundsconfirmations pisp aisp cbpii"
            " PIS:{paymentId}",
        ),
    ],
)
async def test_refusals_go_back_to_the_client(
    bank: Bank, changes: dict[str, str], error: str, description: str
) -> None:
    response = await bank.client.get(
        "/xs2a/dfspa/authorize", params=authorize(**changes), allow_redirects=False
    )
    answer = carried(response.headers["Location"])
    assert response.status == 302 and (answer["error"], answer["state"]) == (error, "st-1")
    assert description in answer["error_description"]


@pytest.mark.parametrize("response_type", ["code", "code id_token"])
async def test_a_state_that_is_not_printable_ascii_is_refused_before_anyone_decides(
    bank: Bank, response_type: str
) -> None:
    """RFC 6749 Appendix A.5; the hybrid flow's id_token hashes the state's ASCII
    (s_hash), so the bank could not answer after the user approved."""
    params = {
        **authorize(scope="openid PIS:pay-1", response_type=response_type, nonce="n"),
        "state": "caf\u00e9",
        "sim_decision": "approve",
    }
    response = await bank.client.get("/xs2a/dfspa/authorize", params=params, allow_redirects=False)
    answer = carried(response.headers["Location"])
    assert response.status == 302 and answer["error"] == "invalid_request"
    assert "state must be printable ASCII" in answer["error_description"]
    assert answer["state"] == "caf\u00e9" and not bank.approval.decisions


async def test_the_page_flow(bank: Bank) -> None:
    response = await bank.client.get(
        "/xs2a/dfspa/authorize", params=authorize(), allow_redirects=False
    )
    page_url = response.headers["Location"]
    assert response.status == 302 and page_url.startswith(f"{SITE}/login/dfspa/oauth/")
    path = urlsplit(page_url).path
    page = await bank.client.get(path)
    text = await page.text()
    assert page.status == 200 and "asks to pay 12.00 EUR to Bob." in text
    form = {"csrf": form_token(text), "password": "pw", "decision": "approve", "account": "DE02"}
    approved = await bank.client.post(path, data=form, allow_redirects=False)
    location = approved.headers["Location"]
    assert approved.status == 303 and location.startswith(REDIRECT + "?code=")
    assert bank.approval.decisions == [("approve", "pay-1", "pw", "DE02")]
    again = await bank.client.get(path)
    assert again.status == 409 and "already been decided" in await again.text()
    assert (await bank.client.get("/login/dfspa/oauth/nope")).status == 404


async def test_headless_off_shows_the_page_whatever_the_url_says() -> None:
    async for bank in serve(config(headless=False)):
        params = {**authorize(), "sim_decision": "approve"}
        response = await bank.client.get(
            "/xs2a/dfspa/authorize", params=params, allow_redirects=False
        )
        assert response.headers["Location"].startswith(f"{SITE}/login/dfspa/oauth/")
        assert bank.approval.decisions == []


@pytest.mark.parametrize(
    ("data", "headers", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, {}, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials"},
            {"Authorization": "Basic eA=="},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials"},
            {"Authorization": "Basic \u00e9t\u00e9"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "magic"}, {"Authorization": BASIC}, 400, "unsupported_grant_type"),
        (
            "grant_type=client_credentials&grant_type=x",
            {"Authorization": BASIC},
            400,
            "invalid_request",
        ),
        (b"grant_type=\xff", {"Authorization": BASIC}, 400, "invalid_request"),
        ("x" * 20_000, {"Authorization": BASIC}, 413, "invalid_request"),
    ],
)
async def test_token_refusals_are_rfc_6749_json(
    bank: Bank, data: Any, headers: dict[str, str], status: int, error: str
) -> None:
    if not isinstance(data, dict):
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    response = await bank.client.post("/xs2a/dfspa/token", data=data, headers=headers)
    body = await response.json()
    assert (response.status, body["error"]) == (status, error) and body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


async def test_the_token_endpoint_takes_only_a_form(bank: Bank) -> None:
    response = await bank.client.post(
        "/xs2a/dfspa/token",
        json={"grant_type": "client_credentials"},
        headers={"Authorization": BASIC},
    )
    body = await response.json()
    assert (
        response.status == 400 and "application/x-www-form-urlencoded" in body["error_description"]
    )
    cc = await bank.client.post(
        "/xs2a/dfspa/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": BASIC},
    )
    assert cc.status == 200 and (await cc.json())["scope"] == "payments"


async def test_one_server_under_two_bases_answers_each_with_its_dialect() -> None:
    """Each mount is its own issuer; the shared PSU page finds the dialect a request was
    made through."""
    sim = Simulation(config())
    server = server_for(sim.config, "dfspa", sim.state.bank.store, sim.clock, sim.ids)
    xs2a, obie = Approval(), Approval(purpose="asks you to authorise consent pay-1.")
    app = web.Application()
    app[SIMULATION] = sim
    add_oauth_routes(app, "/xs2a/{fsp_id}", lambda s, f: (server, xs2a), intent=intent_from_scope)
    add_oauth_routes(app, "/obie/{fsp_id}", lambda s, f: (server, obie), intent=intent_from_claims)
    async with TestClient(TestServer(app)) as client:
        params = {
            **authorize(scope="openid payments", response_type="code id_token", nonce="n"),
            "openbanking_intent_id": "pay-1",
            "sim_decision": "approve",
        }
        hybrid = await client.get("/obie/dfspa/authorize", params=params, allow_redirects=False)
        id_token = carried(hybrid.headers["Location"])["id_token"]
        keys = KeySet.import_key_set(await (await client.get("/obie/dfspa/jwks")).json())
        claims = jwt.decode(id_token, keys, algorithms=["PS256"]).claims
        assert claims["iss"] == f"{SITE}/obie/dfspa" and claims["openbanking_intent_id"] == "pay-1"
        del params["sim_decision"]
        sent = await client.get("/obie/dfspa/authorize", params=params, allow_redirects=False)
        page = await client.get(urlsplit(sent.headers["Location"]).path)
        assert "asks you to authorise consent pay-1." in await page.text()
        assert obie.decisions and not xs2a.decisions
    await sim.close()


async def test_a_code_is_taken_only_at_the_token_endpoint_of_its_issuer() -> None:
    """Two bases of one server are two issuers, as two servers would be: a code (and its
    refresh token) from one is refused at the other's token endpoint, and still good at
    its own."""
    sim = Simulation(config())
    server = server_for(sim.config, "dfspa", sim.state.bank.store, sim.clock, sim.ids)
    app = web.Application()
    app[SIMULATION] = sim
    add_oauth_routes(
        app, "/xs2a/{fsp_id}", lambda s, f: (server, Approval()), intent=intent_from_scope
    )
    add_oauth_routes(
        app, "/obie/{fsp_id}", lambda s, f: (server, Approval()), intent=intent_from_claims
    )
    async with TestClient(TestServer(app)) as client:
        params = {**authorize(scope="payments"), "openbanking_intent_id": "pay-1"}
        sent = await client.get(
            "/obie/dfspa/authorize",
            params={**params, "sim_decision": "approve"},
            allow_redirects=False,
        )
        code = carried(sent.headers["Location"])["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }
        auth = {"Authorization": BASIC}
        elsewhere = await client.post("/xs2a/dfspa/token", data=form, headers=auth)
        refused = await elsewhere.json()
        assert (elsewhere.status, refused["error"]) == (400, "invalid_grant")
        assert (
            f"send it to that issuer's token endpoint, {SITE}/obie/dfspa/token"
            in (refused["error_description"])
        )
        issued = await (await client.post("/obie/dfspa/token", data=form, headers=auth)).json()
        refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
        again = await client.post("/xs2a/dfspa/token", data=refresh, headers=auth)
        assert (again.status, (await again.json())["error"]) == (400, "invalid_grant")
        renewed = await client.post("/obie/dfspa/token", data=refresh, headers=auth)
        assert renewed.status == 200
    await sim.close()
