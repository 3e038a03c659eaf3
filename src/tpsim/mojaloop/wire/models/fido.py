"""WebAuthn credentials as the Third Party API carries them (``FIDOPublicKeyCredential*``).

String fields are kept as sent: Mojaloop payloads mix base64 and base64url, padded or not
(digest §8), so decoding belongs to ``tpsim.auth``. Lengths are those of the bundled
PISP/DFSP OpenAPI: credential ``id``/``rawId`` 59..118 characters where the snippets bundle
says 20..118 (digest §9.13) - the rejection says so, because platform authenticators with
16-32-byte ids are the usual cause.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from tpsim.mojaloop.wire.models.common import ClosedModel

__all__ = [
    "CredentialId",
    "FIDOPublicKeyCredentialAssertion",
    "FIDOPublicKeyCredentialAssertionResponse",
    "FIDOPublicKeyCredentialAttestation",
    "FIDOPublicKeyCredentialAttestationResponse",
    "PublicKeyCredentialType",
]

CREDENTIAL_ID_MIN, CREDENTIAL_ID_MAX = 59, 118


def _check_credential_id(value: str) -> str:
    if not CREDENTIAL_ID_MIN <= len(value) <= CREDENTIAL_ID_MAX:
        raise PydanticCustomError(
            "credential_id",
            "is {actual} characters; the PISP/DFSP OpenAPI requires 59..118: use 64-byte "
            "credential ids (86 base64url chars), 16-32-byte platform ids are too short",
            {"actual": len(value)},
        )
    return value


def _chars(low: int, high: int) -> StringConstraints:
    return StringConstraints(min_length=low, max_length=high)


CredentialId = Annotated[str, AfterValidator(_check_credential_id)]
ClientDataJSON = Annotated[str, _chars(121, 512)]


class PublicKeyCredentialType(StrEnum):
    PUBLIC_KEY = "public-key"


class FIDOPublicKeyCredentialAttestationResponse(ClosedModel):
    clientDataJSON: ClientDataJSON
    attestationObject: Annotated[str, _chars(306, 2048)]


class FIDOPublicKeyCredentialAttestation(ClosedModel):
    """What ``navigator.credentials.create()`` returned, sent in ``PUT /consents/{ID}``."""

    id: CredentialId
    rawId: CredentialId | None = None
    response: FIDOPublicKeyCredentialAttestationResponse
    type: PublicKeyCredentialType


class FIDOPublicKeyCredentialAssertionResponse(ClosedModel):
    authenticatorData: Annotated[str, _chars(49, 256)]
    clientDataJSON: ClientDataJSON
    signature: Annotated[str, _chars(59, 256)]
    userHandle: Annotated[str, _chars(1, 88)] | None = None


class FIDOPublicKeyCredentialAssertion(ClosedModel):
    """What ``navigator.credentials.get()`` returned, signing the transaction challenge."""

    id: CredentialId
    rawId: CredentialId
    response: FIDOPublicKeyCredentialAssertionResponse
    type: PublicKeyCredentialType
