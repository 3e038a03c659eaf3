"""Challenge derivation (spec §5) against the upstream vectors, and WebAuthn bytes."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from crypto_support import vectors

from tpsim.auth.canonical import sha256_hex
from tpsim.auth.challenge import (
    ChallengeMode,
    client_data_challenge,
    consent_challenge,
    transaction_challenge,
    webauthn_challenge_bytes,
)
from tpsim.auth.errors import CanonicalJsonError, CryptoError, MissingInput

TX = vectors("challenge_vectors")["thirdparty_sdk_transaction_challenge"]
CONSENTS = vectors("challenge_vectors")["consent_challenges"]["cases"]
DERIVED = vectors("fido_vectors_derived")


def test_authorization_request_mode_matches_thirdparty_sdk() -> None:
    body = dict(TX["authRequestPartial"], challenge="ignored", extensionList={"extension": []})
    challenge = transaction_challenge("authorization-request", authorization_request=body)
    assert challenge == TX["challenge"]
    assert webauthn_challenge_bytes(challenge).hex() == TX["webauthn_get_challenge_bytes_hex"]
    assert client_data_challenge(challenge) == TX["expected_clientDataJSON_challenge"]


def test_quote_mode_hashes_the_whole_quote() -> None:
    quote = {"transferAmount": {"amount": "100", "currency": "USD"}, "expiration": "x"}
    assert transaction_challenge(ChallengeMode.QUOTE, quote=quote) == sha256_hex(quote)


@pytest.mark.parametrize(
    "challenge",
    [
        "unimplemented123",
        "OWZhYjAxZTcwYjU4YzRhMzRmOWQwNzBmZjllZDFiNjc2NWVhMzA1NGI1MWZjZThjZGFjNDEyZDBmNmM2MWFhMQ",
    ],
)
def test_other_modes_are_verbatim(challenge: str) -> None:
    assert transaction_challenge(challenge) == challenge


@pytest.mark.parametrize(
    ("mode", "kwargs", "error", "words"),
    [
        ("quote", {}, MissingInput, "PUT /quotes"),
        ("authorization-request", {}, MissingInput, "authorization request"),
        ("", {}, CryptoError, "empty"),
        ("caf\u00e9\u20ac", {}, CryptoError, "Latin-1"),
        ("quote", {"quote": {"amount": 1.0}}, CanonicalJsonError, "float"),
    ],
)
def test_transaction_challenge_refusals(
    mode: str, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        transaction_challenge(mode, **kwargs)


@pytest.mark.parametrize("case", CONSENTS, ids=lambda c: c["rawChallenge"]["consentId"][:8])
def test_consent_challenge_vectors(case: dict[str, Any]) -> None:
    raw = case["rawChallenge"]
    hex_challenge = consent_challenge(raw["consentId"], raw["scopes"])
    assert hex_challenge == case["pisp_and_dfsp_challenge_hex"]
    # The auth-service compares base64(ASCII(hex)); browsers put base64url-no-pad of it.
    ascii_bytes = webauthn_challenge_bytes(hex_challenge)
    assert base64.b64encode(ascii_bytes).decode() == case["auth_service_deriveChallenge_base64"]
    assert client_data_challenge(hex_challenge) == case["expected_clientDataJSON_challenge"]


@pytest.mark.parametrize("name", list(DERIVED))
def test_consent_challenge_of_fido_vectors(name: str) -> None:
    consent = vectors("fido_vectors")[name]["consent"]
    assert (
        consent_challenge(consent["consentId"], consent["scopes"])
        == DERIVED[name]["consent_challenge_hex"]
    )


def test_consent_challenge_keeps_scope_order_and_only_address_and_actions() -> None:
    scopes = [
        {"address": "b", "actions": ["ACCOUNTS_TRANSFER"], "extra": "dropped"},
        {"actions": ["ACCOUNTS_GET_BALANCE"], "address": "a"},
    ]
    expected = sha256_hex(
        {
            "consentId": "c",
            "scopes": [
                {"address": "b", "actions": ["ACCOUNTS_TRANSFER"]},
                {"address": "a", "actions": ["ACCOUNTS_GET_BALANCE"]},
            ],
        }
    )
    assert consent_challenge("c", scopes) == expected
    assert consent_challenge("c", scopes[::-1]) != expected


@pytest.mark.parametrize(
    ("scopes", "field"),
    [
        ([{"address": "a"}], "scopes[0].actions"),
        ([{"actions": []}], "scopes[0].address"),
        (["x"], "scopes[0]"),
    ],
)
def test_consent_challenge_missing_scope_fields(scopes: list[Any], field: str) -> None:
    with pytest.raises(MissingInput) as info:
        consent_challenge("c", scopes)
    assert info.value.field == field


def test_webauthn_bytes_are_latin1() -> None:
    assert webauthn_challenge_bytes("\u00ff\u00e9a") == b"\xff\xe9a"
    assert client_data_challenge("unimplemented123") == "dW5pbXBsZW1lbnRlZDEyMw"
    with pytest.raises(CryptoError) as info:
        webauthn_challenge_bytes("\u0100")
    assert info.value.check == "encoding"
