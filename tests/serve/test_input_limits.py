"""No client input makes tpsim answer 500 or in another format than FSPIOP's: bodies nested
too deep or carrying numbers too long, bodies aiohttp cannot read, ``Expect`` and ``Date``
headers it used to crash on or answer in plain text (issue 11); and under ``--log-json``
aiohttp's own logs are JSON lines too.

Each row is one request a careless or hostile client might send, with the status, the
``errorCode`` and the text its ``errorInformation`` must name. None of them is routed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.support.flows import TX
from tests.support.scheme import Scheme, transaction_request
from tpsim.mojaloop.errors import MalformedSyntax
from tpsim.mojaloop.wire.headers import format_http_date
from tpsim.mojaloop.wire.validation import MAX_JSON_DEPTH, MAX_NUMBER_CHARS, decode_body

REQUEST_ID = "5a0c3f1e-9d2b-4e7a-8c6f-1b2d3e4f5a6b"
THIRDPARTY = "application/vnd.interoperability.thirdparty+json;version=1.0"


def with_extra(value: str) -> bytes:
    """A valid transaction request with ``value`` (raw JSON) in an extra member: the body is
    open (additionalProperties), so only the edge's own limits can refuse it."""
    text = json.dumps(dict(transaction_request(REQUEST_ID), zz="X"))
    return text.replace('"X"', value).encode()


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# fmt: off
# (case, raw body, header overrides, status, code, text the description must contain)
REFUSED: list[tuple[str, bytes, dict[str, str | None], int, str, str]] = [
    ("nested one level too deep", with_extra(nested(MAX_JSON_DEPTH)), {}, 400, "3101",
     f"more than {MAX_JSON_DEPTH} levels"),
    ("nested 1,000 deep", with_extra(nested(1_000)), {}, 400, "3101", "levels deep"),
    ("nested 100,000 deep", with_extra(nested(100_000)), {}, 400, "3101", "levels deep"),
    ("an integer of 5,000 digits", with_extra("1" * 5_000), {}, 400, "3101",
     f"at most {MAX_NUMBER_CHARS}"),
    ("a float of 5,000 digits", with_extra("0." + "1" * 4_998), {}, 400, "3101",
     f"at most {MAX_NUMBER_CHARS}"),
    ("NaN", with_extra("NaN"), {}, 400, "3101", "NaN is not a JSON number"),
    ("a number beyond a double", with_extra("1e999999"), {}, 400, "3101",
     "beyond what a double holds"),
    ("a gzip body that is not gzip", with_extra("1"), {"Content-Encoding": "gzip"}, 400, "3101",
     "could not be read"),
    ("a Date without a zone", with_extra("1"), {"Date": "Thu, 24 Jan 2019 10:23:12"}, 400,
     "3100", "no time zone"),
    ("a Date in year 0000", with_extra("1"), {"Date": "Sat, 01 Jan 0000 10:23:12 GMT"}, 400,
     "3100", "four-digit year"),
    ("a Date past the last datetime", with_extra("1"),
     {"Date": "Fri, 31 Dec 9999 23:59:59 -2359"}, 400, "3100", "out of range"),
    ("an unknown expectation", with_extra("1"), {"Expect": "coffee"}, 400, "3100",
     "Expect: only 100-continue"),
]
# fmt: on


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code", "text"), [pytest.param(*r[1:], id=r[0]) for r in REFUSED]
)
async def test_hostile_input_is_refused_with_a_code_never_a_500(
    scheme: Scheme, raw: bytes, headers: dict[str, str | None], status: int, code: str, text: str
) -> None:
    sent = await scheme.pisp.send("POST", TX, raw=raw, headers=headers, destination="dfspa")
    assert sent.status == status, sent.body
    assert sent.body is not None
    info = sent.body["errorInformation"]
    assert info["errorCode"] == code
    assert text in info["errorDescription"]
    await scheme.settle()
    assert scheme.pisp.received == []  # never routed


@pytest.mark.parametrize(
    "extra",
    [nested(MAX_JSON_DEPTH - 1), "9" * MAX_NUMBER_CHARS, "-1.5e-300", "[]"],
    ids=["nested to the limit", "a number of the longest length", "a float", "shallow"],
)
async def test_bodies_within_the_limits_are_accepted(scheme: Scheme, extra: str) -> None:
    # The body itself is the first level: with the extra member's arrays, exactly the limit.
    sent = await scheme.pisp.send("POST", TX, raw=with_extra(extra), destination="dfspa")
    assert sent.status == 202, sent.body


async def test_expect_100_continue_still_gets_its_continue(scheme: Scheme) -> None:
    headers = {
        "Content-Type": THIRDPARTY,
        "Accept": THIRDPARTY,
        "Date": format_http_date(datetime.now(UTC)),
        "FSPIOP-Source": "pispa",
        "FSPIOP-Destination": "dfspa",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{scheme.url}{TX}", data=with_extra("1"), headers=headers, expect100=True
        ) as response,
    ):
        assert response.status == 202, await response.text()


# --- decode_body, without sockets -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b'{"a": ' + nested(MAX_JSON_DEPTH).encode() + b"}", "levels deep"),
        (b'{"a": -' + b"1" * MAX_NUMBER_CHARS + b"}", "101 characters"),
        (b'{"a": Infinity}', "Infinity is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1', "not valid JSON"),
        (b'"just a string"', "must be a JSON object"),
        (b'{"a": "\xff"}', "not valid JSON"),
    ],
)
def test_decode_body_refuses_with_malformed_syntax(raw: bytes, text: str) -> None:
    with pytest.raises(MalformedSyntax) as refused:
        decode_body(raw)
    assert refused.value.code == "3101"
    assert text in refused.value.detail


def test_decode_body_counts_only_real_nesting() -> None:
    """Brackets inside strings are not nesting; many shallow containers are not deep."""
    strings = {"a": "[" * 1_000, "b": "{" * 1_000}
    wide = {"items": [{"x": [1, 2]} for _ in range(500)]}
    assert decode_body(json.dumps(strings).encode()) == strings
    assert decode_body(json.dumps(wide).encode()) == wide
    assert decode_body('{"utf-16": 1}'.encode("utf-16")) == {"utf-16": 1}


# --- aiohttp's logs under --log-json --------------------------------------------------------

LOG_BOTH = """
import logging
from tpsim.logging import configure_logging
import structlog
configure_logging(json_logs=True)
logging.getLogger("aiohttp.access").info('127.0.0.1 "GET /health HTTP/1.1" 200')
try:
    raise ValueError("bad request line")
except ValueError:
    logging.getLogger("aiohttp.server").exception("Error handling request")
structlog.get_logger("tpsim.edge").info("own event", path="/x")
"""


async def test_log_json_renders_aiohttp_logs_as_json_lines() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOG_BOTH, stderr=subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    lines: list[dict[str, Any]] = [json.loads(line) for line in stderr.decode().splitlines()]
    access, error, own = lines
    assert access["logger"] == "aiohttp.access" and access["level"] == "info"
    assert access["event"] == '127.0.0.1 "GET /health HTTP/1.1" 200'
    assert error["logger"] == "aiohttp.server" and error["level"] == "error"
    assert "ValueError: bad request line" in error["exception"]
    assert own["event"] == "own event" and own["path"] == "/x"
    assert all("timestamp" in line for line in lines)
