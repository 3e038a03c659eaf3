"""The bundled PSD2 OpenAPI files, and the checker that holds messages to them.

What the checker promises: a message the official spec allows gives no Problem. A message
the spec forbids gives a Problem that names the place (``body.instructedAmount.amount``,
``header X-Request-ID``) and says what is wrong. The bundled files are the published ones,
byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
import re
from importlib.resources import files
from typing import Any

import pytest

from tpsim.specs import BUNDLED, Operation, Problem, Spec, SpecError

SCT = "/v1/payments/sepa-credit-transfers"
REQUEST_ID = "99391c7e-ad88-49ec-a2ad-99ddcb1f7721"
XS2A_HEADERS = {
    "X-Request-ID": REQUEST_ID,
    "PSU-IP-Address": "192.168.8.78",
    "Content-Type": "application/json",
}
# The spec's own example "paymentInitiationSctBody_payments_json", written out.
SCT_BODY: dict[str, Any] = {
    "instructedAmount": {"currency": "EUR", "amount": "123.50"},
    "debtorAccount": {"iban": "DE40100100103307118608"},
    "creditorName": "Merchant123",
    "creditorAccount": {"iban": "DE02100100109307118603"},
    "remittanceInformationUnstructured": "Ref Number Merchant",
}
CREATED_201: dict[str, Any] = {
    "transactionStatus": "RCVD",
    "paymentId": "1234-wertiq-983",
    "_links": {
        "scaRedirect": {"href": "https://www.testbank.com/asdfasdfasdf"},
        "self": {"href": "/psd2/v1/payments/sepa-credit-transfers/1234-wertiq-983"},
        "status": {"href": "/psd2/v1/payments/1234-wertiq-983/status"},
        "scaStatus": {"href": "/psd2/v1/payments/1234-wertiq-983/authorisations/123auth456"},
    },
}
OBIE_HEADERS = {
    "Authorization": "Bearer 2YotnFZFEjr1zCsicMWpAA",
    "x-idempotency-key": "FRESCO.21302.GFX.20",
    "x-jws-signature": "eyJhbGciOiJQUzI1NiJ9..c2lnbmF0dXJl",
    "x-fapi-interaction-id": "93bac548-d2de-4546-b106-880a5018460d",
    "Content-Type": "application/json",
}
# The Read/Write docs' domestic-payment-consent example, with a Risk both versions accept.
DOMESTIC_CONSENT: dict[str, Any] = {
    "Data": {
        "Initiation": {
            "InstructionIdentification": "ACME412",
            "EndToEndIdentification": "FRESCO.21302.GFX.20",
            "InstructedAmount": {"Amount": "165.88", "Currency": "GBP"},
            "CreditorAccount": {
                "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                "Identification": "08080021325698",
                "Name": "ACME Inc",
                "SecondaryIdentification": "0002",
            },
        }
    },
    "Risk": {"PaymentContextCode": "TransferToThirdParty", "MerchantCategoryCode": "5967"},
}
OBIE_RESPONSE_HEADERS = {
    "x-fapi-interaction-id": "93bac548-d2de-4546-b106-880a5018460d",
    "x-jws-signature": "eyJhbGciOiJQUzI1NiJ9..c2lnbmF0dXJl",
}


def operation(name: str, method: str, path: str) -> Operation:
    found = Spec.load(name).operation(method, path)
    assert found is not None, f"{name} has no {method} {path}"
    return found


def with_(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``body`` with the member at dotted ``path`` set to ``value`` (removed when it is ``...``)."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return changed


def places(problems: list[Problem]) -> list[str]:
    return [p.where for p in problems]


# --- the bundled files ----------------------------------------------------------------------


def provenance_digests() -> dict[str, str]:
    """file name -> sha256, from the table in the shipped PROVENANCE.md."""
    text = files("tpsim.specs").joinpath("psd2", "PROVENANCE.md").read_text("utf-8")
    rows = re.findall(r"^\|[^|]*\| `([^`]+\.yaml)` \| `([0-9a-f]{64})` \|$", text, re.MULTILINE)
    return dict(rows)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_each_bundled_file_loads_and_is_the_published_file_unmodified(name: str) -> None:
    filename = BUNDLED[name]
    data = files("tpsim.specs").joinpath("psd2", filename).read_bytes()
    assert hashlib.sha256(data).hexdigest() == provenance_digests()[filename]
    spec = Spec.load(name)
    assert str(spec.document["openapi"]).startswith("3.0.")
    assert len(spec.operations()) > 30


def test_provenance_names_every_bundled_file() -> None:
    assert set(provenance_digests()) == set(BUNDLED.values())


def test_a_bundle_is_parsed_once_per_process() -> None:
    assert Spec.load("xs2a") is Spec.load("xs2a")


def test_an_unknown_bundle_name_says_which_exist() -> None:
    with pytest.raises(SpecError, match="xs2a, obie-3.1, obie-4.0"):
        Spec.load("stet")


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_every_operation_and_response_of_every_bundle_can_be_checked(name: str) -> None:
    """Every ``$ref`` resolves and every schema compiles: nothing raises, whatever is sent."""
    spec = Spec.load(name)
    for method, template in spec.operations():
        found = spec.operation(method, template.replace("{", "").replace("}", ""))
        assert found is not None and found.template == template
        assert isinstance(found.check_request({}, {}), list)
        for status in found.statuses:
            code = int(status) if status.isdigit() else 599
            assert isinstance(found.check_response(code, {}, {}), list)


# --- operation lookup -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("POST", SCT, "/v1/{payment-service}/{payment-product}"),
        ("GET", "/v1/accounts/a1", "/v1/accounts/{account-id}"),
        ("GET", "/v1/signing-baskets/b1", "/v1/signing-baskets/{basketId}"),
        ("GET", "/v1/consents/c1/status", "/v1/consents/{consentId}/status"),
        ("GET", f"{SCT}/p1/status", "/v1/{payment-service}/{payment-product}/{paymentId}/status"),
        (
            "GET",
            f"{SCT}/p1?withBalance=true",
            "/v1/{payment-service}/{payment-product}/{paymentId}",
        ),
    ],
)
def test_the_most_literal_template_wins(method: str, path: str, template: str) -> None:
    assert operation("xs2a", method, path).template == template


def test_the_path_parameters_are_those_of_the_request() -> None:
    found = operation("xs2a", "PUT", f"{SCT}/p1/authorisations/a9")
    assert found.params == {
        "payment-service": "payments",
        "payment-product": "sepa-credit-transfers",
        "paymentId": "p1",
        "authorisationId": "a9",
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/nothing"),  # no template
        ("GET", "/xs2a/dfspa/v1/payments/sepa-credit-transfers"),  # base path not stripped
        ("GET", f"{SCT}/"),  # an empty segment is no parameter value
        ("GET", SCT),  # the template only takes POST
        ("PATCH", f"{SCT}/p1"),
        # The literal /v1/consents/{consentId} matches first and has no POST: OpenAPI picks
        # the path before the method, so no fallback to /v1/{payment-service}/{...}.
        ("POST", "/v1/consents/c1"),
    ],
)
def test_an_undocumented_path_or_method_has_no_operation(method: str, path: str) -> None:
    assert Spec.load("xs2a").operation(method, path) is None


# --- XS2A payment initiation ------------------------------------------------------------------


def test_a_valid_xs2a_payment_initiation_passes() -> None:
    found = operation("xs2a", "POST", SCT)
    assert found.check_request(XS2A_HEADERS, SCT_BODY) == []
    lower_case = {k.lower(): v for k, v in XS2A_HEADERS.items()}
    assert found.check_request(lower_case, SCT_BODY) == []


@pytest.mark.parametrize(
    ("headers", "body", "where", "message"),
    [
        ({"X-Request-ID": None}, SCT_BODY, "header X-Request-ID", "is required but missing"),
        ({"X-Request-ID": "12345"}, SCT_BODY, "header X-Request-ID", '"12345" is not a valid uuid'),
        ({"PSU-IP-Address": None}, SCT_BODY, "header PSU-IP-Address", "is required but missing"),
        ({"PSU-IP-Address": "10.0.0.256"}, SCT_BODY, "header PSU-IP-Address", "valid ipv4"),
        ({"TPP-Redirect-Preferred": "yes"}, SCT_BODY, "header TPP-Redirect-Preferred", "boolean"),
        (
            {},
            with_(SCT_BODY, "instructedAmount.amount", 123.5),
            "body.instructedAmount.amount",
            "must be a string, not a number (123.5)",
        ),
        ({}, with_(SCT_BODY, "creditorName", ...), "body.creditorName", "is required but missing"),
        (
            {},
            with_(SCT_BODY, "instructedAmount.currency", "eur"),
            "body.instructedAmount.currency",
            '"eur" does not match the pattern [A-Z]{3}',
        ),
        (
            {},
            with_(SCT_BODY, "requestedExecutionDate", "2024-02-30"),
            "body.requestedExecutionDate",
            '"2024-02-30" is not a valid date',
        ),
    ],
)
def test_an_invalid_xs2a_initiation_names_the_place(
    headers: dict[str, str | None], body: dict[str, Any], where: str, message: str
) -> None:
    sent = {k: v for k, v in {**XS2A_HEADERS, **headers}.items() if v is not None}
    problems = operation("xs2a", "POST", SCT).check_request(sent, body)
    assert len(problems) == 1, problems
    assert problems[0].where == where
    assert message in problems[0].message


def test_a_body_fitting_no_alternative_is_described_by_the_closest_one() -> None:
    """The request body is a oneOf of single, periodic and bulk payments. A single payment
    with one bad member should be reported against the single-payment schema. Reporting
    it against a bulk payment, which lacks ``payments``, would not help."""
    body = with_(with_(SCT_BODY, "creditorName", ...), "instructedAmount.amount", 1)
    problems = operation("xs2a", "POST", SCT).check_request(XS2A_HEADERS, body)
    assert places(problems) == ["body.creditorName", "body.instructedAmount.amount"]
    assert all("by paymentInitiation_json, the closest" in p.message for p in problems)


def test_a_periodic_payment_passes_though_it_is_also_a_valid_single_payment() -> None:
    """The spec's oneOf alternatives overlap, so strict oneOf would reject every periodic
    payment. The checker reads oneOf as anyOf."""
    periodic = {**SCT_BODY, "startDate": "2018-03-01", "frequency": "Monthly"}
    found = operation("xs2a", "POST", "/v1/periodic-payments/sepa-credit-transfers")
    assert found.check_request(XS2A_HEADERS, periodic) == []


def test_a_path_parameter_outside_its_enum_is_named() -> None:
    problems = operation("xs2a", "POST", "/v1/payment/sepa-credit-transfers").check_request(
        XS2A_HEADERS, SCT_BODY
    )
    assert places(problems) == ["path payment-service"]
    assert '"payment" is not one of "payments"' in problems[0].message


def test_the_content_type_must_be_one_the_operation_documents() -> None:
    found = operation("xs2a", "POST", SCT)
    problems = found.check_request(XS2A_HEADERS, SCT_BODY, content_type="text/html")
    assert places(problems) == ["header Content-Type"]
    assert "application/json" in problems[0].message


def test_a_non_json_body_of_a_documented_media_type_is_not_checked() -> None:
    found = operation("xs2a", "POST", "/v1/payments/pain.001-sepa-credit-transfers")
    assert found.check_request(XS2A_HEADERS, "<Document/>", content_type="application/xml") == []


def test_a_missing_body_is_reported_when_the_operation_requires_one() -> None:
    problems = operation("obie-4.0", "POST", "/domestic-payment-consents").check_request(
        OBIE_HEADERS, None
    )
    assert places(problems) == ["body"]
    assert problems[0].message.startswith("is missing; the spec documents one for the request")


def test_a_body_on_an_operation_that_takes_none_is_reported() -> None:
    problems = operation("xs2a", "GET", f"{SCT}/p1").check_request(XS2A_HEADERS, {"a": 1})
    assert places(problems) == ["body"]
    assert "takes no request body" in problems[0].message


# --- XS2A responses ---------------------------------------------------------------------------


def test_a_valid_201_initiation_response_passes() -> None:
    found = operation("xs2a", "POST", SCT)
    headers = {"X-Request-ID": REQUEST_ID, "Location": "/v1/payments/1234-wertiq-983"}
    assert found.check_response(201, CREATED_201, headers) == []
    assert found.check_response(201, {**CREATED_201, "scaStatus": "received"}) == []


def test_an_unknown_transaction_status_fails_the_201_response() -> None:
    body = {**CREATED_201, "transactionStatus": "DONE"}
    problems = operation("xs2a", "POST", SCT).check_response(201, body)
    assert places(problems) == ["body.transactionStatus"]
    assert problems[0].message.startswith('"DONE" is not one of "ACCC"')


def test_a_required_response_header_is_checked_when_headers_are_given() -> None:
    found = operation("xs2a", "POST", SCT)
    assert found.check_response(201, CREATED_201, {}) == [
        Problem("header X-Request-ID", "is required but missing")
    ]
    headers = {"X-Request-ID": REQUEST_ID, "ASPSP-SCA-Approach": "SMS"}
    assert places(found.check_response(201, CREATED_201, headers)) == ["header ASPSP-SCA-Approach"]


def test_an_xs2a_error_body_validates_for_400() -> None:
    body = {"tppMessages": [{"category": "ERROR", "code": "FORMAT_ERROR", "text": "bad IBAN"}]}
    assert operation("xs2a", "POST", SCT).check_response(400, body) == []


def test_the_response_body_is_read_as_its_content_type() -> None:
    """BG documents an ``application/problem+json`` 400 with another schema (RFC 7807)."""
    body = {"tppMessages": [{"category": "ERROR", "code": "FORMAT_ERROR", "text": "bad IBAN"}]}
    headers = {"Content-Type": "application/problem+json", "X-Request-ID": REQUEST_ID}
    problems = operation("xs2a", "POST", SCT).check_response(400, body, headers)
    assert places(problems) == ["body.code", "body.type"]


def test_the_payment_status_and_the_payment_itself_validate_for_get() -> None:
    status = operation("xs2a", "GET", f"{SCT}/p1/status")
    assert status.check_response(200, {"transactionStatus": "ACSC"}) == []
    payment = operation("xs2a", "GET", f"{SCT}/p1")
    assert payment.check_response(200, {**SCT_BODY, "transactionStatus": "ACSC"}) == []
    periodic = {**SCT_BODY, "startDate": "2018-03-01", "frequency": "Monthly"}
    assert payment.check_response(200, periodic) == []


def test_an_undocumented_status_is_a_problem() -> None:
    problems = operation("xs2a", "POST", SCT).check_response(302, None)
    assert places(problems) == ["status"]
    assert "302 is not a status POST /v1/{payment-service}/{payment-product}" in str(problems[0])


def test_a_documented_json_body_must_be_there() -> None:
    problems = operation("xs2a", "POST", SCT).check_response(201, None)
    assert places(problems) == ["body"]


@pytest.mark.parametrize(
    "example",
    ["paymentInitiationExample_json_Redirect", "paymentInitiationExample_json_OAuth2"],
)
def test_the_spec_s_own_201_examples_pass(example: str) -> None:
    value = Spec.load("xs2a").document["components"]["examples"][example]["value"]
    assert operation("xs2a", "POST", SCT).check_response(201, value) == []


# --- UK Open Banking --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["obie-3.1", "obie-4.0"])
def test_a_valid_domestic_payment_consent_passes(name: str) -> None:
    found = operation(name, "POST", "/domestic-payment-consents")
    assert found.check_request(OBIE_HEADERS, DOMESTIC_CONSENT) == []
    charset = "application/json; charset=utf-8"
    assert found.check_request(OBIE_HEADERS, DOMESTIC_CONSENT, content_type=charset) == []


@pytest.mark.parametrize("name", ["obie-3.1", "obie-4.0"])
@pytest.mark.parametrize(
    ("headers", "body", "where", "message"),
    [
        ({"x-idempotency-key": None}, {}, "header x-idempotency-key", "is required but missing"),
        ({"x-idempotency-key": "key "}, {}, "header x-idempotency-key", "does not match"),
        ({"x-idempotency-key": "k" * 41}, {}, "header x-idempotency-key", "at most 40"),
        ({"x-jws-signature": None}, {}, "header x-jws-signature", "is required but missing"),
        (
            {"x-fapi-auth-date": "2017-06-13T11:36:09Z"},
            {},
            "header x-fapi-auth-date",
            "does not match",
        ),
        (
            {},
            {"Data.Initiation.InstructedAmount.Amount": 165.88},
            "body.Data.Initiation.InstructedAmount.Amount",
            "must be a string",
        ),
        (
            {},
            {"Data.Initiation.InstructedAmount.Amount": "165.888888"},
            "body.Data.Initiation.InstructedAmount.Amount",
            "does not match the pattern",
        ),
        (
            {},
            {"Data.Initiation.CreditorAccount.Name": ...},
            "body.Data.Initiation.CreditorAccount.Name",
            "is required but missing",
        ),
        (
            {},
            {"Data.Initiation.Purpose": "CASH"},
            "body.Data.Initiation.Purpose",
            "is not a member this object may have",
        ),
    ],
)
def test_an_invalid_domestic_payment_consent_names_the_place(
    name: str, headers: dict[str, str | None], body: dict[str, Any], where: str, message: str
) -> None:
    sent_headers = {k: v for k, v in {**OBIE_HEADERS, **headers}.items() if v is not None}
    sent = DOMESTIC_CONSENT
    for path, value in body.items():
        sent = with_(sent, path, value)
    problems = operation(name, "POST", "/domestic-payment-consents").check_request(
        sent_headers, sent
    )
    assert len(problems) == 1, problems
    assert problems[0].where == where
    assert message in problems[0].message


def test_authorization_is_left_to_the_security_scheme() -> None:
    """OpenAPI 3.0 §4.7.12.1: an ``Authorization`` header parameter is ignored."""
    headers = {k: v for k, v in OBIE_HEADERS.items() if k != "Authorization"}
    found = operation("obie-4.0", "POST", "/domestic-payment-consents")
    assert found.check_request(headers, DOMESTIC_CONSENT) == []


def test_an_encrypted_obie_body_is_not_checked() -> None:
    found = operation("obie-3.1", "POST", "/domestic-payment-consents")
    jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"
    assert found.check_request(OBIE_HEADERS, jwe, content_type="application/jose+jwe") == []


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "obie-3.1",
            {
                "Code": "400 BadRequest",
                "Id": "c7d6a1b2",
                "Message": "The request is invalid",
                "Errors": [{"ErrorCode": "UK.OBIE.Field.Missing", "Message": "Name is missing"}],
            },
        ),
        ("obie-4.0", {"Errors": [{"ErrorCode": "U002", "Message": "Name is missing"}]}),
    ],
)
def test_an_obie_error_response_validates_for_400(name: str, error: dict[str, Any]) -> None:
    found = operation(name, "POST", "/domestic-payment-consents")
    assert found.check_response(400, error, OBIE_RESPONSE_HEADERS) == []
    problems = found.check_response(400, {**error, "Errors": []}, {})
    assert places(problems) == [
        "header x-fapi-interaction-id",
        "header x-jws-signature",
        "body.Errors",
    ]


def test_an_obie_4_error_code_is_four_characters() -> None:
    error = {"Errors": [{"ErrorCode": "UK.OBIE.Field.Missing"}]}
    problems = operation("obie-4.0", "POST", "/domestic-payments").check_response(400, error)
    assert places(problems) == ["body.Errors[0].ErrorCode"]
