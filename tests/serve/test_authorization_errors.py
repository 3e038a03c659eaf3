"""Signed authorizations the auth-service does not verify (digest §6.2, errors.py).

The auth-service answers the payer DFSP's ``POST /thirdpartyRequests/verifications`` with
``PUT …/verifications/{ID}/error`` (6201 spec / 7105 reference, extension ``check`` naming
the failed step); the payer DFSP then tells the PISP 6201 (spec) / 7300 (reference) and
moves no money. Unlike Mojaloop's auth-service, the sign counter is stored after every
verification, so a replayed assertion is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import (
    TX,
    Credential,
    approve,
    complete_transfer,
    error_code,
    extensions,
    journal_bodies,
    run_until_authorization,
    signed_payload,
    wait_outcome,
)
from tests.support.pisp import Received
from tests.support.scheme import FIDO_ACCOUNT, GENERIC_ACCOUNT, Scheme
from tpsim.auth.broken import Broken

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"
SECOND_ID = "c8a5d4b2-1f3e-4a6b-9c7d-2e8f0a1b3c4d"
ACCOUNT = {"FIDO": FIDO_ACCOUNT, "GENERIC": GENERIC_ACCOUNT}
OPENING = {FIDO_ACCOUNT: "1000", GENERIC_ACCOUNT: "500"}
CODES = {"spec": ("6201", "6201"), "reference": ("7300", "7105")}  # (to PISP, auth-service)


def verification_error(scheme: Scheme) -> dict[str, Any]:
    """The auth-service's last ``PUT /thirdpartyRequests/verifications/{ID}/error`` body."""
    assert scheme.sim is not None
    bodies = [
        e.body
        for e in scheme.sim.journal.entries()
        if e.path.startswith("/thirdpartyRequests/verifications/")
        and e.path.endswith("/error")
        and e.source == "central-auth"
        and e.body is not None
    ]
    assert bodies, "the auth-service sent no verification error"
    return bodies[-1]


def check_of(body: dict[str, Any]) -> str | None:
    items = body["errorInformation"].get("extensionList", {}).get("extension", [])
    return next((i["value"] for i in items if i["key"] == "check"), None)


async def refused(scheme: Scheme, request_id: str, payer: str) -> Received:
    """Wait for the transfer's final callback, which must be an error; no money moved."""
    outcome = await wait_outcome(scheme.pisp, request_id)
    await scheme.settle()
    assert (outcome.method, outcome.path) == ("PUT", f"{TX}/{request_id}/error"), outcome.body
    assert outcome.headers["FSPIOP-Source"] == "dfspa"
    assert scheme.balance(payer) == OPENING[payer]
    assert scheme.balance("dfspb.bob.chequing") == "0"
    return outcome


# (credential, defect, the auth-service's failed check)
DEFECTS = [
    ("FIDO", Broken.TAMPERED_SIGNATURE, "signature"),
    ("FIDO", Broken.WRONG_CHALLENGE, "challenge"),
    ("FIDO", Broken.WRONG_RP_ID, "rp_id_hash"),
    ("FIDO", Broken.USER_NOT_PRESENT, "user_present"),
    ("FIDO", Broken.UNKNOWN_CREDENTIAL_ID, "credential_id"),
    ("FIDO", Broken.WRONG_TYPE, "client_data_type"),
    ("GENERIC", Broken.TAMPERED_SIGNATURE, "signature"),
    ("GENERIC", Broken.WRONG_CHALLENGE, "signature"),
    ("GENERIC", Broken.WRONG_KEY_TYPE, "key_type"),
]


@pytest.mark.parametrize("profile", ["spec", "reference"])
@pytest.mark.parametrize(("credential", "defect", "check"), DEFECTS)
async def test_broken_signature_is_refused(
    make_scheme: MakeScheme, profile: str, credential: Credential, defect: Broken, check: str
) -> None:
    scheme = await make_scheme(behaviour={"profile": profile})
    payer = ACCOUNT[credential]
    auth = await run_until_authorization(scheme, REQUEST_ID, payer=payer)

    await approve(scheme, auth, credential, broken=defect)
    outcome = await refused(scheme, REQUEST_ID, payer)

    to_pisp, from_auth = CODES[profile]
    assert error_code(outcome) == to_pisp
    assert extensions(outcome)["downstreamErrorCode"] == from_auth
    auth_error = verification_error(scheme)
    assert auth_error["errorInformation"]["errorCode"] == from_auth
    assert check_of(auth_error) == check


async def test_signing_another_challenge_is_refused(scheme: Scheme) -> None:
    auth = await run_until_authorization(scheme, REQUEST_ID)

    await approve(scheme, auth, payload=signed_payload(scheme, "not-the-challenge"))
    outcome = await refused(scheme, REQUEST_ID, FIDO_ACCOUNT)

    assert error_code(outcome) == "6201"
    assert check_of(verification_error(scheme)) == "challenge"


@pytest.mark.parametrize(("consented", "signed_with"), [("FIDO", "GENERIC"), ("GENERIC", "FIDO")])
async def test_signature_of_the_other_credential_type_is_refused(
    scheme: Scheme, consented: Credential, signed_with: Credential
) -> None:
    payer = ACCOUNT[consented]
    auth = await run_until_authorization(scheme, REQUEST_ID, payer=payer)

    await approve(scheme, auth, signed_with)
    outcome = await refused(scheme, REQUEST_ID, payer)

    assert error_code(outcome) == "6201"
    assert "signedPayloadType" in verification_error(scheme)["errorInformation"]["errorDescription"]


async def test_replayed_assertion_is_refused(make_scheme: MakeScheme) -> None:
    """A fixed challenge makes the old assertion's challenge right: only the counter is."""
    scheme = await make_scheme(behaviour={"challenge": "unimplemented123"})
    first = await run_until_authorization(scheme, REQUEST_ID)
    payload = await approve(scheme, first)
    assert (await wait_outcome(scheme.pisp, REQUEST_ID)).method == "PATCH"

    second = await run_until_authorization(scheme, SECOND_ID)
    assert second.body is not None and second.body["challenge"] == "unimplemented123"
    await approve(scheme, second, payload=payload)
    outcome = await wait_outcome(scheme.pisp, SECOND_ID)
    await scheme.settle()

    assert error_code(outcome) == "6201"
    assert check_of(verification_error(scheme)) == "counter"
    assert scheme.balance(FIDO_ACCOUNT) == "900"


async def test_assertion_of_another_transfer_is_refused(scheme: Scheme) -> None:
    """With derived challenges an old assertion fails on the challenge already."""
    first = await run_until_authorization(scheme, REQUEST_ID)
    payload = await approve(scheme, first)
    await wait_outcome(scheme.pisp, REQUEST_ID)

    second = await run_until_authorization(scheme, SECOND_ID)
    await approve(scheme, second, payload=payload)
    outcome = await wait_outcome(scheme.pisp, SECOND_ID)
    await scheme.settle()

    assert error_code(outcome) == "6201"
    assert check_of(verification_error(scheme)) == "challenge"
    assert scheme.balance(FIDO_ACCOUNT) == "900"


async def test_replayed_counter_is_refused(scheme: Scheme) -> None:
    await complete_transfer(scheme, REQUEST_ID)

    second = await run_until_authorization(scheme, SECOND_ID)
    await approve(scheme, second, broken=Broken.REPLAYED_COUNTER)
    outcome = await wait_outcome(scheme.pisp, SECOND_ID)
    await scheme.settle()

    assert error_code(outcome) == "6201"
    assert check_of(verification_error(scheme)) == "counter"
    assert scheme.balance(FIDO_ACCOUNT) == "900"


async def test_verification_carries_the_challenge_and_the_signed_payload(
    scheme: Scheme,
) -> None:
    auth = await run_until_authorization(scheme, REQUEST_ID)
    payload = await approve(scheme, auth)
    await wait_outcome(scheme.pisp, REQUEST_ID)

    (verification,) = journal_bodies(scheme, "POST", "/thirdpartyRequests/verifications")
    assert verification["challenge"] == auth.body["challenge"]  # type: ignore[index]
    assert verification["consentId"] == "8e34f91d-d078-4077-8263-2c047876fcf6"
    assert verification["signedPayloadType"] == "FIDO"
    assert verification["fidoSignedPayload"] == payload["fidoSignedPayload"]
