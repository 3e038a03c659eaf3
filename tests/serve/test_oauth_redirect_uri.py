"""/authorize reads redirect_uri exactly as the client sent it (RFC 6749 3.1.2, Appendix B):
the raw query decoded once, never a byte that is not UTF-8 turned into U+FFFD, so the
URI compared with the client's registered ones is the one its answer goes to. The same
handler serves every dialect's mount (``/xs2a``, ``/obie``, ``/stet``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
import yarl
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.serve.test_oauth import Approval, Client, authorize, carried, config
from tpsim.auth.oauth import intent_from_scope
from tpsim.serve.edge import SIMULATION
from tpsim.serve.oauth import add_oauth_routes
from tpsim.serve.psd2 import server_for
from tpsim.serve.simulation import Simulation

BASES = ("/xs2a", "/obie", "/stet")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    sim = Simulation(config())
    server = server_for(sim.config, "dfspa", sim.state.bank.store, sim.clock, sim.ids)
    app = web.Application()
    app[SIMULATION] = sim
    for base in BASES:
        add_oauth_routes(
            app,
            base + "/{fsp_id}",
            lambda s, f: (server, Approval()),
            intent=intent_from_scope,
            scope_templates=("PIS:{paymentId}",),
        )
    async with TestClient(TestServer(app)) as served:
        yield served
    await sim.close()


async def sent_as_is(client: Client, base: str, redirect_uri: str) -> tuple[int, str, str]:
    """GET /authorize with ``redirect_uri`` put in the query byte for byte (yarl would
    otherwise re-encode it): the status, the Location and the body."""
    params = {k: v for k, v in authorize(sim_decision="approve").items() if k != "redirect_uri"}
    url = client.make_url(f"{base}/dfspa/authorize")
    query = f"{urlencode(params)}&redirect_uri={redirect_uri}"
    target = yarl.URL(f"{url}?{query}", encoded=True)
    response = await client.session.get(target, allow_redirects=False)
    return response.status, response.headers.get("Location", ""), await response.text()


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(
    "redirect_uri", ["https://tpp.example/cb/%FF", "https%3A%2F%2Ftpp.example%2Fcb%2F%C3"]
)
async def test_a_redirect_uri_that_is_not_utf8_is_refused_on_the_page_never_rewritten(
    client: Client, base: str, redirect_uri: str
) -> None:
    status, location, text = await sent_as_is(client, base, redirect_uri)
    assert (status, location) == (400, "")
    assert "invalid_request: redirect_uri is not UTF-8" in text


@pytest.mark.parametrize("base", BASES)
async def test_a_client_id_that_is_not_utf8_is_refused_on_the_page(
    client: Client, base: str
) -> None:
    url = client.make_url(f"{base}/dfspa/authorize")
    target = yarl.URL(f"{url}?client_id=tpp%FF&response_type=code", encoded=True)
    response = await client.session.get(target, allow_redirects=False)
    assert response.status == 400 and "Location" not in response.headers
    assert "invalid_request: client_id is not UTF-8" in await response.text()


@pytest.mark.parametrize(
    ("redirect_uri", "answered_at"),
    [
        # A percent-encoded byte in the URI itself: sent as %25FF, answered at %FF.
        ("https%3A%2F%2Ftpp.example%2Fcb%2F%25FF", "https://tpp.example/cb/%FF?"),
        ("https://tpp.example/cb/x%25FF", "https://tpp.example/cb/x%FF?"),
        ("https://tpp.example/cb", "https://tpp.example/cb?"),
    ],
)
async def test_the_answer_goes_to_the_redirect_uri_exactly_as_sent(
    client: Client, redirect_uri: str, answered_at: str
) -> None:
    status, location, _ = await sent_as_is(client, "/xs2a", redirect_uri)
    assert status == 302 and location.startswith(answered_at)
    assert "code" in carried(location)


async def test_another_parameter_that_is_not_utf8_is_refused_back_at_the_client(
    client: Client,
) -> None:
    """Once the redirect URI is trusted, the error goes to it (RFC 6749 4.1.2.1)."""
    url = client.make_url("/xs2a/dfspa/authorize")
    params = urlencode({k: v for k, v in authorize().items() if k != "state"})
    target = yarl.URL(f"{url}?{params}&state=%FF", encoded=True)
    response = await client.session.get(target, allow_redirects=False)
    answer = carried(response.headers["Location"])
    assert response.status == 302 and answer["error"] == "invalid_request"
    assert "state must be printable ASCII" in answer["error_description"]
