"""A registered credential: what the auth-service keeps after a consent is linked."""

from __future__ import annotations

import copy as _copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tpsim.auth.errors import CryptoError
from tpsim.auth.keys import (
    COSE_ALGORITHM,
    KeyType,
    PublicKey,
    key_type_of,
    load_public_key,
    public_key_pem,
)

CredentialType = Literal["FIDO", "GENERIC"]
MAX_SIGN_COUNT = 2**32 - 1

# COSE (RFC 9053) key parameters: kty 1 = OKP, 2 = EC2, 3 = RSA; crv 1 = P-256,
# 6 = Ed25519, 8 = secp256k1.
_EC2_CURVES: dict[int, tuple[int, int, ec.EllipticCurve]] = {
    -7: (2, 1, ec.SECP256R1()),
    -47: (2, 8, ec.SECP256K1()),
}
_SUPPORTED_ALGORITHMS = "ES256 (-7), ES256K (-47) or EdDSA (-8)"
# The smallest RS256 signature (RSA-2048, 256 bytes) as padded base64, and what the
# assertion schema allows (fido_common.MAX_SIGNATURE_CHARS; not imported: it loads fido2).
_RSA_2048_SIGNATURE_CHARS = 344
_MAX_ASSERTION_SIGNATURE_CHARS = 256
# Why a FIDO credential cannot have an RSA key, said wherever one is refused.
RSA_CANNOT_SIGN = (
    f"their assertion signatures ({_RSA_2048_SIGNATURE_CHARS} base64 characters or more)"
    f" exceed the {_MAX_ASSERTION_SIGNATURE_CHARS} FIDOPublicKeyCredentialAssertion allows"
)


@dataclass(frozen=True)
class RegisteredCredential:
    """A verified credential: public key (SPKI PEM), counter and how it was attested.

    ``credential_id`` is None for GENERIC credentials and for FIDO credentials seeded
    from a bare PEM (then assertions are not pinned to an id). ``attestation_type`` is
    ``none``/``self``/``basic``/``attca``/``anonca`` and ``trusted`` is True when an x5c
    chain was verified against a configured root, False when there was a chain but no
    roots to check it against (the reference only warns), None when there was no chain.
    Constructing one parses the PEM, so a bad key fails here with a ``CryptoError``.
    """

    credential_type: CredentialType
    credential_id: bytes | None
    public_key_pem: str
    sign_count: int = 0
    fmt: str | None = None
    attestation_type: str | None = None
    trusted: bool | None = None
    public_key: PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.credential_type not in ("FIDO", "GENERIC"):
            raise CryptoError(
                "credential_type",
                "credential type must be FIDO or GENERIC",
                actual=str(self.credential_type),
            )
        _check_sign_count(self.sign_count)
        object.__setattr__(self, "public_key", load_public_key(self.public_key_pem))

    @classmethod
    def from_public_key_pem(
        cls,
        pem: str,
        *,
        credential_type: CredentialType = "FIDO",
        credential_id: bytes | None = None,
        sign_count: int = 0,
    ) -> RegisteredCredential:
        """Seed a credential from a PEM (or base64 DER) public key, e.g. from a config file.

        A FIDO credential with an RSA key is refused (``CryptoError`` ``key_type``), as
        ``cose_public_key`` refuses RS256 at registration: no assertion it signs fits the
        schema, so the consent could never authorize a transfer. GENERIC keeps RSA: its
        signature is a ``BinaryString``, which has no maximum length.
        """
        key = load_public_key(pem)
        if credential_type == "FIDO" and key_type_of(key) is KeyType.RSA:
            raise CryptoError(
                "key_type",
                f"a FIDO credential cannot have an RSA key: {RSA_CANNOT_SIGN}; use an ES256"
                " (P-256), secp256k1 or Ed25519 key, or make it a GENERIC credential",
                expected="a P-256, secp256k1 or Ed25519 public key",
                actual="rsa",
            )
        return cls(credential_type, credential_id, public_key_pem(key), sign_count)

    def with_sign_count(self, sign_count: int) -> RegisteredCredential:
        """A copy with the counter ``verify_assertion`` returned.

        The parsed key is shared with this one: ``dataclasses.replace`` would parse the
        PEM again on every verification (a tenth of a transfer's CPU)."""
        _check_sign_count(sign_count)
        copy = _copy.copy(self)
        object.__setattr__(copy, "sign_count", sign_count)
        return copy

    @property
    def key_type(self) -> KeyType:
        """The key type (``p256``, ``secp256k1``, ``rsa``, ``ed25519``)."""
        return key_type_of(self.public_key)

    @property
    def cose_algorithm(self) -> int:
        """The COSE algorithm id signatures are checked with (-7, -47, -257 or -8)."""
        return COSE_ALGORITHM[self.key_type]


def cose_public_key(cose: Mapping[Any, Any]) -> PublicKey:
    """Convert a COSE_Key from attested credential data into a public key.

    Accepts ES256 (P-256), ES256K (secp256k1) and EdDSA (Ed25519). RS256 is refused
    although ``verify_assertion`` could check it: an RSA-2048 signature is 344 base64
    characters and ``FIDOPublicKeyCredentialAssertion`` allows 256, so such a credential
    would be VERIFIED and then unable to sign a single transfer. Raises ``CryptoError``
    check ``key_type`` when the algorithm is another one or the parameters do not fit it.
    """
    alg, kty = cose.get(3), cose.get(1)
    try:
        if alg in _EC2_CURVES:
            want_kty, want_crv, curve = _EC2_CURVES[alg]
            _expect(kty == want_kty and cose.get(-1) == want_crv, alg, "EC2 key on its curve")
            x, y = _coordinate(cose.get(-2)), _coordinate(cose.get(-3))
            return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        if alg == -8:
            _expect(kty == 1 and cose.get(-1) == 6, alg, "an Ed25519 OKP key")
            return ed25519.Ed25519PublicKey.from_public_bytes(_raw(cose.get(-2)))
    except (ValueError, TypeError) as exc:
        raise CryptoError(
            "key_type", f"credential public key (alg {alg}) is invalid: {exc}"
        ) from exc
    if alg == -257:
        raise CryptoError(
            "key_type",
            f"RS256 credentials cannot authorize transfers: {RSA_CANNOT_SIGN}; create the"
            " credential with ES256 (-7) or EdDSA (-8) in pubKeyCredParams",
            expected=_SUPPORTED_ALGORITHMS,
            actual=str(alg),
        )
    raise CryptoError(
        "key_type",
        "credential algorithm is not supported",
        expected=_SUPPORTED_ALGORITHMS,
        actual=str(alg),
    )


def _expect(condition: bool, alg: object, what: str) -> None:
    if not condition:
        raise CryptoError("key_type", f"COSE alg {alg} needs {what}; the key parameters differ")


def _coordinate(value: object) -> int:
    return int.from_bytes(_raw(value, 32), "big")


def _raw(value: object, size: int | None = None) -> bytes:
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise ValueError(f"expected {size or 'some'} bytes, got {type(value).__name__}")
    return value


def _check_sign_count(sign_count: int) -> None:
    if not 0 <= sign_count <= MAX_SIGN_COUNT:
        raise CryptoError("counter", f"sign count must be 0..{MAX_SIGN_COUNT}")
