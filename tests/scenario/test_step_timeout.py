"""``tpsim run --timeout`` bounds every request the runner sends, not only its admin calls:
a ``--server`` that takes the admin API but accepts a step's request and never answers
fails that step within the timeout, naming the request (issue: the built-in PISP and TPPs
waited aiohttp's five minutes). Against a real tpsim served on 127.0.0.1 whose edge, but
not its admin API, is made to hold every request unanswered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.pisp import TestPisp
from tests.support.scenarios import write
from tpsim.config import load_config
from tpsim.scenario.results import FailureKind, Outcome
from tpsim.scenario.runner import RunOptions, run
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def mute_edge() -> AsyncIterator[str]:
    """A tpsim whose admin API answers and whose every other path accepts the request and
    never answers (until the test is over): its URL."""
    over = asyncio.Event()

    @web.middleware
    async def mute(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/admin"):
            await over.wait()
        return await handler(request)

    app = create_app(Simulation(load_config()))
    app.middlewares.insert(0, mute)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        over.set()
        await server.close()


MOJALOOP = """\
name: the built-in PISP's lookup
steps:
  - send: {method: GET, path: /parties/MSISDN/16135551212}
    expect: {status: 202}
"""

XS2A = """\
name: the built-in TPP's payment
steps:
  - xs2a.initiate: {approach: redirect, amount: "12.50"}
    expect: {status: 201}
"""


@pytest.mark.parametrize(
    ("text", "path"),
    [(MOJALOOP, "/parties/MSISDN/16135551212"), (XS2A, "/xs2a/")],
    ids=["pisp", "tpp"],
)
async def test_a_step_whose_request_the_server_never_answers_fails_within_the_timeout(
    tmp_path: Path, text: str, path: str
) -> None:
    scenario = write(tmp_path, "step.yaml", text)
    async with mute_edge() as url:
        started = time.perf_counter()
        async with asyncio.timeout(30):  # before the fix: aiohttp's five minutes
            result = await run([str(scenario)], RunOptions(server=url, timeout=0.5))
        took = time.perf_counter() - started
    (scenario_result,) = result.scenarios
    (step,) = scenario_result.steps
    assert step.outcome is Outcome.ERROR, step.failures
    (failure,) = step.failures
    assert failure.kind is FailureKind.ERROR
    assert failure.message.endswith(": no answer within 0.5 s"), failure.message
    assert f"{url}{path}" in failure.message, failure.message
    assert "Traceback" not in failure.message
    assert took < 20  # one wait of 0.5 s (generous: a loaded machine)


SILENT_DFSP = """\
name: a party whose external DFSP never calls back
config:
  participants:
    - {fsp_id: pispa, kind: pisp, endpoint: "http://127.0.0.1:5000"}
    - {fsp_id: dfspa, kind: dfsp, simulated: true}
    - {fsp_id: dfspb, kind: dfsp, simulated: true}
    - {fsp_id: dfspx, kind: dfsp, endpoint: "%s"}
    - {fsp_id: central-auth, kind: auth-service, simulated: true}
  parties: [{party_identifier: "15550001", fsp_id: dfspx}]
  behaviour: {sdk_lookup_timeout_s: 1}
steps:
  - sdk_lookup: {fsp: pispa, type: MSISDN, id: "15550001"}
    expect:
      status: 500
      body: {statusCode: "500"}
"""


async def test_an_sdk_lookup_waits_for_the_adapters_own_timeout_not_only_the_timeout(
    tmp_path: Path,
) -> None:
    """``--timeout`` (here 0.3 s) shorter than ``behaviour.sdk_lookup_timeout_s`` (1 s): the
    step still gets the stand-in adapter's 500 saying no callback came, as the reference
    PISP would, rather than a request timed out before the adapter could answer."""
    silent = TestPisp(fsp_id="dfspx")  # takes GET /parties (202), never calls back
    url = await silent.start()
    try:
        scenario = write(tmp_path, "lookup.yaml", SILENT_DFSP % url)
        result = await run([str(scenario)], RunOptions(timeout=0.3, jobs=1))
    finally:
        await silent.close()
    (scenario_result,) = result.scenarios
    (step,) = scenario_result.steps
    assert step.outcome is Outcome.PASSED, step.failures
