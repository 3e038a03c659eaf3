"""Third Party v1.0 bodies of the transfer flow.

``/thirdpartyRequests/transactions``, ``/thirdpartyRequests/authorizations`` and
``/thirdpartyRequests/verifications`` (data-models §3.1.6-3.1.8).

``ThirdpartyRequestsTransactionsPostRequest.expiration`` and the ``challenge`` fields are
plain strings in the OpenAPI (the prose calls them DateTime / BinaryString); they are kept
as plain strings so that nothing the real switch accepts is refused here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import StringConstraints, Tag

from tpsim.mojaloop.wire.models.common import (
    AmountType,
    BinaryString,
    ClosedModel,
    CorrelationId,
    DateTime,
    ExtensionList,
    Money,
    Party,
    PartyIdInfo,
    TransactionType,
    WireModel,
    field_of,
    one_of,
)
from tpsim.mojaloop.wire.models.fido import FIDOPublicKeyCredentialAssertion


class TransactionRequestState(StrEnum):
    RECEIVED = "RECEIVED"
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class TransactionState(StrEnum):
    """Note: ``COMPLETED``, not the TransferState ``COMMITTED`` of the prose (digest §9.4)."""

    RECEIVED = "RECEIVED"
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"


class AuthorizationResponseType(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class SignedPayloadType(StrEnum):
    FIDO = "FIDO"
    GENERIC = "GENERIC"


class AuthenticationResponse(StrEnum):
    """Only ``VERIFIED`` in the OpenAPI; failures are ``/error`` callbacks (digest §9.3)."""

    VERIFIED = "VERIFIED"


# --- transactions ------------------------------------------------------------------------


class ThirdpartyRequestsTransactionsPostRequest(WireModel):
    transactionRequestId: CorrelationId
    payee: Party
    payer: PartyIdInfo
    amountType: AmountType
    amount: Money
    transactionType: TransactionType
    note: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    expiration: str
    extensionList: ExtensionList | None = None


class ThirdpartyRequestsTransactionsIDPutResponse(WireModel):
    # transactionId is in the snippets bundle only; the PISP/DFSP bundles allow it as an
    # additional property.
    transactionId: CorrelationId | None = None
    transactionRequestState: TransactionRequestState
    extensionList: ExtensionList | None = None


class ThirdpartyRequestsTransactionsIDPatchResponse(WireModel):
    completedTimestamp: DateTime | None = None
    transactionRequestState: TransactionRequestState
    transactionState: TransactionState
    extensionList: ExtensionList | None = None


# --- authorizations ------------------------------------------------------------------------


class ThirdpartyRequestsAuthorizationsPostRequest(ClosedModel):
    authorizationRequestId: CorrelationId
    transactionRequestId: CorrelationId
    challenge: str
    transferAmount: Money
    payeeReceiveAmount: Money
    fees: Money
    payer: PartyIdInfo
    payee: Party
    transactionType: TransactionType
    expiration: DateTime
    extensionList: ExtensionList | None = None


class SignedPayloadFIDO(ClosedModel):
    signedPayloadType: Literal[SignedPayloadType.FIDO]
    fidoSignedPayload: FIDOPublicKeyCredentialAssertion


class SignedPayloadGeneric(ClosedModel):
    signedPayloadType: Literal[SignedPayloadType.GENERIC]
    genericSignedPayload: BinaryString


class ThirdpartyRequestsAuthorizationsIDPutResponseRejected(WireModel):
    responseType: Literal[AuthorizationResponseType.REJECTED]
    extensionList: ExtensionList | None = None


class ThirdpartyRequestsAuthorizationsIDPutResponseFIDO(ClosedModel):
    responseType: Literal[AuthorizationResponseType.ACCEPTED]
    signedPayload: SignedPayloadFIDO
    extensionList: ExtensionList | None = None


class ThirdpartyRequestsAuthorizationsIDPutResponseGeneric(ClosedModel):
    responseType: Literal[AuthorizationResponseType.ACCEPTED]
    signedPayload: SignedPayloadGeneric
    extensionList: ExtensionList | None = None


_AUTHORIZATION_PUT_VARIANTS = {
    "FIDO": ThirdpartyRequestsAuthorizationsIDPutResponseFIDO.__name__,
    "GENERIC": ThirdpartyRequestsAuthorizationsIDPutResponseGeneric.__name__,
}


def _authorization_put_variant(body: Any) -> str | None:
    response = str(field_of(body, "responseType"))
    if response == "REJECTED":
        return ThirdpartyRequestsAuthorizationsIDPutResponseRejected.__name__
    if response != "ACCEPTED":
        return None
    kind = str(field_of(body, "signedPayload", "signedPayloadType"))
    return _AUTHORIZATION_PUT_VARIANTS.get(kind)


ThirdpartyRequestsAuthorizationsIDPutResponse = Annotated[
    Annotated[
        ThirdpartyRequestsAuthorizationsIDPutResponseRejected,
        Tag("ThirdpartyRequestsAuthorizationsIDPutResponseRejected"),
    ]
    | Annotated[
        ThirdpartyRequestsAuthorizationsIDPutResponseFIDO,
        Tag("ThirdpartyRequestsAuthorizationsIDPutResponseFIDO"),
    ]
    | Annotated[
        ThirdpartyRequestsAuthorizationsIDPutResponseGeneric,
        Tag("ThirdpartyRequestsAuthorizationsIDPutResponseGeneric"),
    ],
    one_of(
        _authorization_put_variant,
        (
            ThirdpartyRequestsAuthorizationsIDPutResponseRejected,
            ThirdpartyRequestsAuthorizationsIDPutResponseFIDO,
            ThirdpartyRequestsAuthorizationsIDPutResponseGeneric,
        ),
        ("responseType", tuple(AuthorizationResponseType)),
        ("signedPayload.signedPayloadType", tuple(_AUTHORIZATION_PUT_VARIANTS)),
    ),
]


# --- verifications -------------------------------------------------------------------------


class ThirdpartyRequestsVerificationsPostRequestFIDO(WireModel):
    verificationRequestId: CorrelationId
    challenge: str
    consentId: CorrelationId
    signedPayloadType: Literal[SignedPayloadType.FIDO]
    fidoSignedPayload: FIDOPublicKeyCredentialAssertion
    extensionList: ExtensionList | None = None


class ThirdpartyRequestsVerificationsPostRequestGeneric(WireModel):
    verificationRequestId: CorrelationId
    challenge: str
    consentId: CorrelationId
    signedPayloadType: Literal[SignedPayloadType.GENERIC]
    genericSignedPayload: BinaryString
    extensionList: ExtensionList | None = None


_VERIFICATION_POST_VARIANTS = {
    "FIDO": ThirdpartyRequestsVerificationsPostRequestFIDO.__name__,
    "GENERIC": ThirdpartyRequestsVerificationsPostRequestGeneric.__name__,
}


def _verification_post_variant(body: Any) -> str | None:
    return _VERIFICATION_POST_VARIANTS.get(str(field_of(body, "signedPayloadType")))


ThirdpartyRequestsVerificationsPostRequest = Annotated[
    Annotated[
        ThirdpartyRequestsVerificationsPostRequestFIDO,
        Tag("ThirdpartyRequestsVerificationsPostRequestFIDO"),
    ]
    | Annotated[
        ThirdpartyRequestsVerificationsPostRequestGeneric,
        Tag("ThirdpartyRequestsVerificationsPostRequestGeneric"),
    ],
    one_of(
        _verification_post_variant,
        (
            ThirdpartyRequestsVerificationsPostRequestFIDO,
            ThirdpartyRequestsVerificationsPostRequestGeneric,
        ),
        ("signedPayloadType", tuple(_VERIFICATION_POST_VARIANTS)),
    ),
]


class ThirdpartyRequestsVerificationsIDPutResponse(WireModel):
    authenticationResponse: AuthenticationResponse
    extensionList: ExtensionList | None = None
