"""What ``tpsim serve`` says while it runs (issue 16): one concise line per message at info
level (what happened, method, path, source → destination, status, milliseconds) for every
FSPIOP hop and every PSD2 request; an edge refusal with its code and what to fix; a
participant that cannot be reached named with its address and why, in plain words; nothing
formatted when the level is off; JSON throughout with ``--log-json``, aiohttp's access log
included.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import sys
import uuid
from typing import Any

import aiohttp
import pytest

from tests.serve.test_metrics import unreachable_pisp
from tests.serve.test_xs2a import PAYMENTS, Tpp, payment
from tests.support.flows import TX, complete_transfer
from tests.support.scheme import Scheme, transaction_request
from tpsim.journal import Hop
from tpsim.serve import traffic

MS = r"\d+\.\d\d ms"


def lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "tpsim.traffic" and r.levelno == level
    ]


@pytest.fixture
def traffic_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="tpsim.traffic")
    return caplog


async def test_every_hop_of_a_transfer_is_one_line(
    scheme: Scheme, traffic_log: pytest.LogCaptureFixture
) -> None:
    request_id = str(uuid.uuid4())
    await complete_transfer(scheme, request_id)
    await scheme.settle()

    said = lines(traffic_log)
    assert scheme.sim is not None
    hops = [e for e in scheme.sim.journal.entries() if e.hop is not Hop.OUT_OF_BAND]
    assert len(said) == len(hops)
    expected = [
        rf"received: POST {TX} pispa → dfspa 202 {MS}",
        rf"delivered: POST {TX} pispa → dfspa 202 {MS}",
        rf"sent: PUT {TX}/{request_id} dfspa → pispa 200 {MS}",
        rf"delivered: POST /quotes dfspa → dfspb 202 {MS}",
        rf"sent: PATCH {TX}/{request_id} dfspa → pispa 200 {MS}",
    ]
    for pattern in expected:
        assert any(re.fullmatch(pattern, line) for line in said), (pattern, said)


async def test_an_edge_refusal_is_said_with_its_code_and_what_to_fix(
    scheme: Scheme, traffic_log: pytest.LogCaptureFixture
) -> None:
    body = transaction_request(str(uuid.uuid4()))
    sent = await scheme.pisp.send("POST", TX, body, destination="dfspa", headers={"Date": None})
    assert sent.status == 400

    assert lines(traffic_log) == [
        f"refused: POST {TX} pispa → dfspa 400 3102 Date: the Date header is required"
    ]


async def test_a_participant_that_cannot_be_reached_is_said_plainly(
    scheme: Scheme, traffic_log: pytest.LogCaptureFixture
) -> None:
    endpoint = await unreachable_pisp(scheme)
    await scheme.pisp.send("GET", "/parties/MSISDN/16135551212")
    await scheme.settle()

    [warning] = lines(traffic_log, logging.WARNING)
    assert re.fullmatch(
        rf"unreachable: PUT /parties/MSISDN/16135551212 \w+ → pispa: pispa at {endpoint}"
        r" could not be reached: connection refused",
        warning,
    ), warning
    everything = " ".join(r.getMessage() for r in traffic_log.records)
    assert "no error callback applies" not in everything


async def test_every_psd2_request_is_one_line_and_a_refusal_says_why(
    scheme: Scheme, traffic_log: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as http:
        tpp = Tpp(scheme, http)
        status, _, _ = await tpp.call(
            "POST", PAYMENTS, payment(), TPP_Redirect_URI="http://localhost:8000/cb/ok"
        )
        assert status == 201
        status, refused, _ = await tpp.call("POST", PAYMENTS, {"instructedAmount": "lots"})
        assert status == 400

    created, refusal = lines(traffic_log)
    assert re.fullmatch(rf"xs2a: POST {PAYMENTS} \S+ → dfspa 201 {MS}", created), created
    said = f"{refused['tppMessages'][0]['code']} {refused['tppMessages'][0]['text']}"
    pattern = rf"xs2a: POST {PAYMENTS} \S+ → dfspa 400 {MS} {re.escape(said)}"
    assert re.fullmatch(pattern, refusal), refusal


async def test_nothing_is_formatted_when_the_level_is_off(
    scheme: Scheme, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="tpsim.traffic")

    def formatted(seen: traffic.Seen) -> str:
        raise AssertionError(f"a line was formatted for {seen.entry.path}")

    monkeypatch.setattr(traffic, "line", formatted)
    await complete_transfer(scheme, str(uuid.uuid4()))
    await scheme.settle()
    assert lines(caplog) == []


# -- --log-json: the served process's stderr -------------------------------------------------


async def read_json_line(stream: asyncio.StreamReader) -> dict[str, Any]:
    line = await asyncio.wait_for(stream.readline(), timeout=30)
    assert line, "tpsim serve ended before writing the line"
    parsed: dict[str, Any] = json.loads(line)  # every line is JSON, or this fails
    return parsed


async def test_log_json_makes_the_access_log_and_the_message_lines_json() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tpsim",
        "serve",
        "--log-json",
        "--access-log",
        "--port",
        "0",
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        started = await read_json_line(process.stderr)
        assert started["event"] == "tpsim is serving"
        async with (
            aiohttp.ClientSession() as http,
            http.post(started["url"] + TX, data=b"{}") as refused,
        ):
            assert refused.status == 400
        records = [await read_json_line(process.stderr) for _ in range(2)]
    finally:
        process.send_signal(signal.SIGTERM)
        await process.communicate()
    assert process.returncode == 0

    by_logger = {record["logger"]: record for record in records}
    access = by_logger["aiohttp.access"]
    assert access["level"] == "info"
    assert access["first_request_line"] == f"POST {TX} HTTP/1.1"
    assert access["response_status"] == 400
    assert "timestamp" in access
    message = by_logger["tpsim.traffic"]
    # aiohttp sent the bytes as application/octet-stream: the Content-Type is refused first.
    assert message["error"].startswith("Content-Type: must be application/vnd.interoperability")
    assert message["event"] == f"refused: POST {TX} ? → ? 400 3100 {message['error']}"
    assert (message["hop"], message["method"], message["path"]) == ("received", "POST", TX)
    assert (message["status"], message["code"], message["dialect"]) == (400, "3100", "mojaloop")
    assert isinstance(message["ms"], float)
