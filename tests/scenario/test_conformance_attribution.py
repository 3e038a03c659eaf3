"""Whose message it is, in conformance mode: what the PISP under test sent is its own
whatever its ``FSPIOP-Source`` says, what the scenario itself sends (``send`` steps) is
never the PISP's, and a ``trigger`` that cannot reach the PISP fails its step."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.scenario.test_conformance import SCENARIO
from tests.support.external_pisp import ExternalPisp
from tests.support.loopback import serving
from tests.support.scenarios import write
from tpsim.config import load_config
from tpsim.mojaloop.wire.headers import build_headers
from tpsim.mojaloop.wire.openapi import OpenApiValidator
from tpsim.scenario.attribution import SCENARIO as SCENARIO_SENDER
from tpsim.scenario.attribution import SENT_BY, sent_by
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

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


# --- a --server others share -----------------------------------------------------------------

SHARED = """\
name: another client of the server sends while the PISP is tested
pisp: {endpoint: "${env.PISP_URL}"}
steps:
  - trigger:
      url: "${env.STRANGER_URL}/send"
      body: {switch: "${tpsim_url}"}
    expect: {status: 200}
  - wait: {for: 300ms}
"""
LOOKUP = "/parties/MSISDN/16135551212"


@asynccontextmanager
async def stranger(source: str | None, drop: str | None = None) -> AsyncIterator[str]:
    """Another client of tpsim, not the scenario's PISP: told ``POST /send {"switch": URL}``
    it looks a party up there as ``FSPIOP-Source`` ``source`` (None: without one; ``drop``:
    a header it leaves out), and answers 200 once tpsim has answered it. Its URL."""

    async def send(request: web.Request) -> web.Response:
        switch = (await request.json())["switch"]
        headers = build_headers("GET", "parties", source or "", None, datetime.now(UTC))
        for name in ("FSPIOP-Source" if source is None else None, drop):
            headers.pop(name or "", None)
        async with aiohttp.ClientSession() as http, http.get(switch + LOOKUP, headers=headers):
            pass
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/send", send)
    async with serving(app) as url:
        yield url


@asynccontextmanager
async def served() -> AsyncIterator[str]:
    """A running tpsim (``--server``), on 127.0.0.1: its URL."""
    async with serving(create_app(Simulation(load_config()))) as url:
        yield url


async def _shared(tmp_path: Path, stranger_url: str, server: str | None) -> ScenarioResult:
    pisp = await ExternalPisp().start()
    path = write(tmp_path, "shared.yaml", SHARED)
    try:
        env = {"PISP_URL": pisp.url, "STRANGER_URL": stranger_url}
        (result,) = (await run([str(path)], RunOptions(env=env, server=server))).scenarios
    finally:
        await pisp.close()
    return result


@pytest.mark.parametrize("source", ["pispz", None], ids=["misspelled", "missing"])
async def test_on_a_shared_server_a_request_naming_another_source_is_not_the_pisps(
    tmp_path: Path, source: str | None
) -> None:
    """A client of the ``--server`` the run does not know, refused for its source, failed
    the PISP under test, whose every message was right."""
    async with served() as url, stranger(source) as stranger_url:
        result = await _shared(tmp_path, stranger_url, url)
    refused = [e for e in result.journal if e["hop"] == "received" and e["path"] == LOOKUP]
    assert [e["status"] for e in refused] == [400]  # the stranger was refused, in the run
    assert result.violations == []
    assert result.outcome is Outcome.PASSED, result.failures


async def test_on_a_shared_server_a_request_naming_the_pisp_is_still_its(
    tmp_path: Path,
) -> None:
    """Whoever sent it, a request naming the PISP under test is judged as its own."""
    async with served() as url, stranger("pispa", drop="Date") as stranger_url:
        result = await _shared(tmp_path, stranger_url, url)
    (violation,) = result.violations
    assert violation.path == LOOKUP and "the Date header is required" in violation.message
    assert result.outcome is Outcome.FAILED


async def test_on_a_tpsim_of_its_own_a_request_naming_nobody_is_still_the_pisps(
    tmp_path: Path,
) -> None:
    """Without ``--server`` only the config's external participants can call tpsim: a
    request naming none of them is the PISP's, a misspelled fspId failing it at once."""
    async with stranger("pispz") as stranger_url:
        result = await _shared(tmp_path, stranger_url, None)
    assert _source_violations(result) == ["'pispz', expected 'pispa'"]
    assert result.outcome is Outcome.FAILED
