"""Real YubiKey credentials from Mojaloop's auth-service tests (tests/vectors/fido_*.json)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from crypto_support import LOCALHOST, fido_sets, vectors

from tpsim.auth import b64
from tpsim.auth.challenge import consent_challenge
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido import (
    OriginPolicy,
    RegisteredCredential,
    verify_assertion,
    verify_attestation,
)

FIDO = vectors("fido_vectors")
DERIVED = vectors("fido_vectors_derived")
SET_A = "A_localhost8080_be433b9e"
POLICIES = [OriginPolicy(), OriginPolicy(allowed_origins=(LOCALHOST,), rp_id="localhost")]


def _registered(name: str) -> RegisteredCredential:
    consent = FIDO[name]["consent"]
    challenge = consent_challenge(consent["consentId"], consent["scopes"])
    return verify_attestation(FIDO[name]["attestation"], challenge=challenge, policy=OriginPolicy())


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", fido_sets())
def test_attestation_vectors_verify(name: str, policy: OriginPolicy) -> None:
    consent = FIDO[name]["consent"]
    challenge = consent_challenge(consent["consentId"], consent["scopes"])
    credential = verify_attestation(FIDO[name]["attestation"], challenge=challenge, policy=policy)
    assert credential.public_key_pem == DERIVED[name]["credentialPublicKeyPem"]
    assert credential.credential_id == b64.decode(
        DERIVED[name]["credId_b64url"], what="id", max_chars=200
    )
    assert credential.sign_count == DERIVED[name]["registration_counter"]
    assert (credential.fmt, credential.attestation_type) == ("fido-u2f", "basic")
    # No trust roots configured: the Yubico chain is accepted but recorded as unverified.
    assert credential.trusted is False
    assert (credential.key_type, credential.cose_algorithm) == ("p256", -7)


def test_attestation_vector_against_the_other_consent_fails() -> None:
    consent = FIDO["B_localhost8080_76059a0a_attestation_only"]["consent"]
    challenge = consent_challenge(consent["consentId"], consent["scopes"])
    with pytest.raises(CryptoError) as info:
        verify_attestation(FIDO[SET_A]["attestation"], challenge=challenge, policy=OriginPolicy())
    assert info.value.check == "challenge"


@pytest.mark.parametrize("policy", POLICIES)
def test_assertion_vector_verifies(policy: OriginPolicy) -> None:
    credential = _registered(SET_A)
    counter = verify_assertion(
        FIDO[SET_A]["assertion"],
        challenge=FIDO[SET_A]["verification_request_challenge"],
        credential=credential,
        policy=policy,
    )
    assert counter == DERIVED[SET_A]["assertion_counter"] == 11


def test_assertion_vector_verifies_against_the_seeded_pem() -> None:
    credential = RegisteredCredential.from_public_key_pem(FIDO[SET_A]["publicKeyPem_from_test"])
    assert (
        verify_assertion(
            FIDO[SET_A]["assertion"],
            challenge="unimplemented123",
            credential=credential,
            policy=OriginPolicy(),
        )
        == 11
    )


def _edited(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    assertion = copy.deepcopy(FIDO[SET_A]["assertion"])
    target = assertion
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return assertion


@pytest.mark.parametrize(
    ("assertion", "challenge", "sign_count", "policy", "check"),
    [
        (FIDO[SET_A]["assertion"], "unimplemented124", 0, OriginPolicy(), "challenge"),
        (FIDO[SET_A]["assertion"], "unimplemented123", 11, OriginPolicy(), "counter"),
        (FIDO[SET_A]["assertion"], "unimplemented123", 12, OriginPolicy(), "counter"),
        (
            FIDO[SET_A]["assertion"],
            "unimplemented123",
            0,
            OriginPolicy(("https://pisp.example",)),
            "origin",
        ),
        (
            FIDO[SET_A]["assertion"],
            "unimplemented123",
            0,
            OriginPolicy(rp_id="pisp.example"),
            "rp_id_hash",
        ),
        (_edited(("id",), "AAAA" * 20), "unimplemented123", 0, OriginPolicy(), "credential_id"),
        (
            _edited(("response", "userHandle"), "dXNlcg=="),
            "unimplemented123",
            0,
            OriginPolicy(),
            "user_handle",
        ),
        (
            _edited(("response", "userHandle"), "a+/b"),
            "unimplemented123",
            0,
            OriginPolicy(),
            "user_handle",
        ),
        (_edited(("type",), "private-key"), "unimplemented123", 0, OriginPolicy(), "payload"),
    ],
)
def test_assertion_vector_rejections(
    assertion: dict[str, Any], challenge: str, sign_count: int, policy: OriginPolicy, check: str
) -> None:
    credential = _registered(SET_A).with_sign_count(sign_count)
    with pytest.raises(CryptoError) as info:
        verify_assertion(assertion, challenge=challenge, credential=credential, policy=policy)
    assert info.value.check == check


def test_base64url_user_handle_is_accepted() -> None:
    assertion = _edited(("response", "userHandle"), "dXNlcg")
    credential = _registered(SET_A)
    assert (
        verify_assertion(
            assertion, challenge="unimplemented123", credential=credential, policy=OriginPolicy()
        )
        == 11
    )


def test_assertion_with_another_credentials_key_fails_on_signature() -> None:
    other = RegisteredCredential.from_public_key_pem(
        DERIVED["B_localhost8080_76059a0a_attestation_only"]["credentialPublicKeyPem"]
    )
    with pytest.raises(CryptoError) as info:
        verify_assertion(
            FIDO[SET_A]["assertion"],
            challenge="unimplemented123",
            credential=other,
            policy=OriginPolicy(),
        )
    assert info.value.check == "signature"
