"""Property tests: on arbitrary input, decoders and verifiers raise only coded TpsimErrors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from crypto_support import vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tpsim.auth import b64
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.canonical import canonicalize
from tpsim.auth.challenge import consent_challenge, transaction_challenge
from tpsim.auth.fido import (
    OriginPolicy,
    RegisteredCredential,
    verify_assertion,
    verify_attestation,
)
from tpsim.auth.generic import verify_generic
from tpsim.auth.keys import load_public_key
from tpsim.errors import TpsimError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SET_A = vectors("fido_vectors")["A_localhost8080_be433b9e"]
CONSENT_A = vectors("fido_vectors_derived")["A_localhost8080_be433b9e"]["consent_challenge_hex"]
CREDENTIAL_A = RegisteredCredential.from_public_key_pem(SET_A["publicKeyPem_from_test"])
GENERIC = vectors("generic_signature_vectors")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
        | st.tuples(inner)
    ),
    max_leaves=20,
)
b64ish = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=$ ", max_size=300
)


def only_coded(call: Callable[[], object]) -> None:
    try:
        call()
    except TpsimError:
        pass


@FAST
@given(b64ish | st.text(max_size=50) | json_values)
def test_b64_decode(value: Any) -> None:
    only_coded(lambda: b64.decode(value, what="x", max_chars=200))


@FAST
@given(st.binary(max_size=64))
def test_b64_round_trip(data: bytes) -> None:
    assert b64.decode(b64.b64(data), what="x", max_chars=200) == data
    assert b64.decode(b64.b64url_nopad(data), what="x", max_chars=200) == data


@FAST
@given(json_values)
def test_canonicalize(value: Any) -> None:
    only_coded(lambda: canonicalize(value))


@FAST
@given(
    st.recursive(
        st.none() | st.booleans() | st.text(), lambda i: st.lists(i) | st.dictionaries(st.text(), i)
    )
)
def test_canonical_bytes_parse_back(value: Any) -> None:
    try:
        assert json.loads(canonicalize(value)) == value
    except TpsimError:
        pass  # strings with surrogates are refused


@FAST
@given(st.text(max_size=40), json_values, json_values)
def test_challenges(mode: str, body: Any, scopes: Any) -> None:
    only_coded(lambda: transaction_challenge(mode, quote=body if isinstance(body, dict) else None))
    only_coded(lambda: consent_challenge(mode, scopes if isinstance(scopes, list) else [scopes]))


@SLOW
@given(json_values)
def test_verifiers_on_arbitrary_objects(value: Any) -> None:
    policy = OriginPolicy()
    only_coded(lambda: verify_attestation(value, challenge=CONSENT_A, policy=policy))
    only_coded(
        lambda: verify_assertion(value, challenge="c", credential=CREDENTIAL_A, policy=policy)
    )
    payload = {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": value}
    only_coded(lambda: verify_attestation(payload, challenge=CONSENT_A, policy=policy))
    only_coded(
        lambda: verify_assertion(payload, challenge="c", credential=CREDENTIAL_A, policy=policy)
    )


def _mutate(encoded: str, data: st.DataObject) -> str:
    raw = bytearray(base64.b64decode(encoded))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut":
            del raw[at:]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    return base64.b64encode(bytes(raw)).decode()


@SLOW
@given(st.data(), st.sampled_from(["attestationObject", "clientDataJSON"]))
def test_mutated_attestation(data: st.DataObject, field: str) -> None:
    response = dict(SET_A["attestation"]["response"])
    response[field] = _mutate(response[field], data)
    payload = dict(SET_A["attestation"], response=response)
    only_coded(lambda: verify_attestation(payload, challenge=CONSENT_A, policy=OriginPolicy()))


@SLOW
@given(st.data(), st.sampled_from(["authenticatorData", "clientDataJSON", "signature"]))
def test_mutated_assertion(data: st.DataObject, field: str) -> None:
    response = dict(SET_A["assertion"]["response"])
    response[field] = _mutate(response[field], data)
    payload = dict(SET_A["assertion"], response=response)
    only_coded(
        lambda: verify_assertion(
            payload, challenge="unimplemented123", credential=CREDENTIAL_A, policy=OriginPolicy()
        )
    )


@SLOW
@given(st.data(), st.sampled_from(["EC_secp256k1", "RSA_2048"]))
def test_mutated_generic(data: st.DataObject, name: str) -> None:
    signature = _mutate(GENERIC[name]["signature_b64"], data)
    challenge = data.draw(st.text(max_size=40))
    only_coded(lambda: verify_generic(GENERIC[name]["publicKeyPem"], signature, challenge))


@FAST
@given(b64ish | st.text(max_size=80), b64ish, st.text(max_size=40))
def test_generic_on_arbitrary_text(public_key: str, signature: str, challenge: str) -> None:
    only_coded(lambda: load_public_key(public_key))
    only_coded(lambda: verify_generic(public_key, signature, challenge))
    only_coded(
        lambda: verify_generic(GENERIC["EC_secp256k1"]["publicKeyPem"], signature, challenge)
    )


@FAST
@given(st.text(max_size=200) | json_values.map(lambda v: json.dumps(v, default=repr)))
def test_state_files(text: str) -> None:
    only_coded(lambda: SoftwareAuthenticator.from_json(text))
