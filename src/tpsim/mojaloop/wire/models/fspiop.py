"""FSPIOP v1.1 bodies the Third Party flows use: parties, participants, quotes, transfers.

FSPIOP's ``PartyIdType`` lacks the Third Party ``CONSENT`` and ``THIRD_PARTY_LINK``, so the
FSPIOP party types here narrow the shared enum (``PUT /parties`` in the PISP bundle uses the
FSPIOP enum too). ``/participants/{Type}/{ID}`` takes any type in its path, including
``CONSENT`` and ``THIRD_PARTY_LINK`` (digest §2.2 #9, #9b).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from tpsim.mojaloop.wire.models import common
from tpsim.mojaloop.wire.models.common import (
    AmountType,
    CorrelationId,
    Currency,
    DateTime,
    ExtensionList,
    FspId,
    GeoCode,
    IlpCondition,
    IlpFulfilment,
    IlpPacket,
    Money,
    PartyIdType,
    Text128,
    TransactionType,
    WireModel,
)

__all__ = [
    "FSPIOP_PARTY_ID_TYPES",
    "ParticipantsTypeIDPutResponse",
    "ParticipantsTypeIDSubIDPostRequest",
    "PartiesTypeIDPutResponse",
    "Party",
    "PartyIdInfo",
    "QuotesIDPutResponse",
    "QuotesPostRequest",
    "TransferState",
    "TransfersIDPatchResponse",
    "TransfersIDPutResponse",
    "TransfersPostRequest",
]

FSPIOP_PARTY_ID_TYPES: tuple[PartyIdType, ...] = tuple(PartyIdType)[:8]


def _fspiop_party_id_type(value: PartyIdType) -> PartyIdType:
    if value not in FSPIOP_PARTY_ID_TYPES:
        raise PydanticCustomError(
            "enum",
            "Input should be {expected}",
            {"expected": ", ".join(f"'{kind}'" for kind in FSPIOP_PARTY_ID_TYPES)},
        )
    return value


class TransferState(StrEnum):
    RECEIVED = "RECEIVED"
    RESERVED = "RESERVED"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


class PartyIdInfo(common.PartyIdInfo):
    """FSPIOP ``PartyIdInfo``: the Third Party one without CONSENT / THIRD_PARTY_LINK."""

    partyIdType: Annotated[PartyIdType, AfterValidator(_fspiop_party_id_type)]


class Party(common.Party):
    partyIdInfo: PartyIdInfo


class PartiesTypeIDPutResponse(WireModel):
    party: Party


class ParticipantsTypeIDSubIDPostRequest(WireModel):
    fspId: FspId
    currency: Currency | None = None
    extensionList: ExtensionList | None = None


class ParticipantsTypeIDPutResponse(WireModel):
    fspId: FspId | None = None


class QuotesPostRequest(WireModel):
    quoteId: CorrelationId
    transactionId: CorrelationId
    transactionRequestId: CorrelationId | None = None
    payee: Party
    payer: Party
    amountType: AmountType
    amount: Money
    fees: Money | None = None
    transactionType: TransactionType
    geoCode: GeoCode | None = None
    note: Text128 | None = None
    expiration: DateTime | None = None
    extensionList: ExtensionList | None = None


class QuotesIDPutResponse(WireModel):
    transferAmount: Money
    payeeReceiveAmount: Money | None = None
    payeeFspFee: Money | None = None
    payeeFspCommission: Money | None = None
    expiration: DateTime
    geoCode: GeoCode | None = None
    ilpPacket: IlpPacket
    condition: IlpCondition
    extensionList: ExtensionList | None = None


class TransfersPostRequest(WireModel):
    transferId: CorrelationId
    payeeFsp: FspId
    payerFsp: FspId
    amount: Money
    ilpPacket: IlpPacket
    condition: IlpCondition
    expiration: DateTime
    extensionList: ExtensionList | None = None


class TransfersIDPutResponse(WireModel):
    fulfilment: IlpFulfilment | None = None
    completedTimestamp: DateTime | None = None
    transferState: TransferState
    extensionList: ExtensionList | None = None


class TransfersIDPatchResponse(WireModel):
    completedTimestamp: DateTime
    transferState: TransferState
    extensionList: ExtensionList | None = None
