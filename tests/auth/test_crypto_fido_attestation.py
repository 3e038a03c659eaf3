"""Attestation verification with the software authenticator: formats, trust, every refusal."""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fido2 import cbor

from tpsim.auth import b64
from tpsim.auth.attestation_statement import AttestationCertificates
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido import OriginPolicy, verify_assertion, verify_attestation
from tpsim.auth.keys import spki_der
from tpsim.errors import ConfigError

CHALLENGE = hashlib.sha256(b"consent").hexdigest()
POLICY = OriginPolicy()
# OpenAPI length limits of FIDOPublicKeyCredentialAttestation (thirdparty-pisp-api.yaml).
LIMITS = {
    "id": (59, 118),
    "rawId": (59, 118),
    "clientDataJSON": (121, 512),
    "attestationObject": (306, 2048),
}


@pytest.mark.parametrize(
    ("key_type", "fmt", "attestation_type"),
    [
        ("p256", "none", "none"),
        ("p256", "packed", "self"),
        ("p256", "fido-u2f", "basic"),
        ("secp256k1", "none", "none"),
        ("secp256k1", "packed", "self"),
        ("ed25519", "none", "none"),
        ("ed25519", "packed", "self"),
    ],
)
def test_round_trip(key_type: str, fmt: str, attestation_type: str) -> None:
    authenticator = SoftwareAuthenticator.create(key_type=key_type)
    payload = authenticator.attestation(CHALLENGE, fmt=fmt)
    credential = verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert credential.credential_id == authenticator.credential_id
    assert credential.public_key_pem == authenticator.public_key_pem
    assert (credential.fmt, credential.attestation_type) == (fmt, attestation_type)
    assert credential.trusted is (False if fmt == "fido-u2f" else None)
    assert credential.key_type == key_type
    counter = verify_assertion(
        authenticator.assertion("tx"), challenge="tx", credential=credential, policy=POLICY
    )
    assert counter == 1


@pytest.mark.parametrize("fmt", ["none", "packed", "fido-u2f"])
def test_payloads_fit_the_openapi_lengths_and_encodings(fmt: str) -> None:
    authenticator = SoftwareAuthenticator.create(
        attestation_certificates=AttestationCertificates.generate()
    )
    payload = authenticator.attestation(CHALLENGE, fmt=fmt)
    fields = {"id": payload["id"], "rawId": payload["rawId"], **payload["response"]}
    for name, (low, high) in LIMITS.items():
        assert low <= len(fields[name]) <= high, name
    assert len(payload["id"]) == 86 and "=" not in payload["id"]
    assert base64.b64decode(payload["rawId"], validate=True) == authenticator.credential_id
    assert payload["type"] == "public-key"


@pytest.mark.parametrize("fmt", ["packed", "fido-u2f"])
def test_x5c_chains_to_a_configured_root(fmt: str) -> None:
    certs = AttestationCertificates.generate()
    payload = SoftwareAuthenticator.create(attestation_certificates=certs).attestation(
        CHALLENGE, fmt=fmt
    )
    credential = verify_attestation(
        payload, challenge=CHALLENGE, policy=POLICY, trust_roots=[certs.root]
    )
    assert (credential.attestation_type, credential.trusted) == ("basic", True)
    unrelated = AttestationCertificates.generate().root
    two_roots = verify_attestation(
        payload, challenge=CHALLENGE, policy=POLICY, trust_roots=[unrelated, certs.root]
    )
    assert two_roots.trusted is True
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY, trust_roots=[unrelated])
    assert info.value.check == "attestation_trust"


def test_self_attestation_with_trust_roots_has_no_chain_to_check() -> None:
    payload = SoftwareAuthenticator.create().attestation(CHALLENGE, fmt="packed")
    roots = [AttestationCertificates.generate().root]
    assert (
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY, trust_roots=roots).trusted
        is None
    )


# --- attestation objects edited after the fact --------------------------------------


def edit_attestation(
    payload: dict[str, Any], change: Callable[[dict[str, Any], bytes], None]
) -> dict[str, Any]:
    """Re-encode ``payload`` after ``change(attestation_object_map, client_data_json)``."""
    att_obj = dict(
        cbor.decode(b64.decode(payload["response"]["attestationObject"], what="a", max_chars=4096))
    )
    client_data = base64.b64decode(payload["response"]["clientDataJSON"])
    change(att_obj, client_data)
    response = dict(payload["response"], attestationObject=b64.b64(cbor.encode(att_obj)))
    return dict(payload, response=response)


def _apple_statement(key: ec.EllipticCurvePublicKey) -> Callable[[dict[str, Any], bytes], None]:
    def change(att_obj: dict[str, Any], client_data: bytes) -> None:
        nonce = hashlib.sha256(att_obj["authData"] + hashlib.sha256(client_data).digest()).digest()
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "test apple")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key)
            .serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
            .not_valid_after(datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC))
            # SEQUENCE { [1] { OCTET STRING nonce } } as Apple encodes it.
            .add_extension(
                x509.UnrecognizedExtension(
                    x509.ObjectIdentifier("1.2.840.113635.100.8.2"),
                    b"\x30\x24\xa1\x22\x04\x20" + nonce,
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        att_obj["fmt"] = "apple"
        att_obj["attStmt"] = {"x5c": [cert.public_bytes(serialization.Encoding.DER)]}

    return change


def test_apple_attestation_with_the_credential_key_verifies() -> None:
    authenticator = SoftwareAuthenticator.create()
    key = authenticator.private_key.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    payload = edit_attestation(authenticator.attestation(CHALLENGE), _apple_statement(key))
    credential = verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert (credential.fmt, credential.attestation_type, credential.trusted) == (
        "apple",
        "anonca",
        False,
    )
    assert spki_der(credential.public_key) == spki_der(key)


def test_apple_certificate_for_another_key_is_refused() -> None:
    # python-fido2 2.2 alone would accept this: the nonce is right, the key is not.
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    payload = edit_attestation(
        SoftwareAuthenticator.create().attestation(CHALLENGE), _apple_statement(other)
    )
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert info.value.check == "attestation_statement"
    assert "another key" in str(info.value)


def unknown_apple_key_algorithm(att_obj: dict[str, Any], client_data: bytes) -> None:
    """An apple statement whose certificate's key is of an algorithm nobody knows.

    id-ecPublicKey (1.2.840.10045.2.1) becomes 1.2.840.10045.2.127: the certificate still
    parses and its nonce matches, but its key cannot be loaded (UnsupportedAlgorithm)."""
    _apple_statement(ec.generate_private_key(ec.SECP256R1()).public_key())(att_obj, client_data)
    [leaf] = att_obj["attStmt"]["x5c"]
    ec_oid = bytes.fromhex("06072a8648ce3d0201")
    assert leaf.count(ec_oid) == 1
    att_obj["attStmt"]["x5c"] = [leaf.replace(ec_oid, bytes.fromhex("06072a8648ce3d027f"))]


def rs256_credential_key(att_obj: dict[str, Any], client_data: bytes) -> None:
    """The attested credential key replaced by an RSA-2048 RS256 COSE key (extensions dropped)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    numbers = key.public_numbers()
    cose = {1: 3, 3: -257, -1: numbers.n.to_bytes(256, "big"), -2: numbers.e.to_bytes(3, "big")}
    auth_data = att_obj["authData"]
    attested_end = 55 + int.from_bytes(auth_data[53:55], "big")  # aaguid, length, id
    flags = bytes([auth_data[32] & ~0x80 & 0xFF])  # no ED: the extensions are gone
    att_obj["authData"] = auth_data[:32] + flags + auth_data[33:attested_end] + cbor.encode(cose)


def test_apple_certificate_with_a_key_algorithm_nobody_knows_is_a_coded_error() -> None:
    authenticator = SoftwareAuthenticator.create()
    payload = edit_attestation(authenticator.attestation(CHALLENGE), unknown_apple_key_algorithm)
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert info.value.check == "attestation_statement"


def test_rs256_credential_is_refused_since_its_assertions_cannot_fit_the_schema() -> None:
    # An RSA-2048 assertion signature is 344 base64 characters, the schema allows 256:
    # registered, the consent could never authorize a transfer.
    payload = edit_attestation(
        SoftwareAuthenticator.create().attestation(CHALLENGE), rs256_credential_key
    )
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert info.value.check == "key_type"
    assert "ES256 (-7) or EdDSA (-8)" in str(info.value)


def _set(key: str, value: Any) -> Callable[[dict[str, Any], bytes], None]:
    def change(att_obj: dict[str, Any], client_data: bytes) -> None:
        att_obj[key] = value

    return change


def _no_attested_data(att_obj: dict[str, Any], client_data: bytes) -> None:
    att_obj["authData"] = att_obj["authData"][:32] + b"\x01" + att_obj["authData"][33:37]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (_set("fmt", "android-key"), "attestation_format"),
        (_set("fmt", "x-unknown"), "attestation_format"),
        (_set("fmt", 7), "encoding"),
        (_set("attStmt", {"sig": b"x"}), "attestation_statement"),
        (_set("fmt", "tpm"), "attestation_statement"),
        (_set("fmt", "android-safetynet"), "attestation_statement"),
        (_set("fmt", "fido-u2f"), "attestation_statement"),
        (_set("attStmt", [1]), "encoding"),
        (_set("authData", b"\x00" * 10), "encoding"),
        (_no_attested_data, "attested_data"),
    ],
)
def test_edited_attestation_objects(
    change: Callable[[dict[str, Any], bytes], None], check: str
) -> None:
    payload = edit_attestation(SoftwareAuthenticator.create().attestation(CHALLENGE), change)
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert info.value.check == check


def test_packed_statement_with_ecdaa_is_a_coded_error() -> None:
    def ecdaa(att_obj: dict[str, Any], client_data: bytes) -> None:
        att_obj["attStmt"] = dict(att_obj["attStmt"], ecdaaKeyId=b"k")

    payload = edit_attestation(
        SoftwareAuthenticator.create().attestation(CHALLENGE, fmt="packed"), ecdaa
    )
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert info.value.check == "attestation_statement"


# --- payload shape --------------------------------------------------------------------


def _payload(**changes: Any) -> dict[str, Any]:
    payload = SoftwareAuthenticator.create().attestation(CHALLENGE)
    response = changes.pop("response", dict(payload["response"]))
    for key, value in changes.items():
        if key in response:
            response[key] = value
        else:
            payload[key] = value
    return dict(payload, response=response)


@pytest.mark.parametrize(
    ("payload", "check"),
    [
        (_payload(id="A" * 119), "size"),
        (_payload(rawId="A" * 119), "size"),
        (_payload(clientDataJSON="A" * 513), "size"),
        (_payload(attestationObject="A" * 2049), "size"),
        (_payload(rawId="QUFBQUFBQUFBQUFBQUFBQUFBQUFB"), "credential_id"),
        (_payload(type="public_key"), "payload"),
        (_payload(response="x"), "payload"),
        (_payload(clientDataJSON="bm90IGpzb24="), "encoding"),
        (_payload(clientDataJSON=b64.b64(b"[1, 2]")), "encoding"),
        (_payload(clientDataJSON=b64.b64(b"\xff\xfe")), "encoding"),
        (_payload(attestationObject="oA=="), "encoding"),
        ({"type": "public-key"}, "payload"),
        ([], "payload"),
    ],
)
def test_payload_refusals(payload: Any, check: str) -> None:
    with pytest.raises(CryptoError) as info:
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY)
    assert info.value.check == check


def test_missing_raw_id_is_allowed_as_in_the_schema() -> None:
    authenticator = SoftwareAuthenticator.create()
    payload = authenticator.attestation(CHALLENGE)
    del payload["rawId"]
    assert (
        verify_attestation(payload, challenge=CHALLENGE, policy=POLICY).credential_id
        == authenticator.credential_id
    )


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"fmt": "tpm"}, "none, packed or fido-u2f"),
        ({"fmt": "none", "broken": "tampered_signature"}, "no signature"),
        ({"broken": "replayed_counter"}, "does not apply"),
        ({"broken": "no_such_defect"}, "unknown broken variant"),
    ],
)
def test_authenticator_refuses_meaningless_requests(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        SoftwareAuthenticator.create().attestation(CHALLENGE, **kwargs)


def test_fido_u2f_needs_p256_and_fido_needs_no_rsa() -> None:
    with pytest.raises(ConfigError, match="P-256"):
        SoftwareAuthenticator.create(key_type="ed25519").attestation(CHALLENGE, fmt="fido-u2f")
    with pytest.raises(ConfigError, match="256"):
        SoftwareAuthenticator.create(key_type="rsa")
