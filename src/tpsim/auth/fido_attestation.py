"""Verify a FIDO credential registration (``PUT /consents/{ID}`` ``fidoPayload``).

Checks in order (WebAuthn §7.1 and what Mojaloop's auth-service checks, spec §6.1):
payload shape and sizes → clientData type ``webauthn.create`` → challenge → origin
policy → rpIdHash → UP → BS only with BE → AT and attested credential data → credential
id in authData == ``rawId`` == ``id`` → credential key type → attestation statement
(python-fido2) → optional trust chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from fido2.attestation.base import Attestation, AttestationResult, verify_x509_chain
from fido2.webauthn import AttestationObject, AuthenticatorData

from tpsim.auth.credential import RegisteredCredential, cose_public_key
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido_common import (
    MAX_ATTESTATION_OBJECT_CHARS,
    check_authenticator_data,
    check_client_data,
    check_public_key_type,
    credential_ids,
    field_bytes,
    mapping,
    parse_client_data,
)
from tpsim.auth.keys import PublicKey, public_key_pem, spki_der
from tpsim.auth.origin import OriginPolicy

# What python-fido2 2.2 verifies (it raises UnsupportedType for android-key).
SUPPORTED_FORMATS = ("none", "packed", "fido-u2f", "apple", "tpm", "android-safetynet")
_DER = serialization.Encoding.DER


def verify_attestation(
    attestation: Mapping[str, Any],
    *,
    challenge: str,
    policy: OriginPolicy,
    trust_roots: Sequence[x509.Certificate] = (),
) -> RegisteredCredential:
    """Verify a ``FIDOPublicKeyCredentialAttestation`` exactly as a PISP sends it.

    ``challenge`` is the consent challenge (hex string); the clientData challenge must be
    base64url of its ASCII bytes. With ``trust_roots`` an x5c chain must lead to one of
    them (check ``attestation_trust``); without, chains are accepted unverified and the
    result says ``trusted=False``. Returns the credential to store; every failure is a
    ``CryptoError`` whose ``check`` names the failed step.
    """
    payload = mapping(attestation, "attestation")
    check_public_key_type(payload, "attestation")
    cred_id = credential_ids(payload, raw_id_required=False)
    response = mapping(payload.get("response"), "response")
    client_data = parse_client_data(response)
    att_obj = _attestation_object(response)
    rp_id = check_client_data(
        client_data, expected_type="webauthn.create", challenge=challenge, policy=policy
    )
    auth_data: AuthenticatorData = att_obj.auth_data
    check_authenticator_data(auth_data, rp_id)
    cred_data = auth_data.credential_data
    if not auth_data.is_attested() or cred_data is None:
        raise CryptoError("attested_data", "authenticator data has no attested credential data")
    if cred_data.credential_id != cred_id:
        raise CryptoError(
            "credential_id", "the credential id in authenticator data differs from id/rawId"
        )
    public_key = cose_public_key(cred_data.public_key)
    result = _verify_statement(att_obj, client_data.hash, public_key)
    return RegisteredCredential(
        credential_type="FIDO",
        credential_id=cred_id,
        public_key_pem=public_key_pem(public_key),
        sign_count=auth_data.counter,
        fmt=att_obj.fmt,
        attestation_type=result.attestation_type.name.lower().replace("_", ""),
        trusted=_trusted(result.trust_path, trust_roots),
    )


def _attestation_object(response: Mapping[str, Any]) -> AttestationObject:
    raw = field_bytes(
        response, "attestationObject", "response.attestationObject", MAX_ATTESTATION_OBJECT_CHARS
    )
    try:
        att_obj = AttestationObject(raw)
    except Exception as exc:  # fido2's CBOR and parsers raise a zoo of builtin errors
        raise CryptoError(
            "encoding", f"response.attestationObject is not a CBOR attestation object: {exc!r}"
        ) from exc
    if not isinstance(att_obj.fmt, str) or not isinstance(att_obj.att_stmt, Mapping):
        raise CryptoError("encoding", "attestationObject needs a text fmt and a map attStmt")
    return att_obj


def _verify_statement(
    att_obj: AttestationObject, client_data_hash: bytes, public_key: PublicKey
) -> AttestationResult:
    fmt = att_obj.fmt
    if fmt not in SUPPORTED_FORMATS:
        raise CryptoError(
            "attestation_format",
            "attestation format is not supported",
            expected=", ".join(SUPPORTED_FORMATS),
            actual=fmt[:40],
        )
    try:
        result = Attestation.for_type(fmt)().verify(
            att_obj.att_stmt, att_obj.auth_data, client_data_hash
        )
    except Exception as exc:  # InvalidData, InvalidSignature, NotImplementedError (ECDAA), ...
        raise CryptoError(
            "attestation_statement",
            f"{fmt} attestation statement does not verify: {exc or type(exc).__name__}",
        ) from exc
    if fmt == "apple":
        _check_apple_key(result.trust_path, public_key)
    return result


def _check_apple_key(trust_path: Sequence[bytes], public_key: PublicKey) -> None:
    # WebAuthn §8.8 step 5; python-fido2 2.2 skips it, so a valid Apple certificate for
    # one key could otherwise vouch for any other key.
    try:
        leaf = x509.load_der_x509_certificate(trust_path[0])
        leaf_key = leaf.public_key().public_bytes(
            _DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, IndexError, TypeError, UnsupportedAlgorithm) as exc:
        # UnsupportedAlgorithm: a leaf whose key algorithm cryptography does not know.
        raise CryptoError("attestation_statement", "apple attestation has no usable x5c") from exc
    if leaf_key != spki_der(public_key):
        raise CryptoError(
            "attestation_statement",
            "apple attestation certificate is for another key than the credential public key",
        )


def _trusted(trust_path: Sequence[bytes], roots: Sequence[x509.Certificate]) -> bool | None:
    if not trust_path:
        return None
    if not roots:
        return False
    for root in roots:
        try:
            verify_x509_chain([*trust_path, root.public_bytes(_DER)])
        except Exception:  # noqa: S112 - a root that does not fit; try the next one
            continue
        return True
    raise CryptoError(
        "attestation_trust",
        f"the x5c chain ({len(trust_path)} certificates) does not lead to any of the "
        f"{len(roots)} configured attestation roots",
    )
