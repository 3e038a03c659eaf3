"""A software authenticator for PISP developers and tests: valid and deliberately broken.

It produces the payloads a PISP sends, in Mojaloop's encoding (spec §8): ``id`` base64url
without padding, ``rawId`` and every ``response`` field padded standard base64. FIDO
credential ids are 64 random bytes (86 base64url characters) because the bundled PISP /
DFSP OpenAPI requires ``id`` of 59–118 characters (spec §9.13).

Each ``Broken`` variant (see ``tpsim.auth.broken``) is rejected by the verifiers with
its own ``check``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import CoseKey

from tpsim.auth import b64, keys
from tpsim.auth.attestation_statement import (
    TPSIM_AAGUID,
    AttestationCertificates,
    attestation_statement,
)
from tpsim.auth.broken import (
    ATTACKER_HOST,
    FOR_ASSERTION,
    FOR_ATTESTATION,
    FOR_GENERIC,
    Broken,
    other_challenge,
    parse_broken,
    tamper,
)
from tpsim.auth.challenge import client_data_challenge
from tpsim.auth.credential import (
    MAX_SIGN_COUNT,
    RSA_CANNOT_SIGN,
    CredentialType,
    RegisteredCredential,
)
from tpsim.auth.errors import CryptoError
from tpsim.auth.keys import COSE_ALGORITHM, KeyType, PrivateKey
from tpsim.errors import ConfigError

DEFAULT_ORIGIN = "http://localhost:8080"
STATE_FORMAT = "tpsim-credential/1"
CREDENTIAL_ID_BYTES = 64
_ZERO_AAGUID = bytes(16)
_UP, _AT, _ED = 0x01, 0x40, 0x80
# credProtect=1 (userVerificationOptional), as CTAP 2.1 keys report it. Besides being
# realistic it keeps a fmt="none" attestationObject above the OpenAPI minLength of 306
# characters, which a bare P-256 credential with a 64-byte id misses by two.
_ATTESTATION_EXTENSIONS = {"credProtect": 1}


class SoftwareAuthenticator:
    """One credential (FIDO or GENERIC) with its private key, counter, origin and RP ID.

    Not thread-safe: ``assertion`` advances the counter. ``to_json`` / ``from_json`` keep
    the state in a file between CLI invocations.
    """

    def __init__(
        self,
        private_key: PrivateKey,
        *,
        credential_type: CredentialType = "FIDO",
        credential_id: bytes | None = None,
        counter: int = 0,
        origin: str = DEFAULT_ORIGIN,
        rp_id: str | None = None,
        attestation_certificates: AttestationCertificates | None = None,
    ) -> None:
        if credential_type not in ("FIDO", "GENERIC"):
            raise ConfigError(f"credential type must be FIDO or GENERIC, not {credential_type!r}")
        if not 0 <= counter <= MAX_SIGN_COUNT:
            raise ConfigError(f"counter must be 0..{MAX_SIGN_COUNT}, not {counter}")
        self.private_key = private_key
        self.key_type = keys.key_type_of(private_key)
        if credential_type == "FIDO" and self.key_type is KeyType.RSA:
            raise ConfigError(
                f"FIDO credentials cannot be RSA: {RSA_CANNOT_SIGN}; use p256, secp256k1 or"
                " ed25519 (RSA is fine for GENERIC)"
            )
        self.credential_type: CredentialType = credential_type
        if credential_type == "FIDO" and credential_id is None:
            credential_id = secrets.token_bytes(CREDENTIAL_ID_BYTES)
        self.credential_id = credential_id
        self.counter = counter
        self.origin = origin
        self.rp_id = rp_id if rp_id is not None else _host(origin)
        self.attestation_certificates = attestation_certificates
        self._other_keys: dict[KeyType, PrivateKey] = {}

    @classmethod
    def create(
        cls,
        *,
        credential_type: CredentialType = "FIDO",
        key_type: KeyType | str = KeyType.P256,
        origin: str = DEFAULT_ORIGIN,
        rp_id: str | None = None,
        attestation_certificates: AttestationCertificates | None = None,
    ) -> SoftwareAuthenticator:
        """A new credential with a fresh key (P-256 unless ``key_type`` says otherwise)."""
        return cls(
            keys.generate_private_key(_key_type(key_type)),
            credential_type=credential_type,
            origin=origin,
            rp_id=rp_id,
            attestation_certificates=attestation_certificates,
        )

    @property
    def public_key_pem(self) -> str:
        """The credential public key as SPKI PEM."""
        return keys.public_key_pem(self.private_key.public_key())

    @property
    def credential_id_b64url(self) -> str | None:
        """The FIDO credential id as sent in ``id`` (None for GENERIC)."""
        return None if self.credential_id is None else b64.b64url_nopad(self.credential_id)

    def registered_credential(self) -> RegisteredCredential:
        """What a verifier stores for this credential (as if registered right now)."""
        return RegisteredCredential.from_public_key_pem(
            self.public_key_pem,
            credential_type=self.credential_type,
            credential_id=self.credential_id,
            sign_count=self.counter,
        )

    # --- state ------------------------------------------------------------------------

    def to_json(self) -> str:
        """The state as JSON (unencrypted private key!) for ``tpsim credential`` files."""
        state = {
            "format": STATE_FORMAT,
            "credentialType": self.credential_type,
            "keyType": self.key_type.value,
            "credentialId": self.credential_id_b64url,
            "counter": self.counter,
            "origin": self.origin,
            "rpId": self.rp_id,
            "privateKeyPem": keys.private_key_pem(self.private_key),
        }
        return json.dumps(state, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str | None = None) -> SoftwareAuthenticator:
        """Restore an authenticator from ``to_json`` output; ``ConfigError`` naming ``source``."""
        try:
            state = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"not JSON: {exc}", file=source) from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ConfigError(f"not a tpsim credential file (format {STATE_FORMAT})", file=source)
        try:
            private_key = keys.load_private_key(state["privateKeyPem"])
            cred_id = state["credentialId"]
            authenticator = cls(
                private_key,
                credential_type=state["credentialType"],
                credential_id=None
                if cred_id is None
                else b64.decode(cred_id, what="credentialId", max_chars=1024),
                counter=int(state["counter"]),
                origin=str(state["origin"]),
                rp_id=str(state["rpId"]),
            )
        except KeyError as exc:
            raise ConfigError("missing", file=source, path=str(exc.args[0])) from None
        except (CryptoError, ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(str(exc), file=source) from None
        if authenticator.key_type != state.get("keyType"):
            raise ConfigError("does not match the private key", file=source, path="keyType")
        return authenticator

    # --- FIDO -------------------------------------------------------------------------

    def attestation(
        self, consent_challenge_hex: str, fmt: str = "none", broken: Broken | str | None = None
    ) -> dict[str, Any]:
        """A ``FIDOPublicKeyCredentialAttestation`` registering this credential.

        ``fmt`` is ``none``, ``packed`` (self attestation, or x5c when the authenticator
        has attestation certificates) or ``fido-u2f`` (P-256 only; certificates are made
        up when none were given). ``broken`` applies one ``Broken`` defect.
        """
        defect = parse_broken(broken, FOR_ATTESTATION)
        cred_id = self._fido_id()
        if fmt not in ("none", "packed", "fido-u2f"):
            raise ConfigError(f"attestation format must be none, packed or fido-u2f, not {fmt!r}")
        if fmt == "fido-u2f" and self.key_type is not KeyType.P256:
            raise ConfigError("fido-u2f attestation needs a P-256 credential")
        if fmt == "none" and defect is Broken.TAMPERED_SIGNATURE:
            raise ConfigError("fmt 'none' has no signature to tamper with; use packed or fido-u2f")
        client_data = self._client_data("webauthn.create", consent_challenge_hex, defect)
        cose = self._cose_key(defect)
        aaguid = TPSIM_AAGUID if fmt == "packed" else _ZERO_AAGUID
        attested = aaguid + struct.pack(">H", len(cred_id)) + cred_id + cbor.encode(cose)
        auth_data = self._auth_data(
            defect, _AT | _ED, attested + cbor.encode(_ATTESTATION_EXTENSIONS)
        )
        client_hash = hashlib.sha256(client_data).digest()
        certificates = None if fmt == "none" else self.attestation_certificates
        if fmt == "fido-u2f" and certificates is None:
            certificates = self._certificates()
        statement = attestation_statement(
            fmt, self.private_key, certificates, auth_data, client_hash
        )
        if defect is Broken.TAMPERED_SIGNATURE:
            statement["sig"] = tamper(statement["sig"])
        att_obj = cbor.encode({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return self._payload(
            defect, {"clientDataJSON": b64.b64(client_data), "attestationObject": b64.b64(att_obj)}
        )

    def assertion(self, challenge: str, broken: Broken | str | None = None) -> dict[str, Any]:
        """A ``FIDOPublicKeyCredentialAssertion`` signing ``challenge`` (exactly as received).

        Advances the counter first, except with ``replayed_counter``, which reuses the
        previous assertion's counter. ``userHandle`` is omitted, like a security key does.
        """
        defect = parse_broken(broken, FOR_ASSERTION)
        self._fido_id()
        if defect is Broken.REPLAYED_COUNTER:
            if self.counter == 0:
                raise ConfigError(
                    "nothing to replay yet: make one assertion without --broken first"
                )
        elif self.counter >= MAX_SIGN_COUNT:
            raise ConfigError("the signature counter is exhausted; create a new credential")
        else:
            self.counter += 1
        client_data = self._client_data("webauthn.get", challenge, defect)
        auth_data = self._auth_data(defect, 0, b"")
        signature = self._sign(auth_data + hashlib.sha256(client_data).digest(), defect)
        return self._payload(
            defect,
            {
                "authenticatorData": b64.b64(auth_data),
                "clientDataJSON": b64.b64(client_data),
                "signature": b64.b64(signature),
            },
        )

    # --- GENERIC ----------------------------------------------------------------------

    def generic_public_key(self) -> str:
        """``GenericCredential.publicKey``: base64url DER SubjectPublicKeyInfo."""
        return b64.b64url_nopad(keys.spki_der(self.private_key.public_key()))

    def generic_signature(self, challenge: str, broken: Broken | str | None = None) -> str:
        """Base64url signature over the UTF-8 ``challenge`` (the reference reading)."""
        defect = parse_broken(broken, FOR_GENERIC)
        if defect is Broken.WRONG_CHALLENGE:
            challenge = other_challenge(challenge)
        return b64.b64url_nopad(self._sign(challenge.encode("utf-8"), defect, generic=True))

    def generic_payload(
        self, consent_challenge_hex: str, broken: Broken | str | None = None
    ) -> dict[str, str]:
        """``GenericCredential`` ``{publicKey, signature}`` registering this key."""
        return {
            "publicKey": self.generic_public_key(),
            "signature": self.generic_signature(consent_challenge_hex, broken),
        }

    # --- building blocks --------------------------------------------------------------

    def _fido_id(self) -> bytes:
        if self.credential_type != "FIDO" or self.credential_id is None:
            raise ConfigError("this is a GENERIC credential; FIDO payloads need a FIDO credential")
        return self.credential_id

    def _client_data(self, kind: str, challenge: str, defect: Broken | None) -> bytes:
        if defect is Broken.WRONG_TYPE:
            kind = "webauthn.get" if kind == "webauthn.create" else "webauthn.create"
        if defect is Broken.WRONG_CHALLENGE:
            challenge = other_challenge(challenge)
        origin = f"http://{ATTACKER_HOST}" if defect is Broken.WRONG_ORIGIN else self.origin
        # Member order and spacing as browsers serialize it (WebAuthn §5.8.1.1).
        text = (
            f'{{"type":"{kind}","challenge":"{client_data_challenge(challenge)}",'
            f'"origin":{json.dumps(origin)},"crossOrigin":false}}'
        )
        return text.encode("utf-8")

    def _auth_data(self, defect: Broken | None, flags: int, rest: bytes) -> bytes:
        rp_id = ATTACKER_HOST if defect is Broken.WRONG_RP_ID else self.rp_id
        if defect is not Broken.USER_NOT_PRESENT:
            flags |= _UP
        rp_id_hash = hashlib.sha256(rp_id.encode("utf-8")).digest()
        return rp_id_hash + struct.pack(">BI", flags, self.counter) + rest

    def _cose_key(self, defect: Broken | None) -> dict[int, Any]:
        if defect is Broken.WRONG_KEY_TYPE:
            # An ES256 label on a secp256k1 point: the key does not fit its algorithm.
            numbers = ec.generate_private_key(ec.SECP256K1()).public_key().public_numbers()
            x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
            return {1: 2, 3: -7, -1: 8, -2: x, -3: y}
        alg = COSE_ALGORITHM[self.key_type]
        return dict(CoseKey.for_alg(alg).from_cryptography_key(self.private_key.public_key()))

    def _certificates(self) -> AttestationCertificates:
        if self.attestation_certificates is None:
            self.attestation_certificates = AttestationCertificates.generate()
        return self.attestation_certificates

    def _sign(self, message: bytes, defect: Broken | None, *, generic: bool = False) -> bytes:
        signer = self.private_key
        if defect is Broken.WRONG_KEY_TYPE:
            other = _other_key_type(self.key_type, generic=generic)
            if other not in self._other_keys:
                self._other_keys[other] = keys.generate_private_key(other)
            signer = self._other_keys[other]
        signature = keys.sign(signer, message)
        return tamper(signature) if defect is Broken.TAMPERED_SIGNATURE else signature

    def _payload(self, defect: Broken | None, response: dict[str, str]) -> dict[str, Any]:
        cred_id = self._fido_id()
        if defect is Broken.UNKNOWN_CREDENTIAL_ID:
            cred_id = secrets.token_bytes(CREDENTIAL_ID_BYTES)
        return {
            "id": b64.b64url_nopad(cred_id),
            "rawId": b64.b64(cred_id),
            "response": response,
            "type": "public-key",
        }


def _other_key_type(own: KeyType, *, generic: bool) -> KeyType:
    # A signature whose form cannot fit the registered key, so verifiers can tell a
    # wrong key type from a bad signature: Ed25519 (64 raw bytes) is no DER ECDSA, but a
    # GENERIC verifier also reads 64 bytes as raw r||s, so GENERIC gets RSA instead (too
    # long for a FIDO assertion's 256-character signature field).
    if own in (KeyType.RSA, KeyType.ED25519):
        return KeyType.P256
    return KeyType.RSA if generic else KeyType.ED25519


def _key_type(value: KeyType | str) -> KeyType:
    try:
        return KeyType(value)
    except ValueError:
        choices = ", ".join(k.value for k in KeyType)
        raise ConfigError(f"unknown key type {value!r}; choose one of {choices}") from None


def _host(origin: str) -> str:
    try:
        host = urlsplit(origin).hostname
    except ValueError:
        host = None
    if not host:
        raise ConfigError(f"origin {origin!r} has no host to take the RP ID from")
    return host
