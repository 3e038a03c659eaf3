"""Third Party v1.0 bodies of discovery and account linking.

``/services``, ``/accounts``, ``/consentRequests`` and ``/consents`` (data-models §3.1.1-3.1.3
and §3.1.5; OpenAPI ``thirdparty-{pisp,dfsp}-api.yaml``).

Where the OpenAPI writes ``minLength``/``maxLength`` on an array (``scopes``,
``authChannels``, ``providers``) - a no-op in JSON Schema - the evident intent is enforced as
an item count: ``scopes`` 1..256, ``authChannels`` 1..256 (exactly 1 in the
``PUT /consentRequests/{ID}`` variants), ``providers`` 0..256.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, Tag, model_validator
from pydantic_core import PydanticCustomError

from tpsim.mojaloop.wire.models.common import (
    MISSING_PAYLOAD,
    AccountAddress,
    BinaryString,
    ClosedModel,
    CorrelationId,
    Currency,
    DateTime,
    ExtensionList,
    FspId,
    Name,
    Uri,
    WireModel,
    field_of,
    one_of,
)
from tpsim.mojaloop.wire.models.fido import FIDOPublicKeyCredentialAttestation


class ServiceType(StrEnum):
    THIRD_PARTY_DFSP = "THIRD_PARTY_DFSP"
    PISP = "PISP"
    AUTH_SERVICE = "AUTH_SERVICE"


class ScopeAction(StrEnum):
    ACCOUNTS_GET_BALANCE = "ACCOUNTS_GET_BALANCE"
    ACCOUNTS_TRANSFER = "ACCOUNTS_TRANSFER"
    ACCOUNTS_STATEMENT = "ACCOUNTS_STATEMENT"


class ConsentRequestChannelType(StrEnum):
    WEB = "WEB"
    OTP = "OTP"


class ConsentStatus(StrEnum):
    ISSUED = "ISSUED"
    REVOKED = "REVOKED"


class CredentialType(StrEnum):
    FIDO = "FIDO"
    GENERIC = "GENERIC"


class CredentialStatus(StrEnum):
    """``CredentialStatusPending`` and ``CredentialStatusVerified`` of the spec as one enum."""

    PENDING = "PENDING"
    VERIFIED = "VERIFIED"


# --- discovery -------------------------------------------------------------------------


class ServicesServiceTypePutResponse(WireModel):
    providers: Annotated[list[FspId], Field(max_length=256)]
    extensionList: ExtensionList | None = None


class Account(WireModel):
    accountNickname: Name
    address: AccountAddress
    currency: Currency


class AccountsIDPutResponse(WireModel):
    # The bundles declare the property as ``accountList`` but require ``accounts``; the
    # snippets bundle and every implementation use ``accounts`` (digest §2.1).
    accounts: Annotated[list[Account], Field(min_length=1, max_length=256)]
    extensionList: ExtensionList | None = None


# --- consent requests --------------------------------------------------------------------


class Scope(WireModel):
    address: AccountAddress
    actions: Annotated[list[ScopeAction], Field(min_length=1, max_length=32)]


Scopes = Annotated[list[Scope], Field(min_length=1, max_length=256)]


class ConsentRequestsPostRequest(WireModel):
    consentRequestId: CorrelationId
    userId: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    scopes: Scopes
    authChannels: Annotated[list[ConsentRequestChannelType], Field(min_length=1, max_length=256)]
    callbackUri: Uri
    extensionList: ExtensionList | None = None


class ConsentRequestsIDPutResponseWeb(ClosedModel):
    scopes: Scopes
    authChannels: Annotated[
        list[Literal[ConsentRequestChannelType.WEB]], Field(min_length=1, max_length=1)
    ]
    callbackUri: Uri
    authUri: Uri
    extensionList: ExtensionList | None = None


class ConsentRequestsIDPutResponseOTP(ClosedModel):
    scopes: Scopes
    authChannels: Annotated[
        list[Literal[ConsentRequestChannelType.OTP]], Field(min_length=1, max_length=1)
    ]
    callbackUri: Uri | None = None
    extensionList: ExtensionList | None = None


def _consent_request_put_variant(body: Any) -> str:
    # authUri is what the web flow adds (both variants are additionalProperties: false).
    channels = field_of(body, "authChannels")
    web = field_of(body, "authUri") is not None or (
        isinstance(channels, list) and "WEB" in channels
    )
    return (ConsentRequestsIDPutResponseWeb if web else ConsentRequestsIDPutResponseOTP).__name__


ConsentRequestsIDPutResponse = Annotated[
    Annotated[ConsentRequestsIDPutResponseWeb, Tag("ConsentRequestsIDPutResponseWeb")]
    | Annotated[ConsentRequestsIDPutResponseOTP, Tag("ConsentRequestsIDPutResponseOTP")],
    one_of(
        _consent_request_put_variant,
        (ConsentRequestsIDPutResponseWeb, ConsentRequestsIDPutResponseOTP),
    ),
]


class ConsentRequestsIDPatchRequest(WireModel):
    authToken: BinaryString
    extensionList: ExtensionList | None = None


# --- credentials -------------------------------------------------------------------------


class GenericCredential(ClosedModel):
    publicKey: BinaryString
    signature: BinaryString


class _Credential(ClosedModel):
    credentialType: CredentialType
    genericPayload: GenericCredential | None = None
    fidoPayload: FIDOPublicKeyCredentialAttestation | None = None

    @model_validator(mode="after")
    def _payload_matches_type(self) -> Self:
        # The schema leaves both payloads optional; data-models §3.2.1.10 requires
        # the one credentialType names, and nothing can be verified without it.
        if self.credentialType is CredentialType.FIDO and self.fidoPayload is None:
            raise PydanticCustomError(
                MISSING_PAYLOAD, "required when credentialType is FIDO", {"field": "fidoPayload"}
            )
        if self.credentialType is CredentialType.GENERIC and self.genericPayload is None:
            raise PydanticCustomError(
                MISSING_PAYLOAD,
                "required when credentialType is GENERIC",
                {"field": "genericPayload"},
            )
        return self


class SignedCredential(_Credential):
    status: Literal[CredentialStatus.PENDING]


class VerifiedCredential(_Credential):
    status: Literal[CredentialStatus.VERIFIED]


# --- consents ------------------------------------------------------------------------------


class ConsentsPostRequestAUTH(ClosedModel):
    """DFSP → auth-service. Leave ``consentRequestId`` out: with it the body also matches
    ``ConsentsPostRequestPISP`` and fails the OpenAPI ``oneOf`` (the reference DFSP omits it)."""

    consentId: CorrelationId
    consentRequestId: CorrelationId | None = None
    scopes: Scopes
    credential: SignedCredential
    status: ConsentStatus
    extensionList: ExtensionList | None = None


class ConsentsPostRequestPISP(WireModel):
    consentId: CorrelationId
    consentRequestId: CorrelationId
    scopes: Scopes
    status: ConsentStatus
    extensionList: ExtensionList | None = None


def _consents_post_variant(body: Any) -> str:
    auth = field_of(body, "credential") is not None
    return (ConsentsPostRequestAUTH if auth else ConsentsPostRequestPISP).__name__


ConsentsPostRequest = Annotated[
    Annotated[ConsentsPostRequestAUTH, Tag("ConsentsPostRequestAUTH")]
    | Annotated[ConsentsPostRequestPISP, Tag("ConsentsPostRequestPISP")],
    one_of(_consents_post_variant, (ConsentsPostRequestAUTH, ConsentsPostRequestPISP)),
]


class ConsentsIDPutResponseSigned(ClosedModel):
    status: Literal[ConsentStatus.ISSUED] | None = None
    scopes: Scopes
    credential: SignedCredential
    extensionList: ExtensionList | None = None


class ConsentsIDPutResponseVerified(ClosedModel):
    status: Literal[ConsentStatus.ISSUED] | None = None
    scopes: Scopes
    credential: VerifiedCredential
    extensionList: ExtensionList | None = None


_CONSENT_PUT_VARIANTS = {
    "PENDING": ConsentsIDPutResponseSigned.__name__,
    "VERIFIED": ConsentsIDPutResponseVerified.__name__,
}


def _consents_put_variant(body: Any) -> str | None:
    return _CONSENT_PUT_VARIANTS.get(str(field_of(body, "credential", "status")))


ConsentsIDPutResponse = Annotated[
    Annotated[ConsentsIDPutResponseSigned, Tag("ConsentsIDPutResponseSigned")]
    | Annotated[ConsentsIDPutResponseVerified, Tag("ConsentsIDPutResponseVerified")],
    one_of(
        _consents_put_variant,
        (ConsentsIDPutResponseSigned, ConsentsIDPutResponseVerified),
        ("credential.status", tuple(_CONSENT_PUT_VARIANTS)),
    ),
]


class ConsentsIDPatchResponseVerifiedCredential(WireModel):
    status: Literal[CredentialStatus.VERIFIED]


class ConsentsIDPatchResponseVerified(WireModel):
    credential: ConsentsIDPatchResponseVerifiedCredential
    extensionList: ExtensionList | None = None


class ConsentsIDPatchResponseRevoked(WireModel):
    status: Literal[ConsentStatus.REVOKED]
    revokedAt: DateTime
    extensionList: ExtensionList | None = None


def _consents_patch_variant(body: Any) -> str:
    verified = field_of(body, "credential") is not None
    return (
        ConsentsIDPatchResponseVerified if verified else ConsentsIDPatchResponseRevoked
    ).__name__


ConsentsIDPatchResponse = Annotated[
    Annotated[ConsentsIDPatchResponseVerified, Tag("ConsentsIDPatchResponseVerified")]
    | Annotated[ConsentsIDPatchResponseRevoked, Tag("ConsentsIDPatchResponseRevoked")],
    one_of(
        _consents_patch_variant, (ConsentsIDPatchResponseVerified, ConsentsIDPatchResponseRevoked)
    ),
]
