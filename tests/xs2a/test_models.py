"""The XS2A PIS bodies: every rule a body can break → its code, the dotted wire path and a
text saying what to send; and a valid body goes back to the wire unchanged."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpsim.xs2a import body
from tpsim.xs2a.errors import Xs2aError
from tpsim.xs2a.models import (
    MAX_BULK_PAYMENTS,
    BulkPaymentInitiationJson,
    PaymentInitiationJson,
    PeriodicPaymentInitiationJson,
    UpdateAuthorisation,
    parse_body,
)

DE = "DE89370400440532013000"
GB = "GB82WEST12345698765432"
FR = "FR7630006000011234567890189"

SINGLE: dict[str, Any] = {
    "endToEndIdentification": "E2E-0001",
    "instructionIdentification": "INSTR-0001",
    "debtorName": "Alice Example",
    "debtorAccount": {"iban": DE, "currency": "EUR"},
    "ultimateDebtor": "Alice Holding",
    "instructedAmount": {"currency": "EUR", "amount": "123.45"},
    "creditorAccount": {"iban": FR, "currency": "EUR", "cashAccountType": "CACC"},
    "creditorAgent": "AAAADEBBXXX",
    "creditorAgentName": "Bank A",
    "creditorName": "Bob Example",
    "creditorAddress": {
        "streetName": "rue blue",
        "buildingNumber": "89",
        "townName": "Paris",
        "postCode": "75000",
        "country": "FR",
    },
    "creditorId": "DE98ZZZ09999999999",
    "ultimateCreditor": "Bob Holding",
    "purposeCode": "GDDS",
    "chargeBearer": "SLEV",
    "remittanceInformationUnstructured": "Invoice 42",
    "remittanceInformationUnstructuredArray": ["Invoice 42", "Order 7"],
    "remittanceInformationStructured": {
        "reference": "RF18539007547034",
        "referenceType": "SCOR",
        "referenceIssuer": "Bob Example",
    },
    "remittanceInformationStructuredArray": [{"reference": "RF18539007547034"}],
    "requestedExecutionDate": "2025-03-31",
    "requestedExecutionTime": "2025-03-31T10:00:00.123+01:00",
}
_NOT_PERIODIC = ("creditorAgentName", "chargeBearer", "requestedExecutionDate")
PERIODIC: dict[str, Any] = {
    **{k: v for k, v in SINGLE.items() if k not in _NOT_PERIODIC + ("requestedExecutionTime",)},
    "startDate": "2025-04-01",
    "endDate": "2026-03-31",
    "executionRule": "following",
    "frequency": "MonthlyVariable",
    "dayOfExecution": "31",
    "monthsOfExecution": ["1", "4", "10"],
}
_BULK_ELEMENT = {
    k: v
    for k, v in SINGLE.items()
    if k not in ("debtorAccount", "requestedExecutionDate", "requestedExecutionTime")
}
BULK: dict[str, Any] = {
    "batchBookingPreferred": True,
    "debtorAccount": {"iban": DE},
    "requestedExecutionDate": "2025-03-31",
    "requestedExecutionTime": "2025-03-31T10:00:00Z",
    "payments": [
        _BULK_ELEMENT,
        {
            "instructedAmount": {"currency": "EUR", "amount": "1"},
            "creditorAccount": {"iban": GB},
            "creditorName": "Carol",
        },
    ],
    "debtorName": "Alice Example",
}

MODELS: dict[str, tuple[type[pydantic.BaseModel], dict[str, Any]]] = {
    "single": (PaymentInitiationJson, SINGLE),
    "periodic": (PeriodicPaymentInitiationJson, PERIODIC),
    "bulk": (BulkPaymentInitiationJson, BULK),
    "authorisation": (UpdateAuthorisation, {"psuData": {"password": "12345"}}),
}
DELETE = object()


def raw(body: object) -> bytes:
    return json.dumps(body).encode()


def changed(body: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """``body`` with the field at the dotted ``path`` set to ``value`` (or deleted)."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def refusal(model: type[pydantic.BaseModel], body: bytes) -> Xs2aError:
    with pytest.raises(Xs2aError) as caught:
        parse_body(model, body)
    return caught.value


@pytest.mark.parametrize("kind", MODELS)
def test_a_valid_body_goes_back_to_the_wire_unchanged(kind: str) -> None:
    model, body = MODELS[kind]
    parsed = parse_body(model, raw(body))
    assert parsed.model_dump(by_alias=True, exclude_none=True, mode="json") == body


def test_the_minimal_single_payment_of_the_spec_parses() -> None:
    body = {
        "instructedAmount": {"currency": "EUR", "amount": "123.50"},
        "debtorAccount": {"iban": DE},
        "creditorName": "Merchant123",
        "creditorAccount": {"iban": GB},
        "remittanceInformationUnstructured": "Ref Number Merchant",
    }
    payment = parse_body(PaymentInitiationJson, raw(body))
    assert payment.instructedAmount.value() == Decimal("123.50")
    assert payment.creditorAccount.iban == GB


def test_an_iban_is_kept_in_its_electronic_form() -> None:
    body = changed(SINGLE, "creditorAccount.iban", "GB82west12345698765432")
    assert parse_body(PaymentInitiationJson, raw(body)).creditorAccount.iban == GB


def test_null_in_an_optional_field_counts_as_absent() -> None:
    body = changed(SINGLE, "debtorName", None)
    dumped = parse_body(PaymentInitiationJson, raw(body)).model_dump(exclude_none=True)
    assert "debtorName" not in dumped


def test_a_parsed_body_is_frozen() -> None:
    payment = parse_body(PaymentInitiationJson, raw(SINGLE))
    with pytest.raises(pydantic.ValidationError):
        payment.creditorName = "Mallory"  # type: ignore[misc]


def test_a_bulk_may_hold_the_tpsim_bound_of_payments() -> None:
    body = {**BULK, "payments": [BULK["payments"][1]] * MAX_BULK_PAYMENTS}
    assert len(parse_body(BulkPaymentInitiationJson, raw(body)).payments) == MAX_BULK_PAYMENTS


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"psuData": {"password": "12345"}},
        {"psuData": {"password": "12345", "additionalPassword": "6789"}},
        {"authenticationMethodId": "sms"},
        {"scaAuthenticationData": "123456"},
        {"confirmationCode": "abc"},
    ],
    ids=["identification", "password", "additional", "method", "otp", "confirmation"],
)
def test_each_authorisation_update_step_parses(body: dict[str, Any]) -> None:
    parsed = parse_body(UpdateAuthorisation, raw(body))
    assert parsed.model_dump(exclude_none=True) == body


S, P, B, U = "single", "periodic", "bulk", "authorisation"
# (model, dotted path to change, new value, code, path of the error, part of its text)
# fmt: off
BODY_RULES = [
    # amounts
    (S, "instructedAmount.amount", "10.1234", "FORMAT_ERROR", "instructedAmount.amount",
     "instructedAmount.amount: '10.1234' has more than 3 decimals; send e.g. '10.12'"),
    (S, "instructedAmount.amount", "0", "FORMAT_ERROR", "instructedAmount.amount",
     "'0' is not positive"),
    (S, "instructedAmount.amount", "-5.00", "FORMAT_ERROR", "instructedAmount.amount",
     "is not positive"),
    (S, "instructedAmount.amount", 10, "FORMAT_ERROR", "instructedAmount.amount",
     "instructedAmount.amount must be a JSON string, got a number"),
    (S, "instructedAmount.amount", "1e3", "FORMAT_ERROR", "instructedAmount.amount",
     "is not an amount"),
    (S, "instructedAmount.amount", "10,50", "FORMAT_ERROR", "instructedAmount.amount",
     "is not an amount"),
    (S, "instructedAmount.amount", "123456789012345", "FORMAT_ERROR", "instructedAmount.amount",
     "more than 14 digits"),
    (S, "instructedAmount.currency", "EURO", "FORMAT_ERROR", "instructedAmount.currency",
     "ISO 4217"),
    (S, "instructedAmount.currency", "eur", "FORMAT_ERROR", "instructedAmount.currency",
     "ISO 4217"),
    (S, "instructedAmount", DELETE, "FORMAT_ERROR", "instructedAmount",
     "instructedAmount is required in paymentInitiation_json"),
    # accounts
    (S, "creditorAccount", {"bban": "123"}, "FORMAT_ERROR", "creditorAccount.iban",
     "creditorAccount.iban is required: tpsim's banks are reached by IBAN"),
    (S, "debtorAccount.iban", DELETE, "FORMAT_ERROR", "debtorAccount.iban",
     "debtorAccount.iban is required"),
    (S, "creditorAccount.iban", "DE89370400440532013001", "FORMAT_ERROR",
     "creditorAccount.iban", "check digits are wrong"),
    (S, "creditorAccount.iban", "DE89 3704 0044 0532 0130 00", "FORMAT_ERROR",
     "creditorAccount.iban", "is not an IBAN in electronic form"),
    (S, "creditorAccount", DE, "FORMAT_ERROR", "creditorAccount",
     "creditorAccount must be a JSON object, got a string"),
    (S, "debtorAccount.currency", "Euro", "FORMAT_ERROR", "debtorAccount.currency", "ISO 4217"),
    (S, "debtorAccount.bban", "12-34", "FORMAT_ERROR", "debtorAccount.bban", "BBAN"),
    (S, "debtorAccount.other", {"issuer": "x"}, "FORMAT_ERROR",
     "debtorAccount.other.identification", "is required in otherType"),
    # names, texts, codes
    (S, "creditorName", DELETE, "FORMAT_ERROR", "creditorName",
     "creditorName is required in paymentInitiation_json"),
    (S, "creditorName", "Bob \ud800", "FORMAT_ERROR", "creditorName",
     "creditorName must be Unicode text"),
    (S, "creditorName", "x" * 71, "FORMAT_ERROR", "creditorName",
     "has 71 characters; at most 70"),
    (S, "endToEndIdentification", "x" * 36, "FORMAT_ERROR", "endToEndIdentification",
     "at most 35"),
    (S, "remittanceInformationUnstructured", "x" * 141, "FORMAT_ERROR",
     "remittanceInformationUnstructured", "at most 140"),
    (S, "remittanceInformationUnstructuredArray", ["ok", 5], "FORMAT_ERROR",
     "remittanceInformationUnstructuredArray.1", "must be a JSON string, got a number"),
    (S, "remittanceInformationStructuredArray.0.reference", "x" * 36, "FORMAT_ERROR",
     "remittanceInformationStructuredArray.0.reference", "at most 35"),
    (S, "creditorAgent", "AAAADEBB1", "FORMAT_ERROR", "creditorAgent", "is not a BIC"),
    (S, "creditorAddress.country", DELETE, "FORMAT_ERROR", "creditorAddress.country",
     "is required in address"),
    (S, "creditorAddress.country", "FRA", "FORMAT_ERROR", "creditorAddress.country",
     "ISO 3166"),
    (S, "chargeBearer", "OURS", "FORMAT_ERROR", "chargeBearer",
     "'OURS' is not one of 'DEBT', 'CRED', 'SHAR' or 'SLEV'"),
    (S, "purposeCode", "ABCD", "FORMAT_ERROR", "purposeCode", "ExternalPurpose1Code"),
    # dates
    (S, "requestedExecutionDate", "31.03.2025", "FORMAT_ERROR", "requestedExecutionDate",
     "is not a date: send YYYY-MM-DD"),
    (S, "requestedExecutionDate", "2025-02-30", "FORMAT_ERROR", "requestedExecutionDate",
     "is not a date"),
    (S, "requestedExecutionDate", 20250331, "FORMAT_ERROR", "requestedExecutionDate",
     "must be a date as a JSON string"),
    (S, "requestedExecutionTime", "2025-03-31 10:00", "FORMAT_ERROR",
     "requestedExecutionTime", "is not a date-time"),
    # unknown fields
    (S, "creditorNam", "Bob", "FORMAT_ERROR", "creditorNam",
     "unknown field: creditorNam (not in paymentInitiation_json; did you mean 'creditorName'?);"
     " fix the spelling or leave it out"),
    (S, "creditorAddress.street", "x", "FORMAT_ERROR", "creditorAddress.street",
     "unknown field: creditorAddress.street (not in address"),
    (S, "debtorId", "x", "FORMAT_ERROR", "debtorId", "unknown field: debtorId"),
    # periodic payments
    (P, "endDate", "2025-03-31", "FORMAT_ERROR", "endDate",
     "endDate: '2025-03-31' is before startDate '2025-04-01'"),
    (P, "startDate", DELETE, "FORMAT_ERROR", "startDate",
     "startDate is required in periodicPaymentInitiation_json"),
    (P, "frequency", "Fortnightly", "FORMAT_ERROR", "frequency", "is not one of 'Daily'"),
    (P, "executionRule", "next", "FORMAT_ERROR", "executionRule", "is not one of 'following'"),
    (P, "dayOfExecution", "01", "FORMAT_ERROR", "dayOfExecution", "no leading zero"),
    (P, "dayOfExecution", "32", "FORMAT_ERROR", "dayOfExecution", "'1' to '31'"),
    (P, "monthsOfExecution", DELETE, "FORMAT_ERROR", "monthsOfExecution",
     "is required when frequency is MonthlyVariable"),
    (P, "monthsOfExecution", ["1", "1"], "FORMAT_ERROR", "monthsOfExecution",
     "names a month twice"),
    (P, "monthsOfExecution", ["13"], "FORMAT_ERROR", "monthsOfExecution.0", "'1' to '12'"),
    (P, "monthsOfExecution", [str(m) for m in range(1, 13)], "FORMAT_ERROR",
     "monthsOfExecution", "at most 11"),
    (P, "chargeBearer", "SLEV", "FORMAT_ERROR", "chargeBearer",
     "chargeBearer (not in periodicPaymentInitiation_json)"),
    # bulk payments
    (B, "payments", [], "FORMAT_ERROR", "payments", "has 0 items; send at least 1"),
    (B, "payments", [BULK["payments"][1]] * (MAX_BULK_PAYMENTS + 1), "FORMAT_ERROR",
     "payments", f"at most {MAX_BULK_PAYMENTS}"),
    (B, "payments.0.debtorAccount", {"iban": DE}, "FORMAT_ERROR", "payments.0.debtorAccount",
     "is not allowed in a bulk entry: send it once, beside payments"),
    (B, "payments.1.requestedExecutionDate", "2025-03-31", "FORMAT_ERROR",
     "payments.1.requestedExecutionDate", "is not allowed in a bulk entry"),
    (B, "payments.1.endDate", "2025-03-31", "FORMAT_ERROR", "payments.1.endDate",
     "not in paymentInitiationBulkElement_json"),
    (B, "payments.1.creditorAccount.iban", DELETE, "FORMAT_ERROR",
     "payments.1.creditorAccount.iban", "reached by IBAN"),
    (B, "payments.1", "x", "FORMAT_ERROR", "payments.1", "must be a JSON object"),
    (B, "batchBookingPreferred", "true", "FORMAT_ERROR", "batchBookingPreferred",
     "must be true or false (a JSON boolean), got a string"),
    (B, "debtorAccount", DELETE, "FORMAT_ERROR", "debtorAccount",
     "debtorAccount is required in bulkPaymentInitiation_json"),
    # authorisation updates
    (U, "psuData", {"encryptedPassword": "x"}, "PARAMETER_NOT_SUPPORTED",
     "psuData.encryptedPassword", "send psuData.password in plain text"),
    (U, "psuData.additionalEncryptedPassword", "x", "PARAMETER_NOT_SUPPORTED",
     "psuData.additionalEncryptedPassword", "additionalPassword"),
    (U, "psuData", {}, "FORMAT_ERROR", "psuData.password", "psuData.password is required"),
    (U, "psuData", "12345", "FORMAT_ERROR", "psuData", "psuData must be a JSON object"),
    (U, "scaAuthenticationData", "123456", "FORMAT_ERROR", None,
     "psuData and scaAuthenticationData were combined: send one of"),
    (U, "scaAuthenticationData", 123456, "FORMAT_ERROR", "scaAuthenticationData",
     "must be a JSON string, got a number"),
]
# fmt: on


def _case_id(case: tuple[Any, ...]) -> str:
    return f"{case[0]}:{case[1]}={str(case[2])[:20]}"


@pytest.mark.parametrize("case", BODY_RULES, ids=[_case_id(case) for case in BODY_RULES])
def test_every_body_rule_is_a_coded_error_naming_the_field(case: tuple[Any, ...]) -> None:
    kind, where, value, code, path, text = case
    model, body = MODELS[kind]
    error = refusal(model, raw(changed(body, where, value)))
    assert (error.code, error.path) == (code, path)
    assert text in error.text
    assert error.status == 400


def test_an_authorisation_update_takes_one_step_at_a_time() -> None:
    body = {"authenticationMethodId": "sms", "confirmationCode": "abc"}
    error = refusal(UpdateAuthorisation, raw(body))
    assert (error.code, error.path) == ("FORMAT_ERROR", None)
    assert "authenticationMethodId and confirmationCode were combined" in error.text


def test_every_unknown_field_is_named() -> None:
    body = {**SINGLE, "foo": 1, "creditorAddress": {**SINGLE["creditorAddress"], "bar": 2}}
    error = refusal(PaymentInitiationJson, raw(body))
    assert error.text == (
        "unknown fields: creditorAddress.bar (not in address), foo (not in"
        " paymentInitiation_json); fix the spelling or leave them out"
    )


# (raw body, part of the error's text): the body is not a JSON object tpsim will read
DECODING = [
    (b"", "the body is empty"),
    (b"  \n", "the body is empty"),
    (b"{", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    (b"creditorName=Bob", "not valid JSON"),
    (b"[]", "must be a JSON object, not an array"),
    (b'"x"', "must be a JSON object, not a string"),
    (b"null", "must be a JSON object, not null"),
    (b'{"a": 1, "a": 2}', "names 'a' twice"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"a": ' + b"9" * 101 + b"}", "has 101 characters; at most 100 are accepted"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, "more than 32 levels deep"),
    (b"[" * 100_000 + b"]" * 100_000, "more than 32 levels deep"),
    ('{"creditorName": "Bob"}'.encode("utf-16"), "byte 0xff at offset 0 is not UTF-8"),
    (b'{"creditorName": "Bob \xed\xa0\x80"}', "byte 0xed at offset 22 is not UTF-8"),
]


@pytest.mark.parametrize(("body", "text"), DECODING, ids=[t for _, t in DECODING])
def test_a_body_that_is_not_a_json_object_is_a_format_error(body: bytes, text: str) -> None:
    error = refusal(UpdateAuthorisation, body)
    assert (error.code, error.path) == ("FORMAT_ERROR", None)
    assert text in error.text


def test_parse_body_is_the_one_in_xs2a_body_re_exported_by_models() -> None:
    """``api`` and ``orders`` import it from ``models``; there is one body parser."""
    assert parse_body is body.parse_body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["iban", "amount", "currency", "payments", "psuData", "password", "startDate", "x"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(MODELS)),
    where=st.sampled_from(
        ["creditorAccount", "instructedAmount", "payments", "psuData", "startDate", "x"]
    ),
    value=json_values,
)
def test_no_body_lets_anything_but_an_xs2a_error_escape(
    kind: str, where: str, value: object
) -> None:
    model, body = MODELS[kind]
    try:
        parse_body(model, raw({**body, where: value}))
    except Xs2aError as error:
        assert error.text and error.status == 400


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=40))
def test_no_bytes_let_anything_but_an_xs2a_error_escape(body: bytes) -> None:
    try:
        parse_body(UpdateAuthorisation, body)
    except Xs2aError as error:
        assert error.code == "FORMAT_ERROR"
