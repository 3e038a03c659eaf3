"""GENERIC credentials: a bare public key and a signature over the challenge (spec §5.4, §6.3).

Mojaloop leaves the algorithm and encodings open. The only code (auth-service's test
helper) verifies ``SHA256withECDSA`` / ``SHA256withRSA`` over the UTF-8 challenge string;
the written spec says to sign ``SHA256(challenge)``. We accept both readings for P-256,
secp256k1, RSA (PKCS#1 v1.5) and Ed25519 keys, given as PEM or base64(url) DER SPKI,
with signatures in either base64 alphabet (ECDSA as DER or raw r||s), and say in the
error which key type was found and which readings were tried.
"""

from __future__ import annotations

import hashlib

from tpsim.auth import b64
from tpsim.auth.credential import RegisteredCredential
from tpsim.auth.errors import CryptoError
from tpsim.auth.keys import (
    PublicKey,
    key_type_of,
    load_public_key,
    public_key_pem,
    signature_forms,
    signature_valid,
)

MAX_SIGNATURE_CHARS = 1024
READINGS = ("signature over the UTF-8 challenge", "signature over SHA-256(challenge)")


def verify_generic(public_key: str | RegisteredCredential, signature: str, challenge: str) -> None:
    """Verify a GENERIC signature over ``challenge`` or raise ``CryptoError``.

    ``public_key`` is a PEM / base64 DER SPKI string or a registered credential (whose
    parsed key is reused). Raises with check ``encoding``/``size`` for undecodable input,
    ``key_type`` for unsupported keys or signatures shaped for another key type, and
    ``signature`` when no reading verifies; the detail names the key type and readings.
    """
    if isinstance(public_key, RegisteredCredential):
        _verify(public_key.public_key, signature, challenge)
    else:
        _verify(load_public_key(public_key), signature, challenge)


def generic_credential(
    public_key: str, signature: str, consent_challenge: str
) -> RegisteredCredential:
    """Register a ``GenericCredential``: verify ``signature`` over the consent challenge hex.

    Returns a GENERIC ``RegisteredCredential`` (no credential id, counter 0) holding the
    key as SPKI PEM; raises ``CryptoError`` exactly as ``verify_generic`` does.
    """
    key = load_public_key(public_key)
    _verify(key, signature, consent_challenge)
    return RegisteredCredential("GENERIC", None, public_key_pem(key))


def _verify(key: PublicKey, signature: str, challenge: str) -> None:
    raw = b64.decode(signature, what="signature", max_chars=MAX_SIGNATURE_CHARS)
    try:
        text = challenge.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CryptoError("encoding", "challenge holds a lone surrogate, it has no UTF-8") from exc
    messages = (text, hashlib.sha256(text).digest())
    for form in signature_forms(key, raw, raw_ecdsa=True):
        if any(signature_valid(key, message, form) for message in messages):
            return
    raise CryptoError(
        "signature",
        f"GENERIC signature does not verify with the {key_type_of(key)} key; "
        f"tried {' and '.join(READINGS)}",
    )
