"""tpsim stands in for a PISP's sdk-scheme-adapter party lookup (issue 15, item 1).

``GET /sdk/{fspId}/parties/{Type}/{ID}[/{SubId}]`` runs the real lookup through the switch
as that PISP, takes the ``PUT /parties`` callback itself (the PISP's own endpoint never gets
it) and answers synchronously in the adapter's shapes. Real HTTP on loopback ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import MakeScheme
from tests.support.pisp import TestPisp
from tests.support.scheme import BOB_MSISDN, Scheme
from tpsim.journal import Hop
from tpsim.serve.admin import ADMIN_TOKEN
from tpsim.serve.app import create_app
from tpsim.serve.traffic import Seen

BOB = f"/parties/MSISDN/{BOB_MSISDN}"
NOBODY = "/parties/MSISDN/19995550000"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def sdk_get(
    http: aiohttp.ClientSession, scheme: Scheme, path: str, method: str = "GET"
) -> tuple[int, Any]:
    """What the reference PISP's ``SDKOutgoingRequests`` sends: a plain JSON GET."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with http.request(method, scheme.url + path, headers=headers) as response:
        return response.status, await response.json()


def hops(scheme: Scheme, method: str, path: str) -> list[tuple[Hop, str, str | None]]:
    assert scheme.sim is not None
    return [
        (e.hop, e.source, e.destination)
        for e in scheme.sim.journal.entries()
        if e.method == method and e.path == path
    ]


def parties_callbacks_at(pisp: TestPisp) -> list[str]:
    return [r.path for r in pisp.received if r.path.startswith("/parties/")]


async def test_a_found_party_is_answered_with_the_adapters_party_and_current_state(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    status, body = await sdk_get(http, scheme, f"/sdk/pispa{BOB}")

    assert status == 200
    assert body["currentState"] == "COMPLETED"
    party = body["party"]["body"]
    assert party["partyIdInfo"] == {
        "partyIdType": "MSISDN",
        "partyIdentifier": BOB_MSISDN,
        "fspId": "dfspb",
    }
    assert party["name"] == "Bob Babirye"
    headers = body["party"]["headers"]
    assert headers["fspiop-source"] == "dfspb"
    assert headers["fspiop-destination"] == "pispa"


async def test_the_lookup_goes_through_the_switch_as_the_pisp_and_its_callback_stays_in_tpsim(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    await sdk_get(http, scheme, f"/sdk/pispa{BOB}")
    await scheme.settle()

    assert (Hop.RECEIVED, "pispa", None) in hops(scheme, "GET", BOB)
    assert (Hop.DELIVERED, "pispa", "dfspb") in hops(scheme, "GET", BOB)
    assert [(h, s, d) for h, s, d in hops(scheme, "PUT", BOB)] == [(Hop.SENT, "dfspb", "pispa")]
    assert parties_callbacks_at(scheme.pisp) == []


async def test_a_party_nobody_registered_is_the_adapters_404_with_the_error_information(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    status, body = await sdk_get(http, scheme, f"/sdk/pispa{NOBODY}")
    await scheme.settle()

    assert status == 404
    assert body["currentState"] == "COMPLETED"
    assert body["errorInformation"]["errorCode"] == "3204"
    assert hops(scheme, "PUT", f"{NOBODY}/error") == [(Hop.SENT, "switch", "pispa")]
    assert parties_callbacks_at(scheme.pisp) == []


async def test_a_sub_id_is_looked_up_under_its_own_path(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    status, body = await sdk_get(http, scheme, f"/sdk/pispa{NOBODY}/home")
    await scheme.settle()

    assert status == 404
    assert body["errorInformation"]["errorCode"] == "3204"
    assert (Hop.RECEIVED, "pispa", None) in hops(scheme, "GET", f"{NOBODY}/home")


@pytest.mark.parametrize(
    ("path", "method", "status", "code", "says"),
    [
        (f"/sdk/nobody{BOB}", "GET", 404, "3200", "one of: pispa"),
        (f"/sdk/dfspa{BOB}", "GET", 404, "3200", "not a PISP"),
        ("/sdk/pispa/parties/PHONE/1", "GET", 400, "3100", "not a PartyIdType"),
        ("/sdk/pispa/parties/MSISDN/" + "1" * 129, "GET", 400, "3100", "1 to 128"),
        ("/sdk/pispa/parties/MSISDN/1/" + "s" * 129, "GET", 400, "3100", "SubId"),
        ("/sdk/pispa/parties/MSISDN", "GET", 404, "3002", "GET /sdk/{fspId}/parties"),
        ("/sdk/pispa/quotes/1/2", "GET", 404, "3002", "GET /sdk/{fspId}/parties"),
        (f"/sdk/pispa{BOB}", "POST", 405, "3000", "POST is not allowed"),
        (f"/sdk/pispa{BOB}/error", "GET", 404, "3002", "GET /sdk/{fspId}/parties"),
        ("/sdk/pispa/parties/MSISDN/16135551212%3Fa=b", "GET", 400, "3100", "'?'"),
    ],
)
async def test_a_lookup_tpsim_cannot_run_is_refused_in_the_adapters_shape_saying_what_to_fix(
    scheme: Scheme,
    http: aiohttp.ClientSession,
    path: str,
    method: str,
    status: int,
    code: str,
    says: str,
) -> None:
    answered, body = await sdk_get(http, scheme, path, method)

    assert (answered, body["statusCode"]) == (status, code)
    assert says in body["message"]


async def test_the_sdk_lookup_needs_no_admin_token(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    assert scheme.sim is not None
    app = create_app(scheme.sim)
    app[ADMIN_TOKEN] = "s3cret"  # noqa: S105 - a test token
    app.on_cleanup.clear()  # the scheme's own server closes the simulation
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with http.get(server.make_url("/admin/journal")) as guarded:
            assert guarded.status == 401
        async with http.get(server.make_url(f"/sdk/pispa{BOB}")) as looked_up:
            assert looked_up.status == 200
    finally:
        await server.close()


async def test_no_callback_in_time_is_the_adapters_timeout(
    make_scheme: MakeScheme, http: aiohttp.ClientSession
) -> None:
    silent = TestPisp(fsp_id="dfspx")  # an external DFSP that takes GET /parties, never answers
    url = await silent.start()
    try:
        scheme = await make_scheme(
            participants=[
                {"fsp_id": "pispa", "kind": "pisp", "endpoint": "http://127.0.0.1:1"},
                {"fsp_id": "dfspa", "kind": "dfsp", "simulated": True},
                {"fsp_id": "dfspb", "kind": "dfsp", "simulated": True},
                {"fsp_id": "dfspx", "kind": "dfsp", "endpoint": url},
                {"fsp_id": "central-auth", "kind": "auth-service", "simulated": True},
            ],
            parties=[{"party_identifier": "15550001", "fsp_id": "dfspx"}],
            behaviour={"sdk_lookup_timeout_s": 5},
        )
        asking = asyncio.create_task(sdk_get(http, scheme, "/sdk/pispa/parties/MSISDN/15550001"))
        await silent.wait_for("GET", "/parties/MSISDN/15550001")
        assert not asking.done()
        scheme.advance(5)
        status, body = await asking
    finally:
        await silent.close()

    assert status == 500
    assert body["statusCode"] == "500"
    assert body["requestPartiesInformationState"] == {}
    assert "no PUT /parties/MSISDN/15550001 callback reached pispa within 5 s" in body["message"]


async def test_two_lookups_of_the_same_party_each_get_their_answer(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    first, second = await asyncio.gather(
        sdk_get(http, scheme, f"/sdk/pispa{BOB}"), sdk_get(http, scheme, f"/sdk/pispa{BOB}")
    )
    await scheme.settle()

    assert first[0] == second[0] == 200
    assert first[1]["party"]["body"]["name"] == second[1]["party"]["body"]["name"] == "Bob Babirye"
    received = [h for h in hops(scheme, "GET", BOB) if h[0] is Hop.RECEIVED]
    assert len(received) == 2
    assert parties_callbacks_at(scheme.pisp) == []


async def test_a_lookup_the_pisp_sends_itself_still_gets_its_callback_over_http(
    scheme: Scheme,
) -> None:
    sent = await scheme.pisp.send("GET", BOB)

    assert sent.status == 202
    await scheme.pisp.wait_for("PUT", BOB)


async def test_the_lookup_is_counted_as_a_request_from_the_pisp(
    scheme: Scheme, http: aiohttp.ClientSession
) -> None:
    """Every hop the journal keeps is told to the traffic's watchers (``/metrics``, the
    traffic log): the ``GET /parties`` the lookup sends as the PISP is one received from
    outside, as if the PISP's adapter had sent it to the FSPIOP edge."""
    assert scheme.sim is not None
    seen: list[Seen] = []
    scheme.sim.router.traffic.listen(seen.append)

    status, _ = await sdk_get(http, scheme, f"/sdk/pispa{BOB}")
    await scheme.settle()

    assert status == 200
    received = [s for s in seen if s.entry.hop is Hop.RECEIVED]
    assert [(s.entry.source, s.route, s.status) for s in received] == [
        ("pispa", "/parties/{Type}/{ID}", 202)
    ]
    assert received[0].receiver == "switch"
    # The journal and the watchers agree, hop by hop.
    journaled = [e.seq for e in scheme.sim.journal.entries() if e.path.startswith("/parties")]
    assert sorted(s.entry.seq for s in seen if s.entry.path.startswith("/parties")) == journaled
