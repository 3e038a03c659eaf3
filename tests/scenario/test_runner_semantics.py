"""The runner's semantics a CI pipeline relies on: what a scenario sends is what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.scenarios import write
from tpsim.errors import ScenarioError
from tpsim.scenario.results import Outcome
from tpsim.scenario.runner import RunOptions, run


async def test_a_step_parameter_is_resolved_once_never_again_in_what_it_wrote(
    tmp_path: Path,
) -> None:
    # `$${` is a literal `${`, and what a reference wrote into a parameter is text: neither
    # may be read again as a reference (an environment variable sent to the receiver).
    received: list[Any] = []

    async def echo(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", echo)
    async with TestServer(app, host="127.0.0.1") as server:
        path = write(
            tmp_path,
            "literal.yaml",
            f"""\
            name: literals stay literal
            steps:
              - trigger:
                  url: "{server.make_url("/hook")}"
                  body: {{literal: "$${{env.TPSIM_SECRET}}", inside: "is $${{uuid}}"}}
                expect: {{status: 200}}
            """,
        )
        result = await run([str(path)], RunOptions(env={"TPSIM_SECRET": "hunter2"}))
    (scenario,) = result.scenarios
    assert scenario.outcome is Outcome.PASSED, scenario.failures
    assert received == [{"literal": "${env.TPSIM_SECRET}", "inside": "is ${uuid}"}]


@pytest.mark.parametrize(
    ("expect", "named"),
    [
        ("{status: 500}", "expect.status"),
        ('{error: "3100"}', "expect.error"),
        ("{answered_within: 1ms}", "expect.answered_within"),
    ],
)
async def test_expecting_an_answer_of_a_step_that_sends_nothing_cannot_pass(
    tmp_path: Path, expect: str, named: str
) -> None:
    path = write(
        tmp_path,
        "wait.yaml",
        f"name: waits\nsteps:\n  - wait: {{for: 10ms}}\n    expect: {expect}\n",
    )
    result = await run([str(path)], RunOptions())
    (scenario,) = result.scenarios
    assert scenario.outcome is Outcome.ERROR
    (failure,) = scenario.failures
    assert failure.message.startswith(f"{named}: this step sends nothing")


async def test_balances_expected_of_a_step_that_reads_none_is_refused(tmp_path: Path) -> None:
    # Only check_balances reads balances: elsewhere `expect.balances` would pass unread.
    path = write(
        tmp_path,
        "balances.yaml",
        """\
        name: balances after a wait
        steps:
          - wait: {for: 10ms}
            expect: {balances: {dfspa.alice.chequing: "12345"}}
        """,
    )
    with pytest.raises(ScenarioError) as raised:
        await run([str(path)], RunOptions())
    message = str(raised.value)
    assert message.startswith(f"{path}:4: steps[0].expect.balances: ")
    assert "check_balances" in message
