"""The four key types tpsim signs and verifies with, and their encodings.

======== ================ ========== ==========================================
type     curve / size     COSE alg   signature
======== ================ ========== ==========================================
p256     NIST P-256       -7 ES256   ECDSA-SHA256, DER (GENERIC also raw r||s)
secp256k1 secp256k1       -47 ES256K ECDSA-SHA256, DER (GENERIC also raw r||s)
rsa      >= 2048 bits     -257 RS256 RSASSA-PKCS1-v1_5-SHA256
ed25519  Ed25519          -8 EdDSA   Ed25519 (pure)
======== ================ ========== ==========================================

One algorithm per key type keeps stored credentials self-describing: the PEM is all the
auth-service needs (as in the reference, which stores only the PEM).
"""

from __future__ import annotations

import contextlib
from enum import StrEnum
from typing import cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from tpsim.auth import b64
from tpsim.auth.errors import CryptoError

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

MIN_RSA_BITS = 2048
MAX_KEY_CHARS = 4096


class KeyType(StrEnum):
    """Supported key types, named as on the ``tpsim credential new --key`` command line."""

    P256 = "p256"
    SECP256K1 = "secp256k1"
    RSA = "rsa"
    ED25519 = "ed25519"


COSE_ALGORITHM: dict[KeyType, int] = {
    KeyType.P256: -7,
    KeyType.SECP256K1: -47,
    KeyType.RSA: -257,
    KeyType.ED25519: -8,
}
_CURVES: dict[str, KeyType] = {"secp256r1": KeyType.P256, "secp256k1": KeyType.SECP256K1}
_SHA256 = hashes.SHA256()


def key_type_of(key: object) -> KeyType:
    """The ``KeyType`` of a public or private key; ``CryptoError`` (``key_type``) otherwise."""
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        found = _CURVES.get(key.curve.name)
        if found is None:
            raise CryptoError(
                "key_type", f"EC curve {key.curve.name} is not supported; use P-256 or secp256k1"
            )
        return found
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise CryptoError(
                "key_type", f"RSA key of {key.key_size} bits is too small; use >= {MIN_RSA_BITS}"
            )
        return KeyType.RSA
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return KeyType.ED25519
    raise CryptoError(
        "key_type",
        f"{type(key).__name__} is not supported; use P-256, secp256k1, RSA or Ed25519",
    )


def load_public_key(text: object) -> PublicKey:
    """Parse a public key given as SPKI PEM or as base64/base64url DER SPKI.

    Raises ``CryptoError`` with check ``encoding`` for text that is neither, ``size`` for
    oversized input and ``key_type`` for keys of an unsupported type or size.
    """
    if isinstance(text, str) and text.lstrip().startswith("-----BEGIN"):
        if len(text) > MAX_KEY_CHARS:
            raise CryptoError("size", f"public key PEM is longer than {MAX_KEY_CHARS} chars")
        loader, data = serialization.load_pem_public_key, text.strip().encode("ascii", "replace")
    else:
        loader = serialization.load_der_public_key
        data = b64.decode(text, what="public key", max_chars=MAX_KEY_CHARS)
    try:
        key = loader(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CryptoError(
            "encoding", "public key is not a PEM or base64 DER SubjectPublicKeyInfo"
        ) from exc
    key_type_of(key)  # refuses other key types, curves and sizes
    return cast(PublicKey, key)


def public_key_pem(key: PublicKey) -> str:
    """SPKI PEM text of ``key`` (the form the reference auth-service stores)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def spki_der(key: PublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of ``key``."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_private_key(key_type: KeyType) -> PrivateKey:
    """A fresh private key of ``key_type`` (RSA keys are 2048 bits)."""
    if key_type is KeyType.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type is KeyType.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    curve = ec.SECP256R1() if key_type is KeyType.P256 else ec.SECP256K1()
    return ec.generate_private_key(curve)


def private_key_pem(key: PrivateKey) -> str:
    """Unencrypted PKCS#8 PEM of ``key`` (for credential files of the software authenticator)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key(pem: object) -> PrivateKey:
    """Parse an unencrypted PEM private key of a supported type (``CryptoError`` otherwise)."""
    if not isinstance(pem, str) or len(pem) > 4 * MAX_KEY_CHARS:
        raise CryptoError("encoding", "private key must be a PEM string")
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CryptoError("encoding", "private key is not an unencrypted PEM key") from exc
    key_type_of(key)  # refuses other key types, curves and sizes
    return cast(PrivateKey, key)


def sign(key: PrivateKey, message: bytes) -> bytes:
    """Sign ``message`` with the algorithm of the key type (ECDSA signatures are DER)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(_SHA256))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), _SHA256)
    return key.sign(message)


def signature_forms(key: PublicKey, signature: bytes, *, raw_ecdsa: bool = False) -> list[bytes]:
    """The ways ``signature`` can be read for ``key``'s algorithm (ECDSA always as DER).

    A signature of the wrong form means it was made with another key type, so this
    raises ``CryptoError`` with check ``key_type``. With ``raw_ecdsa`` a 64-byte r||s
    ECDSA signature (JOSE / WebCrypto style) is also read, converted to DER.
    """
    kind = key_type_of(key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        forms = []
        if raw_ecdsa and len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            forms.append(encode_dss_signature(r, s))
        with contextlib.suppress(ValueError):  # not DER: fine if read as r||s above
            decode_dss_signature(signature)
            forms.append(signature)
        if not forms:
            raise _wrong_form(kind, "a DER ECDSA signature", signature)
        return forms
    size = (key.key_size + 7) // 8 if isinstance(key, rsa.RSAPublicKey) else 64
    if len(signature) != size:
        raise _wrong_form(kind, f"{size} bytes", signature)
    return [signature]


def signature_valid(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` (one of ``signature_forms``) verifies over ``message``."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(_SHA256))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), _SHA256)
        else:
            key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _wrong_form(kind: KeyType, expected: str, signature: bytes) -> CryptoError:
    return CryptoError(
        "key_type",
        f"signature does not fit the registered {kind} key; was it made with another key type?",
        expected=expected,
        actual=f"{len(signature)} bytes",
    )
