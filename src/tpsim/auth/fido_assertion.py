"""Verify a FIDO transaction signature (``fidoSignedPayload``), python-fido2 style.

Stateless: the caller passes the stored credential and stores the returned counter.
Checks in order (WebAuthn §7.2 and the reference auth-service, spec §6.2): payload
shape and sizes → ``id`` == ``rawId`` == registered id → clientData type
``webauthn.get`` → challenge → origin policy → rpIdHash → UP → BS only with BE →
signature → counter → userHandle. Unlike the reference, the counter is compared with
the *last* verified counter, so a replayed assertion is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tpsim.auth import b64
from tpsim.auth.credential import RegisteredCredential
from tpsim.auth.errors import CryptoError
from tpsim.auth.fido_common import (
    MAX_AUTHENTICATOR_DATA_CHARS,
    MAX_SIGNATURE_CHARS,
    MAX_USER_HANDLE_CHARS,
    check_authenticator_data,
    check_client_data,
    check_public_key_type,
    credential_ids,
    field_bytes,
    mapping,
    parse_authenticator_data,
    parse_client_data,
)
from tpsim.auth.keys import signature_forms, signature_valid
from tpsim.auth.origin import OriginPolicy


def verify_assertion(
    assertion: Mapping[str, Any],
    *,
    challenge: str,
    credential: RegisteredCredential,
    policy: OriginPolicy,
) -> int:
    """Verify a ``FIDOPublicKeyCredentialAssertion`` and return the new sign count.

    ``challenge`` is the string exactly as sent in ``POST /thirdpartyRequests/
    authorizations``; the clientData challenge must be base64url of its Latin-1 bytes.
    The signature over ``authenticatorData || SHA-256(clientDataJSON)`` is checked with
    the registered key, and the counter must exceed ``credential.sign_count`` unless both
    are 0. Every failure is a ``CryptoError`` whose ``check`` names the failed step.
    """
    payload = mapping(assertion, "assertion")
    check_public_key_type(payload, "assertion")
    cred_id = credential_ids(payload, raw_id_required=True)
    if credential.credential_id is not None and cred_id != credential.credential_id:
        raise CryptoError(
            "credential_id",
            "assertion is for another credential than the one registered for this consent",
            expected=b64.b64url_nopad(credential.credential_id)[:40],
            actual=b64.b64url_nopad(cred_id)[:40],
        )
    response = mapping(payload.get("response"), "response")
    client_data = parse_client_data(response)
    raw_auth_data = field_bytes(
        response, "authenticatorData", "response.authenticatorData", MAX_AUTHENTICATOR_DATA_CHARS
    )
    signature = field_bytes(response, "signature", "response.signature", MAX_SIGNATURE_CHARS)
    auth_data = parse_authenticator_data(raw_auth_data, "response.authenticatorData")
    rp_id = check_client_data(
        client_data, expected_type="webauthn.get", challenge=challenge, policy=policy
    )
    check_authenticator_data(auth_data, rp_id)
    key = credential.public_key
    (der,) = signature_forms(key, signature)
    if not signature_valid(key, raw_auth_data + client_data.hash, der):
        raise CryptoError(
            "signature",
            f"signature does not verify with the registered {credential.key_type} key",
        )
    counter = _check_counter(auth_data.counter, credential.sign_count)
    _check_user_handle(response)
    return counter


def _check_counter(counter: int, stored: int) -> int:
    # WebAuthn §7.2 step 21: authenticators without a counter always send 0.
    if counter == 0 and stored == 0:
        return 0
    if counter <= stored:
        raise CryptoError(
            "counter",
            "sign counter did not increase: replayed assertion or cloned authenticator",
            expected=f"> {stored}",
            actual=str(counter),
        )
    return counter


def _check_user_handle(response: Mapping[str, Any]) -> None:
    handle = response.get("userHandle")
    if handle is None:
        return
    if isinstance(handle, str) and any(c in handle for c in "+/="):
        # The reference re-encodes the handle as base64url without padding and compares
        # strings, so standard base64 or padding fails there too (spec §6.2, §9.10).
        raise CryptoError(
            "user_handle",
            "userHandle must be base64url without padding ('-' and '_', no '+', '/' or '=')",
        )
    b64.decode(handle, what="response.userHandle", max_chars=MAX_USER_HANDLE_CHARS)
