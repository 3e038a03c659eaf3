"""Per-type participant endpoints (issue 15, item 1): ``participants[].endpoints`` sends a
resource family's callbacks to its own base URL, as Mojaloop's participant endpoints do
(FSPIOP_CALLBACK_URL_PARTIES_PUT, TP_CB_URL_…); the plain ``endpoint`` takes the rest.
Real HTTP on loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import MakeScheme
from tests.support.pisp import TestPisp
from tests.support.scheme import BOB_MSISDN, Scheme

BOB = f"/parties/MSISDN/{BOB_MSISDN}"


@pytest.fixture
async def adapter() -> AsyncIterator[TestPisp]:
    """The PISP's sdk-scheme-adapter inbound: where its ``PUT /parties`` callbacks belong."""
    server = TestPisp(fsp_id="pispa")
    await server.start()
    yield server
    await server.close()


async def pisp_with_parties_at(make_scheme: MakeScheme, url: str) -> Scheme:
    return await make_scheme(
        participants=[
            {"fsp_id": "pispa", "kind": "pisp", "endpoint": "x", "endpoints": {"parties": url}},
            {"fsp_id": "dfspa", "kind": "dfsp", "simulated": True},
            {"fsp_id": "dfspb", "kind": "dfsp", "simulated": True},
            {"fsp_id": "central-auth", "kind": "auth-service", "simulated": True},
        ]
    )


async def test_a_family_with_its_own_endpoint_gets_its_callbacks_there(
    make_scheme: MakeScheme, adapter: TestPisp
) -> None:
    scheme = await pisp_with_parties_at(make_scheme, adapter.url)

    await scheme.pisp.send("GET", BOB)

    callback = await adapter.wait_for("PUT", BOB)
    assert callback.headers["FSPIOP-Source"] == "dfspb"
    await scheme.settle()
    assert [r.path for r in scheme.pisp.received if r.path.startswith("/parties/")] == []


async def test_the_other_families_keep_the_default_endpoint(
    make_scheme: MakeScheme, adapter: TestPisp
) -> None:
    scheme = await pisp_with_parties_at(make_scheme, adapter.url)

    await scheme.pisp.send("GET", "/services/THIRD_PARTY_DFSP")

    await scheme.pisp.wait_for("PUT", "/services/THIRD_PARTY_DFSP")
    await scheme.settle()
    assert adapter.received == []


async def test_pointing_the_participant_elsewhere_keeps_its_family_endpoints(
    make_scheme: MakeScheme, adapter: TestPisp
) -> None:
    scheme = await pisp_with_parties_at(make_scheme, adapter.url)
    assert scheme.sim is not None

    scheme.sim.point("pispa", scheme.pisp.url)
    await scheme.pisp.send("GET", BOB)

    await adapter.wait_for("PUT", BOB)
