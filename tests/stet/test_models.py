"""The STET 1.4.2 wire models: what tpsim reads from a PISP, and what it may send."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tpsim.stet.models import (
    APPROACHES,
    PAYMENT_STATUSES,
    REASON_CODES,
    TRANSACTION_STATUSES,
    RequestInvalid,
    read_confirmation,
    read_payment_request,
    sent_problems,
)

IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "DE89370400440532013000"


def request(**changes: Any) -> dict[str, Any]:
    """A payment request as a STET 1.4.2 PISP posts it (one merchant, one instruction)."""
    body: dict[str, Any] = {
        "paymentInformationId": "MyPmtInfId",
        "creationDateTime": "2025-03-31T13:25:22.527+02:00",
        "numberOfTransactions": 1,
        "initiatingParty": {
            "name": "MyPreferredPisp",
            "postalAddress": {"country": "FR", "addressLine": ["18 rue de la DSP2", "75008 PARIS"]},
            "organisationId": {"identification": "12FR5", "schemeName": "COID", "issuer": "ACPR"},
        },
        "paymentTypeInformation": {
            "serviceLevel": "SEPA",
            "localInstrument": "INST",
            "categoryPurpose": "DVPM",
        },
        "debtor": {"name": "MyCustomer"},
        "debtorAccount": {"iban": OTHER_IBAN},
        "beneficiary": {
            "creditorAgent": {"bicFi": "BNKAFRPPXXX"},
            "creditor": {"name": "myMerchant"},
            "creditorAccount": {"iban": IBAN},
        },
        "purpose": "COMC",
        "chargeBearer": "SLEV",
        "requestedExecutionDate": "2025-04-01T00:00:00.000+02:00",
        "creditTransferTransaction": [
            {
                "paymentId": {"instructionId": "MyInstrId", "endToEndId": "MyEndToEndId"},
                "instructedAmount": {"currency": "EUR", "amount": "124.35"},
                "remittanceInformation": ["MyRemittanceInformation"],
            }
        ],
        "supplementaryData": {
            "acceptedAuthenticationApproach": ["REDIRECT", "DECOUPLED"],
            "successfulReportUrl": "https://pisp.example/ok?ref=1",
            "unsuccessfulReportUrl": "https://pisp.example/ko?ref=1",
        },
    }
    body.update(changes)
    return body


def transaction(number: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "paymentId": {"instructionId": f"Instr{number}", "endToEndId": f"E2E{number}"},
        "instructedAmount": {"currency": "EUR", "amount": "10.00"},
    }
    body.update(changes)
    return body


def refusal(body: object) -> RequestInvalid:
    with pytest.raises(RequestInvalid) as caught:
        read_payment_request(body)
    return caught.value


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` read as a request and dumped back, as tpsim echoes a payment request."""
    dumped: dict[str, Any] = read_payment_request(body).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return dumped


def answer(**changes: Any) -> dict[str, Any]:
    """A GET answer: the request echoed with the bank's id and status, and its links."""
    resource = {**wire(request()), "resourceId": "a1b2c3", "paymentInformationStatus": "ACTC"}
    resource.update(changes)
    return {"paymentRequest": resource, "_links": {"self": {"href": "/payment-requests/a1b2c3"}}}


# --- reading a PISP's request -------------------------------------------------------------


def test_a_valid_1_4_2_request_parses_and_dumps_back_as_sent() -> None:
    body = request()
    parsed = read_payment_request(body)
    assert parsed.paymentInformationId == "MyPmtInfId"
    assert parsed.creditTransferTransaction[0].instructedAmount.value() == Decimal("124.35")
    assert parsed.supplementaryData.acceptedAuthenticationApproach == ("REDIRECT", "DECOUPLED")
    assert wire(body) == body


def test_the_request_may_come_as_bytes() -> None:
    assert read_payment_request(json.dumps(request()).encode()).paymentInformationId == "MyPmtInfId"


def test_debtor_account_is_optional_so_the_psu_picks_it_at_the_bank() -> None:
    body = request()
    del body["debtorAccount"], body["debtor"]
    assert read_payment_request(body).debtorAccount is None


def test_one_beneficiary_at_payment_level_serves_every_transaction() -> None:
    body = request(
        numberOfTransactions=2, creditTransferTransaction=[transaction(1), transaction(2)]
    )
    parsed = read_payment_request(body)
    assert [
        parsed.beneficiary_of(t).creditorAccount.iban for t in parsed.creditTransferTransaction
    ] == [
        IBAN,
        IBAN,
    ]


def test_each_transaction_may_name_its_own_beneficiary() -> None:
    own = {"creditor": {"name": "Other"}, "creditorAccount": {"iban": OTHER_IBAN}}
    body = request(
        numberOfTransactions=2,
        creditTransferTransaction=[
            transaction(1, beneficiary=own),
            transaction(2, beneficiary=own),
        ],
    )
    del body["beneficiary"]
    parsed = read_payment_request(body)
    assert parsed.beneficiary_of(parsed.creditTransferTransaction[1]).creditor.name == "Other"


def test_a_transaction_without_a_beneficiary_at_either_level_is_refused() -> None:
    own = {"creditor": {"name": "Other"}, "creditorAccount": {"iban": OTHER_IBAN}}
    body = request(
        numberOfTransactions=2,
        creditTransferTransaction=[transaction(1, beneficiary=own), transaction(2)],
    )
    del body["beneficiary"]
    error = refusal(body)
    assert error.path == "creditTransferTransaction[1].beneficiary"
    assert "at payment level" in error.message


def test_stet_1_4_0_payment_level_creditor_is_pointed_to_beneficiary() -> None:
    body = request(creditor={"name": "myMerchant"}, creditorAccount={"iban": IBAN})
    del body["beneficiary"]
    assert "1.4.0" in refusal(body).message


def test_the_execution_date_may_be_given_per_transaction() -> None:
    body = request(
        creditTransferTransaction=[transaction(1, requestedExecutionDate="2025-04-02T00:00:00Z")]
    )
    del body["requestedExecutionDate"]
    parsed = read_payment_request(body)
    assert parsed.execution_date_of(parsed.creditTransferTransaction[0]) == "2025-04-02T00:00:00Z"
    del body["creditTransferTransaction"][0]["requestedExecutionDate"]
    assert refusal(body).path == "creditTransferTransaction[0].requestedExecutionDate"


@pytest.mark.parametrize("count", [0, 2, "1", True, 1.0])
def test_number_of_transactions_must_count_the_transactions(count: object) -> None:
    error = refusal(request(numberOfTransactions=count))
    assert error.path == "numberOfTransactions"


def test_unknown_members_are_ignored_and_null_is_absence_on_requests() -> None:
    body = request(batchBooking=True, paymentInformationStatus=None, ultimateCreditor=None)
    body["creditTransferTransaction"][0]["ultimateDebtor"] = {"name": "x"}
    dumped = wire(body)
    assert "batchBooking" not in dumped and "paymentInformationStatus" not in dumped
    assert "ultimateDebtor" not in dumped["creditTransferTransaction"][0]


def test_an_amount_sent_as_a_number_is_read_as_its_decimal_string() -> None:
    body = request()
    body["creditTransferTransaction"][0]["instructedAmount"]["amount"] = 13.37
    assert wire(body)["creditTransferTransaction"][0]["instructedAmount"]["amount"] == "13.37"


def test_a_bad_amount_names_its_path_and_what_to_fix() -> None:
    body = request()
    body["creditTransferTransaction"][0]["instructedAmount"]["amount"] = "12,25"
    error = refusal(body)
    assert error.path == "creditTransferTransaction[0].instructedAmount.amount"
    assert error.message.startswith(
        'creditTransferTransaction[0].instructedAmount.amount must be a decimal string like "12.25"'
    )
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "1.123456", "12345678901234", "1e3", ""])
def test_a_payment_amount_is_a_positive_stet_decimal(amount: str) -> None:
    body = request()
    body["creditTransferTransaction"][0]["instructedAmount"]["amount"] = amount
    assert refusal(body).path == "creditTransferTransaction[0].instructedAmount.amount"


@pytest.mark.parametrize(
    ("member", "value", "path"),
    [
        ("paymentInformationId", "x" * 36, "paymentInformationId"),
        ("paymentInformationId", "under_score", "paymentInformationId"),
        ("creationDateTime", "2025-03-31", "creationDateTime"),
        ("creationDateTime", "2025-03-31T10:00:00", "creationDateTime"),
        ("creationDateTime", "2025-02-30T10:00:00Z", "creationDateTime"),
        ("paymentTypeInformation", {"serviceLevel": "NURG"}, "paymentTypeInformation.serviceLevel"),
        ("chargeBearer", "SHAR", "chargeBearer"),
        ("statusReasonInformation", "DS02", "statusReasonInformation"),
        ("debtorAccount", {"iban": "FR7630006000011234567890188"}, "debtorAccount.iban"),
        ("debtorAccount", {"iban": "FR76 3000 6000 0112 3456 7890 189"}, "debtorAccount.iban"),
        ("debtorAccount", {"currency": "EUR"}, "debtorAccount.iban"),
        ("debtorAgent", {"bicFi": "BNKAFRPP1"}, "debtorAgent.bicFi"),
        ("initiatingParty", {"name": "x" * 141}, "initiatingParty.name"),
        ("initiatingParty", {}, "initiatingParty.name"),
        (
            "supplementaryData",
            {"successfulReportUrl": "https://p.example/"},
            "supplementaryData.acceptedAuthenticationApproach",
        ),
        (
            "supplementaryData",
            {"acceptedAuthenticationApproach": ["REDIRECT"]},
            "supplementaryData.successfulReportUrl",
        ),
        (
            "supplementaryData",
            {"acceptedAuthenticationApproach": [], "successfulReportUrl": "https://p.example/"},
            "supplementaryData.acceptedAuthenticationApproach",
        ),
    ],
)
def test_members_are_checked_against_stet_1_4_2(member: str, value: object, path: str) -> None:
    assert refusal(request(**{member: value})).path == path


def test_stet_1_4_0_embedded_is_named_by_its_1_4_2_spelling() -> None:
    body = request()
    body["supplementaryData"]["acceptedAuthenticationApproach"] = ["EMBEDDED"]
    error = refusal(body)
    assert error.path == "supplementaryData.acceptedAuthenticationApproach[0]"
    assert "EMBEDDED-1-FACTOR" in error.message


@pytest.mark.parametrize(
    "url", ["/relative/ok", "ftp://pisp.example/ok", "https://", "https://p.example/a b"]
)
def test_the_report_url_is_an_absolute_http_url(url: str) -> None:
    body = request()
    body["supplementaryData"]["successfulReportUrl"] = url
    assert refusal(body).path == "supplementaryData.successfulReportUrl"


def test_remittance_is_one_unstructured_line_and_1_6_objects_read_as_such() -> None:
    body = request()
    body["creditTransferTransaction"][0]["remittanceInformation"] = {"unstructured": ["Invoice 12"]}
    assert wire(body)["creditTransferTransaction"][0]["remittanceInformation"] == ["Invoice 12"]
    body["creditTransferTransaction"][0]["remittanceInformation"] = ["one", "two"]
    assert refusal(body).path == "creditTransferTransaction[0].remittanceInformation"


def test_a_java_style_offset_is_read_on_requests() -> None:
    assert read_payment_request(request(creationDateTime="2025-03-31T13:25:22.527+0200"))


def test_a_cancellation_puts_rjct_with_its_reason() -> None:
    body = request(paymentInformationStatus="RJCT", statusReasonInformation="DS02")
    assert read_payment_request(body).statusReasonInformation == "DS02"


def test_a_confirmation_body_may_be_empty_but_must_be_an_object() -> None:
    assert read_confirmation({}).psuAuthenticationFactor is None
    assert (
        read_confirmation({"psuAuthenticationFactor": "123456"}).psuAuthenticationFactor == "123456"
    )
    with pytest.raises(RequestInvalid):
        read_confirmation(b"")


# --- odd JSON never raises anything but RequestInvalid --------------------------------------

ODD_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    10**40,
    1.5e308,
    "",
    "x" * 1_000_000,
    "\ud800",
    [],
    [None],
    [[[[[]]]]],
    {},
    {"": None},
    {"nested": {"junk": [1, {"a": [None, "b"]}]}},
    json.loads("[" * 30 + "]" * 30),
]


@pytest.mark.parametrize("body", [*ODD_VALUES, b"", b"[]", b"{", b"\xff", b"{}" * 3, "{}"])
def test_odd_bodies_raise_only_request_invalid(body: object) -> None:
    error = refusal(body)
    assert error.message


def leaves(body: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member and list item of ``body``, by its path."""
    if path:
        yield path
    items = (
        body.items()
        if isinstance(body, dict)
        else enumerate(body)
        if isinstance(body, list)
        else ()
    )
    for key, value in items:
        yield from leaves(value, (*path, key))


def replaced(body: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize("odd", ODD_VALUES, ids=[repr(v)[:20] for v in ODD_VALUES])
def test_odd_values_anywhere_in_a_request_raise_only_request_invalid(odd: object) -> None:
    body = request()
    for path in leaves(body):
        try:
            read_payment_request(replaced(body, path, odd))
        except RequestInvalid as error:
            assert error.message.startswith(error.path or "the body")


# --- checking what tpsim sends ----------------------------------------------------------


def test_the_echo_of_a_request_is_a_valid_answer() -> None:
    assert sent_problems("payment_request", answer()) == []


def test_an_answer_names_the_resource_and_its_status() -> None:
    body = answer()
    del body["paymentRequest"]["resourceId"], body["paymentRequest"]["paymentInformationStatus"]
    assert sent_problems("payment_request", body) == [
        "paymentRequest.resourceId is required in an answer"
    ]
    assert sent_problems(
        "payment_request", answer(resourceId="00000000-0000-4000-8000-000000000001")
    )


@pytest.mark.parametrize("status", PAYMENT_STATUSES)
def test_every_payment_status_may_be_sent(status: str) -> None:
    extra = {"statusReasonInformation": "DS02"} if status == "RJCT" else {}
    assert sent_problems("payment_request", answer(paymentInformationStatus=status, **extra)) == []


@pytest.mark.parametrize("status", TRANSACTION_STATUSES)
def test_every_transaction_status_may_be_sent(status: str) -> None:
    body = answer()
    body["paymentRequest"]["creditTransferTransaction"][0]["transactionStatus"] = status
    assert sent_problems("payment_request", body) == []


@pytest.mark.parametrize(("status", "ok"), [("ACCO", False), ("CANC", False), ("ACSC", True)])
def test_only_stet_statuses_are_sent(status: str, ok: bool) -> None:
    assert (sent_problems("payment_request", answer(paymentInformationStatus=status)) == []) is ok
    body = answer()
    body["paymentRequest"]["creditTransferTransaction"][0]["transactionStatus"] = "ACTC"
    assert sent_problems("payment_request", body)


@pytest.mark.parametrize("reason", REASON_CODES)
def test_a_reason_goes_with_rjct_only(reason: str) -> None:
    assert (
        sent_problems(
            "payment_request",
            answer(paymentInformationStatus="RJCT", statusReasonInformation=reason),
        )
        == []
    )
    assert sent_problems(
        "payment_request", answer(paymentInformationStatus="ACSC", statusReasonInformation=reason)
    ) == [
        "paymentRequest.statusReasonInformation is only allowed with the status RJCT, not with ACSC"
    ]
    body = answer()
    body["paymentRequest"]["creditTransferTransaction"][0].update(
        transactionStatus="ACSP", statusReasonInformation=reason
    )
    assert sent_problems("payment_request", body) == [
        "paymentRequest.creditTransferTransaction[0].statusReasonInformation is only allowed with"
        " the status RJCT, not with ACSP"
    ]


def test_unknown_members_nulls_and_number_amounts_are_problems_in_sent_bodies() -> None:
    body = answer(batchBooking=True)
    assert sent_problems("payment_request", body) == [
        "paymentRequest.batchBooking is not a member STET defines in PaymentRequestResource:"
        " leave it out"
    ]
    assert sent_problems("payment_request", answer(debtor=None)) == [
        "paymentRequest.debtor is null: send a value or leave the member out"
    ]
    body = answer()
    body["paymentRequest"]["creditTransferTransaction"][0]["instructedAmount"]["amount"] = 124.35
    assert sent_problems("payment_request", body) == [
        "paymentRequest.creditTransferTransaction[0].instructedAmount.amount must be a decimal"
        ' string like "12.25" (up to 13 digits, a dot, up to 5 decimals), not a number'
    ]


@pytest.mark.parametrize(
    ("approach", "links", "ok"),
    [
        ("REDIRECT", {"consentApproval": {"href": "https://bank.example/approve/1"}}, True),
        ("REDIRECT", {}, False),
        ("DECOUPLED", None, True),
        ("DECOUPLED", {"consentApproval": {"href": "https://bank.example/approve/1"}}, False),
        ("EMBEDDED-1-FACTOR", {}, True),
    ],
)
def test_the_201_links_consent_approval_exactly_for_redirect(
    approach: str, links: dict[str, Any] | None, ok: bool
) -> None:
    body: dict[str, Any] = {"appliedAuthenticationApproach": approach}
    if links is not None:
        body["_links"] = links
    assert (sent_problems("created", body) == []) is ok


def test_every_approach_is_a_stet_approach() -> None:
    assert APPROACHES == ("REDIRECT", "DECOUPLED", "EMBEDDED-1-FACTOR")
    assert sent_problems("created", {"appliedAuthenticationApproach": "EMBEDDED"})


ERROR = {
    "timestamp": "2026-11-30T16:40:00.000+00:00",
    "status": 400,
    "error": "FIELD_INVALID",
    "message": "creditTransferTransaction[0].instructedAmount.amount must be a decimal string",
    "path": "/stet/dfspa/v1/payment-requests",
}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"timestamp": None}, "timestamp is null: send a value or leave the member out"),
        ({"status": "400"}, "status must be a JSON integer, not a string"),
        ({"status": 42}, "status must be at least 100, not 42"),
        ({"message": "x" * 141}, "message has 141 characters; at most 140 fit"),
        ({"timestamp": "2026-11-30T16:40:00.000+0000"}, "timestamp must be a date-time"),
        ({"code": "X"}, "code is not a member STET defines in ErrorModel: leave it out"),
    ],
)
def test_the_error_model(changes: dict[str, Any], problem: str | None) -> None:
    problems = sent_problems("error", {**ERROR, **changes})
    assert (problems == []) if problem is None else problems[0].startswith(problem)


def test_the_error_model_needs_status_and_message() -> None:
    assert sent_problems("error", {}) == ["status is required", "message is required"]


TOKEN = {"access_token": "abc", "token_type": "Bearer", "expires_in": 3600, "scope": "pisp"}


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        ({}, True),
        ({"refresh_token": "def"}, True),
        ({"token_type": "MAC"}, False),
        ({"expires_in": "3600"}, False),
        ({"scope": ""}, False),
        ({"id_token": "x.y.z"}, False),
    ],
)
def test_the_token_answer(changes: dict[str, Any], ok: bool) -> None:
    assert (sent_problems("token", {**TOKEN, **changes}) == []) is ok


@pytest.mark.parametrize("kind", ["created", "payment_request", "error", "token"])
@pytest.mark.parametrize("body", ODD_VALUES, ids=[repr(v)[:20] for v in ODD_VALUES])
def test_odd_sent_bodies_are_listed_problems_never_exceptions(kind: Any, body: object) -> None:
    problems = sent_problems(kind, body)
    assert problems and all(isinstance(p, str) for p in problems)
