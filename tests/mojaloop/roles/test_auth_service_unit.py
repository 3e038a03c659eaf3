"""The simulated hub auth-service without sockets (digest §6): registration (POST /consents
→ the ALS → PUT /consents/{ID} VERIFIED), verification, revocation by the registering DFSP,
and every refusal with its code under both profiles and the failed check it names.

An external DFSP, ``dfspx``, sends; ``relay`` carries the auth-service's ALS registration
through the hub and returns what comes back to ``dfspx``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.auth.test_crypto_fido_attestation import (
    edit_attestation,
    rs256_credential_key,
    unknown_apple_key_algorithm,
)
from tests.mojaloop.roles.test_auth_service import (
    BAD_CREDENTIALS,
    BAD_SIGNATURES,
    CAROL,
    CHALLENGE,
    ELSEWHERE,
    VECTOR_A,
    VECTOR_B,
    expected_code,
)
from tests.support.dfsp import (
    AUTH_ID,
    CONSENTS,
    DFSP_ID,
    VERIFICATIONS,
    fido_credential,
    registration_credential,
    scopes,
    uid,
)
from tests.support.linking import PROFILES
from tests.support.linking_roles import error_code, error_text, exchange, relay
from tests.support.overrides import with_consent
from tests.support.roles import Roles
from tests.support.scheme import CREDENTIALS, FIDO_ACCOUNT, FIDO_CONSENT, GENERIC_CONSENT
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.challenge import consent_challenge
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.state import AuthConsent

HUB = "switch"


def build(profile: str = "spec", fido: dict[str, Any] | None = None, **overrides: Any) -> Roles:
    return Roles.build(behaviour={"profile": profile, **(fido or {})}, **overrides)


def alice(kind: str) -> SoftwareAuthenticator:
    """The key of the seeded consent of ``kind`` (fixtures/credentials)."""
    name = "alice-fido.json" if kind == "FIDO" else "alice-generic.json"
    return SoftwareAuthenticator.from_json((CREDENTIALS / name).read_text())


def held(roles: Roles, consent_id: str) -> AuthConsent:
    return roles.sim.state.auth_consents[consent_id]


def send(roles: Roles, method: str, path: str, body: dict[str, Any] | None = None) -> Message:
    """``dfspx`` sends to the auth-service; the one answer that comes back to ``dfspx``."""
    effects = exchange(roles, method, path, body, to=AUTH_ID, source=DFSP_ID)
    [answer] = relay(roles, effects.messages)
    assert answer.destination == DFSP_ID
    return answer


def post_body(
    consent_id: str, credential: dict[str, Any], consent_scopes: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``POST /consents`` (ConsentsPostRequestAUTH) as a DFSP sends it (Carol's chequing)."""
    return {
        "consentId": consent_id,
        "scopes": consent_scopes or scopes(CAROL),
        "credential": credential,
        "status": "ISSUED",
    }


def signed(
    authenticator: SoftwareAuthenticator, challenge: str, broken: str | None
) -> dict[str, Any]:
    """``authenticator``'s signedPayload over ``challenge`` (``broken``: a defect)."""
    if authenticator.credential_type == "FIDO":
        return {
            "signedPayloadType": "FIDO",
            "fidoSignedPayload": authenticator.assertion(challenge, broken),
        }
    return {
        "signedPayloadType": "GENERIC",
        "genericSignedPayload": authenticator.generic_signature(challenge, broken),
    }


def verify(
    roles: Roles,
    request_id: str,
    consent_id: str,
    authenticator: SoftwareAuthenticator,
    *,
    broken: str | None = None,
    challenge: str = CHALLENGE,
) -> Message:
    """``POST /thirdpartyRequests/verifications`` from the DFSP that registered the consent
    (``dfspx`` for an unknown one): the answer."""
    body = {
        "verificationRequestId": request_id,
        "challenge": challenge,
        "consentId": consent_id,
        **signed(authenticator, challenge, broken),
    }
    consent = roles.sim.state.auth_consents.get(consent_id)
    source = DFSP_ID if consent is None else consent.dfsp
    [answer] = exchange(roles, "POST", VERIFICATIONS, body, to=AUTH_ID, source=source).messages
    return answer


def assert_verified(answer: Message, request_id: str) -> None:
    assert (answer.method, answer.path) == ("PUT", f"{VERIFICATIONS}/{request_id}"), answer.body
    assert answer.source == AUTH_ID
    assert answer.body == {"authenticationResponse": "VERIFIED"}


def assert_refused(answer: Message, path: str, expected: str, check: str | None = None) -> None:
    assert answer.path == f"{path}/error", answer.body
    assert error_code(answer) == expected
    if check is not None:
        extension = (answer.body or {})["errorInformation"]["extensionList"]["extension"]
        assert {"key": "check", "value": check} in extension


# --- registration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fmt"), [("FIDO", "none"), ("FIDO", "packed"), ("FIDO", "fido-u2f"), ("GENERIC", "")]
)
def test_credential_is_registered_with_the_als_then_verifies(kind: str, fmt: str) -> None:
    roles = build()
    signer = SoftwareAuthenticator.create(credential_type=kind)
    consent_id = uid(f"unit-register-{kind}-{fmt}")
    credential = registration_credential(signer, consent_id, scopes(CAROL), fmt=fmt or "none")
    effects = exchange(
        roles, "POST", CONSENTS, post_body(consent_id, credential), to=AUTH_ID, source=DFSP_ID
    )

    # First the ALS: the auth-service makes itself the consent's owner (digest §6.1).
    [oracle] = effects.messages
    path = f"/participants/CONSENT/{consent_id}"
    assert (oracle.method, oracle.path, oracle.destination) == ("POST", path, HUB)
    assert oracle.body == {"fspId": AUTH_ID}
    assert consent_id not in roles.sim.state.auth_consents  # not before the ALS answers

    [answer] = relay(roles, effects.messages)
    assert (answer.method, answer.path) == ("PUT", f"{CONSENTS}/{consent_id}")
    assert answer.body == {
        "scopes": scopes(CAROL),
        "credential": {**credential, "status": "VERIFIED"},
    }
    assert roles.sim.state.oracle[("CONSENT", consent_id)] == AUTH_ID
    stored = held(roles, consent_id)
    assert (stored.dfsp, stored.scopes, stored.status) == (DFSP_ID, scopes(CAROL), "ISSUED")
    assert stored.credential.credential_type == kind

    assert_verified(verify(roles, uid("unit-first"), consent_id, signer), uid("unit-first"))


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
def test_yubikey_attestation_is_registered_as_is(vector: dict[str, Any]) -> None:
    roles = build()
    consent = vector["consent"]
    credential = fido_credential(vector["attestation"])
    body = post_body(consent["consentId"], credential, consent["scopes"])
    answer = send(roles, "POST", CONSENTS, body)
    assert answer.path == f"{CONSENTS}/{consent['consentId']}", answer.body
    assert held(roles, consent["consentId"]).credential.fmt == "fido-u2f"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "kind", "fmt", "broken", "fido", "check"),
    BAD_CREDENTIALS,
    ids=[row[0] for row in BAD_CREDENTIALS],
)
def test_invalid_credential_is_refused(
    profile: str,
    case: str,
    kind: str,
    fmt: str,
    broken: str | None,
    fido: dict[str, Any],
    check: str,
) -> None:
    roles = build(profile, fido)
    consent_id = uid(f"unit-bad-credential-{case}")
    signer = SoftwareAuthenticator.create(credential_type=kind)
    credential = registration_credential(
        signer, consent_id, scopes(CAROL), fmt=fmt or "none", broken=broken
    )

    answer = send(roles, "POST", CONSENTS, post_body(consent_id, credential))

    assert_refused(
        answer, f"{CONSENTS}/{consent_id}", expected_code(profile, "6200", "2000"), check
    )
    if fido is ELSEWHERE:
        assert "not allowed" in error_text(answer)
    assert consent_id not in roles.sim.state.auth_consents
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle


@pytest.mark.parametrize(
    ("case", "change", "check"),
    [
        ("apple-unknown-key", unknown_apple_key_algorithm, "attestation_statement"),
        ("rs256", rs256_credential_key, "key_type"),
    ],
)
def test_hostile_or_unusable_attestation_is_refused_with_6200(
    case: str, change: Callable[[dict[str, Any], bytes], None], check: str
) -> None:
    # Never 2001 (an exception escaping the role), never a consent VERIFIED that cannot
    # sign a transfer (an RS256 assertion does not fit FIDOPublicKeyCredentialAssertion).
    roles = build()
    consent_id = uid(f"unit-hostile-{case}")
    challenge = consent_challenge(consent_id, scopes(CAROL))
    attestation = edit_attestation(SoftwareAuthenticator.create().attestation(challenge), change)

    answer = send(roles, "POST", CONSENTS, post_body(consent_id, fido_credential(attestation)))

    assert_refused(answer, f"{CONSENTS}/{consent_id}", "6200", check)
    assert consent_id not in roles.sim.state.auth_consents
    assert ("CONSENT", consent_id) not in roles.sim.state.oracle


@pytest.mark.parametrize("profile", PROFILES)
def test_registered_consent_is_not_taken_over(profile: str) -> None:
    roles = build(profile)
    intruder = SoftwareAuthenticator.create()
    credential = registration_credential(intruder, FIDO_CONSENT, scopes(FIDO_ACCOUNT))

    answer = send(
        roles, "POST", CONSENTS, post_body(FIDO_CONSENT, credential, scopes(FIDO_ACCOUNT))
    )

    assert_refused(answer, f"{CONSENTS}/{FIDO_CONSENT}", expected_code(profile, "6104", "2000"))
    assert held(roles, FIDO_CONSENT).dfsp == "dfspa"
    refused = verify(roles, uid("unit-intruder"), FIDO_CONSENT, intruder)
    assert_refused(
        refused, f"{VERIFICATIONS}/{uid('unit-intruder')}", expected_code(profile, "6201", "7105")
    )


def test_second_registration_while_the_als_is_asked_is_refused() -> None:
    roles = build()
    consent_id = uid("unit-pending")
    body = post_body(
        consent_id,
        registration_credential(SoftwareAuthenticator.create(), consent_id, scopes(CAROL)),
    )
    exchange(roles, "POST", CONSENTS, body, to=AUTH_ID, source=DFSP_ID)  # the ALS not yet answered

    [refused] = exchange(roles, "POST", CONSENTS, body, to=AUTH_ID, source=DFSP_ID).messages
    assert_refused(refused, f"{CONSENTS}/{consent_id}", "6104")


def test_consent_without_a_credential_is_refused() -> None:
    # The PISP's variant of POST /consents has nothing for an auth-service to verify.
    roles = build()
    consent_id = uid("unit-no-credential")
    body = {
        "consentId": consent_id,
        "consentRequestId": uid("unit-request"),
        "scopes": scopes(CAROL),
        "status": "ISSUED",
    }
    [refused] = exchange(roles, "POST", CONSENTS, body, to=AUTH_ID, source=DFSP_ID).messages
    assert_refused(refused, f"{CONSENTS}/{consent_id}", "3102")


@pytest.mark.parametrize("profile", PROFILES)
def test_als_refusal_fails_the_registration(profile: str) -> None:
    roles = build(profile)
    consent_id = uid("unit-als-refuses")
    credential = registration_credential(SoftwareAuthenticator.create(), consent_id, scopes(CAROL))
    exchange(roles, "POST", CONSENTS, post_body(consent_id, credential), to=AUTH_ID, source=DFSP_ID)
    failure = {"errorInformation": {"errorCode": "3003", "errorDescription": "oracle down"}}

    [refused] = exchange(
        roles, "PUT", f"/participants/CONSENT/{consent_id}/error", failure, to=AUTH_ID, source=HUB
    ).messages

    assert refused.destination == DFSP_ID
    assert_refused(refused, f"{CONSENTS}/{consent_id}", expected_code(profile, "6000", "7200"))
    assert error_text(refused).endswith(
        f"the ALS refused to register consent {consent_id}: 3003 oracle down"
    )
    assert consent_id not in roles.sim.state.auth_consents


def test_als_answers_nobody_awaits_change_nothing_but_an_entry_nobody_holds() -> None:
    # An ALS that registered this auth-service for a consent it does not hold (one it
    # gave up waiting for: its DELETE came first) is asked to delete the entry; any other
    # answer nobody awaits (a deletion confirmed, a refusal) is taken quietly.
    roles = build()
    path = f"/participants/CONSENT/{uid('unit-unasked')}"
    failure = {"errorInformation": {"errorCode": "3003", "errorDescription": "x"}}
    made = exchange(roles, "PUT", path, {"fspId": AUTH_ID}, to=AUTH_ID, source=HUB).messages
    assert [(m.method, m.path, m.destination) for m in made] == [("DELETE", path, HUB)]
    assert exchange(roles, "PUT", path, {}, to=AUTH_ID, source=HUB).messages == []
    assert exchange(roles, "PUT", f"{path}/error", failure, to=AUTH_ID, source=HUB).messages == []


# --- verification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "consent_id", "count"), [("FIDO", FIDO_CONSENT, 1), ("GENERIC", GENERIC_CONSENT, 0)]
)
def test_seeded_consent_verifies(kind: str, consent_id: str, count: int) -> None:
    roles = build()
    request_id = uid(f"unit-verify-{kind}")
    assert_verified(verify(roles, request_id, consent_id, alice(kind)), request_id)
    assert held(roles, consent_id).credential.sign_count == count


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("case", "kind", "broken", "fido", "check"),
    BAD_SIGNATURES,
    ids=[row[0] for row in BAD_SIGNATURES],
)
def test_invalid_signature_is_refused(
    profile: str, case: str, kind: str, broken: str | None, fido: dict[str, Any], check: str
) -> None:
    roles = build(profile, fido)
    consent_id = FIDO_CONSENT if kind == "FIDO" else GENERIC_CONSENT
    request_id = uid(f"unit-bad-signature-{case}")

    answer = verify(roles, request_id, consent_id, alice(kind), broken=broken)

    assert_refused(
        answer, f"{VERIFICATIONS}/{request_id}", expected_code(profile, "6201", "7105"), check
    )
    assert held(roles, consent_id).credential.sign_count == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_replayed_assertion_is_refused(profile: str) -> None:
    roles = build(profile)
    signer = alice("FIDO")
    assertion = {"signedPayloadType": "FIDO", "fidoSignedPayload": signer.assertion(CHALLENGE)}
    for request_id in (uid("unit-once"), uid("unit-twice")):
        body = {
            "verificationRequestId": request_id,
            "challenge": CHALLENGE,
            "consentId": FIDO_CONSENT,
            **assertion,
        }
        [answer] = exchange(roles, "POST", VERIFICATIONS, body, to=AUTH_ID, source="dfspa").messages
    assert_refused(
        answer,
        f"{VERIFICATIONS}/{uid('unit-twice')}",
        expected_code(profile, "6201", "7105"),
        "counter",
    )
    assert held(roles, FIDO_CONSENT).credential.sign_count == 1


def test_payload_for_the_other_credential_type_is_refused() -> None:
    roles = build()
    request_id = uid("unit-generic-on-fido")
    answer = verify(roles, request_id, FIDO_CONSENT, alice("GENERIC"))
    assert_refused(answer, f"{VERIFICATIONS}/{request_id}", "6201")
    assert "holds a FIDO credential, the request is signed with GENERIC" in error_text(answer)


@pytest.mark.parametrize("profile", PROFILES)
def test_unknown_consent_is_refused(profile: str) -> None:
    roles = build(profile)
    request_id = uid("unit-unknown-consent")
    answer = verify(roles, request_id, uid("unit-no-such-consent"), alice("FIDO"))
    assert_refused(answer, f"{VERIFICATIONS}/{request_id}", expected_code(profile, "6103", "2000"))
    assert "unknown" in error_text(answer)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("how", ["seeded", "PATCH"])
def test_revoked_consent_is_refused(profile: str, how: str) -> None:
    seeded = with_consent(FIDO_CONSENT, status="REVOKED") if how == "seeded" else {}
    roles = build(profile, **seeded)
    if how == "PATCH":
        revocation = {"status": "REVOKED", "revokedAt": "2030-01-01T00:00:00.000Z"}
        [unregister] = exchange(
            roles, "PATCH", f"{CONSENTS}/{FIDO_CONSENT}", revocation, to=AUTH_ID, source="dfspa"
        ).messages  # the ALS stops naming this auth-service for it
        assert (unregister.method, unregister.path) == (
            "DELETE",
            f"/participants/CONSENT/{FIDO_CONSENT}",
        )
    request_id = uid(f"unit-revoked-{how}")

    answer = verify(roles, request_id, FIDO_CONSENT, alice("FIDO"))

    assert_refused(answer, f"{VERIFICATIONS}/{request_id}", expected_code(profile, "6103", "2001"))
    assert "is REVOKED" in error_text(answer)


def test_revocation_only_from_the_registering_dfsp() -> None:
    roles = build()
    revocation = {"status": "REVOKED", "revokedAt": "2030-01-01T00:00:00.000Z"}
    [refused] = exchange(
        roles, "PATCH", f"{CONSENTS}/{FIDO_CONSENT}", revocation, to=AUTH_ID, source=DFSP_ID
    ).messages
    assert_refused(refused, f"{CONSENTS}/{FIDO_CONSENT}", "6103")
    assert held(roles, FIDO_CONSENT).status == "ISSUED"


def test_verified_patch_changes_nothing() -> None:
    roles = build()
    verified = {"credential": {"status": "VERIFIED"}}
    assert (
        exchange(
            roles, "PATCH", f"{CONSENTS}/{FIDO_CONSENT}", verified, to=AUTH_ID, source="dfspa"
        ).messages
        == []
    )
    assert held(roles, FIDO_CONSENT).status == "ISSUED"


def test_get_verification_resends_the_stored_answer() -> None:
    roles = build()
    verified = verify(roles, uid("unit-good"), FIDO_CONSENT, alice("FIDO"))
    refused = verify(
        roles, uid("unit-bad"), FIDO_CONSENT, alice("FIDO"), broken="tampered_signature"
    )

    for first, request_id in ((verified, uid("unit-good")), (refused, uid("unit-bad"))):
        path = f"{VERIFICATIONS}/{request_id}"
        [again] = exchange(roles, "GET", path, to=AUTH_ID, source="dfspa").messages
        assert (again.path, again.body) == (first.path, first.body)
    other = send(roles, "GET", f"{VERIFICATIONS}/{uid('unit-good')}")
    assert_refused(other, f"{VERIFICATIONS}/{uid('unit-good')}", "3200")  # not dfspx's request


def test_another_dfsp_reusing_a_verification_id_does_not_replace_the_first_answer() -> None:
    roles = build()
    request_id = uid("unit-shared-id")
    verified = verify(roles, request_id, FIDO_CONSENT, alice("FIDO"))  # dfspa's consent
    verify(roles, request_id, uid("unit-not-dfspx-consent"), alice("FIDO"))  # dfspx, refused

    path = f"{VERIFICATIONS}/{request_id}"
    [again] = exchange(roles, "GET", path, to=AUTH_ID, source="dfspa").messages
    assert (again.path, again.body) == (verified.path, verified.body)
