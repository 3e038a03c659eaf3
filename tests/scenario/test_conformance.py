"""Conformance mode: a scenario drives a PISP that is not tpsim's through its own API and
states what it must send and answer; every message it sends is checked against the
official OpenAPI."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.external_pisp import ExternalPisp
from tests.support.scenarios import write
from tpsim.errors import ScenarioError
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario.conformance import failures, sent_by_tpsim
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run

SCENARIO = """\
name: the PISP approves a transfer it started
pisp: {endpoint: "${env.PISP_URL}", api: "${env.PISP_URL}"}
steps:
  - trigger:
      path: /transfer
      body: {switch: "${tpsim_url}"}
    expect: {status: 200, answered_within: 2s}
  - name: the PISP answers the authorization request, signed
    wait:
    expect:
      within: 2s
      messages:
        - method: POST
          path: /thirdpartyRequests/authorizations
          status: 202
          answered_within: 1s
        - method: PUT
          from: pispa
          path: /thirdpartyRequests/authorizations/{ID}
          headers: {FSPIOP-Destination: dfspa}
        - method: PATCH
          path: /thirdpartyRequests/transactions/{ID}
          body: {transactionState: COMPLETED}
"""

Conform = Callable[[str], Awaitable[ScenarioResult]]


@pytest.fixture
async def conform(tmp_path: Path, openapi: OpenApiValidator) -> AsyncIterator[Conform]:
    started: list[ExternalPisp] = []

    async def against(behaviour: str) -> ScenarioResult:
        pisp = await ExternalPisp(behaviour).start()
        started.append(pisp)
        path = write(tmp_path, f"{behaviour}.yaml", SCENARIO)
        options = RunOptions(env={"PISP_URL": pisp.url}, spec_dir=openapi.directory)
        (result,) = (await run([str(path)], options)).scenarios
        return result

    yield against
    for pisp in started:
        await pisp.close()


async def test_a_conforming_pisp_passes(conform: Conform) -> None:
    result = await conform("good")
    assert result.outcome is Outcome.PASSED, result.failures
    assert result.violations == []


async def test_a_schema_violation_is_listed_with_field_and_rule(conform: Conform) -> None:
    result = await conform("schema")
    assert result.outcome is Outcome.FAILED
    found = {(v.field, v.rule) for v in result.violations}
    # The body is a oneOf (ACCEPTED with a signedPayload, or REJECTED): neither variant fits.
    assert ("(body)", "oneOf") in found
    assert ("responseType (a oneOf variant)", "enum") in found
    assert ("(message)", "accepted by the switch") in found  # tpsim's edge refused it: 3100
    kinds = {f.kind for f in result.failures}
    assert FailureKind.CONFORMANCE in kinds
    # The refused answer never reached the DFSP, so the PISP's PUT is reported as sent but
    # refused, and the transfer never completes.
    put = next(
        f
        for f in result.failures
        if f.kind is not FailureKind.CONFORMANCE
        and "PUT /thirdpartyRequests/authorizations" in f.message
    )
    assert put.kind is FailureKind.ASSERTION and "rejected it with 400" in put.message


async def test_a_missing_callback_is_reported_as_not_received(conform: Conform) -> None:
    result = await conform("silent")
    failure, completed = result.failures  # no answer, so no transfer either
    assert failure.kind is completed.kind is FailureKind.NOT_RECEIVED
    assert "PUT /thirdpartyRequests/authorizations/{ID} not received within 2" in failure.message
    assert failure.expected == "PUT /thirdpartyRequests/authorizations/{ID} from pispa"


async def test_wrong_answers_to_callbacks_are_violations(conform: Conform) -> None:
    result = await conform("rude")
    assert ("(answer)", "status") in {(v.field, v.rule) for v in result.violations}
    assert any("answered 500; the API requires 200" in v.message for v in result.violations)
    # tpsim's payer DFSP stops a transfer whose PISP it cannot reach.
    assert result.outcome is Outcome.FAILED


async def test_a_date_far_from_the_switch_clock_is_a_violation(conform: Conform) -> None:
    result = await conform("stale")
    dates = [v for v in result.violations if (v.field, v.rule) == ("Date", "header")]
    assert len(dates) == 2  # the transaction request and the authorization
    # An HTTP date has whole seconds, so an hour behind reads as 3600 or 3601 s.
    assert re.search(
        r"is 360[01] s away from the time it arrived \(at most 300 s\)", dates[0].message
    )
    assert result.outcome is Outcome.FAILED
    assert {f.kind for f in result.failures} == {FailureKind.CONFORMANCE}


async def test_conformance_needs_the_openapi_bundles(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", SCENARIO)
    options = RunOptions(env={"PISP_URL": "http://127.0.0.1:9"}, spec_dir=tmp_path)
    with pytest.raises(ScenarioError, match="pass --spec-dir DIR or set TPSIM_SPEC_DIR"):
        await run([str(path)], options)


def test_check_sent_flags_a_body_tpsim_should_not_have_sent(openapi: OpenApiValidator) -> None:
    entry = {
        "seq": 7,
        "at": "2026-01-01T00:00:00.000+00:00",
        "hop": "sent",
        "method": "PUT",
        "path": "/thirdpartyRequests/transactions/b51ec534-ee48-4575-b6a9-ead2955b8069",
        "source": "dfspa",
        "destination": "pispa",
        "headers": {},
        "body": {"transactionRequestState": "SOMEWHERE"},
        "status": 200,
    }
    kinds = {"dfspa": "dfsp", "pispa": "pisp"}
    (found,) = sent_by_tpsim([entry], kinds, {"dfspa"}, openapi)
    assert (found.seq, found.field, found.rule) == (7, "transactionRequestState", "enum")
    assert sent_by_tpsim([entry], kinds, set(), openapi) == []  # only tpsim's own messages
    (failure,) = failures([found], [entry], by_tpsim=True)
    assert failure.kind is FailureKind.ERROR
    assert "tpsim sent a body that breaks the API: transactionRequestState" in failure.message
