"""Types shared by the Third Party (v1.0) and FSPIOP (v1.1) bodies.

Every constrained string is an ``Annotated[str, ...]`` named after the spec data type
(``CorrelationId``, ``Amount``, ``DateTime`` …). ``PATTERN_RULES`` maps each pattern
pydantic reports back to the spec type name and a short human rule, so a rejection can say
which rule was broken (see ``tpsim.mojaloop.wire.validation``).

Deviations from the OpenAPI text, all deliberate:

* ``\\d`` in the spec patterns is written ``[0-9]``: JavaScript's ``\\d`` (what Mojaloop's
  ajv runs) is ASCII only, while Rust's and Python's match any Unicode digit.
* ``Currency`` is checked against the 164 ISO 4217 codes every bundle enumerates, not
  against ``^[A-Z]{3}$``.
* The ``Name`` and ``FirstName``-style patterns use a lookahead and ``\\p{…}`` classes that
  pydantic's regex engine lacks; they are checked by small functions implementing the same
  classes. ``Name``'s ``\\w`` is taken as Unicode, as its description says ("all Unicode
  characters are allowed"); ajv's ``\\w`` is ASCII only, so tpsim is the more lenient.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from tpsim.mojaloop.wire.models.currencies import ISO_4217_CODES

#: pydantic error type raised when a ``oneOf`` discriminator finds no variant
ONE_OF_ERROR = "one_of"
#: pydantic error type raised when a credential lacks the payload its type names
MISSING_PAYLOAD = "missing_payload"
#: tags of every ``oneOf`` variant: they appear in pydantic error locations and are
#: not body fields
VARIANT_TAGS: set[str] = set()


class WireModel(BaseModel):
    """A body (or part of one) whose schema allows additional properties: they are dropped."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ClosedModel(BaseModel):
    """A body whose schema says ``additionalProperties: false``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def field_of(value: Any, *path: str) -> Any:
    """The value at ``path`` in a JSON object or model instance, ``None`` when absent.

    Used by the callable discriminators of the ``oneOf`` unions, which see either the
    parsed JSON (``dict``) or an already built model.
    """
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, BaseModel):
            value = getattr(value, key, None)
        else:
            return None
    return value


def one_of(
    chooser: Callable[[Any], str | None],
    variants: Iterable[type[BaseModel]],
    *checks: tuple[str, Iterable[str]],
) -> Discriminator:
    """The discriminator of a ``oneOf`` body whose variants are tagged with their class names.

    ``chooser`` returns the class name of the variant to validate against, or ``None``
    when the fields that select it are missing or invalid; ``checks`` (dotted path,
    allowed values) then let ``tpsim.mojaloop.wire.validation`` name the field at fault.
    """
    VARIANT_TAGS.update(variant.__name__ for variant in variants)
    spec = ";".join(f"{path}={'|'.join(values)}" for path, values in checks)
    return Discriminator(
        chooser,
        custom_error_type=ONE_OF_ERROR,
        custom_error_message="matches no variant of the oneOf",
        custom_error_context={"checks": spec},
    )


# --- patterns --------------------------------------------------------------------------

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_AMOUNT = r"^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$"
_DATE = (
    r"(?:[1-9][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])"
    r"|(?:[2468][048]|[13579][26])00)-02-29)"
)
_DATE_TIME = (
    rf"^{_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:(\.[0-9]{{3}}))"
    r"(?:Z|[+-][01][0-9]:[0-5][0-9])$"
)
_BINARY = r"^[A-Za-z0-9-_]+[=]{0,2}$"
_ILP_43 = r"^[A-Za-z0-9-_]{43}$"
_LATITUDE = r"^(\+|-)?(?:90(?:(?:\.0{1,6})?)|(?:[0-9]|[1-8][0-9])(?:(?:\.[0-9]{1,6})?))$"
_LONGITUDE = (
    r"^(\+|-)?(?:180(?:(?:\.0{1,6})?)|(?:[0-9]|[1-9][0-9]|1[0-7][0-9])(?:(?:\.[0-9]{1,6})?))$"
)
_ACCOUNT_ADDRESS = r"^([0-9A-Za-z_~\-\.]+[0-9A-Za-z_~\-])$"
_NAME = r"^(?!\s*$)[\w .,'-]{1,128}$"
_PERSON_NAME = (
    r"^(?!\s*$)[\p{L}\p{gc=Mark}\p{digit}\p{gc=Connector_Punctuation}\p{Join_Control}"
    r" .,''-]{1,128}$"
)

#: pattern (as reported by pydantic) → (spec type name, the rule in words)
PATTERN_RULES: dict[str, tuple[str, str]] = {
    _UUID: ("CorrelationId", "lower-case UUID v1-5, 8-4-4-4-12 hex"),
    _AMOUNT: ("Amount", "<=18 digits . <=4 digits, no leading/trailing zeros"),
    rf"^{_DATE}$": ("Date", "yyyy-MM-dd"),
    _DATE_TIME: ("DateTime", "yyyy-MM-ddTHH:mm:ss.SSS + Z or ±hh:mm, ms required"),
    _BINARY: ("BinaryString", "base64url [A-Za-z0-9-_], <=2 '=' padding"),
    _ILP_43: ("IlpCondition/IlpFulfilment", "43 base64url chars"),
    r"^[1-9][0-9]{3}$": ("ErrorCode", "4 digits, no leading zero"),
    r"^[0-9]{1,4}$": ("MerchantClassificationCode", "1-4 digits"),
    r"^[A-Z_]{1,32}$": ("TransactionSubScenario", "1-32 of A-Z and _"),
    r"^[1-9][0-9]{2}$": ("BalanceOfPayments", "3 digits, no leading zero"),
    _LATITUDE: ("Latitude", "-90..90, <=6 decimals"),
    _LONGITUDE: ("Longitude", "-180..180, <=6 decimals"),
    _ACCOUNT_ADDRESS: ("AccountAddress", "[0-9A-Za-z_~-.], not ending in '.'"),
    _NAME: ("Name", "letters, digits, _ .,'- and space, not blank"),
    _PERSON_NAME: ("FirstName/MiddleName/LastName", "letters, marks, digits, .,'- and space"),
}


def _pattern(
    pattern: str, min_length: int | None = None, max_length: int | None = None
) -> StringConstraints:
    return StringConstraints(pattern=pattern, min_length=min_length, max_length=max_length)


def _check_currency(value: str) -> str:
    if value not in ISO_4217_CODES:
        raise PydanticCustomError(
            "currency", "must be one of the ISO 4217 codes the spec enumerates (e.g. USD, ZAR)"
        )
    return value


_NAME_RE = re.compile(r"(?!\s*\Z)[\w .,'-]{1,128}\Z")
_PERSON_NAME_EXTRA = frozenset("\u200c\u200d .,'-")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise PydanticCustomError("string_pattern_mismatch", "pattern", {"pattern": _NAME})
    return value


def _person_name_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category in ("Nd", "Pc") or char in _PERSON_NAME_EXTRA


def _check_person_name(value: str) -> str:
    if not value.strip() or not all(map(_person_name_char, value)):
        raise PydanticCustomError("string_pattern_mismatch", "pattern", {"pattern": _PERSON_NAME})
    return value


CorrelationId = Annotated[str, _pattern(_UUID)]
Amount = Annotated[str, _pattern(_AMOUNT)]
DateTime = Annotated[str, _pattern(_DATE_TIME)]
DateOfBirth = Annotated[str, _pattern(rf"^{_DATE}$")]
BinaryString = Annotated[str, _pattern(_BINARY)]
IlpPacket = Annotated[str, _pattern(_BINARY, min_length=1, max_length=32768)]
IlpCondition = Annotated[str, _pattern(_ILP_43, max_length=48)]
IlpFulfilment = Annotated[str, _pattern(_ILP_43, max_length=48)]
ErrorCode = Annotated[str, _pattern(r"^[1-9][0-9]{3}$")]
MerchantClassificationCode = Annotated[str, _pattern(r"^[0-9]{1,4}$")]
TransactionSubScenario = Annotated[str, _pattern(r"^[A-Z_]{1,32}$")]
BalanceOfPayments = Annotated[str, _pattern(r"^[1-9][0-9]{2}$")]
Latitude = Annotated[str, _pattern(_LATITUDE)]
Longitude = Annotated[str, _pattern(_LONGITUDE)]
AccountAddress = Annotated[str, _pattern(_ACCOUNT_ADDRESS, min_length=1, max_length=1023)]
Currency = Annotated[
    str, StringConstraints(min_length=3, max_length=3), AfterValidator(_check_currency)
]
FspId = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
PartyName = Text128
Name = Annotated[str, AfterValidator(_check_name)]
PersonName = Annotated[
    str, StringConstraints(min_length=1, max_length=128), AfterValidator(_check_person_name)
]
# The spec's Uri regex (RFC 3986 appendix B) matches every string: only the length counts.
Uri = Annotated[str, StringConstraints(min_length=1, max_length=512)]


# --- enums -----------------------------------------------------------------------------


class PartyIdType(StrEnum):
    """Third Party ``PartyIdType``: FSPIOP's eight plus ``CONSENT`` and ``THIRD_PARTY_LINK``."""

    MSISDN = "MSISDN"
    EMAIL = "EMAIL"
    PERSONAL_ID = "PERSONAL_ID"
    BUSINESS = "BUSINESS"
    DEVICE = "DEVICE"
    ACCOUNT_ID = "ACCOUNT_ID"
    IBAN = "IBAN"
    ALIAS = "ALIAS"
    CONSENT = "CONSENT"
    THIRD_PARTY_LINK = "THIRD_PARTY_LINK"


class AmountType(StrEnum):
    SEND = "SEND"
    RECEIVE = "RECEIVE"


class TransactionScenario(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER = "TRANSFER"
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"


class TransactionInitiator(StrEnum):
    PAYER = "PAYER"
    PAYEE = "PAYEE"


class TransactionInitiatorType(StrEnum):
    CONSUMER = "CONSUMER"
    AGENT = "AGENT"
    BUSINESS = "BUSINESS"
    DEVICE = "DEVICE"


# --- objects ---------------------------------------------------------------------------


class Extension(WireModel):
    key: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    value: Text128


class ExtensionList(WireModel):
    extension: Annotated[list[Extension], Field(min_length=1, max_length=16)]


class ErrorInformation(WireModel):
    errorCode: ErrorCode
    errorDescription: Text128
    extensionList: ExtensionList | None = None


class ErrorInformationObject(WireModel):
    """Body of every ``PUT …/error`` callback."""

    errorInformation: ErrorInformation


class Money(WireModel):
    currency: Currency
    amount: Amount


class GeoCode(WireModel):
    latitude: Latitude
    longitude: Longitude


class PartyIdInfo(WireModel):
    partyIdType: PartyIdType
    partyIdentifier: Text128
    partySubIdOrType: Text128 | None = None
    fspId: FspId | None = None
    extensionList: ExtensionList | None = None


class PartyComplexName(WireModel):
    firstName: PersonName | None = None
    middleName: PersonName | None = None
    lastName: PersonName | None = None


class PartyPersonalInfo(WireModel):
    complexName: PartyComplexName | None = None
    dateOfBirth: DateOfBirth | None = None


class Party(WireModel):
    partyIdInfo: PartyIdInfo
    merchantClassificationCode: MerchantClassificationCode | None = None
    name: PartyName | None = None
    personalInfo: PartyPersonalInfo | None = None


class Refund(WireModel):
    originalTransactionId: CorrelationId
    refundReason: Text128 | None = None


class TransactionType(WireModel):
    scenario: TransactionScenario
    subScenario: TransactionSubScenario | None = None
    initiator: TransactionInitiator
    initiatorType: TransactionInitiatorType
    refundInfo: Refund | None = None
    balanceOfPayments: BalanceOfPayments | None = None
