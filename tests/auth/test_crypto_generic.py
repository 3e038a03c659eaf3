"""GENERIC credentials: reference vectors, both readings, every key type and encoding."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from crypto_support import vectors
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tpsim.auth import b64, keys
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.errors import CryptoError
from tpsim.auth.generic import generic_credential, verify_generic
from tpsim.auth.keys import KeyType

GENERIC = vectors("generic_signature_vectors")
SETS = ["EC_secp256k1", "RSA_2048"]


@pytest.mark.parametrize("name", SETS)
def test_reference_vectors_verify(name: str) -> None:
    data = GENERIC[name]
    verify_generic(data["publicKeyPem"], data["signature_b64"], data["message"])
    # The same signature, base64url without padding as the BinaryString schema wants.
    url = b64.b64url_nopad(b64.decode(data["signature_b64"], what="s", max_chars=1024))
    verify_generic(data["publicKeyPem"], url, data["message"])


@pytest.mark.parametrize("name", SETS)
def test_reference_vectors_fail_for_another_message(name: str) -> None:
    data = GENERIC[name]
    with pytest.raises(CryptoError) as info:
        verify_generic(data["publicKeyPem"], data["signature_b64"], data["message"] + "!")
    assert info.value.check == "signature"
    key_name = "secp256k1" if name.startswith("EC") else "rsa"
    assert f"{key_name} key" in str(info.value)
    assert "UTF-8 challenge" in str(info.value) and "SHA-256(challenge)" in str(info.value)


@pytest.mark.parametrize("name", SETS)
def test_reference_vectors_fail_for_another_key(name: str) -> None:
    data = GENERIC[name]
    other_key = SoftwareAuthenticator.create(
        credential_type="GENERIC", key_type="secp256k1" if name.startswith("EC") else "rsa"
    ).generic_public_key()
    with pytest.raises(CryptoError) as info:
        verify_generic(other_key, data["signature_b64"], data["message"])
    assert info.value.check == "signature"


def _sign(key: Any, message: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return bytes(key.sign(message, ec.ECDSA(hashes.SHA256())))
    if isinstance(key, rsa.RSAPrivateKey):
        return bytes(key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
    return bytes(key.sign(message))


@pytest.mark.parametrize("key_type", list(KeyType))
@pytest.mark.parametrize("reading", ["utf8", "sha256"])
@pytest.mark.parametrize("key_encoding", ["pem", "b64url", "b64"])
def test_both_readings_every_key_type_and_encoding(
    key_type: KeyType, reading: str, key_encoding: str
) -> None:
    private = keys.generate_private_key(key_type)
    public = private.public_key()
    challenge = hashlib.sha256(b"tx").hexdigest()
    message = (
        challenge.encode() if reading == "utf8" else hashlib.sha256(challenge.encode()).digest()
    )
    signature = b64.b64url_nopad(_sign(private, message))
    encoded = {
        "pem": keys.public_key_pem(public),
        "b64url": b64.b64url_nopad(keys.spki_der(public)),
        "b64": b64.b64(keys.spki_der(public)),
    }[key_encoding]
    verify_generic(encoded, signature, challenge)
    credential = generic_credential(encoded, signature, challenge)
    assert (credential.credential_type, credential.credential_id, credential.sign_count) == (
        "GENERIC",
        None,
        0,
    )
    assert credential.public_key_pem == keys.public_key_pem(public)
    verify_generic(credential, signature, challenge)


@pytest.mark.parametrize("key_type", [KeyType.P256, KeyType.SECP256K1])
def test_raw_r_s_ecdsa_signatures(key_type: KeyType) -> None:
    private = keys.generate_private_key(key_type)
    r, s = decode_dss_signature(_sign(private, b"challenge"))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    verify_generic(keys.public_key_pem(private.public_key()), b64.b64url_nopad(raw), "challenge")


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (ec.generate_private_key(ec.SECP384R1()).public_key(), "secp384r1"),
        (rsa.generate_private_key(65537, 1024).public_key(), "1024 bits"),  # noqa: S505 - refused on purpose
        (dsa.generate_private_key(1024).public_key(), "DSAPublicKey"),  # noqa: S505
    ],
)
def test_unsupported_keys(key: Any, words: str) -> None:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(CryptoError) as info:
        verify_generic(pem, "AAAA", "challenge")
    assert info.value.check == "key_type"
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("public_key", "signature", "check"),
    [
        ("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "AAAA", "encoding"),
        ("not base64!", "AAAA", "encoding"),
        ("AAAA", "AAAA", "encoding"),
        ("A" * 5000, "AAAA", "size"),
        (None, "AAAA", "encoding"),
        (GENERIC["RSA_2048"]["publicKeyPem"], "A" * 2000, "size"),
        (GENERIC["RSA_2048"]["publicKeyPem"], "AAAA", "key_type"),
        (GENERIC["EC_secp256k1"]["publicKeyPem"], "AAAA", "key_type"),
        (GENERIC["EC_secp256k1"]["publicKeyPem"], "AA$A", "encoding"),
    ],
)
def test_refusals(public_key: Any, signature: str, check: str) -> None:
    with pytest.raises(CryptoError) as info:
        verify_generic(public_key, signature, "challenge")
    assert info.value.check == check


def test_ed25519_signature_is_not_read_as_another_key_type() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    signature = b64.b64url_nopad(private.sign(b"challenge"))
    rsa_pem = GENERIC["RSA_2048"]["publicKeyPem"]
    with pytest.raises(CryptoError) as info:
        verify_generic(rsa_pem, signature, "challenge")
    assert info.value.check == "key_type"
    assert "256 bytes" in str(info.value)


def test_software_authenticator_generic_payload_registers() -> None:
    authenticator = SoftwareAuthenticator.create(credential_type="GENERIC", key_type="ed25519")
    payload = authenticator.generic_payload("ab" * 32)
    assert "=" not in payload["publicKey"] and "=" not in payload["signature"]
    credential = generic_credential(payload["publicKey"], payload["signature"], "ab" * 32)
    assert credential.cose_algorithm == -8
