"""``trigger`` calls the own API of the participant under test: whatever that API answers
is judged by the step's expectations, never a crash of tpsim's runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.scenarios import write
from tpsim.scenario.results import FailureKind, Outcome
from tpsim.scenario.runner import RunOptions, run

SCENARIO = """\
name: the PISP's own API answers oddly
pisp: {endpoint: "${env.PISP_URL}", api: "${env.PISP_URL}"}
steps:
  - trigger: {path: /PATH}
    expect: {status: 200, body: {started: true}}
"""
ANSWERS = {
    # Bytes that are no UTF-8, though the answer says it is.
    "/latin": (
        b'{"started": true, "name": "Z\\u00fcrich \xfc"}',
        "application/json; charset=utf-8",
    ),
    # JSON nested deeper than Python's parser goes.
    "/deep": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
}


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        body, content_type = ANSWERS[request.path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.mark.parametrize("path", sorted(ANSWERS))
async def test_an_odd_answer_of_the_pisps_api_is_judged_not_a_crash(
    tmp_path: Path, api: str, path: str
) -> None:
    scenario = write(tmp_path, "odd.yaml", SCENARIO.replace("/PATH", path))
    (result,) = (await run([str(scenario)], RunOptions(env={"PISP_URL": api}))).scenarios
    kinds = {f.kind for f in result.failures}
    assert FailureKind.ERROR not in kinds, result.failures
    if path == "/latin":  # the body is read, the stray byte replaced
        assert result.outcome is Outcome.PASSED, result.failures
    else:  # read as text, which is not the mapping expected
        assert kinds == {FailureKind.ASSERTION}
