"""Deliberate defects the software authenticator can put into a payload.

Each variant makes tpsim's verifiers fail with one specific ``CryptoError.check``:

=======================  ===============================================  ====================
variant                  what is wrong                                    check
=======================  ===============================================  ====================
wrong_challenge          clientData / signed challenge is another one     challenge
                                                                          (GENERIC: signature)
wrong_origin             clientData origin ``http://attacker.example``    origin
wrong_rp_id              rpIdHash of ``attacker.example``                 rp_id_hash
tampered_signature       last signature bit flipped                       signature (attestation:
                                                                          attestation_statement)
replayed_counter         the previous assertion's counter reused          counter
user_not_present         UP flag cleared                                  user_present
unknown_credential_id    ``id``/``rawId`` name a random credential        credential_id
wrong_key_type           assertion / GENERIC: signed with another key     key_type
                         type; attestation: ES256 label on a secp256k1
                         key
wrong_type               clientData type of the other ceremony            client_data_type
=======================  ===============================================  ====================

A variant that makes no sense for a payload (``replayed_counter`` on an attestation,
``tampered_signature`` on ``fmt="none"``, ``wrong_origin`` on a GENERIC signature)
raises ``ConfigError``.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from tpsim.errors import ConfigError

ATTACKER_HOST = "attacker.example"


class Broken(StrEnum):
    """Deliberate defects, each rejected by the verifiers with its own ``check``."""

    WRONG_CHALLENGE = "wrong_challenge"
    WRONG_ORIGIN = "wrong_origin"
    WRONG_RP_ID = "wrong_rp_id"
    TAMPERED_SIGNATURE = "tampered_signature"
    REPLAYED_COUNTER = "replayed_counter"
    USER_NOT_PRESENT = "user_not_present"
    UNKNOWN_CREDENTIAL_ID = "unknown_credential_id"
    WRONG_KEY_TYPE = "wrong_key_type"
    WRONG_TYPE = "wrong_type"


FOR_ASSERTION = frozenset(Broken)
FOR_ATTESTATION = FOR_ASSERTION - {Broken.REPLAYED_COUNTER}
FOR_GENERIC = frozenset({Broken.WRONG_CHALLENGE, Broken.TAMPERED_SIGNATURE, Broken.WRONG_KEY_TYPE})


def parse_broken(value: Broken | str | None, applicable: frozenset[Broken]) -> Broken | None:
    """``value`` as a ``Broken`` (None stays None); ``ConfigError`` if unknown or inapplicable."""
    if value is None:
        return None
    try:
        defect = Broken(value)
    except ValueError:
        choices = ", ".join(b.value for b in Broken)
        raise ConfigError(f"unknown broken variant {value!r}; choose one of {choices}") from None
    if defect not in applicable:
        choices = ", ".join(sorted(applicable))
        raise ConfigError(f"broken variant {defect.value!r} does not apply here; use {choices}")
    return defect


def other_challenge(challenge: str) -> str:
    """A challenge that is certainly not ``challenge`` (its SHA-256 hex)."""
    return hashlib.sha256(challenge.encode("utf-8", "surrogatepass")).hexdigest()


def tamper(signature: bytes) -> bytes:
    """``signature`` with its last bit flipped."""
    # The last byte of a DER ECDSA signature is inside s, so the signature stays
    # well-formed and the defect is found by the signature check, not the encoding check.
    return signature[:-1] + bytes([signature[-1] ^ 0x01])
