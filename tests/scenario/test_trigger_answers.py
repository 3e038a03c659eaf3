"""``trigger`` calls the own API of the participant under test: whatever that API answers
is judged by the step's expectations, never a crash of tpsim's runner."""

from __future__ import annotations

import asyncio
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


# Answers that never end, as a PISP under test might send them: megabytes as fast as the
# connection takes them, or a few bytes now and then. Each stops on its own after
# ``STREAM_CAP`` chunks, so a runner that reads without bound still ends.
STREAM_CAP = 100
STREAMS = {
    "/endless": (b'{"started": true, "padding": "' + b"x" * (1 << 20), 0.0),
    "/trickle": (b" ", 0.05),
}
TRICKLE_SCENARIO = """\
name: the PISP's own API never finishes its answer
pisp: {endpoint: "${env.PISP_URL}", api: "${env.PISP_URL}"}
steps:
  - trigger: {path: /PATH}
    expect: {status: 200, body: {started: true}, within: 500ms}
"""


@pytest.fixture
async def streaming_api() -> AsyncIterator[str]:
    async def stream(request: web.Request) -> web.StreamResponse:
        chunk, pause = STREAMS[request.path]
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for _ in range(STREAM_CAP):
                await response.write(chunk)
                await asyncio.sleep(pause)
        except ConnectionError:  # the runner hung up: what it should do
            pass
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stream)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/endless", "more than 1 MiB: read that much of it, and no more"),
        ("/trickle", "no whole answer within the step's 0.5 s"),
    ],
)
async def test_a_pisp_api_answer_without_end_fails_the_step_it_does_not_hang_the_runner(
    tmp_path: Path, streaming_api: str, path: str, said: str
) -> None:
    scenario = write(tmp_path, "endless.yaml", TRICKLE_SCENARIO.replace("/PATH", path))
    run_options = RunOptions(env={"PISP_URL": streaming_api})
    (result,) = (await run([str(scenario)], run_options)).scenarios
    assert result.outcome is Outcome.FAILED, result.failures
    (failure,) = result.failures
    assert failure.kind is FailureKind.ASSERTION and failure.step is not None
    assert said in failure.message
    if path == "/endless":  # an excerpt of what was read, to see what the API sent
        assert failure.actual is not None and failure.actual.startswith('{"started": true')
        assert len(failure.actual) < 1000
