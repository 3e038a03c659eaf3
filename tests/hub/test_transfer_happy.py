"""A complete Third Party transfer over real HTTP: lookup, request, authorization, PATCH."""

from __future__ import annotations

from tests.support.scheme import BOB_MSISDN, Scheme, transaction_request

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"


async def test_fido_transfer_completes(scheme: Scheme) -> None:
    pisp = scheme.pisp
    lookup = await pisp.send("GET", f"/parties/MSISDN/{BOB_MSISDN}")
    assert lookup.status == 202
    party = await pisp.wait_for("PUT", f"/parties/MSISDN/{BOB_MSISDN}")
    assert party.body["party"]["partyIdInfo"]["fspId"] == "dfspb"
    assert party.headers["FSPIOP-Source"] == "dfspb"

    sent = await pisp.send(
        "POST", "/thirdpartyRequests/transactions", transaction_request(REQUEST_ID), destination="dfspa"
    )
    assert sent.status == 202, sent.body
    received = await pisp.wait_for("PUT", f"/thirdpartyRequests/transactions/{REQUEST_ID}")
    assert received.body["transactionRequestState"] == "RECEIVED"
    auth = await pisp.wait_for("POST", "/thirdpartyRequests/authorizations")
    assert auth.body["transactionRequestId"] == REQUEST_ID
    assertion = scheme.fido.assertion(auth.body["challenge"])
    answer = await pisp.send(
        "PUT",
        f"/thirdpartyRequests/authorizations/{auth.body['authorizationRequestId']}",
        {"responseType": "ACCEPTED", "signedPayload": {"signedPayloadType": "FIDO", "fidoSignedPayload": assertion}},
        destination="dfspa",
    )
    assert answer.status == 200, answer.body
    patch = await pisp.wait_for("PATCH", f"/thirdpartyRequests/transactions/{REQUEST_ID}")
    assert patch.body["transactionRequestState"] == "ACCEPTED"
    assert patch.body["transactionState"] == "COMPLETED"
    assert scheme.balance("dfspa.alice.chequing") == "900"
    assert scheme.balance("dfspb.bob.chequing") == "100"
