"""A wait ends as soon as its outcome is decided: when nothing more can arrive before the
deadline (an in-process tpsim with nobody outside it sending it anything, its deliveries
done and no timer due before the deadline), not when the deadline passes. What could
still arrive before the deadline is still waited for and seen.

The deadlines here are far longer than any machine needs, so a runner that waited them out
fails the bounds (``BOUND_S``), whatever the machine's speed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.scenarios import write
from tpsim.config import load_config
from tpsim.scenario.builtin_pisp import BuiltinPisp
from tpsim.scenario.harness import InProcessTpsim
from tpsim.scenario.quiet import WatchedClock
from tpsim.scenario.results import FailureKind, Outcome, ScenarioResult
from tpsim.scenario.runner import RunOptions, run

DEADLINE = "30s"
BOUND_S = 15  # half the deadline: reaching it means the runner waited the deadline out


async def run_one(tmp_path: Path, text: str) -> ScenarioResult:
    path = write(tmp_path, "scenario.yaml", text)
    (scenario,) = (await run([str(path)], RunOptions())).scenarios
    return scenario


async def test_an_absent_message_passes_as_soon_as_nothing_more_can_arrive(
    tmp_path: Path,
) -> None:
    text = f"""\
    name: the authorization request is sent once
    steps:
      - initiate_transfer:
        expect:
          within: {DEADLINE}
          messages:
            - POST /thirdpartyRequests/authorizations
            - method: POST
              path: /thirdpartyRequests/authorizations
              absent: true
    """
    result = await run_one(tmp_path, text)
    assert result.outcome is Outcome.PASSED, result.failures
    assert result.duration_s < BOUND_S


async def test_a_missing_message_fails_once_nothing_more_can_arrive_saying_why(
    tmp_path: Path,
) -> None:
    # Nobody approves: the payer DFSP waits 100 s for the authorization, past the deadline.
    text = f"""\
    name: waits for a PATCH that cannot come
    steps:
      - initiate_transfer:
        expect:
          within: {DEADLINE}
          messages:
            - PATCH /thirdpartyRequests/transactions/{{ID}}
    """
    (failure,) = (await run_one(tmp_path, text)).failures
    assert failure.kind is FailureKind.NOT_RECEIVED
    assert failure.waited_s is not None and failure.waited_s < BOUND_S
    assert failure.message.startswith(
        "PATCH /thirdpartyRequests/transactions/{ID} not received: stopped waiting after"
    )
    assert "nothing more could arrive within the 30 s allowed" in failure.message


TIMED_OUT = """\
name: a timer falls due before the deadline
config: {behaviour: {authorization_timeout_s: 1}}
steps:
  - initiate_transfer:
    expect:
      messages:
        - POST /thirdpartyRequests/authorizations
  - name: nobody answers the authorization request
    wait:
    expect:
      within: 5s
      messages:
        - method: PUT
          path: /thirdpartyRequests/transactions/${transfer}/error
          absent: ABSENT
"""


async def test_a_message_a_timer_sends_before_the_deadline_is_still_awaited(
    tmp_path: Path,
) -> None:
    result = await run_one(tmp_path, TIMED_OUT.replace("absent: ABSENT", "from: dfspa"))
    assert result.outcome is Outcome.PASSED, result.failures


async def test_a_message_a_timer_sends_before_the_deadline_still_breaks_an_absent_one(
    tmp_path: Path,
) -> None:
    (failure,) = (await run_one(tmp_path, TIMED_OUT.replace("ABSENT", "true"))).failures
    assert failure.kind is FailureKind.ASSERTION
    assert failure.message.endswith("/error arrived but must not")


# --- the pieces -----------------------------------------------------------------------


async def test_the_watched_clock_knows_its_soonest_timer_and_counts_those_fired() -> None:
    clock = WatchedClock()
    fired: list[str] = []
    later = clock.call_at(clock.now() + timedelta(seconds=60), lambda: fired.append("later"))
    soon = clock.now() + timedelta(milliseconds=10)
    clock.call_at(soon, lambda: fired.append("soon"))
    assert clock.next_due() == soon
    await asyncio.sleep(0.05)
    assert (fired, clock.fired) == (["soon"], 1)
    assert clock.next_due() is not None and clock.next_due() != soon
    later.cancel()
    assert clock.next_due() is None


@pytest.fixture
async def slow_pisp() -> AsyncIterator[str]:
    """A PISP that answers tpsim's callbacks after 0.3 s."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_tpsim_is_not_quiet_while_a_callback_is_in_flight(slow_pisp: str) -> None:
    config = load_config()
    participants = [
        p.model_copy(update={"endpoint": slow_pisp}) if p.fsp_id == "pispa" else p
        for p in config.participants
    ]
    config = config.model_copy(update={"participants": participants})
    async with aiohttp.ClientSession() as http:
        target = await InProcessTpsim(config, http).start()
        try:
            pisp = BuiltinPisp(http, tpsim_url=target.url)
            answer = await pisp.send("GET", "/accounts/alice", destination="dfspa")
            assert answer.status == 202
            loop = asyncio.get_running_loop()
            assert await target.quiet(loop.time() + 10)
            # The PUT /accounts/alice callback was answered (slowly) before tpsim fell quiet.
            (sent,) = [e for e in await target.entries() if e["hop"] == "sent"]
            assert (sent["method"], sent["status"]) == ("PUT", 200)
            assert sent["duration_ms"] >= 250
        finally:
            await target.close()
