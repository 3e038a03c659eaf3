"""Software authenticator state: export / import round trip and refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.fido import OriginPolicy, verify_assertion, verify_attestation
from tpsim.auth.generic import verify_generic
from tpsim.errors import ConfigError


@pytest.mark.parametrize(
    ("credential_type", "key_type"),
    [
        ("FIDO", "p256"),
        ("FIDO", "secp256k1"),
        ("FIDO", "ed25519"),
        ("GENERIC", "rsa"),
        ("GENERIC", "ed25519"),
    ],
)
def test_state_round_trip(credential_type: Any, key_type: str) -> None:
    original = SoftwareAuthenticator.create(
        credential_type=credential_type, key_type=key_type, origin="https://pisp.example"
    )
    state = json.loads(original.to_json())
    assert state["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert (state["keyType"], state["rpId"], state["counter"]) == (key_type, "pisp.example", 0)
    restored = SoftwareAuthenticator.from_json(original.to_json())
    assert restored.public_key_pem == original.public_key_pem
    assert restored.credential_id == original.credential_id
    assert (restored.origin, restored.rp_id, restored.credential_type) == (
        "https://pisp.example",
        "pisp.example",
        credential_type,
    )
    if credential_type == "GENERIC":
        assert state["credentialId"] is None
        verify_generic(original.generic_public_key(), restored.generic_signature("c"), "c")


def test_counter_survives_export() -> None:
    authenticator = SoftwareAuthenticator.create()
    credential = verify_attestation(
        authenticator.attestation("ab" * 32), challenge="ab" * 32, policy=OriginPolicy()
    )
    authenticator.assertion("x")
    authenticator.assertion("x")
    restored = SoftwareAuthenticator.from_json(authenticator.to_json())
    assert restored.counter == 2
    counter = verify_assertion(
        restored.assertion("x"),
        challenge="x",
        credential=credential.with_sign_count(2),
        policy=OriginPolicy(),
    )
    assert counter == 3


def _state(**changes: Any) -> str:
    state = json.loads(SoftwareAuthenticator.create().to_json())
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return json.dumps(state)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "not JSON"),
        ("[]", "not a tpsim credential file"),
        (_state(format="other/1"), "not a tpsim credential file"),
        (_state(privateKeyPem=None), "privateKeyPem: missing"),
        (_state(privateKeyPem="nope"), "not an unencrypted PEM"),
        (_state(counter=-1), "counter must be"),
        (_state(counter="many"), "invalid literal"),
        (_state(credentialType="OTP"), "FIDO or GENERIC"),
        (_state(keyType="rsa"), "keyType: does not match"),
        (_state(credentialId="$$"), "not base64"),
    ],
)
def test_bad_state_files(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        SoftwareAuthenticator.from_json(text, source="cred.json")
    assert words in str(info.value)
    assert str(info.value).startswith("cred.json")


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="unknown key type"):
        SoftwareAuthenticator.create(key_type="p384")
    with pytest.raises(ConfigError, match="no host"):
        SoftwareAuthenticator.create(origin="not an origin")
    generic = SoftwareAuthenticator.create(credential_type="GENERIC")
    with pytest.raises(ConfigError, match="GENERIC credential"):
        generic.assertion("x")
