"""Origin policy, RegisteredCredential and the assertion checks not covered elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido import (
    OriginPolicy,
    RegisteredCredential,
    verify_assertion,
    verify_attestation,
)
from tpsim.auth.origin import origin_host


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://localhost:8080", "localhost"),
        ("http://pisp.localhost", "pisp.localhost"),
        ("https://pisp.example", "pisp.example"),
        ("https://PISP.example:8443", "pisp.example"),
    ],
)
def test_well_formed_origins(origin: str, host: str) -> None:
    assert origin_host(origin) == host
    assert OriginPolicy().check(origin) == host
    assert OriginPolicy(rp_id="example").check(origin) == "example"


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("http://pisp.example", "https"),
        ("ftp://localhost", "https"),
        ("https://pisp.example/", "nothing after"),
        ("https://pisp.example/app", "nothing after"),
        ("https://pisp.example?x", "nothing after"),
        ("https://user@pisp.example", "credentials"),
        ("https://pisp.example:99999", "not a URL"),
        ("https://pisp.ex\u00e4mple", "ASCII"),
        ("localhost:8080", "no host"),
        ("", "non-empty"),
        (None, "non-empty"),
        ("null", "no host"),
    ],
)
def test_malformed_origins(origin: Any, words: str) -> None:
    with pytest.raises(CryptoError) as info:
        OriginPolicy().check(origin)
    assert info.value.check == "origin"
    assert words in str(info.value)


def test_allowlist_pins_origins() -> None:
    policy = OriginPolicy(allowed_origins=("https://pisp.example", "http://localhost:8080"))
    assert policy.check("http://localhost:8080") == "localhost"
    with pytest.raises(CryptoError) as info:
        policy.check("https://other.example")
    assert info.value.check == "origin"
    assert "https://pisp.example or http://localhost:8080" in str(info.value)


def test_credential_from_pem_and_counter_copy() -> None:
    authenticator = SoftwareAuthenticator.create(key_type="secp256k1")
    credential = RegisteredCredential.from_public_key_pem(
        authenticator.generic_public_key(), credential_id=authenticator.credential_id, sign_count=3
    )
    assert credential.public_key_pem == authenticator.public_key_pem
    assert (credential.key_type, credential.cose_algorithm, credential.sign_count) == (
        "secp256k1",
        -47,
        3,
    )
    later = credential.with_sign_count(9)
    assert later.sign_count == 9 and credential.sign_count == 3
    assert later.public_key_pem == credential.public_key_pem


@pytest.mark.parametrize(
    ("kwargs", "check"),
    [
        ({"public_key_pem": "nope"}, "encoding"),
        ({"credential_type": "OTP"}, "credential_type"),
        ({"sign_count": -1}, "counter"),
        ({"sign_count": 2**32}, "counter"),
    ],
)
def test_invalid_credentials(kwargs: dict[str, Any], check: str) -> None:
    fields: dict[str, Any] = {
        "credential_type": "FIDO",
        "credential_id": None,
        "public_key_pem": SoftwareAuthenticator.create().public_key_pem,
        **kwargs,
    }
    with pytest.raises(CryptoError) as info:
        RegisteredCredential(**fields)
    assert info.value.check == check


def _credential(authenticator: SoftwareAuthenticator) -> RegisteredCredential:
    payload = authenticator.attestation("ab" * 32)
    return verify_attestation(payload, challenge="ab" * 32, policy=OriginPolicy())


def test_counterless_authenticators_may_stay_at_zero() -> None:
    authenticator = SoftwareAuthenticator.create()
    credential = _credential(authenticator)
    authenticator.counter = -1  # the next assertion carries counter 0, like a passkey
    assert (
        verify_assertion(
            authenticator.assertion("tx"),
            challenge="tx",
            credential=credential,
            policy=OriginPolicy(),
        )
        == 0
    )


def test_credential_without_id_accepts_any_id() -> None:
    authenticator = SoftwareAuthenticator.create()
    seeded = RegisteredCredential.from_public_key_pem(authenticator.public_key_pem)
    assertion = authenticator.assertion("tx", broken="unknown_credential_id")
    assert (
        verify_assertion(assertion, challenge="tx", credential=seeded, policy=OriginPolicy()) == 1
    )


def test_attestation_for_a_different_origin_with_its_own_rp_id() -> None:
    authenticator = SoftwareAuthenticator.create(
        origin="https://pisp.example", rp_id="pisp.example"
    )
    credential = verify_attestation(
        authenticator.attestation("ab" * 32),
        challenge="ab" * 32,
        policy=OriginPolicy(allowed_origins=("https://pisp.example",)),
    )
    assert credential.credential_id == authenticator.credential_id


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("authenticatorData", "A" * 257, "size"),
        ("signature", "A" * 257, "size"),
        ("userHandle", "A" * 89, "size"),
        ("authenticatorData", "AAAA", "encoding"),
        ("signature", "AAAA", "key_type"),
        ("clientDataJSON", "e30=", "client_data_type"),
    ],
)
def test_assertion_field_refusals(field: str, value: str, check: str) -> None:
    authenticator = SoftwareAuthenticator.create()
    credential = _credential(authenticator)
    assertion = authenticator.assertion("tx")
    assertion["response"][field] = value
    with pytest.raises(CryptoError) as info:
        verify_assertion(assertion, challenge="tx", credential=credential, policy=OriginPolicy())
    assert info.value.check == check


def test_assertion_needs_raw_id() -> None:
    authenticator = SoftwareAuthenticator.create()
    assertion = authenticator.assertion("tx")
    del assertion["rawId"]
    with pytest.raises(CryptoError) as info:
        verify_assertion(
            assertion, challenge="tx", credential=_credential(authenticator), policy=OriginPolicy()
        )
    assert (info.value.check, str(info.value)) == ("payload", "rawId is missing")
