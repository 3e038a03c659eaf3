"""Attestation statements of the software authenticator, and throwaway certificates.

``AttestationCertificates`` is a root CA and a leaf that meets the packed-attestation
certificate requirements (WebAuthn §8.2.1: X.509 v3, subject C/O/OU="Authenticator
Attestation"/CN, basic constraints CA=false, AAGUID extension). Tests pass ``root`` as a
trust root to exercise chain checks.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fido2.webauthn import AuthenticatorData

from tpsim.auth import keys
from tpsim.auth.keys import COSE_ALGORITHM, PrivateKey
from tpsim.errors import ConfigError

# The AAGUID of tpsim's software authenticator (reported with packed attestation).
TPSIM_AAGUID = b"tpsim-softauthn!"
# id-fido-gen-ce-aaguid (FIDO Metadata, "AAGUID extension").
OID_FIDO_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
# Fixed validity: certificates are never checked against a clock by tpsim, and fixed
# dates keep generated payloads independent of when they were made.
_NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class AttestationCertificates:
    """An attestation signing key, its certificate, and the root that issued it."""

    key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate
    root: x509.Certificate

    @classmethod
    def generate(cls) -> AttestationCertificates:
        """A fresh P-256 root and a leaf carrying ``TPSIM_AAGUID``."""
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name("tpsim attestation root", unit="tpsim")
        root = (
            _builder(root_name, root_name, root_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _builder(
            _name("tpsim software authenticator", unit="Authenticator Attestation"),
            root_name,
            key.public_key(),
        )
        leaf = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # The extension value is an OCTET STRING holding the 16 AAGUID bytes.
            .add_extension(
                x509.UnrecognizedExtension(OID_FIDO_AAGUID, b"\x04\x10" + TPSIM_AAGUID),
                critical=False,
            )
            .sign(root_key, hashes.SHA256())
        )
        return cls(key, leaf, root)

    def x5c(self) -> list[bytes]:
        """The ``x5c`` array of an attestation statement: the leaf only (root is implied)."""
        return [self.leaf.public_bytes(serialization.Encoding.DER)]


def attestation_statement(
    fmt: str,
    credential_key: PrivateKey,
    certificates: AttestationCertificates | None,
    auth_data: bytes,
    client_hash: bytes,
) -> dict[str, Any]:
    """The ``attStmt`` for ``fmt`` (``none``, ``packed``, ``fido-u2f``) over the given data.

    ``packed`` is self attestation (signed with the credential key) without
    ``certificates`` and full x5c attestation with them; ``fido-u2f`` needs them and a
    P-256 credential whose attested data is inside ``auth_data``.
    """
    signed = auth_data + client_hash
    if fmt == "none":
        return {}
    if certificates is None:
        if fmt != "packed":
            raise ConfigError(f"{fmt} attestation needs attestation certificates")
        alg = COSE_ALGORITHM[keys.key_type_of(credential_key)]
        return {"alg": alg, "sig": keys.sign(credential_key, signed)}
    if fmt == "packed":
        return {"alg": -7, "sig": keys.sign(certificates.key, signed), "x5c": certificates.x5c()}
    # FIDO U2F raw registration message: 0x00 || rpIdHash || clientDataHash || keyHandle
    # || uncompressed point; the attested data starts at byte 37 (WebAuthn §8.6).
    attested = AuthenticatorData(auth_data).credential_data
    if attested is None:
        raise ConfigError("fido-u2f attestation needs attested credential data")
    cose = attested.public_key
    point = b"\x04" + cose[-2] + cose[-3]
    message = b"\x00" + auth_data[:32] + client_hash + attested.credential_id + point
    return {"sig": keys.sign(certificates.key, message), "x5c": certificates.x5c()}


def _name(common_name: str, *, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ZZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tpsim"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
    )
