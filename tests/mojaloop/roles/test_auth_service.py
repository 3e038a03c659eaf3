"""The simulated hub auth-service ``central-auth`` (digest §2.2 rows 8–9, §4.5, §6), over HTTP.

The test plays an external DFSP, ``dfspx``, that sends ``POST /consents`` and ``POST
/thirdpartyRequests/verifications`` through tpsim's edge with ``FSPIOP-Destination:
central-auth`` and records the callbacks. Every rejection is a table row with the code
under each profile (spec 6xxx, reference = Mojaloop's auth-service) and the failed check
named in the error's extensionList.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeScheme
from tests.support.dfsp import (
    AUTH_ID,
    CONSENTS,
    DFSP_ID,
    VERIFICATIONS,
    ExternalDfsp,
    fido_credential,
    registration_credential,
    scopes,
    uid,
)
from tests.support.flows import error_code, extensions
from tests.support.linking import admin, description
from tests.support.overrides import with_consent, with_participant
from tests.support.pisp import Received, TestPisp
from tests.support.scheme import (
    FIDO_ACCOUNT,
    FIDO_CONSENT,
    GENERIC_CONSENT,
    Scheme,
    default_config_data,
)
from tpsim.auth.authenticator import DEFAULT_ORIGIN, SoftwareAuthenticator
from tpsim.auth.credential import CredentialType
from tpsim.journal import Hop, JournalEntry
from tpsim.serve.simulation import Simulation

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "fido_vectors.json").read_text()
)
VECTOR_A = VECTORS["A_localhost8080_be433b9e"]
VECTOR_B = VECTORS["B_localhost8080_76059a0a_attestation_only"]

HUB = "switch"
CHALLENGE = "0fd916df0d0f9ecac2df16906027838bae2aa87935cf3e1a3a71971635da1844"
CAROL = "dfspx.carol.chequing"
PROFILES = ["spec", "reference"]
# Accepts the software authenticator's origin only.
PINNED = {"fido": {"allowed_origins": [DEFAULT_ORIGIN]}}
# Accepts nothing the software authenticator or the YubiKey vectors produce.
ELSEWHERE = {"fido": {"allowed_origins": ["https://pisp.example"]}}
STATEMENT = "attestation_statement"

Start = Callable[..., Awaitable[ExternalDfsp]]


@pytest.fixture
async def dfsp_server() -> AsyncIterator[tuple[TestPisp, str]]:
    # Set up before (so torn down after) make_scheme, which settles tpsim on teardown.
    server = TestPisp(fsp_id=DFSP_ID)
    url = await server.start()
    yield server, url
    await server.close()


@pytest.fixture
def start(dfsp_server: tuple[TestPisp, str], make_scheme: MakeScheme) -> Start:
    """Start the default scheme plus ``dfspx``; ``profile`` and ``fido`` go to behaviour.

    The seeded consents are registered by ``owner``: ``dfspx`` by default, since only the
    DFSP that registered a consent may have signatures verified against it."""
    server, url = dfsp_server

    async def start_scheme(
        *,
        profile: str = "spec",
        fido: dict[str, Any] | None = None,
        owner: str = DFSP_ID,
        **overrides: Any,
    ) -> ExternalDfsp:
        behaviour = {"profile": profile, **(fido or {})}
        participants = with_participant(DFSP_ID, "dfsp", url)
        consents = overrides.pop("consents", default_config_data()["consents"])
        consents = [dict(c, dfsp=owner) for c in consents]
        scheme = await make_scheme(
            **participants, behaviour=behaviour, consents=consents, **overrides
        )
        server.tpsim_url = scheme.url
        return ExternalDfsp(scheme, server)

    return start_scheme


def expected_code(profile: str, spec: str, reference: str) -> str:
    return spec if profile == "spec" else reference


def assert_error(received: Received, resource: str, resource_id: str, code: str) -> None:
    assert received.path == f"{resource}/{resource_id}/error", received
    assert error_code(received) == code, received.body


def assert_verified(received: Received, request_id: str) -> None:
    assert received.path == f"{VERIFICATIONS}/{request_id}", received.body
    assert received.body == {"authenticationResponse": "VERIFIED"}


def sim_of(dfsp: ExternalDfsp) -> Simulation:
    assert dfsp.scheme.sim is not None
    return dfsp.scheme.sim


def hop(dfsp: ExternalDfsp, method: str, path: str, source: str, destination: str) -> JournalEntry:
    """The one journal entry of ``method path`` delivered or sent from ``source``."""
    found = [
        e
        for e in sim_of(dfsp).journal.entries()
        if e.hop in (Hop.DELIVERED, Hop.SENT)
        and (e.method, e.path, e.source, e.destination) == (method, path, source, destination)
    ]
    assert len(found) == 1, found
    return found[0]


async def assert_registered_with_als(dfsp: ExternalDfsp, consent_id: str) -> None:
    """The auth-service made itself the ALS owner of the consent before answering the DFSP
    (digest §2.2 row 9, §6.1)."""
    await dfsp.scheme.settle()
    assert sim_of(dfsp).state.oracle[("CONSENT", consent_id)] == AUTH_ID
    participants = f"/participants/CONSENT/{consent_id}"
    post = hop(dfsp, "POST", participants, AUTH_ID, HUB)
    put = hop(dfsp, "PUT", participants, HUB, AUTH_ID)
    answer = hop(dfsp, "PUT", f"{CONSENTS}/{consent_id}", AUTH_ID, DFSP_ID)
    assert post.seq < put.seq < answer.seq
    assert post.body == put.body == {"fspId": AUTH_ID}
    content_type = {k.lower(): v for k, v in post.headers.items()}["content-type"]
    assert content_type == "application/vnd.interoperability.participants+json;version=1.1"


async def assert_not_registered(dfsp: ExternalDfsp, consent_id: str) -> None:
    await dfsp.scheme.settle()
    sim = sim_of(dfsp)
    assert ("CONSENT", consent_id) not in sim.state.oracle
    assert consent_id not in sim.state.auth_consents
    assert not [
        e for e in sim.journal.entries() if e.path.startswith(f"/participants/CONSENT/{consent_id}")
    ]
    assert not [r for r in dfsp.callbacks(CONSENTS, consent_id) if not r.path.endswith("/error")]


async def register(
    dfsp: ExternalDfsp,
    authenticator: SoftwareAuthenticator,
    consent_id: str,
    consent_scopes: list[dict[str, Any]],
    *,
    fmt: str = "none",
    broken: str | None = None,
) -> tuple[dict[str, Any], Received]:
    """Register ``authenticator``'s credential; returns the credential sent and the outcome."""
    credential = registration_credential(
        authenticator, consent_id, consent_scopes, fmt=fmt, broken=broken
    )
    await dfsp.register(consent_id, consent_scopes, credential)
    return credential, await dfsp.outcome(CONSENTS, consent_id)


async def verify_with(
    dfsp: ExternalDfsp,
    authenticator: SoftwareAuthenticator,
    consent_id: str,
    request_id: str,
    *,
    challenge: str = CHALLENGE,
    broken: str | None = None,
) -> Received:
    """Sign ``challenge`` with ``authenticator`` (FIDO or GENERIC) and ask for verification."""
    if authenticator.credential_type == "FIDO":
        fido = authenticator.assertion(challenge, broken)
        await dfsp.verify(request_id, consent_id, challenge, fido=fido)
    else:
        generic = authenticator.generic_signature(challenge, broken)
        await dfsp.verify(request_id, consent_id, challenge, generic=generic)
    return await dfsp.outcome(VERIFICATIONS, request_id)


# --- registration: POST /consents → ALS → PUT /consents/{ID} VERIFIED ------------------------


@pytest.mark.parametrize(
    ("fmt", "key_type"),
    [
        ("none", "p256"),
        ("packed", "p256"),
        ("fido-u2f", "p256"),
        ("packed", "ed25519"),
        ("packed", "secp256k1"),
    ],
)
async def test_fido_credential_is_registered_and_then_verifies(
    start: Start, fmt: str, key_type: str
) -> None:
    dfsp = await start()
    authenticator = SoftwareAuthenticator.create(key_type=key_type)
    consent_id = uid(f"fido-{fmt}-{key_type}")
    consent_scopes = scopes(CAROL)

    credential, received = await register(dfsp, authenticator, consent_id, consent_scopes, fmt=fmt)

    # digest §4.5: {scopes as posted, credential as posted with status VERIFIED}
    assert received.path == f"{CONSENTS}/{consent_id}", received.body
    assert received.body == {
        "scopes": consent_scopes,
        "credential": {**credential, "status": "VERIFIED"},
    }
    await assert_registered_with_als(dfsp, consent_id)
    stored = sim_of(dfsp).state.auth_consents[consent_id]
    assert (stored.dfsp, stored.scopes, stored.status) == (DFSP_ID, consent_scopes, "ISSUED")
    assert stored.credential.fmt == fmt
    assert stored.credential.credential_id == authenticator.credential_id

    outcome = await verify_with(dfsp, authenticator, consent_id, uid(f"verify-{fmt}-{key_type}"))
    assert_verified(outcome, uid(f"verify-{fmt}-{key_type}"))
    assert sim_of(dfsp).state.auth_consents[consent_id].credential.sign_count == 1


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
async def test_yubikey_attestation_is_registered_as_is(
    start: Start, vector: dict[str, Any]
) -> None:
    dfsp = await start()
    consent = vector["consent"]
    credential = fido_credential(vector["attestation"])

    await dfsp.register(consent["consentId"], consent["scopes"], credential)
    received = await dfsp.outcome(CONSENTS, consent["consentId"])

    assert received.path == f"{CONSENTS}/{consent['consentId']}", received.body
    assert received.body == {
        "scopes": consent["scopes"],
        "credential": {**credential, "status": "VERIFIED"},
    }
    await assert_registered_with_als(dfsp, consent["consentId"])
    stored = sim_of(dfsp).state.auth_consents[consent["consentId"]].credential
    assert stored.fmt == "fido-u2f"
    if "publicKeyPem_from_test" in vector:
        assert stored.public_key_pem.strip() == vector["publicKeyPem_from_test"].strip()


@pytest.mark.parametrize("key_type", ["p256", "secp256k1", "rsa", "ed25519"])
async def test_generic_credential_is_registered_and_then_verifies(
    start: Start, key_type: str
) -> None:
    dfsp = await start()
    authenticator = SoftwareAuthenticator.create(credential_type="GENERIC", key_type=key_type)
    consent_id = uid(f"generic-{key_type}")
    consent_scopes = scopes(CAROL, "dfspx.carol.savings")

    credential, received = await register(dfsp, authenticator, consent_id, consent_scopes)

    assert received.path == f"{CONSENTS}/{consent_id}", received.body
    assert received.body == {
        "scopes": consent_scopes,
        "credential": {**credential, "status": "VERIFIED"},
    }
    await assert_registered_with_als(dfsp, consent_id)
    assert sim_of(dfsp).state.auth_consents[consent_id].credential.credential_type == "GENERIC"

    outcome = await verify_with(dfsp, authenticator, consent_id, uid(f"verify-generic-{key_type}"))
    assert_verified(outcome, uid(f"verify-generic-{key_type}"))


# (case, credential type, attestation format, broken variant, behaviour.fido, failed check)
BAD_CREDENTIALS: list[tuple[str, CredentialType, str, str | None, dict[str, Any], str]] = [
    ("wrong challenge", "FIDO", "none", "wrong_challenge", {}, "challenge"),
    ("wrong origin", "FIDO", "none", "wrong_origin", PINNED, "origin"),
    ("origin not allowed", "FIDO", "none", None, ELSEWHERE, "origin"),
    ("wrong rpId", "FIDO", "none", "wrong_rp_id", {}, "rp_id_hash"),
    ("UP cleared", "FIDO", "none", "user_not_present", {}, "user_present"),
    ("unknown credential id", "FIDO", "none", "unknown_credential_id", {}, "credential_id"),
    ("tampered packed signature", "FIDO", "packed", "tampered_signature", {}, STATEMENT),
    ("tampered fido-u2f signature", "FIDO", "fido-u2f", "tampered_signature", {}, STATEMENT),
    ("wrong key type", "FIDO", "none", "wrong_key_type", {}, "key_type"),
    ("wrong clientData type", "FIDO", "none", "wrong_type", {}, "client_data_type"),
    ("GENERIC over the wrong challenge", "GENERIC", "", "wrong_challenge", {}, "signature"),
    ("GENERIC tampered signature", "GENERIC", "", "tampered_signature", {}, "signature"),
    ("GENERIC wrong key type", "GENERIC", "", "wrong_key_type", {}, "key_type"),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "credential_type", "fmt", "broken", "fido", "check"),
    BAD_CREDENTIALS,
    ids=[row[0] for row in BAD_CREDENTIALS],
)
async def test_invalid_credential_is_refused(
    start: Start,
    profile: str,
    case: str,
    credential_type: CredentialType,
    fmt: str,
    broken: str | None,
    fido: dict[str, Any],
    check: str,
) -> None:
    dfsp = await start(profile=profile, fido=fido)
    authenticator = SoftwareAuthenticator.create(credential_type=credential_type)
    consent_id = uid(f"bad-credential-{case}")

    _, received = await register(
        dfsp, authenticator, consent_id, scopes(CAROL), fmt=fmt, broken=broken
    )

    assert_error(received, CONSENTS, consent_id, expected_code(profile, "6200", "2000"))
    assert extensions(received)["check"] == check
    if fido is ELSEWHERE:
        assert "not allowed" in description(received)
    await assert_not_registered(dfsp, consent_id)


@pytest.mark.parametrize("profile", PROFILES)
async def test_registered_consent_is_not_replaced(start: Start, profile: str) -> None:
    # Another credential for dfspa's consent must not take it over (the reference
    # auth-service fails to store a duplicate consent and answers 2000).
    dfsp = await start(profile=profile, owner="dfspa")
    intruder = SoftwareAuthenticator.create()
    consent_scopes = [
        {"address": FIDO_ACCOUNT, "actions": ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]}
    ]

    _, received = await register(dfsp, intruder, FIDO_CONSENT, consent_scopes)

    assert_error(received, CONSENTS, FIDO_CONSENT, expected_code(profile, "6104", "2000"))
    assert sim_of(dfsp).state.auth_consents[FIDO_CONSENT].dfsp == "dfspa"
    refused = await verify_with(dfsp, intruder, FIDO_CONSENT, uid("intruder"))
    assert_error(refused, VERIFICATIONS, uid("intruder"), expected_code(profile, "6103", "2000"))


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_dfsp_cannot_verify_against_another_dfsps_consent(
    start: Start, profile: str
) -> None:
    # FIDO_CONSENT is dfspa's; the signature is alice's own, but the DFSP asking is not hers:
    # to that DFSP the consent does not exist.
    dfsp = await start(profile=profile, owner="dfspa")
    assert sim_of(dfsp).state.auth_consents[FIDO_CONSENT].dfsp == "dfspa"  # not dfspx

    received = await verify_with(dfsp, dfsp.scheme.fido, FIDO_CONSENT, uid("alice"))

    assert_error(received, VERIFICATIONS, uid("alice"), expected_code(profile, "6103", "2000"))
    assert "unknown" in description(received)


# --- verification: POST /thirdpartyRequests/verifications → PUT …/{ID} VERIFIED --------------


@pytest.mark.parametrize(
    ("consent_id", "fido", "sign_count"),
    [(FIDO_CONSENT, {}, 1), (FIDO_CONSENT, PINNED, 1), (GENERIC_CONSENT, {}, 0)],
    ids=["FIDO", "FIDO with origin allowlist", "GENERIC"],
)
async def test_default_consent_verifies(
    start: Start, consent_id: str, fido: dict[str, Any], sign_count: int
) -> None:
    dfsp = await start(fido=fido)
    scheme: Scheme = dfsp.scheme
    authenticator = scheme.fido if consent_id == FIDO_CONSENT else scheme.generic
    request_id = uid(f"verify-default-{consent_id}")

    received = await verify_with(dfsp, authenticator, consent_id, request_id)

    assert_verified(received, request_id)
    assert (await dfsp.admin_consents())[consent_id]["credential"]["signCount"] == sign_count


# (case, credential type, broken variant, behaviour.fido, failed check)
BAD_SIGNATURES: list[tuple[str, CredentialType, str | None, dict[str, Any], str]] = [
    ("wrong challenge", "FIDO", "wrong_challenge", {}, "challenge"),
    ("wrong origin", "FIDO", "wrong_origin", PINNED, "origin"),
    ("origin not allowed", "FIDO", None, ELSEWHERE, "origin"),
    ("wrong rpId", "FIDO", "wrong_rp_id", {}, "rp_id_hash"),
    ("UP cleared", "FIDO", "user_not_present", {}, "user_present"),
    ("unknown credential id", "FIDO", "unknown_credential_id", {}, "credential_id"),
    ("tampered signature", "FIDO", "tampered_signature", {}, "signature"),
    ("wrong key type", "FIDO", "wrong_key_type", {}, "key_type"),
    ("wrong clientData type", "FIDO", "wrong_type", {}, "client_data_type"),
    ("GENERIC over the wrong challenge", "GENERIC", "wrong_challenge", {}, "signature"),
    ("GENERIC tampered signature", "GENERIC", "tampered_signature", {}, "signature"),
    ("GENERIC wrong key type", "GENERIC", "wrong_key_type", {}, "key_type"),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "credential_type", "broken", "fido", "check"),
    BAD_SIGNATURES,
    ids=[row[0] for row in BAD_SIGNATURES],
)
async def test_invalid_signature_is_refused(
    start: Start,
    profile: str,
    case: str,
    credential_type: CredentialType,
    broken: str | None,
    fido: dict[str, Any],
    check: str,
) -> None:
    dfsp = await start(profile=profile, fido=fido)
    fido_credential_type = credential_type == "FIDO"
    consent_id = FIDO_CONSENT if fido_credential_type else GENERIC_CONSENT
    authenticator = dfsp.scheme.fido if fido_credential_type else dfsp.scheme.generic
    request_id = uid(f"bad-signature-{case}")

    received = await verify_with(dfsp, authenticator, consent_id, request_id, broken=broken)

    assert_error(received, VERIFICATIONS, request_id, expected_code(profile, "6201", "7105"))
    assert extensions(received)["check"] == check
    if fido is ELSEWHERE:
        assert "not allowed" in description(received)
    assert sim_of(dfsp).state.auth_consents[consent_id].credential.sign_count == 0


@pytest.mark.parametrize("profile", PROFILES)
async def test_replayed_assertion_is_refused_and_counter_advances(
    start: Start, profile: str
) -> None:
    dfsp = await start(profile=profile)
    alice = dfsp.scheme.fido
    assertion = alice.assertion(CHALLENGE)

    await dfsp.verify(uid("first"), FIDO_CONSENT, CHALLENGE, fido=assertion)
    assert_verified(await dfsp.outcome(VERIFICATIONS, uid("first")), uid("first"))
    assert (await dfsp.admin_consents())[FIDO_CONSENT]["credential"]["signCount"] == 1

    # The very same assertion again, then a fresh signature that reuses the counter.
    await dfsp.verify(uid("again"), FIDO_CONSENT, CHALLENGE, fido=assertion)
    again = await dfsp.outcome(VERIFICATIONS, uid("again"))
    replayed = await verify_with(
        dfsp, alice, FIDO_CONSENT, uid("replayed"), broken="replayed_counter"
    )
    for received, request_id in ((again, uid("again")), (replayed, uid("replayed"))):
        assert_error(received, VERIFICATIONS, request_id, expected_code(profile, "6201", "7105"))
        assert extensions(received)["check"] == "counter"
    assert (await dfsp.admin_consents())[FIDO_CONSENT]["credential"]["signCount"] == 1

    assert_verified(await verify_with(dfsp, alice, FIDO_CONSENT, uid("next")), uid("next"))
    assert (await dfsp.admin_consents())[FIDO_CONSENT]["credential"]["signCount"] == 2


REVOKED = with_consent(FIDO_CONSENT, status="REVOKED")


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("consent_id", "overrides", "state", "reference_code"),
    [(uid("no-such-consent"), {}, "unknown", "2000"), (FIDO_CONSENT, REVOKED, "REVOKED", "2001")],
    ids=["unknown consent", "revoked consent"],
)
async def test_verification_against_invalid_consent_is_refused(
    start: Start,
    profile: str,
    consent_id: str,
    overrides: dict[str, Any],
    state: str,
    reference_code: str,
) -> None:
    # Reference: auth-service answers 2000 when the consent cannot be loaded and 2001
    # (IncorrectConsentStatusError) when it is REVOKED (digest §6.2).
    dfsp = await start(profile=profile, **overrides)
    request_id = uid(f"invalid-consent-{state}")

    received = await verify_with(dfsp, dfsp.scheme.fido, consent_id, request_id)

    assert_error(
        received, VERIFICATIONS, request_id, expected_code(profile, "6103", reference_code)
    )
    assert state in description(received)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("how", ["admin", "DELETE"])
async def test_verification_after_the_dfsp_revoked_the_consent(
    start: Start, profile: str, how: str
) -> None:
    # dfspa is the consent's authority: its revocation reaches the auth-service's record
    # (PATCH /consents/{ID} REVOKED), which then refuses any verification (digest §6.2;
    # the refusal itself: test_auth_service_unit.test_revoked_consent_is_refused).
    dfsp = await start(profile=profile, owner="dfspa")
    scheme = dfsp.scheme
    if how == "admin":
        status, body = await admin(scheme, "POST", f"/admin/consents/{FIDO_CONSENT}/revoke")
        assert status == 200, body
    else:
        sent = await scheme.pisp.send("DELETE", f"{CONSENTS}/{FIDO_CONSENT}", destination="dfspa")
        assert sent.status == 202
    await scheme.pisp.wait_for("PATCH", f"{CONSENTS}/{FIDO_CONSENT}")

    assert sim_of(dfsp).state.auth_consents[FIDO_CONSENT].status == "REVOKED"


async def test_revocation_from_another_dfsp_is_refused(start: Start) -> None:
    dfsp = await start(owner="dfspa")
    sent = await dfsp.server.send(
        "PATCH",
        f"{CONSENTS}/{FIDO_CONSENT}",
        {"status": "REVOKED", "revokedAt": "2030-01-01T00:00:00.000Z"},
        destination=AUTH_ID,
    )
    assert sent.status == 200
    refused = await dfsp.outcome(CONSENTS, FIDO_CONSENT)
    assert_error(refused, CONSENTS, FIDO_CONSENT, "6103")
    assert sim_of(dfsp).state.auth_consents[FIDO_CONSENT].status == "ISSUED"


@pytest.mark.parametrize("profile", PROFILES)
async def test_payload_for_the_other_credential_type_is_refused(start: Start, profile: str) -> None:
    dfsp = await start(profile=profile)
    fido = dfsp.scheme.fido.assertion(CHALLENGE)
    generic = dfsp.scheme.generic.generic_signature(CHALLENGE)

    await dfsp.verify(uid("fido-on-generic"), GENERIC_CONSENT, CHALLENGE, fido=fido)
    await dfsp.verify(uid("generic-on-fido"), FIDO_CONSENT, CHALLENGE, generic=generic)

    for request_id in (uid("fido-on-generic"), uid("generic-on-fido")):
        received = await dfsp.outcome(VERIFICATIONS, request_id)
        assert_error(received, VERIFICATIONS, request_id, expected_code(profile, "6201", "7105"))
        assert "signedPayloadType" in description(received)


@pytest.mark.parametrize("profile", PROFILES)
async def test_get_verification_resends_the_stored_result(start: Start, profile: str) -> None:
    dfsp = await start(profile=profile)
    verified = await verify_with(dfsp, dfsp.scheme.fido, FIDO_CONSENT, uid("good"))
    refused = await verify_with(
        dfsp, dfsp.scheme.fido, FIDO_CONSENT, uid("bad"), broken="tampered_signature"
    )

    for first in (verified, refused):
        request_id = first.path.split("/")[3]
        start_at = len(dfsp.server.received)
        await dfsp.get_verification(request_id)
        again = await dfsp.outcome(VERIFICATIONS, request_id, start=start_at)
        assert (again.path, again.body) == (first.path, first.body)

    unknown = uid("never-asked")
    await dfsp.get_verification(unknown)
    received = await dfsp.outcome(VERIFICATIONS, unknown)
    assert_error(received, VERIFICATIONS, unknown, "3200")


async def test_yubikey_vector_a_assertion_verifies_once(start: Start) -> None:
    consent = VECTOR_A["consent"]
    seeded = {
        "consent_id": consent["consentId"],
        "pisp": "pispa",
        "dfsp": DFSP_ID,
        "scopes": consent["scopes"],
        "credential": {"type": "FIDO", "fido_attestation": VECTOR_A["attestation"]},
    }
    dfsp = await start(consents=[*with_consent()["consents"], seeded])
    challenge = VECTOR_A["verification_request_challenge"]
    assert challenge == "unimplemented123"

    await dfsp.verify(uid("vector-a"), consent["consentId"], challenge, fido=VECTOR_A["assertion"])
    assert_verified(await dfsp.outcome(VERIFICATIONS, uid("vector-a")), uid("vector-a"))
    assert (await dfsp.admin_consents())[consent["consentId"]]["credential"]["signCount"] == 11

    await dfsp.verify(
        uid("vector-a-again"), consent["consentId"], challenge, fido=VECTOR_A["assertion"]
    )
    again = await dfsp.outcome(VERIFICATIONS, uid("vector-a-again"))
    assert_error(again, VERIFICATIONS, uid("vector-a-again"), "6201")
    assert extensions(again)["check"] == "counter"


async def test_admin_lists_a_consent_registered_by_an_external_dfsp(start: Start) -> None:
    dfsp = await start()
    consent_id = uid("listed")
    _, received = await register(dfsp, SoftwareAuthenticator.create(), consent_id, scopes(CAROL))
    assert received.path == f"{CONSENTS}/{consent_id}"

    assert consent_id in await dfsp.admin_consents()
