"""The switch's routing over real HTTP (DESIGN.md "The switch", digest §1).

Header routing by FSPIOP-Destination; ``GET /parties`` through the ALS; ``GET /services``
answered by the switch; a message the switch cannot deliver is answered with its
``PUT …/error`` back to the source, from the hub.
"""

from __future__ import annotations

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import (
    AUTHZ,
    TX,
    complete_transfer,
    error_code,
    request_transfer,
    wait_error,
)
from tests.support.overrides import closed_port, with_participant, with_second_pisp
from tests.support.scheme import BOB_MSISDN, Scheme
from tpsim.journal import Hop

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"


async def test_party_lookup_goes_through_the_als(scheme: Scheme) -> None:
    sent = await scheme.pisp.send("GET", f"/parties/MSISDN/{BOB_MSISDN}")
    assert sent.status == 202

    party = await scheme.pisp.wait_for("PUT", f"/parties/MSISDN/{BOB_MSISDN}")
    assert party.headers["FSPIOP-Source"] == "dfspb"
    assert party.headers["FSPIOP-Destination"] == "pispa"
    assert party.headers["Content-Type"].startswith("application/vnd.interoperability.parties")
    assert party.body is not None
    assert party.body["party"]["partyIdInfo"] == {
        "partyIdType": "MSISDN",
        "partyIdentifier": BOB_MSISDN,
        "fspId": "dfspb",
    }
    assert party.body["party"]["name"] == "Bob Babirye"


@pytest.mark.parametrize("path", ["/parties/MSISDN/19995550000", "/parties/EMAIL/bob@example.com"])
async def test_unknown_party_is_answered_by_the_switch(scheme: Scheme, path: str) -> None:
    await scheme.pisp.send("GET", path)
    error = await wait_error(scheme.pisp, path)
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == "switch"
    assert error.headers["FSPIOP-Destination"] == "pispa"
    assert error_code(error) == "3204"
    assert len(scheme.pisp.received) == 1


@pytest.mark.parametrize(
    ("service", "providers"),
    [
        ("THIRD_PARTY_DFSP", ["dfspa", "dfspb"]),
        ("PISP", ["pispa", "pispb"]),
        ("AUTH_SERVICE", ["central-auth"]),
    ],
)
async def test_services_are_answered_by_the_switch(
    make_scheme: MakeScheme, service: str, providers: list[str]
) -> None:
    scheme = await make_scheme(**with_second_pisp())
    sent = await scheme.pisp.send("GET", f"/services/{service}")
    assert sent.status == 202

    reply = await scheme.pisp.wait_for("PUT", f"/services/{service}")
    assert reply.headers["FSPIOP-Source"] == "switch"
    assert reply.body == {"providers": providers}


@pytest.mark.parametrize("hub", ["switch", "Hub"])
async def test_unknown_destination_is_answered_by_the_switch(
    make_scheme: MakeScheme, hub: str
) -> None:
    scheme = await make_scheme(hub={"name": hub})
    await request_transfer(scheme, REQUEST_ID, destination="dfspz")
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == hub
    assert error.headers["FSPIOP-Destination"] == "pispa"
    assert error_code(error) == "3201"
    description = error.body["errorInformation"]["errorDescription"]  # type: ignore[index]
    assert description.startswith("FSPIOP-Destination: 'dfspz' is not a participant")
    assert description.count("FSPIOP-Destination") == 1  # the field named once, not twice
    assert scheme.balance("dfspa.alice.chequing") == "1000"


async def test_unreachable_participant_is_answered_by_the_switch(
    make_scheme: MakeScheme,
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    scheme = await make_scheme(**with_participant("dfspx", "dfsp", endpoint))

    await request_transfer(scheme, REQUEST_ID, destination="dfspx")
    error = await wait_error(scheme.pisp, f"{TX}/{REQUEST_ID}")
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == "switch"
    assert error_code(error) == "1001"
    assert "dfspx" in error.body["errorInformation"]["errorDescription"]  # type: ignore[index]
    assert scheme.sim is not None
    (attempt,) = [
        e for e in scheme.sim.journal.entries() if e.hop is Hop.SENT and e.destination == "dfspx"
    ]
    assert attempt.status is None and attempt.error


async def test_pisp_answering_500_is_journaled_and_the_switch_keeps_serving(
    scheme: Scheme,
) -> None:
    pisp = scheme.pisp
    pisp.respond_with = 500
    await request_transfer(scheme, REQUEST_ID)
    await wait_error(pisp, f"{TX}/{REQUEST_ID}")
    await scheme.settle()

    assert scheme.sim is not None
    journal = scheme.sim.journal.entries()
    refused = [(e.method, e.path, e.status) for e in journal if e.hop is Hop.SENT]
    assert refused == [
        ("PUT", f"{TX}/{REQUEST_ID}", 500),
        ("PUT", f"{TX}/{REQUEST_ID}/error", 500),
    ]
    # The switch told the payer DFSP that its callback could not be delivered …
    told = [e for e in journal if e.source == "switch" and e.destination == "dfspa"]
    assert [e.body["errorInformation"]["errorCode"] for e in told] == ["1001"]  # type: ignore[index]
    # … and the payer DFSP stopped the transfer (the reference's 7102) instead of asking a
    # PISP it cannot reach for an authorization; the payee's quote is then refused.
    (failure,) = [
        e for e in journal if e.path == f"{TX}/{REQUEST_ID}/error" and e.source == "dfspa"
    ]
    assert failure.body["errorInformation"]["errorCode"] == "6000"  # type: ignore[index]
    assert not any(e.path == AUTHZ for e in journal)
    assert any(e.path.endswith("/error") and e.destination == "dfspb" for e in journal)
    assert scheme.balance("dfspa.alice.chequing") == "1000"

    pisp.respond_with = None
    async with pisp._session.get(f"{scheme.url}/health") as health:  # type: ignore[union-attr]
        assert health.status == 200
    patch = await complete_transfer(scheme, "c8a5d4b2-1f3e-4a6b-9c7d-2e8f0a1b3c4d")
    assert patch.body is not None and patch.body["transactionState"] == "COMPLETED"


async def test_undeliverable_authorization_request_fails_the_transfer_at_once(
    scheme: Scheme,
) -> None:
    pisp = scheme.pisp
    pisp.refuse[("POST", AUTHZ)] = 503
    await request_transfer(scheme, REQUEST_ID)
    error = await wait_error(pisp, f"{TX}/{REQUEST_ID}")
    # No timeout needed: the switch's 1001 for the authorization request ends the transfer.
    assert error.error_code == "6000"
    assert "the switch answered 1001" in error.body["errorInformation"]["errorDescription"]  # type: ignore[index]
    assert scheme.balance("dfspa.alice.chequing") == "1000"


async def test_a_party_registered_to_the_switch_is_refused_and_never_looped(
    scheme: Scheme,
) -> None:
    # The ALS forwarding a lookup to itself would recurse until Python's recursion limit,
    # blocking the event loop for seconds and answering 2001.
    path = "/participants/MSISDN/19995550000"
    await scheme.pisp.send("POST", path, {"fspId": "switch"})
    refused = await wait_error(scheme.pisp, path)
    assert error_code(refused) == "3100"

    await scheme.pisp.send("GET", "/parties/MSISDN/19995550000")
    error = await wait_error(scheme.pisp, "/parties/MSISDN/19995550000")
    await scheme.settle()
    assert error_code(error) == "3204"
    assert scheme.sim is not None
    assert len(scheme.sim.journal.entries()) < 10


@pytest.mark.parametrize("payer", ["dfspa", "pispa"])
async def test_a_pisp_cannot_pay_a_payee_dfsp_itself(scheme: Scheme, payer: str) -> None:
    # A payee DFSP's quote is all a transfer needs to credit its party: the switch refuses
    # a POST /transfers whose payerFsp is not its sender, or not a DFSP (central-ledger's
    # prepare validation, 3100), so that nobody is paid with nobody debited.
    quote_id, transfer_id = "7cea1f36-e810-47a7-96f9-bc06eb7afa17", REQUEST_ID
    party = {"partyIdType": "MSISDN", "partyIdentifier": BOB_MSISDN, "fspId": "dfspb"}
    await scheme.pisp.send(
        "POST",
        "/quotes",
        {
            "quoteId": quote_id,
            "transactionId": transfer_id,
            "payee": {"partyIdInfo": party},
            "payer": {"partyIdInfo": dict(party, partyIdentifier="123", fspId=payer)},
            "amountType": "RECEIVE",
            "amount": {"currency": "USD", "amount": "500"},
            "transactionType": {
                "scenario": "TRANSFER",
                "initiator": "PAYER",
                "initiatorType": "CONSUMER",
            },
        },
        destination="dfspb",
    )
    quote = await scheme.pisp.wait_for("PUT", f"/quotes/{quote_id}")
    assert quote.body is not None
    transfer = {
        "transferId": transfer_id,
        "payerFsp": payer,
        "payeeFsp": "dfspb",
        "amount": {"currency": "USD", "amount": "500"},
        "ilpPacket": quote.body["ilpPacket"],
        "condition": quote.body["condition"],
        "expiration": quote.body["expiration"],
    }
    sent = await scheme.pisp.send("POST", "/transfers", transfer, destination="dfspb")
    assert sent.status == 202
    error = await wait_error(scheme.pisp, f"/transfers/{transfer_id}")
    await scheme.settle()

    assert error.headers["FSPIOP-Source"] == "switch"
    assert error_code(error) == "3100"
    assert scheme.balance("dfspb.bob.chequing") == "0"
    assert not [r for r in scheme.pisp.received if r.path == f"/transfers/{transfer_id}"]
