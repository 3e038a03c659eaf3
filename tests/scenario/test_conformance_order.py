"""Causes first: a conformance finding is listed before the ``not-received`` failures it
causes, and a step stops waiting as soon as its verdict is known (a message that arrived
but differs, a participant under test that broke off) instead of at its deadline.

The scenarios give a deadline of ten minutes and the runs are bounded to a minute: a
runner that waited out a deadline would fail these tests, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.scenario.test_conformance import SCENARIO
from tests.support.external_pisp import ExternalPisp
from tests.support.pisp import future_expiration
from tests.support.scenarios import write
from tests.support.scheme import transaction_request
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario.base import ExpectMessage
from tpsim.scenario.expectations import Assignment, broken_off, stop_reason
from tpsim.scenario.reports.junit import junit_element
from tpsim.scenario.results import FailureKind, Outcome, RunResult, ScenarioResult
from tpsim.scenario.runner import RunOptions, run

BOUND_S = 60  # far below the scenarios' deadline: reaching it means the runner waited
LONG = SCENARIO.replace("within: 2s", "within: 10m")
TRANSACTION = "/thirdpartyRequests/transactions"


@dataclass
class DecimalPisp(ExternalPisp):
    """A PISP that writes its amount as ``"100.0"``: the API's Amount pattern forbids a
    trailing zero, so tpsim's edge refuses the transaction request (the issue's case)."""

    async def _api_transfer(self, request: web.Request) -> web.Response:
        self.switch = (await request.json())["switch"]
        request_id = str(uuid.uuid4())
        body = transaction_request(request_id, amount="100.0", expiration=future_expiration(300))
        status = await self._send("POST", TRANSACTION, body, "dfspa")
        return web.json_response({"transactionRequestId": request_id, "switch": status})


async def run_bounded(path: Path, options: RunOptions) -> ScenarioResult:
    (result,) = (await asyncio.wait_for(run([str(path)], options), BOUND_S)).scenarios
    return result


async def test_a_refused_amount_lists_the_conformance_finding_before_what_it_caused(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    pisp = await DecimalPisp().start()
    try:
        path = write(tmp_path, "decimal.yaml", LONG)
        options = RunOptions(env={"PISP_URL": pisp.url}, spec_dir=openapi.directory)
        result = await run_bounded(path, options)
    finally:
        await pisp.close()
    assert result.outcome is Outcome.FAILED
    kinds = [f.kind for f in result.failures]
    assert kinds == [FailureKind.CONFORMANCE] + [FailureKind.NOT_RECEIVED] * 3
    cause, *caused = result.failures
    assert f"POST {TRANSACTION} breaks the API" in cause.message
    assert "amount.amount" in cause.message and "'100.0'" in cause.message
    for failure in caused:  # each says why the step stopped waiting, and where
        assert "stopped waiting after" in failure.message
        assert f"because pispa's #1 POST {TRANSACTION} was refused (400)" in failure.message
    # CI shows the first failure as the testcase's headline: the cause.
    run_result = RunResult([result], result.started_at, result.duration_s)
    headline = next(junit_element(run_result).iter("failure")).attrib
    assert headline["type"] == "conformance" and "breaks the API" in headline["message"]


async def test_a_pisp_that_refuses_a_callback_ends_the_wait(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    pisp = await ExternalPisp("rude").start()  # answers every callback with 500
    try:
        path = write(tmp_path, "rude.yaml", LONG)
        options = RunOptions(env={"PISP_URL": pisp.url}, spec_dir=openapi.directory)
        result = await run_bounded(path, options)
    finally:
        await pisp.close()
    first_missing = next(
        i for i, f in enumerate(result.failures) if f.kind is FailureKind.NOT_RECEIVED
    )
    assert {f.kind for f in result.failures[:first_missing]} == {FailureKind.CONFORMANCE}
    assert "pispa answered #" in result.failures[first_missing].message
    assert "with 500" in result.failures[first_missing].message


DIFFERS = """\
name: the transaction request's state differs
steps:
  - initiate_transfer: {amount: "100"}
    expect:
      within: 10m
      messages:
        - method: PUT
          path: /thirdpartyRequests/transactions/{ID}
          body: {transactionRequestState: ACCEPTED}
        - PUT /thirdpartyRequests/transactions/{ID}/error
"""


async def test_a_message_that_arrived_but_differs_fails_when_it_arrives(tmp_path: Path) -> None:
    result = await run_bounded(write(tmp_path, "differs.yaml", DIFFERS), RunOptions())
    differs, missing = result.failures
    assert differs.kind is FailureKind.ASSERTION
    assert differs.message == (
        "PUT /thirdpartyRequests/transactions/{ID} arrived but differs:"
        ' body.transactionRequestState: expected "ACCEPTED", got "RECEIVED"'
    )
    assert missing.kind is FailureKind.NOT_RECEIVED
    assert missing.message.startswith(f"PUT {TRANSACTION}/{{ID}}/error not received: stopped")
    assert "does not match PUT /thirdpartyRequests/transactions/{ID}" in missing.message


# --- the rule itself, without sockets ---------------------------------------------------


def entry(
    seq: int, hop: str, method: str, path: str, source: str, destination: str,
    status: int | None = None, body: Any = None, error: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A journal entry as ``JournalEntry.to_json()`` writes it (the fields matched)."""
    headers = {"FSPIOP-Source": source, "FSPIOP-Destination": destination}
    return {"seq": seq, "hop": hop, "method": method, "path": path, "source": source,
            "destination": destination, "headers": headers, "status": status, "body": body,
            "error": error}  # fmt: skip


PUT_STATE = ExpectMessage.model_validate(
    {"method": "PUT", "path": f"{TRANSACTION}/{{ID}}", "body": {"transactionRequestState": "X"}}
)
PUT_ANY = ExpectMessage.model_validate({"method": "PUT", "path": f"{TRANSACTION}/{{ID}}"})
RECEIVED = entry(3, "sent", "PUT", f"{TRANSACTION}/1", "dfspa", "pispa", 200,
                 {"transactionRequestState": "RECEIVED"})  # fmt: skip
REFUSED = entry(1, "received", "POST", TRANSACTION, "pispa", "dfspa", 400, error="3100 bad")
ANSWERED_500 = entry(4, "sent", "POST", "/thirdpartyRequests/authorizations", "dfspa", "pispa", 500)
UNANSWERED = entry(5, "sent", "PATCH", f"{TRANSACTION}/1", "dfspa", "pispa", error="refused")


@pytest.mark.parametrize(
    ("expected", "entries", "taken", "checked", "stops_at"),
    [
        pytest.param([PUT_STATE], [RECEIVED], [None], None, 3, id="addressed-but-differs"),
        pytest.param([PUT_STATE], [], [None], None, None, id="nothing-yet"),
        pytest.param([PUT_ANY, PUT_STATE], [RECEIVED], [RECEIVED, None], None, None,
                     id="taken-by-another-expectation"),
        pytest.param([PUT_ANY], [REFUSED], [None], "pispa", 1, id="under-test-refused"),
        pytest.param([PUT_ANY], [REFUSED], [None], None, None, id="built-in-pisp-refused"),
        pytest.param([PUT_ANY], [ANSWERED_500], [None], "pispa", 4, id="under-test-answered-500"),
        pytest.param([PUT_ANY], [UNANSWERED], [None], "pispa", 5, id="under-test-silent"),
    ],
)  # fmt: skip
def test_when_a_step_stops_waiting(
    expected: list[ExpectMessage],
    entries: list[dict[str, Any]],
    taken: list[dict[str, Any] | None],
    checked: str | None,
    stops_at: int | None,
) -> None:
    stop = stop_reason(
        expected, entries, Assignment(taken), pisp_id="pispa", consumed=set(), checked=checked
    )
    assert (stop.seq if stop else None) == stops_at


def test_breaking_off_is_said_plainly() -> None:
    assert broken_off(REFUSED, "pispa") == f"pispa's #1 POST {TRANSACTION} was refused (400)"
    assert broken_off(ANSWERED_500, "pispa") == (
        "pispa answered #4 POST /thirdpartyRequests/authorizations with 500"
    )
    assert broken_off(UNANSWERED, "pispa") == (
        f"pispa did not answer #5 PATCH {TRANSACTION}/1 (refused)"
    )
    assert broken_off(RECEIVED, "pispa") is None  # answered as the API requires
    assert broken_off(REFUSED, "pispb") is None  # someone else's message
