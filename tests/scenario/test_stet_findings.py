"""What the STET scenario library found wrong in tpsim, each written as the promise it
breaks. One still broken is marked ``xfail(strict=True)`` with the bug in its reason (once
fixed it fails here as XPASS: drop its mark, it then guards the fix). Each runs the way a
PISP team would meet it: a scenario through the runner against an in-process tpsim, with
``--check-sent`` where tpsim's own answer is at fault; a state the API cannot show is read
from the bank (``tests.stet.support``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.stet.support import LOUIS, LUCA, transaction, world
from tests.support.scenarios import write
from tpsim.core.states import PaymentState
from tpsim.scenario.expectations import error_code
from tpsim.scenario.reports.sequence import arrow_for
from tpsim.scenario.results import Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run

O_CONFIRMATION = """\
config:
  participants:
    - {fsp_id: pispa, kind: pisp, endpoint: "http://127.0.0.1:9"}
    - {fsp_id: dfspa, kind: dfsp, simulated: true, psd2: {stet: {o_confirmation: true}}}
    - {fsp_id: dfspb, kind: dfsp, simulated: true}
    - {fsp_id: central-auth, kind: auth-service, simulated: true}
"""


async def run_one(tmp_path: Path, text: str) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    (scenario,) = (await run([str(path)], RunOptions(check_sent=True))).scenarios
    return scenario


# --- fixed since they were found (they guard the fix) ---------------------------------------


async def test_an_approved_o_confirmation_request_reads_as_stet_allows(tmp_path: Path) -> None:
    """Found: GET linked ``oConfirmation``, which ``PaymentRequestLinks`` does not define,
    so ``--check-sent`` refused tpsim's own answer."""
    text = "name: ACCP in the o-confirmation variant\n" + O_CONFIRMATION
    text += """\
steps:
  - stet.create_payment_request:
  - stet.authorize: {psu: claire}
  - stet.get:
    expect:
      body:
        paymentRequest: {paymentInformationStatus: ACCP}
        _links: {confirmation: {href: "re:.*/o-confirmation"}}
"""
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


async def test_a_date_out_of_range_is_a_field_error_not_a_500(tmp_path: Path) -> None:
    """Found: ``OverflowError`` out of ``stet.reading._when`` was a 500 INTERNAL_ERROR."""
    text = """\
name: year 1
steps:
  - stet.create_payment_request: {requested_execution_date: "0001-01-01T00:00:00+01:00"}
    expect:
      status: 400
      body: {error: FIELD_INVALID, message: "re:requestedExecutionDate.*"}
"""
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


async def test_a_signature_401_says_how_to_authenticate(tmp_path: Path) -> None:
    """Found: SIGNATURE_MISSING's 401 carried no ``WWW-Authenticate`` (RFC 9110 §15.5.2)."""
    text = """\
name: unsigned, strict
config:
  behaviour: {psd2: {strict_signatures: true}}
steps:
  - stet.create_payment_request:
    expect:
      status: 401
      headers: {WWW-Authenticate: "re:.+"}
"""
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


def test_a_transaction_cancelled_after_approval_ends_its_intent() -> None:
    """Found: cancelling some transactions of an APPROVED request (the PISP's confirmation
    awaited) left their core intents AUTHORISED for ever."""
    bank = world(profile={"confirmation_required": True})
    made = bank.create(
        transactions=[
            transaction("1.00", creditor=LOUIS, number=0),
            transaction("2.00", creditor=LUCA, number=1),
        ]
    )
    bank.approved(made)
    assert bank.put(made, bank.cancellation(made, (0,))).status == 200
    assert bank.confirm(made).status == 200
    assert bank.status(made) == ("PART", None, ["RJCT", "ACSC"])
    assert bank.bank.payments.get(f"{made}-0").state is PaymentState.CANCELLED


# --- still open ------------------------------------------------------------------------------


async def test_a_cross_bank_payment_requests_conversation_holds_its_settlement(
    tmp_path: Path,
) -> None:
    text = """\
name: the settlement in the payment request's conversation
steps:
  - stet.create_payment_request:
  - stet.approve: {psu: claire}
  - stet.get: {until: [ACSC]}
    expect:
      within: 2s
      messages:
        - {method: POST, path: /quotes, from: dfspa, to: dfspb}
        - {method: POST, path: /transfers, from: dfspa, to: dfspb}
"""
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


async def test_the_statuses_are_the_banks_whatever_the_pisp_posted(tmp_path: Path) -> None:
    text = """\
name: read-only members in a POST
steps:
  - stet.create_payment_request:
      fields:
        resourceId: mine
        paymentInformationStatus: RJCT
        statusReasonInformation: DS02
        creditTransferTransaction: [{transactionStatus: ACSC}]
  - stet.get:
    expect:
      body:
        paymentRequest:
          resourceId: ${payment_request_id}
          paymentInformationStatus: ACTC
          statusReasonInformation: <absent>
          creditTransferTransaction: [{transactionStatus: <absent>}]
"""
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


async def test_a_date_time_the_bank_takes_is_answered_in_rfc_3339(tmp_path: Path) -> None:
    text = """\
name: an offset without a colon
steps:
  - stet.create_payment_request: {requested_execution_date: "2026-11-30T00:00:00+0100"}
  - stet.get:
"""
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures


def test_expect_error_reads_a_stet_error_model() -> None:
    body = {"status": 400, "error": "FIELD_INVALID", "message": "m", "path": "/stet/x"}
    assert error_code(body) == "FIELD_INVALID"


def test_a_stet_exchange_is_drawn_as_one_arrow_from_the_pisp_to_the_bank() -> None:
    request: dict[str, Any] = {
        "seq": 7,
        "hop": "received",
        "dialect": "stet",
        "method": "POST",
        "path": "/stet/dfspa/v1/payment-requests",
        "source": "tpp-one",
        "destination": "dfspa",
        "headers": {},
        "body": None,
        "status": None,
    }
    answer = request | {"seq": 8, "hop": "sent", "source": "dfspa", "destination": "tpp-one"}
    arrow = arrow_for(answer | {"status": 201}, "hub", request)
    assert arrow is not None
    assert (arrow.seq, arrow.source, arrow.destination) == (7, "tpp-one", "dfspa")
