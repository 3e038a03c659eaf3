"""A step's synchronous answer against its ``expect``: ``status``, ``error`` (an FSPIOP
``errorCode`` or an XS2A ``tppMessages`` code), ``body`` and ``headers`` with the
messages' matcher, and a step with no answer to check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.scenarios import write
from tpsim.scenario.answers import answer_failures
from tpsim.scenario.base import Expect, ExpectMessage
from tpsim.scenario.expectations import differences, error_code
from tpsim.scenario.harness import Answer
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import FailureKind, Outcome
from tpsim.scenario.runner import RunOptions, run

STATUS = "/xs2a/dfspa/v1/payments/sepa-credit-transfers/p1/status"
REFUSAL = {
    "tppMessages": [
        {"category": "ERROR", "code": "FORMAT_ERROR", "path": "X-Request-ID", "text": "no UUID"}
    ]
}
FSPIOP = {"errorInformation": {"errorCode": "3100", "errorDescription": "bad"}}


def sent(status: int, body: Any, **headers: str) -> Sent:
    answer = Answer(status, body, 3.0, {"Content-Type": "application/json", **headers})
    return Sent(answer, None, "p1", [{"method": "GET", "path": STATUS}])


def problems(step: Sent, **expect: Any) -> list[str]:
    return [f.message for f in answer_failures("2. xs2a.status", step, Expect(**expect))]


@pytest.mark.parametrize(
    ("body", "code"),
    [(FSPIOP, "3100"), (REFUSAL, "FORMAT_ERROR"), ({"tppMessages": []}, None),
     ({"errorInformation": "text"}, None), ({"transactionStatus": "ACCC"}, None), ("x", None)],
)  # fmt: skip
def test_the_error_code_is_fspiops_or_the_first_tpp_messages(body: Any, code: str | None) -> None:
    assert error_code(body) == code


def test_expect_error_names_an_xs2a_refusal_by_its_tpp_message_code() -> None:
    assert problems(sent(400, REFUSAL), status=400, error="FORMAT_ERROR") == []
    assert problems(sent(400, REFUSAL), status=400, error="RESOURCE_UNKNOWN") == [
        f"GET {STATUS} was answered with error code FORMAT_ERROR, expected RESOURCE_UNKNOWN"
    ]


def test_a_message_expectation_names_an_xs2a_refusal_by_its_code_too() -> None:
    entry = {"hop": "sent", "headers": {}, "body": REFUSAL, "status": 400}
    wanted = ExpectMessage(method="GET", path=STATUS, error="FORMAT_ERROR")
    assert differences(wanted, entry) == []


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ({"transactionStatus": "ACCC"}, []),
        ({"transactionStatus": "re:AC(CC|SC)", "fundsAvailable": True}, []),
        ({"psuMessage": "<absent>"}, []),
        ({"transactionStatus": "RJCT"}, ['body.transactionStatus: expected "RJCT", got "ACCC"']),
        ({"fundsAvailable": False}, ["body.fundsAvailable: expected false, got true"]),
        ({"psuMessage": "<any>"}, ['body.psuMessage: missing (expected "<any>")']),
    ],
)
def test_expect_body_must_be_contained_in_the_answer(
    body: dict[str, Any], found: list[str]
) -> None:
    answer = sent(200, {"transactionStatus": "ACCC", "fundsAvailable": True})
    failures = answer_failures("s", answer, Expect(body=body))
    if not found:
        assert failures == []
        return
    (failure,) = failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.message == f"GET {STATUS} was answered 200 but differs: {found[0]}"
    assert failure.actual is not None and failure.actual.endswith(f"  - {found[0]}")


def test_expect_headers_are_matched_whatever_their_case() -> None:
    answer = sent(201, {}, **{"ASPSP-SCA-Approach": "REDIRECT", "X-Request-ID": "9"})
    assert (
        problems(answer, headers={"aspsp-sca-approach": "REDIRECT", "X-Request-ID": "re:\\d"}) == []
    )
    assert problems(answer, headers={"ASPSP-SCA-Approach": "EMBEDDED", "Location": "x"}) == [
        f"GET {STATUS} was answered 201 but differs: header ASPSP-SCA-Approach: expected"
        " 'EMBEDDED', got 'REDIRECT'"
    ]


@pytest.mark.parametrize("key", ["body", "headers"])
def test_a_step_that_sent_nothing_has_no_answer_to_expect(key: str) -> None:
    (failure,) = answer_failures("1. wait", Sent(), Expect(**{key: {"a": "b"}}))
    assert failure.kind is FailureKind.ERROR
    assert failure.message.startswith(f"expect.{key}: this step sends nothing")


async def test_a_scenario_checks_the_xs2a_answers_body_headers_and_error(tmp_path: Path) -> None:
    text = """\
    name: answers
    steps:
      - xs2a.initiate: {approach: embedded, psu_id: erika}
        expect:
          headers: {ASPSP-SCA-Approach: EMBEDDED}
          body: {transactionStatus: RCVD, paymentId: "${payment_id}", scaStatus: psuIdentified}
      - xs2a.request: {method: GET, path: "/payments/sepa-credit-transfers/${payment_id}/nothing"}
        expect:
          status: 404
          error: RESOURCE_UNKNOWN
          body: {tppMessages: [{category: ERROR, text: <any>}]}
      - xs2a.status:
        expect:
          body: {transactionStatus: ACCC}
    """
    path = write(tmp_path, "s.yaml", text)
    (result,) = (await run([str(path)], RunOptions())).scenarios
    assert result.outcome is Outcome.FAILED
    assert [s.outcome for s in result.steps] == [Outcome.PASSED, Outcome.PASSED, Outcome.FAILED]
    (failure,) = result.failures
    assert failure.step == "3. xs2a.status"
    assert failure.message.endswith('differs: body.transactionStatus: expected "ACCC", got "RCVD"')
