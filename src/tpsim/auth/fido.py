"""FIDO / WebAuthn verification as the auth-service needs it: one import point.

``verify_attestation`` registers a credential from ``PUT /consents/{ID}``'s
``fidoPayload``; ``verify_assertion`` checks a ``fidoSignedPayload`` against it and hands
the new counter back (stateless, like python-fido2's server). ``OriginPolicy`` says which
origins and RP ID are accepted. See the modules they live in for the exact check order.
"""

from __future__ import annotations

from tpsim.auth.credential import CredentialType, RegisteredCredential
from tpsim.auth.fido_assertion import verify_assertion
from tpsim.auth.fido_attestation import SUPPORTED_FORMATS, verify_attestation
from tpsim.auth.origin import OriginPolicy

__all__ = [
    "SUPPORTED_FORMATS",
    "CredentialType",
    "OriginPolicy",
    "RegisteredCredential",
    "verify_assertion",
    "verify_attestation",
]
