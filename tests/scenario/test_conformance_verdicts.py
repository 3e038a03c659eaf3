"""Verdicts of the conformance checks that depend on what the scenario itself did, or on
what the API allows: a conforming PISP must not fail for a refusal the scenario's own rule
made, for an answer the OpenAPI allows, or for a clock the scenario moved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.scenario.test_conformance_order import entry
from tests.support.external_pisp import ExternalPisp
from tests.support.scenarios import write
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario.conformance import violations
from tpsim.scenario.expectations import broken_off
from tpsim.scenario.results import Outcome
from tpsim.scenario.runner import RunOptions, run

TRANSACTION = "/thirdpartyRequests/transactions"
KINDS = {"pispa": "pisp", "dfspa": "dfsp", "dfspb": "dfsp", "central-auth": "auth-service"}

REFUSED_BY_RULE = """\
name: the scenario's rule refuses the PISP's transaction request at once
pisp: {endpoint: "${env.PISP_URL}", api: "${env.PISP_URL}"}
config:
  rules:
    - name: refuse-at-once
      when: {method: POST, path: /thirdpartyRequests/transactions}
      then: {error: {code: "3100", sync: true}}
steps:
  - trigger:
      path: /transfer
      body: {switch: "${tpsim_url}"}
    expect: {status: 200, body: {switch: 400}}
  - wait:
    expect:
      within: 2s
      messages:
        - method: POST
          path: /thirdpartyRequests/transactions
          from: pispa
          to: dfspa
          status: 400
"""


async def test_a_refusal_the_scenarios_rule_made_is_no_violation_of_the_pisp(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    pisp = await ExternalPisp().start()
    try:
        path = write(tmp_path, "ruled.yaml", REFUSED_BY_RULE)
        options = RunOptions(env={"PISP_URL": pisp.url}, spec_dir=openapi.directory)
        (result,) = (await run([str(path)], options)).scenarios
    finally:
        await pisp.close()
    assert result.violations == []
    assert result.outcome is Outcome.PASSED, result.failures
    (refused,) = [e for e in result.journal if e["hop"] == "received"]
    assert (refused["status"], refused["rule"]) == (400, "refuse-at-once")


def ruled(seq: int) -> dict[str, Any]:
    refused = entry(seq, "received", "POST", TRANSACTION, "pispa", "dfspa", 400, error="x")
    return refused | {"at": "2030-01-01T00:00:00+00:00", "rule": "refuse-at-once"}


def test_a_rules_refusal_does_not_break_the_pisp_off() -> None:
    assert broken_off(ruled(1), "pispa") is None
    # The same refusal by the edge itself (no rule) is the PISP's.
    edge = ruled(1) | {"rule": None}
    assert broken_off(edge, "pispa") == f"pispa's #1 POST {TRANSACTION} was refused (400)"
    assert [v.rule for v in violations([edge], "pispa", KINDS, None)] == ["accepted by the switch"]


CONSENT = "/consents/8e34f91d-d078-4077-8263-2c047876fcf6"


def callback(status: int | None, path: str = CONSENT) -> dict[str, Any]:
    return entry(9, "sent", "PUT", path, "dfspa", "pispa", status)


def test_every_answer_the_openapi_allows_to_a_callback_passes() -> None:
    # PUT /consents/{ID}: the OpenAPI lists 200 and 202 (tpsim's DFSP sends it to the PISP
    # as the answer to GET /consents/{ID}).
    assert violations([callback(200)], "pispa", KINDS, None) == []
    assert violations([callback(202)], "pispa", KINDS, None) == []
    (wrong,) = violations([callback(201)], "pispa", KINDS, None)
    assert wrong.message == "answered 201; the API requires 200 or 202"
    # A callback with one allowed status still requires exactly it.
    (one,) = violations([callback(202, f"{TRANSACTION}/1")], "pispa", KINDS, None)
    assert one.message == "answered 202; the API requires 200"


MOVED = """\
name: tpsim's clock is moved an hour ahead before the PISP sends anything
pisp: {endpoint: "${env.PISP_URL}", api: "${env.PISP_URL}"}
steps:
  - advance_clock: {hours: 1}
  - trigger:
      path: /transfer
      body: {switch: "${tpsim_url}"}
    expect: {status: 200, body: {switch: 202}}
  - wait:
    expect:
      within: 2s
      messages:
        - method: POST
          path: /thirdpartyRequests/transactions
          from: pispa
          to: dfspa
          status: 202
"""


async def moved_clock_run(tmp_path: Path, openapi: OpenApiValidator, behaviour: str) -> Any:
    pisp = await ExternalPisp(behaviour).start()
    try:
        path = write(tmp_path, f"moved-{behaviour}.yaml", MOVED)
        options = RunOptions(env={"PISP_URL": pisp.url}, spec_dir=openapi.directory)
        (result,) = (await run([str(path)], options)).scenarios
    finally:
        await pisp.close()
    return result


async def test_a_pisp_on_real_time_conforms_after_the_scenario_moved_tpsims_clock(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    result = await moved_clock_run(tmp_path, openapi, "good")
    assert [v for v in result.violations if v.field == "Date"] == []
    assert result.outcome is Outcome.PASSED, result.failures


async def test_a_pisp_clock_far_from_real_time_is_still_a_violation_after_a_move(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    result = await moved_clock_run(tmp_path, openapi, "stale")  # an hour behind real time
    (date,) = [v for v in result.violations if v.field == "Date"]
    assert "is 360" in date.message
    assert "tpsim's clock had been moved 3600 s ahead" in date.message
    assert result.outcome is Outcome.FAILED
