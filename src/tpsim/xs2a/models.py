"""The XS2A PIS request bodies (NextGenPSD2 1.3.11), as the typed values the bank reads.

Each model is named after the spec schema it implements and spells its fields as on the
wire, so ``model_dump(by_alias=True, exclude_none=True, mode="json")`` gives the wire body
back (the bank echoes a payment on GET). ``parse_body`` (``xs2a.body``, re-exported here) is
the one place a body is parsed into them: it raises an ``Xs2aError`` (FORMAT_ERROR unless a
rule below says otherwise) whose ``path`` is the dotted wire path of the offending field and
whose text says what is wrong and what to send.

Deliberate choices where the spec leaves room (each one tpsim's decision):

* Unknown fields are refused, all of them named, although the schemas do not say
  ``additionalProperties: false``: Berlin Group banks (adorsys among them) refuse them, and
  a TPP that misspells ``creditorName`` should hear it rather than lose the field.
* JSON ``null`` in an optional field counts as absent, as at Jackson-based banks.
* Patterns are anchored (the spec's are JavaScript patterns, searched, so ``[A-Z]{3}``
  would let ``EURO`` through) and ``\\d`` is written ``[0-9]``.
* An account in a payment must carry ``iban``: tpsim's simulated banks are reached by
  IBAN. Every IBAN is checked (ISO 13616 mod 97) and kept in its electronic form.
* ``instructedAmount.amount`` must be positive: a payment moves money to the creditor.
* A single payment accepts ``requestedExecutionTime`` (the spec comments it out as "n.a.,
  can be used by the ASPSP"), kept exactly as sent.
* A bulk payment holds 1 to ``MAX_BULK_PAYMENTS`` payments (the spec sets no bound).
* A periodic ``endDate`` before ``startDate`` is a FORMAT_ERROR on ``endDate``: the
  NextGenPSD2 guidelines keep PARAMETER_NOT_CONSISTENT for query parameters (adorsys answers
  400 PERIOD_INVALID, the guidelines' general "requested time period out of bound"). A
  window that holds no execution date is the bank's refusal, not the body's
  (``initiation.check_dates``: EXECUTION_DATE_INVALID). ``monthsOfExecution`` is refused unless
  ``frequency`` is MonthlyVariable, and required when it is (the spec's "if and only if").
* ``dayOfExecution`` is "1" to "31" without leading zeros, as the 1.3.11 enum says.
* ``psuData`` must carry ``password`` (tpsim checks the PSU's password in the clear);
  ``encryptedPassword`` and ``additionalEncryptedPassword`` are PARAMETER_NOT_SUPPORTED.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from tpsim.xs2a.body import (
    MAX_JSON_DEPTH,
    amount_value,
    date_time,
    matching,
    parse_body,
    purpose_code,
    refusal,
    shown,
    valid_iban,
    wire_date,
)

__all__ = [
    "MAX_BULK_PAYMENTS",
    "MAX_JSON_DEPTH",
    "AccountReference",
    "Address",
    "Amount",
    "BulkPaymentInitiationJson",
    "ChargeBearer",
    "ExecutionRule",
    "FrequencyCode",
    "IbanAccountReference",
    "OtherType",
    "PaymentInitiationBulkElementJson",
    "PaymentInitiationJson",
    "PeriodicPaymentInitiationJson",
    "PsuData",
    "RemittanceInformationStructured",
    "RemittanceInformationStructuredMax140",
    "UpdateAuthorisation",
    "parse_body",
]

MAX_BULK_PAYMENTS = 100


def _strip_null(data: Any) -> Any:
    """JSON ``null`` in a field counts as absent (so it is never echoed back as a value)."""
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if value is not None}
    return data


# --- the spec's data types -------------------------------------------------------------

Max35 = Annotated[str, Field(max_length=35)]
Max70 = Annotated[str, Field(max_length=70)]
Max140 = Annotated[str, Field(max_length=140)]
Iban = Annotated[
    str,
    matching(
        r"[A-Z]{2}[0-9]{2}[A-Za-z0-9]{1,30}",
        "an IBAN in electronic form, e.g. 'DE89370400440532013000'",
    ),
    AfterValidator(valid_iban),
]
Bban = Annotated[str, matching(r"[A-Za-z0-9]{1,30}", "a BBAN: 1 to 30 letters or digits")]
Bicfi = Annotated[
    str,
    matching(
        r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?",
        "a BIC: 8 or 11 characters, e.g. 'AAAADEBBXXX'",
    ),
]
CurrencyCode = Annotated[
    str, matching(r"[A-Z]{3}", "an ISO 4217 currency code: 3 capital letters, e.g. 'EUR'")
]
CountryCode = Annotated[
    str, matching(r"[A-Z]{2}", "an ISO 3166 country code: 2 capital letters, e.g. 'DE'")
]
AmountValue = Annotated[str, AfterValidator(amount_value)]
WireDate = Annotated[date, BeforeValidator(wire_date)]
DateTime = Annotated[str, AfterValidator(date_time)]
DayOfExecution = Annotated[
    str,
    matching(r"[1-9]|[12][0-9]|3[01]", "a day of the month: '1' to '31', no leading zero"),
]
MonthOfExecution = Annotated[
    str, matching(r"[1-9]|1[0-2]", "a month: '1' to '12', no leading zero")
]

PurposeCode = Annotated[str, AfterValidator(purpose_code)]


class ChargeBearer(StrEnum):
    """ChargeBearerType1Code (ISO 20022)."""

    DEBT = "DEBT"
    CRED = "CRED"
    SHAR = "SHAR"
    SLEV = "SLEV"


class ExecutionRule(StrEnum):
    """What a periodic payment does when its day is not a working day."""

    following = "following"
    preceding = "preceding"


class FrequencyCode(StrEnum):
    """EventFrequency7Code (ISO 20022), the subset the spec allows."""

    Daily = "Daily"
    Weekly = "Weekly"
    EveryTwoWeeks = "EveryTwoWeeks"
    Monthly = "Monthly"
    EveryTwoMonths = "EveryTwoMonths"
    Quarterly = "Quarterly"
    SemiAnnual = "SemiAnnual"
    Annual = "Annual"
    MonthlyVariable = "MonthlyVariable"


# --- the models ------------------------------------------------------------------------


class _Wire(BaseModel):
    """A request body or part of one: frozen, unknown fields refused, null is absence."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: the spec schema this model implements, for error texts
    schema_name: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return _strip_null(data)


class Amount(_Wire):
    """``amount``: a currency and an amount as a string. In a payment it must be positive."""

    schema_name = "amount"
    currency: CurrencyCode
    amount: AmountValue

    def value(self) -> Decimal:
        """The amount as a ``Decimal`` (exact, unlike a float)."""
        return Decimal(self.amount)

    @model_validator(mode="after")
    def _positive(self) -> Amount:
        if self.value() <= 0:
            raise refusal(
                f"{shown(self.amount)} is not positive: a payment moves money to the"
                " creditor; send e.g. '10.12'",
                field="amount",
            )
        return self


class OtherType(_Wire):
    schema_name = "otherType"
    identification: Max35
    schemeNameCode: Max35 | None = None
    schemeNameProprietary: Max35 | None = None
    issuer: Max35 | None = None


class AccountReference(_Wire):
    """``accountReference``: an account named by IBAN, BBAN, PAN, MSISDN or another id."""

    schema_name = "accountReference"
    iban: Iban | None = None
    bban: Bban | None = None
    pan: Max35 | None = None
    maskedPan: Max35 | None = None
    msisdn: Max35 | None = None
    other: OtherType | None = None
    currency: CurrencyCode | None = None
    cashAccountType: str | None = None


class IbanAccountReference(AccountReference):
    """An ``accountReference`` in a payment: tpsim's banks are reached by IBAN, so it must
    carry one (the other fields may come too)."""

    iban: Iban


class Address(_Wire):
    schema_name = "address"
    streetName: Max70 | None = None
    buildingNumber: str | None = None
    townName: str | None = None
    postCode: str | None = None
    country: CountryCode


class RemittanceInformationStructured(_Wire):
    schema_name = "remittanceInformationStructured"
    reference: Max35
    referenceType: Max35 | None = None
    referenceIssuer: Max35 | None = None


class RemittanceInformationStructuredMax140(_Wire):
    schema_name = "remittanceInformationStructuredMax140"
    reference: Max140
    referenceType: Max140 | None = None
    referenceIssuer: Max140 | None = None


class _CreditTransfer(_Wire):
    """The fields every JSON payment body shares (single, periodic, bulk entry)."""

    endToEndIdentification: Max35 | None = None
    instructionIdentification: Max35 | None = None
    debtorName: Max70 | None = None
    ultimateDebtor: Max70 | None = None
    instructedAmount: Amount
    creditorAccount: IbanAccountReference
    creditorAgent: Bicfi | None = None
    creditorName: Max70
    creditorAddress: Address | None = None
    creditorId: Max35 | None = None
    ultimateCreditor: Max70 | None = None
    purposeCode: PurposeCode | None = None
    remittanceInformationUnstructured: Max140 | None = None
    remittanceInformationUnstructuredArray: tuple[Max140, ...] | None = None
    remittanceInformationStructured: RemittanceInformationStructuredMax140 | None = None
    remittanceInformationStructuredArray: tuple[RemittanceInformationStructured, ...] | None = None


class PaymentInitiationBulkElementJson(_CreditTransfer):
    """One payment of a bulk: a single payment without its debtor account and dates, which
    the bulk gives once for all of its payments."""

    schema_name = "paymentInitiationBulkElement_json"
    creditorAgentName: Max140 | None = None
    chargeBearer: ChargeBearer | None = None


class PaymentInitiationJson(PaymentInitiationBulkElementJson):
    """``paymentInitiation_json``: a single (SEPA, instant, target-2, cross-border) payment."""

    schema_name = "paymentInitiation_json"
    debtorAccount: IbanAccountReference
    requestedExecutionDate: WireDate | None = None
    requestedExecutionTime: DateTime | None = None


class PeriodicPaymentInitiationJson(_CreditTransfer):
    """``periodicPaymentInitiation_json``: a standing order from ``startDate``."""

    schema_name = "periodicPaymentInitiation_json"
    debtorAccount: IbanAccountReference
    startDate: WireDate
    endDate: WireDate | None = None
    executionRule: ExecutionRule | None = None
    frequency: FrequencyCode
    dayOfExecution: DayOfExecution | None = None
    monthsOfExecution: tuple[MonthOfExecution, ...] | None = Field(default=None, max_length=11)

    @model_validator(mode="after")
    def _schedule(self) -> PeriodicPaymentInitiationJson:
        if self.endDate is not None and self.endDate < self.startDate:
            raise refusal(
                f"'{self.endDate}' is before startDate '{self.startDate}': send an endDate"
                " on or after startDate, or none for an open-ended standing order",
                field="endDate",
            )
        variable = self.frequency is FrequencyCode.MonthlyVariable
        if variable and not self.monthsOfExecution:
            raise refusal(
                "is required when frequency is MonthlyVariable: send the months, e.g. ['1', '7']",
                field="monthsOfExecution",
            )
        if not variable and self.monthsOfExecution is not None:
            raise refusal(
                "is only for frequency MonthlyVariable: leave it out", field="monthsOfExecution"
            )
        if self.monthsOfExecution and len(set(self.monthsOfExecution)) != len(
            self.monthsOfExecution
        ):
            raise refusal("names a month twice: list each once", field="monthsOfExecution")
        return self


# Given once for the whole bulk; "may not be contained in any bulk entry" (the spec).
_BULK_LEVEL = ("debtorAccount", "requestedExecutionDate", "requestedExecutionTime")


class BulkPaymentInitiationJson(_Wire):
    """``bulkPaymentInitiation_json``: 1 to ``MAX_BULK_PAYMENTS`` payments from one account."""

    schema_name = "bulkPaymentInitiation_json"
    batchBookingPreferred: StrictBool | None = None
    debtorAccount: IbanAccountReference
    requestedExecutionDate: WireDate | None = None
    requestedExecutionTime: DateTime | None = None
    payments: tuple[PaymentInitiationBulkElementJson, ...] = Field(
        min_length=1, max_length=MAX_BULK_PAYMENTS
    )
    debtorName: Max70 | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_per_payment(cls, data: Any) -> Any:
        payments = data.get("payments") if isinstance(data, dict) else None
        for index, payment in enumerate(payments if isinstance(payments, list) else ()):
            for name in _BULK_LEVEL if isinstance(payment, dict) else ():
                if payment.get(name) is not None:
                    raise refusal(
                        "is not allowed in a bulk entry: send it once, beside payments",
                        field=f"payments.{index}.{name}",
                    )
        return data


_ENCRYPTED = ("encryptedPassword", "additionalEncryptedPassword")


class PsuData(_Wire):
    """``psuData``: the PSU's password for embedded SCA (tpsim takes it in the clear)."""

    schema_name = "psuData"
    password: str
    additionalPassword: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _clear_password(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in _ENCRYPTED:
            if data.get(name) is not None:
                raise refusal(
                    "tpsim's banks take no encrypted passwords: send psuData.password"
                    f"{' and additionalPassword' if name.startswith('additional') else ''}"
                    " in plain text",
                    field=name,
                    code="PARAMETER_NOT_SUPPORTED",
                )
        if data.get("password") is None:
            raise refusal(
                'is required: send {"password": …}, the PSU\'s online banking password',
                field="password",
            )
        return data


class UpdateAuthorisation(_Wire):
    """The body of ``PUT …/authorisations/{id}`` (and of ``POST …/authorisations``): one
    of ``updatePsuAuthentication``, ``selectPsuAuthenticationMethod``,
    ``transactionAuthorisation``, ``authorisationConfirmation``, or ``{}`` (the PSU is then
    identified by the ``PSU-ID`` header)."""

    schema_name = "updatePsuData"
    psuData: PsuData | None = None
    authenticationMethodId: Max35 | None = None
    scaAuthenticationData: str | None = None
    confirmationCode: str | None = None

    @model_validator(mode="after")
    def _one_step(self) -> UpdateAuthorisation:
        sent = [name for name, value in self if value is not None]
        if len(sent) > 1:
            raise refusal(
                f"{' and '.join(sent)} were combined: send one of psuData,"
                " authenticationMethodId, scaAuthenticationData, confirmationCode per request"
            )
        return self
