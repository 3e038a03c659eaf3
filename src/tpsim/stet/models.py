"""STET PSD2 1.4.2 payment initiation on the wire: what a PISP sends and what tpsim answers.

No official STET OpenAPI is available here, so these models are written from tpsim's PSD2
digest (§3, §4) and public STET material: a bank's STET 1.4 OpenAPI, STET 1.4.2 client code
and bank pages. The official specification is STET's "PSD2 API" documentation (part 2, the
functional model; part 3, the OpenAPI) from https://www.stet.eu/en/psd2/, under the licence
CC BY 3.0 FR. Where STET versions differ, tpsim follows 1.4.2 and a comment says what 1.4.0
or 1.6 do instead. Members keep STET's spelling (``_links`` through an alias), so
``model_dump(mode="json", by_alias=True, exclude_none=True)`` gives the wire body back.

One set of models serves two readings, told apart by the validation context:

* ``read_payment_request`` reads a PISP's body (POST and PUT ``/payment-requests``). STET
  bodies are open: unknown members are ignored and JSON null counts as absent, as at
  STET's Jackson-based banks; an amount sent as a JSON number is read as the decimal it
  spells, as some PISPs send one. Everything else is checked, and the first problem is a
  ``RequestInvalid`` naming the member by its wire path and saying what to send.
* ``sent_problems`` checks a body tpsim sends, strictly: a member STET does not define, a
  null, an amount that is not a string, an answer without ``resourceId`` or status.

Rules across members, in both readings: ``numberOfTransactions`` counts the transactions,
1 to ``MAX_TRANSACTIONS``;
each transaction has a beneficiary and a ``requestedExecutionDate``, given once at payment
level or on the transaction (STET's "either at payment or transaction level");
``statusReasonInformation`` only beside the status RJCT; a 201 links ``consentApproval``
exactly when its approach is REDIRECT. Codes are validated strings (``datatypes``), so a
value reads as STET spells it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    model_validator,
)

from tpsim.core.errors import MalformedBody, TpsimError
from tpsim.core.json_body import decode_object, json_type
from tpsim.stet import datatypes as dt
from tpsim.stet.datatypes import APPROACHES as APPROACHES
from tpsim.stet.datatypes import PAYMENT_STATUSES as PAYMENT_STATUSES
from tpsim.stet.datatypes import REASON_CODES as REASON_CODES
from tpsim.stet.datatypes import TRANSACTION_STATUSES as TRANSACTION_STATUSES
from tpsim.stet.datatypes import problem

M = TypeVar("M", bound=BaseModel)
# STET sets no bound; each transaction becomes one payment at approval. 100, as an XS2A
# bulk (``xs2a.models.MAX_BULK_PAYMENTS``), which the edge's 512 KiB body holds with room.
MAX_TRANSACTIONS = 100
_T = TypeVar("_T")
_MAX_DEPTH, _MAX_NUMBER = 32, 100  # a STET body nests 6 levels; no number is long


def _remittance(value: object, info: ValidationInfo) -> object:
    """1.4.2's unstructured lines. On requests 1.6's ``{"unstructured": [...]}`` is read
    too (its ``structured`` part dropped), so tpsim answers in 1.4.2's shape."""
    if isinstance(value, dict) and not dt.is_sent(info):
        return value.get("unstructured") or []
    return value


def _reason_with_rjct(status: str | None, reason: str | None) -> None:
    """STET: ``statusReasonInformation`` "can only be used in status equal to RJCT"."""
    if reason is not None and status != "RJCT":
        raise problem(
            f"is only allowed with the status RJCT, not with {status or 'no status'}",
            "statusReasonInformation",
        )


# --- the models --------------------------------------------------------------------------


class _Wire(BaseModel):
    """A STET structure: frozen; unknown members and nulls are dropped on requests, and are
    problems in a body tpsim sends."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _members(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        if not dt.is_sent(info):
            return {key: value for key, value in data.items() if value is not None}
        names = {field.alias or name for name, field in cls.model_fields.items()}  # wire names
        for key, value in data.items():
            if key not in names:
                raise problem(
                    f"is not a member STET defines in {cls.__name__}: leave it out", str(key)
                )
            if value is None:
                raise problem("is null: send a value or leave the member out", key)
        return data


class Amount(_Wire):
    """AmountType: a currency and a decimal string; a payment's amount is positive."""

    currency: dt.Currency
    amount: Annotated[str, BeforeValidator(dt.amount_text)]

    def value(self) -> Decimal:
        """The amount as an exact ``Decimal`` (never a float)."""
        return Decimal(self.amount)

    @model_validator(mode="after")
    def _positive(self) -> Amount:
        if self.value() <= 0:
            raise problem("must be more than zero: a payment moves money to the creditor", "amount")
        return self


class GenericIdentification(_Wire):
    identification: dt.Max70
    schemeName: dt.Max70
    issuer: dt.Max35 | None = None


class AccountIdentification(_Wire):
    """An account by IBAN or another identification (and, optionally, its currency)."""

    iban: dt.Iban | None = None
    other: GenericIdentification | None = None
    currency: dt.Currency | None = None

    @model_validator(mode="after")
    def _named(self) -> AccountIdentification:
        if self.iban is None and self.other is None:
            raise problem("must name the account: send its iban", "iban")
        return self


class PostalAddress(_Wire):
    country: dt.Country
    # At most 4 lines (SEPA rules keep 2; STET's non-SEPA payments use 4).
    addressLine: tuple[dt.Max70, ...] = Field(min_length=1, max_length=4)


class PartyIdentification(_Wire):
    """A person or an organisation. ``name`` is ISO 20022's Max140Text, as in STET's
    schema (SEPA's rulebook keeps 70)."""

    name: dt.Max140
    postalAddress: PostalAddress | None = None
    organisationId: GenericIdentification | None = None
    privateId: GenericIdentification | None = None


class FinancialInstitutionIdentification(_Wire):
    bicFi: dt.Bic


class Beneficiary(_Wire):
    """A creditor and its account (1.4.0 put ``creditor`` and ``creditorAccount`` directly
    in the payment request)."""

    id: dt.Identifier | None = None
    isTrusted: StrictBool | None = None
    creditorAgent: FinancialInstitutionIdentification | None = None
    creditor: PartyIdentification
    creditorAccount: AccountIdentification


class PaymentIdentification(_Wire):
    resourceId: dt.Identifier | None = None
    instructionId: dt.Identifier
    endToEndId: dt.Identifier


class PaymentTypeInformation(_Wire):
    instructionPriority: Annotated[str, dt.one_of(("HIGH", "NORM"))] | None = None
    serviceLevel: Annotated[str, dt.one_of(("SEPA",))]  # 1.4.0 schemas also list NURG
    localInstrument: dt.Max35 | None = None  # "INST" asks for an instant SEPA transfer
    categoryPurpose: Annotated[str, dt.one_of(dt.CATEGORY_PURPOSES)] | None = None


class SupplementaryData(_Wire):
    """The approaches the PISP accepts and where the PSU goes back (both required on a
    request), and the approach the bank applied (in answers)."""

    acceptedAuthenticationApproach: tuple[dt.Approach, ...] | None = Field(None, min_length=1)
    appliedAuthenticationApproach: dt.Approach | None = None
    scaHint: Annotated[str, dt.one_of(("noScaExemption", "scaExemption"))] | None = None
    successfulReportUrl: dt.Url | None = None
    unsuccessfulReportUrl: dt.Url | None = None

    @model_validator(mode="after")
    def _asked(self, info: ValidationInfo) -> SupplementaryData:
        if dt.is_sent(info):
            return self
        if self.acceptedAuthenticationApproach is None:
            raise problem(
                'is required: list the approaches the PISP supports, e.g. ["REDIRECT"]',
                "acceptedAuthenticationApproach",
            )
        if self.successfulReportUrl is None:
            raise problem(
                "is required: the URL the bank sends the PSU back to", "successfulReportUrl"
            )
        return self


class CreditTransferTransaction(_Wire):
    """One instruction; ``transactionStatus`` and its reason are the bank's (answers and
    PUT cancellations). ``endDate``, ``executionRule`` and ``frequency`` make it a standing
    order."""

    paymentId: PaymentIdentification
    requestedExecutionDate: dt.DateTime | None = None
    endDate: dt.DateTime | None = None
    executionRule: Annotated[str, dt.one_of(("FWNG", "PREC"))] | None = None
    frequency: Annotated[str, dt.one_of(dt.FREQUENCIES)] | None = None
    instructedAmount: Amount
    beneficiary: Beneficiary | None = None
    ultimateCreditor: PartyIdentification | None = None
    regulatoryReportingCodes: tuple[dt.Max10, ...] | None = Field(None, min_length=1, max_length=10)
    # 1.4.2: one unstructured line; 1.5 and later wrap it as {"unstructured": [...]}.
    remittanceInformation: (
        Annotated[tuple[dt.Max140, ...], BeforeValidator(_remittance), Field(max_length=1)] | None
    ) = None
    transactionStatus: dt.TransactionStatus | None = None
    statusReasonInformation: dt.Reason | None = None

    @model_validator(mode="after")
    def _reason(self) -> CreditTransferTransaction:
        _reason_with_rjct(self.transactionStatus, self.statusReasonInformation)
        return self


class PaymentRequestResource(_Wire):
    """The payment request: as a PISP posts (or PUTs) it, and as the bank answers it with
    ``resourceId`` and statuses."""

    resourceId: dt.Identifier | None = None
    paymentInformationId: dt.Identifier
    creationDateTime: dt.DateTime
    numberOfTransactions: Annotated[StrictInt, Field(ge=1)]
    initiatingParty: PartyIdentification
    paymentTypeInformation: PaymentTypeInformation
    debtor: PartyIdentification | None = None
    debtorAccount: AccountIdentification | None = None  # absent: the PSU picks at the bank
    debtorAgent: FinancialInstitutionIdentification | None = None
    beneficiary: Beneficiary | None = None
    ultimateCreditor: PartyIdentification | None = None
    purpose: Annotated[str, dt.one_of(("ACCT", "CASH", "COMC", "CPKC", "TRPT"))] | None = None
    # SEPA's only charge bearer; 1.4.2 lists DEBT, CRED, SHAR for non-SEPA payments,
    # which tpsim's SEPA banks do not take (serviceLevel is SEPA).
    chargeBearer: Annotated[str, dt.one_of(("SLEV",))] | None = None
    paymentInformationStatus: dt.PaymentStatus | None = None
    statusReasonInformation: dt.Reason | None = None
    fundsAvailability: StrictBool | None = None
    booking: StrictBool | None = None
    requestedExecutionDate: dt.DateTime | None = None
    creditTransferTransaction: tuple[CreditTransferTransaction, ...] = Field(
        min_length=1, max_length=MAX_TRANSACTIONS
    )
    supplementaryData: SupplementaryData

    @model_validator(mode="after")
    def _consistent(self) -> PaymentRequestResource:
        count = len(self.creditTransferTransaction)
        if self.numberOfTransactions != count:
            raise problem(
                f"is {self.numberOfTransactions} but creditTransferTransaction holds {count}"
                " transactions: send the number of transactions",
                "numberOfTransactions",
            )
        for index, transaction in enumerate(self.creditTransferTransaction):
            where = f"creditTransferTransaction[{index}]."
            if self.beneficiary is None and transaction.beneficiary is None:
                raise problem(
                    "is required when the payment gives none: send beneficiary {creditor,"
                    " creditorAccount} here or once at payment level (STET 1.4.0's"
                    " payment-level creditor goes in beneficiary)",
                    f"{where}beneficiary",
                )
            if self.requestedExecutionDate is None and transaction.requestedExecutionDate is None:
                raise problem(
                    "is required when the payment gives none: send it here or once for all"
                    " at payment level",
                    f"{where}requestedExecutionDate",
                )
        _reason_with_rjct(self.paymentInformationStatus, self.statusReasonInformation)
        return self

    def beneficiary_of(self, transaction: CreditTransferTransaction) -> Beneficiary:
        """Who ``transaction`` pays: its own beneficiary, else the payment's."""
        return _given(transaction.beneficiary, self.beneficiary, "beneficiary")

    def execution_date_of(self, transaction: CreditTransferTransaction) -> str:
        """When ``transaction`` is to be executed: its own date, else the payment's."""
        found = transaction.requestedExecutionDate, self.requestedExecutionDate
        return _given(*found, "requestedExecutionDate")


def _given(own: _T | None, common: _T | None, name: str) -> _T:
    """The transaction's value, else the payment's (validation keeps one; only a model
    built without validation can lack both)."""
    if own is not None:
        return own
    if common is not None:
        return common
    raise RequestInvalid(name, f"{name} is required on the transaction or the payment")


class Link(_Wire):
    href: dt.Text
    templated: StrictBool | None = None


class PaymentRequestResourceCreationLinks(_Wire):
    consentApproval: Link | None = None


class PaymentRequestCreated(_Wire):
    """HalPaymentRequestCreation, the 201 answer to a payment request."""

    appliedAuthenticationApproach: dt.Approach
    links: PaymentRequestResourceCreationLinks | None = Field(None, alias="_links")

    @model_validator(mode="after")
    def _approval(self) -> PaymentRequestCreated:
        linked = self.links is not None and self.links.consentApproval is not None
        if linked != (self.appliedAuthenticationApproach == "REDIRECT"):
            raise problem(
                f"must be {'sent' if not linked else 'left out'} with the approach"
                f" {self.appliedAuthenticationApproach}: the PSU is redirected only in REDIRECT",
                "_links.consentApproval",
            )
        return self


class PaymentRequestLinks(_Wire):
    self_: Link = Field(alias="self")
    confirmation: Link | None = None


class PaymentRequestAnswer(_Wire):
    """HalPaymentRequest, the 200 answer to GET, PUT and the confirmations: the request
    with its ``resourceId`` and ``paymentInformationStatus``, and its links."""

    paymentRequest: PaymentRequestResource
    links: PaymentRequestLinks = Field(alias="_links")

    @model_validator(mode="after")
    def _answered(self) -> PaymentRequestAnswer:
        for name in ("resourceId", "paymentInformationStatus"):
            if getattr(self.paymentRequest, name) is None:
                raise problem("is required in an answer", f"paymentRequest.{name}")
        return self


class ConfirmationRequest(_Wire):
    """The body of ``…/confirmation`` and ``…/o-confirmation``: mandatory, may be ``{}``;
    the factor is the EMBEDDED-1-FACTOR one-time password."""

    psuAuthenticationFactor: dt.Text | None = None


class ErrorModel(_Wire):
    """STET's error body (Spring-Boot-like); its texts are at most 140 characters."""

    timestamp: dt.DateTime | None = None
    status: Annotated[StrictInt, Field(ge=100, le=599)]
    error: dt.Max140 | None = None
    message: dt.Max140
    path: dt.Max140 | None = None


class TokenAnswer(_Wire):
    """The token endpoint's 200 answer (RFC 6749 §5.1), STET scopes ``pisp``."""

    access_token: dt.Text
    token_type: Annotated[str, dt.one_of(("Bearer",))]
    expires_in: Annotated[StrictInt, Field(ge=1)]
    scope: dt.Text
    refresh_token: dt.Text | None = None


# --- reading and checking ----------------------------------------------------------------


class RequestInvalid(TpsimError, ValueError):
    """A PISP's body that is not a STET 1.4.2 request: ``path`` is the first failing member
    as a wire path (``creditTransferTransaction[0].instructedAmount.amount``; "" for the body
    itself) and ``message`` one sentence, naming it, that says what to fix."""

    def __init__(self, path: str, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(message)


def read_payment_request(body: object) -> PaymentRequestResource:
    """The PISP's ``POST`` or ``PUT /payment-requests`` body (a decoded JSON value, or its
    bytes) as a ``PaymentRequestResource``; raises ``RequestInvalid``, and nothing else."""
    return _read(PaymentRequestResource, body)


def read_confirmation(body: object) -> ConfirmationRequest:
    """The body of a confirmation (``{}`` at least); raises ``RequestInvalid`` only."""
    return _read(ConfirmationRequest, body)


SentKind = Literal["created", "payment_request", "error", "token"]
_SENT_MODELS: Mapping[str, type[_Wire]] = {
    "created": PaymentRequestCreated,
    "payment_request": PaymentRequestAnswer,
    "error": ErrorModel,
    "token": TokenAnswer,
}


def sent_problems(kind: SentKind, body: object) -> list[str]:
    """Every way ``body``, which tpsim sends as ``kind``, departs from STET 1.4.2, one
    sentence each (empty: it conforms). Per object, a member STET does not define or a null
    hides the object's other problems."""
    return [message for _, message in _check(_SENT_MODELS[kind], body, sent=True)[1]]


def _read(model: type[M], body: object) -> M:
    if isinstance(body, bytes | bytearray):
        try:
            body = decode_object(bytes(body), max_depth=_MAX_DEPTH, max_number_chars=_MAX_NUMBER)
        except MalformedBody as exc:
            raise RequestInvalid("", str(exc)) from None
    value, problems = _check(model, body, sent=False)
    if value is None:
        raise RequestInvalid(*problems[0])
    return value


def _check(model: type[M], body: object, *, sent: bool) -> tuple[M | None, list[tuple[str, str]]]:
    """``body`` as ``model``, or every problem as (wire path, message)."""
    if not isinstance(body, dict):
        return None, [("", f"the body must be a JSON object, not {json_type(body)}")]
    try:
        return model.model_validate(body, context={dt.SENT: sent}), []
    except pydantic.ValidationError as exc:
        return None, dt.worded_all(exc.errors(include_url=False))
