"""Checks shared by attestation and assertion verification (WebAuthn §7.1 / §7.2).

Payload fields are read leniently (either base64 alphabet, optional padding) but their
lengths are capped at the OpenAPI ``maxLength`` of the Mojaloop schemas before decoding.
The minimum lengths are left to schema validation at the edge: they reject some real
authenticators (spec §9.13) and say nothing about whether a signature is good.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fido2.webauthn import AuthenticatorData

from tpsim.auth import b64
from tpsim.auth.challenge import client_data_challenge
from tpsim.auth.errors import CryptoError
from tpsim.auth.origin import OriginPolicy

# OpenAPI maxLength of FIDOPublicKeyCredentialAttestation / ...Assertion string fields.
MAX_ID_CHARS = 118
MAX_CLIENT_DATA_CHARS = 512
MAX_ATTESTATION_OBJECT_CHARS = 2048
MAX_AUTHENTICATOR_DATA_CHARS = 256
MAX_SIGNATURE_CHARS = 256
MAX_USER_HANDLE_CHARS = 88


@dataclass(frozen=True)
class ClientData:
    """The parsed clientDataJSON and the SHA-256 of its exact bytes."""

    type: object
    challenge: object
    origin: object
    hash: bytes


def mapping(value: object, path: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else ``CryptoError`` check ``payload``."""
    if not isinstance(value, Mapping):
        raise CryptoError("payload", f"{path} must be an object, not {type(value).__name__}")
    return value


def field_bytes(parent: Mapping[str, Any], key: str, path: str, max_chars: int) -> bytes:
    """Decode the required base64 field ``parent[key]`` (named ``path`` in errors)."""
    if key not in parent:
        raise CryptoError("payload", f"{path} is missing")
    return b64.decode(parent[key], what=path, max_chars=max_chars)


def check_public_key_type(payload: Mapping[str, Any], name: str) -> None:
    """Require ``type: "public-key"`` (the only PublicKeyCredential type)."""
    if payload.get("type") != "public-key":
        raise CryptoError(
            "payload",
            f"{name}.type must be 'public-key'",
            expected="public-key",
            actual=repr(payload.get("type")),
        )


def credential_ids(payload: Mapping[str, Any], *, raw_id_required: bool) -> bytes:
    """Decode ``id`` and ``rawId`` and require them to name the same credential."""
    cred_id = field_bytes(payload, "id", "id", MAX_ID_CHARS)
    if "rawId" not in payload and not raw_id_required:
        return cred_id
    raw_id = field_bytes(payload, "rawId", "rawId", MAX_ID_CHARS)
    if raw_id != cred_id:
        raise CryptoError("credential_id", "id and rawId decode to different credential ids")
    return cred_id


def parse_client_data(response: Mapping[str, Any]) -> ClientData:
    """Decode and parse ``response.clientDataJSON`` (``encoding`` / ``size`` errors)."""
    raw = field_bytes(response, "clientDataJSON", "response.clientDataJSON", MAX_CLIENT_DATA_CHARS)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CryptoError("encoding", "response.clientDataJSON is not UTF-8 JSON") from exc
    if not isinstance(data, dict):
        raise CryptoError("encoding", "response.clientDataJSON is not a JSON object")
    return ClientData(
        data.get("type"), data.get("challenge"), data.get("origin"), hashlib.sha256(raw).digest()
    )


def check_client_data(
    client_data: ClientData, *, expected_type: str, challenge: str, policy: OriginPolicy
) -> str:
    """Check type, challenge and origin of ``client_data``; return the expected RP ID.

    The challenge matches when ``clientDataJSON.challenge`` equals base64url of the
    Latin-1 bytes of ``challenge`` (padding ignored, as fido2-lib does; spec §5.3).
    """
    if client_data.type != expected_type:
        raise CryptoError(
            "client_data_type",
            "clientDataJSON.type is wrong",
            expected=expected_type,
            actual=repr(client_data.type),
        )
    expected_challenge = client_data_challenge(challenge)
    actual = client_data.challenge
    if not isinstance(actual, str) or actual.rstrip("=") != expected_challenge:
        raise CryptoError(
            "challenge",
            "clientDataJSON.challenge is not base64url of the challenge's bytes",
            expected=expected_challenge,
            actual=str(actual)[:120],
        )
    return policy.check(client_data.origin)


def parse_authenticator_data(raw: bytes, what: str) -> AuthenticatorData:
    """Parse authenticator data with python-fido2, mapping its errors to ``encoding``."""
    try:
        return AuthenticatorData(raw)
    except Exception as exc:  # fido2 raises ValueError, KeyError, struct.error, ...
        raise CryptoError("encoding", f"{what} is not valid authenticator data: {exc}") from exc


def check_authenticator_data(auth_data: AuthenticatorData, rp_id: str) -> None:
    """Require ``rpIdHash == SHA-256(rp_id)``, the User Present flag, and no Backup State
    without Backup Eligibility.

    WebAuthn Level 3 §6.1.3 (BS set with BE clear is invalid) and §7.1 / §7.2 ("If the BE
    bit … is not set, verify that the BS bit is not set"): a credential that may not be
    backed up cannot be backed up. python-fido2 2.2 reads both bits but checks neither.
    """
    expected = hashlib.sha256(rp_id.encode("utf-8")).digest()
    if auth_data.rp_id_hash != expected:
        raise CryptoError(
            "rp_id_hash",
            f"authenticator data was made for another RP ID than {rp_id!r}",
            expected=expected.hex(),
            actual=auth_data.rp_id_hash.hex(),
        )
    if not auth_data.is_user_present():
        raise CryptoError("user_present", "the User Present flag is not set")
    flags = auth_data.flags
    if flags & AuthenticatorData.FLAG.BS and not flags & AuthenticatorData.FLAG.BE:
        raise CryptoError(
            "backup_state",
            "authenticator data sets Backup State (BS, bit 4) without Backup Eligibility"
            " (BE, bit 3): a credential that cannot be backed up is not backed up",
        )
