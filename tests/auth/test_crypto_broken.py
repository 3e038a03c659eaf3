"""Every Broken variant of the software authenticator is refused with its own check."""

from __future__ import annotations

import hashlib

import pytest

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.broken import FOR_ASSERTION, FOR_ATTESTATION, FOR_GENERIC, Broken
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido import (
    OriginPolicy,
    RegisteredCredential,
    verify_assertion,
    verify_attestation,
)
from tpsim.auth.generic import generic_credential, verify_generic
from tpsim.errors import ConfigError
from tpsim.mojaloop.errors import coded

CONSENT = hashlib.sha256(b"consent").hexdigest()
TX = hashlib.sha256(b"transaction").hexdigest()
POLICIES = [
    OriginPolicy(),
    OriginPolicy(allowed_origins=("http://localhost:8080",), rp_id="localhost"),
]

ASSERTION_CHECKS = {
    Broken.WRONG_CHALLENGE: "challenge",
    Broken.WRONG_ORIGIN: "origin",
    Broken.WRONG_RP_ID: "rp_id_hash",
    Broken.TAMPERED_SIGNATURE: "signature",
    Broken.REPLAYED_COUNTER: "counter",
    Broken.USER_NOT_PRESENT: "user_present",
    Broken.UNKNOWN_CREDENTIAL_ID: "credential_id",
    Broken.WRONG_KEY_TYPE: "key_type",
    Broken.WRONG_TYPE: "client_data_type",
}
ATTESTATION_CHECKS = {
    **{b: c for b, c in ASSERTION_CHECKS.items() if b is not Broken.REPLAYED_COUNTER},
    Broken.TAMPERED_SIGNATURE: "attestation_statement",
}
GENERIC_CHECKS = {
    Broken.WRONG_CHALLENGE: "signature",
    Broken.TAMPERED_SIGNATURE: "signature",
    Broken.WRONG_KEY_TYPE: "key_type",
}


def test_tables_cover_every_applicable_variant() -> None:
    assert set(ASSERTION_CHECKS) == FOR_ASSERTION == set(Broken)
    assert set(ATTESTATION_CHECKS) == FOR_ATTESTATION
    assert set(GENERIC_CHECKS) == FOR_GENERIC


def _registered(authenticator: SoftwareAuthenticator) -> RegisteredCredential:
    payload = authenticator.attestation(CONSENT, fmt="packed")
    return verify_attestation(payload, challenge=CONSENT, policy=OriginPolicy())


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("key_type", ["p256", "secp256k1", "ed25519"])
@pytest.mark.parametrize(("broken", "check"), list(ASSERTION_CHECKS.items()))
def test_broken_assertion(broken: Broken, check: str, key_type: str, policy: OriginPolicy) -> None:
    authenticator = SoftwareAuthenticator.create(key_type=key_type)
    credential = _registered(authenticator)
    # One good assertion first, so that a replay has a counter to reuse.
    good = authenticator.assertion(TX)
    credential = credential.with_sign_count(
        verify_assertion(good, challenge=TX, credential=credential, policy=policy)
    )
    bad = authenticator.assertion(TX, broken=broken)
    with pytest.raises(CryptoError) as info:
        verify_assertion(bad, challenge=TX, credential=credential, policy=policy)
    assert info.value.check == check
    assert coded(info.value).code == "3105"  # how the Mojaloop dialect reports it


@pytest.mark.parametrize("fmt", ["packed", "fido-u2f"])
@pytest.mark.parametrize(("broken", "check"), list(ATTESTATION_CHECKS.items()))
def test_broken_attestation(broken: Broken, check: str, fmt: str) -> None:
    payload = SoftwareAuthenticator.create().attestation(CONSENT, fmt=fmt, broken=broken)
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CONSENT, policy=OriginPolicy())
    assert info.value.check == check


@pytest.mark.parametrize("key_type", ["p256", "secp256k1", "rsa", "ed25519"])
@pytest.mark.parametrize(("broken", "check"), list(GENERIC_CHECKS.items()))
def test_broken_generic(broken: Broken, check: str, key_type: str) -> None:
    authenticator = SoftwareAuthenticator.create(credential_type="GENERIC", key_type=key_type)
    credential = generic_credential(
        authenticator.generic_public_key(), authenticator.generic_signature(CONSENT), CONSENT
    )
    signature = authenticator.generic_signature(TX, broken=broken)
    with pytest.raises(CryptoError) as info:
        verify_generic(credential, signature, TX)
    assert info.value.check == check
    with pytest.raises(CryptoError) as info:
        generic_credential(
            authenticator.generic_public_key(),
            authenticator.generic_signature(CONSENT, broken),
            CONSENT,
        )
    assert info.value.check == check


@pytest.mark.parametrize("broken", sorted(set(Broken) - FOR_GENERIC))
def test_fido_only_variants_do_not_apply_to_generic(broken: Broken) -> None:
    authenticator = SoftwareAuthenticator.create(credential_type="GENERIC")
    with pytest.raises(ConfigError, match="does not apply"):
        authenticator.generic_signature(TX, broken=broken)


def test_replay_of_a_recorded_assertion_is_refused() -> None:
    authenticator = SoftwareAuthenticator.create()
    credential = _registered(authenticator)
    recorded = authenticator.assertion(TX)
    counter = verify_assertion(recorded, challenge=TX, credential=credential, policy=OriginPolicy())
    credential = credential.with_sign_count(counter)
    with pytest.raises(CryptoError) as info:
        verify_assertion(recorded, challenge=TX, credential=credential, policy=OriginPolicy())
    assert info.value.check == "counter"
    assert "replayed" in str(info.value)
    # The next genuine assertion is fine again.
    fresh = authenticator.assertion(TX)
    assert verify_assertion(fresh, challenge=TX, credential=credential, policy=OriginPolicy()) == 2


def test_nothing_to_replay_on_a_fresh_credential() -> None:
    with pytest.raises(ConfigError, match="nothing to replay"):
        SoftwareAuthenticator.create().assertion(TX, broken=Broken.REPLAYED_COUNTER)
