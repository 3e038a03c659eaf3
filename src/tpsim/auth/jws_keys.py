"""The keys of Mojaloop's request signature (``FSPIOP-Signature``): what config accepts.

RS256 takes an RSA key of 2048 bits or more, ES256 an EC P-256 key (what Mojaloop's
sdk-standard-components validator allows); anything else is refused with a ``ValueError``
saying why, which config reports at the key's path.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

JwsPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
JwsPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_JWS_PEM_CHARS = 16_384  # an RSA-8192 private key PEM is about 6,400


def jws_public_key(pem: str) -> JwsPublicKey:
    """The key of a ``jws_public_key_pem`` (SPKI PEM), or the ``ValueError`` saying why it
    cannot check an ``FSPIOP-Signature`` (``mojaloop.wire.jws``)."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(
            "not a PEM public key: give the SubjectPublicKeyInfo PEM"
            " (-----BEGIN PUBLIC KEY----- …), e.g. from `openssl pkey -pubout`"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(_jws_key_kinds(type(key).__name__))
    _jws_key_fits(key)
    return key


def jws_private_key(pem: str) -> JwsPrivateKey:
    """The key of a ``jws_private_key_pem`` (unencrypted PEM), or the ``ValueError`` saying
    why it cannot sign an ``FSPIOP-Signature``."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(
            "not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or"
            " -----BEGIN RSA/EC PRIVATE KEY-----)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(_jws_key_kinds(type(key).__name__))
    _jws_key_fits(key)
    return key


def _pem_bytes(pem: str) -> bytes:
    if len(pem) > _JWS_PEM_CHARS:
        raise ValueError(f"longer than {_JWS_PEM_CHARS} characters")
    return pem.strip().encode("ascii", "replace")


def _jws_key_fits(key: JwsPublicKey | JwsPrivateKey) -> None:
    """Mojaloop signs RS256 or ES256 only (sdk-standard-components' validator)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError(f"an RSA key of {key.key_size} bits is too small: use 2048 or more")
    elif key.curve.name != "secp256r1":
        raise ValueError(_jws_key_kinds(f"an EC key on {key.curve.name}"))


def _jws_key_kinds(found: str) -> str:
    return (
        "FSPIOP-Signature is RS256 (an RSA key of 2048 bits or more) or ES256 (an EC P-256"
        f" key); this is {found}"
    )
