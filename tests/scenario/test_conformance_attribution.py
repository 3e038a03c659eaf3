"""Whose message it is, in conformance mode: what the PISP under test sent is its own
whatever its ``FSPIOP-Source`` says, what the scenario itself sends (``send`` steps) is
never the PISP's, and a ``trigger`` that cannot reach the PISP fails its step."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from tests.scenario.test_conformance import SCENARIO
from tests.support.external_pisp import ExternalPisp
from tests.support.scenarios import write
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario.attribution import SCENARIO as SCENARIO_SENDER
from tpsim.scenario.attribution import SENT_BY, sent_by
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run

# The PISP's transaction request is refused at the edge, so nothing follows it: the wait
# must end at that refusal, long before its deadline.
PATIENT = SCENARIO.replace("within: 2s", "within: 20s")


async def _run(
    tmp_path: Path, openapi: OpenApiValidator, text: str, env: dict[str, str]
) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    options = RunOptions(env=env, spec_dir=openapi.directory)
    (result,) = (await run([str(path)], options)).scenarios
    return result


async def _against(
    tmp_path: Path, openapi: OpenApiValidator, pisp: ExternalPisp, text: str = PATIENT
) -> ScenarioResult:
    await pisp.start()
    try:
        return await _run(tmp_path, openapi, text, {"PISP_URL": pisp.url})
    finally:
        await pisp.close()


def _source_violations(result: ScenarioResult) -> list[str]:
    return [v.message for v in result.violations if v.field == "FSPIOP-Source"]


async def test_a_misspelled_fspiop_source_is_a_violation_of_the_pisp_at_once(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    result = await _against(tmp_path, openapi, ExternalPisp(fsp_id="pispx"))
    assert _source_violations(result) == ["'pispx', expected 'pispa'"]
    assert result.outcome is Outcome.FAILED
    assert result.failures[0].kind is FailureKind.CONFORMANCE
    waited = result.steps[1]
    assert waited.outcome is Outcome.FAILED
    assert waited.duration_s < 10, "the wait must end at the refusal, not at its deadline"


async def test_a_missing_fspiop_source_is_a_violation_of_the_pisp_at_once(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    result = await _against(tmp_path, openapi, ExternalPisp("nameless"))
    assert _source_violations(result) == ["missing, expected 'pispa'"]
    assert result.outcome is Outcome.FAILED
    assert result.steps[1].duration_s < 10


SENT_BY_THE_SCENARIO = """\
name: a negative test the scenario sends as the PISP is not the PISP's
pisp: {endpoint: "${env.PISP_URL}"}
steps:
  - send:
      method: POST
      path: /thirdpartyRequests/transactions
      destination: dfspa
      body: {transactionRequestId: not-a-uuid}
    expect: {status: 400}
  - send:
      method: GET
      path: /parties/MSISDN/123
      headers: {FSPIOP-Source: nobody}
    expect: {status: 400}
"""


async def test_what_a_send_step_sends_is_never_judged_as_the_pisps(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    result = await _against(tmp_path, openapi, ExternalPisp(), SENT_BY_THE_SCENARIO)
    assert result.violations == []
    assert result.outcome is Outcome.PASSED, result.failures
    assert [e["status"] for e in result.journal if e["hop"] == "received"] == [400, 400]


UNREACHABLE = """\
name: the PISP's own API cannot be reached
pisp: {endpoint: "${env.PISP_URL}", api: "${env.API_URL}"}
steps:
  - trigger:
      path: /transfer
      body: {switch: "${tpsim_url}"}
    expect: {status: 200}
  - wait:
    expect:
      within: 1s
      messages:
        - {method: POST, path: /thirdpartyRequests/authorizations}
"""


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_trigger_that_cannot_reach_the_pisp_fails_its_step(
    tmp_path: Path, openapi: OpenApiValidator
) -> None:
    pisp = await ExternalPisp().start()
    api = f"http://127.0.0.1:{_closed_port()}"
    try:
        env = {"PISP_URL": pisp.url, "API_URL": api}
        result = await _run(tmp_path, openapi, UNREACHABLE, env)
    finally:
        await pisp.close()
    assert result.outcome is Outcome.FAILED, result.failures
    trigger, wait = result.steps
    assert trigger.outcome is Outcome.FAILED
    (failure,) = trigger.failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.message.startswith(f"trigger: could not reach {api}/transfer: ")
    assert wait.outcome is Outcome.SKIPPED


def _received(source: str | None, **headers: str) -> dict[str, Any]:
    sent = {"FSPIOP-Source": source} if source is not None else {}
    return {"seq": 1, "hop": "received", "source": source or "", "headers": sent | headers}


def test_a_request_naming_another_external_participant_is_theirs() -> None:
    others = frozenset({"pispb"})
    assert not sent_by(_received("pispb"), "pispa", others)
    assert sent_by(_received("pisp-a"), "pispa", others)
    assert sent_by(_received(None), "pispa", others)
    assert sent_by(_received("dfspa"), "pispa", others)  # tpsim plays it: nobody outside may
    # Without the others known, only its own fspId makes a request the PISP's.
    assert not sent_by(_received("pisp-a"), "pispa")


def test_what_the_scenario_runner_sent_is_never_the_pisps() -> None:
    marked = _received("pispa", **{SENT_BY: SCENARIO_SENDER})
    assert not sent_by(marked, "pispa", frozenset())
    assert sent_by(_received("pispa"), "pispa")
