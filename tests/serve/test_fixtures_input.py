"""``PUT /admin/fixtures`` refuses any body it cannot use with a coded 4xx that says why,
never a 500 (issue 11): not UTF-8, not YAML, nested too deep, too large, or a participant
endpoint tpsim must not call (the switch would send requests there and reflect answers)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml

from tests.support.flows import complete_transfer
from tests.support.scheme import Scheme, default_config_data
from tpsim.config_yaml import MAX_YAML_DEPTH
from tpsim.serve.admin import MAX_FIXTURES_BYTES

REQUEST_ID = "b51ec534-ee48-4575-b6a9-ead2955b8069"


async def put_fixtures(scheme: Scheme, data: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"{scheme.url}/admin/fixtures", data=_payload(data)) as response,
    ):
        return response.status, await response.json()


def _payload(data: Any) -> Any:
    # Large bytes are sent from a stream, as aiohttp asks.
    return io.BytesIO(data) if isinstance(data, bytes) else data


def nested(depth: int) -> str:
    """A config whose ``hub`` value is a list nested ``depth`` levels deep."""
    return "hub: " + "[" * depth + "]" * depth


# (case, body, status, code, words the message must contain)
# fmt: off
REFUSED: list[tuple[str, bytes, int, str, str]] = [
    ("Latin-1 text", "hub: {name: caf\xe9}".encode("latin-1"), 400, "FIXTURES_NOT_UTF8",
     "not UTF-8"),
    ("random bytes", bytes(range(128, 256)), 400, "FIXTURES_NOT_UTF8", "byte 0x80 at offset 0"),
    ("YAML nested 300 deep", nested(300).encode(), 400, "FIXTURES_TOO_DEEP",
     f"nested more than {MAX_YAML_DEPTH} levels"),
    ("JSON nested 300 deep", json.dumps({"hub": json.loads(nested(300)[5:])}).encode(), 400,
     "FIXTURES_TOO_DEEP", "nested more than"),
    ("not YAML", b"hub: [unclosed", 400, "FIXTURES_NOT_YAML", "not valid YAML"),
    ("not a mapping", b"[1, 2]", 400, "FIXTURES_INVALID", "must be a YAML mapping"),
    ("an FspId that changes the paths it goes into", b"hub: {name: 'switch%2F..'}", 400,
     "FIXTURES_INVALID", "hub.name (line 1): 'switch%2F..' is not an FspId"),
    ("over the size limit", b"#" * (MAX_FIXTURES_BYTES + 1), 413, "FIXTURES_TOO_LARGE",
     f"at most {MAX_FIXTURES_BYTES} bytes"),
]
# fmt: on


@pytest.mark.parametrize(
    ("body", "status", "code", "words"), [pytest.param(*row[1:], id=row[0]) for row in REFUSED]
)
async def test_unusable_fixtures_are_a_coded_refusal_not_a_500(
    scheme: Scheme, body: bytes, status: int, code: str, words: str
) -> None:
    answer = await put_fixtures(scheme, body)

    assert answer[0] == status
    assert answer[1]["code"] == code
    assert words in answer[1]["error"]
    assert "Traceback" not in answer[1]["error"]
    # The scheme in force is untouched: a transfer still completes.
    await complete_transfer(scheme, REQUEST_ID)


async def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all(
    scheme: Scheme,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_FIXTURES_BYTES // 65_536 + 2):
            yield b"#" * 65_536

    status, body = await put_fixtures(scheme, chunks())
    assert (status, body["code"]) == (413, "FIXTURES_TOO_LARGE")


async def test_nesting_up_to_the_limit_is_read(scheme: Scheme) -> None:
    # A deep but legal value reaches the config's own validation, which names the key.
    status, body = await put_fixtures(scheme, nested(MAX_YAML_DEPTH - 1).encode())
    assert (status, body["code"]) == (400, "FIXTURES_INVALID")
    assert "hub" in body["error"]


# An endpoint is where the switch sends a participant's messages, and an error answer from
# it is reported back to the sender: tpsim must only ever call a plain http(s) base URL.
# fmt: off
FORBIDDEN_ENDPOINTS = [
    ("file URL", "file:///etc/passwd", "http:// or https://"),
    ("gopher URL", "gopher://127.0.0.1:6379/_INFO", "http:// or https://"),
    ("no host", "http:///admin", "needs a host"),
    ("user info", "http://admin:secret@127.0.0.1:8080/", "user name or password"),
    ("query string", "http://127.0.0.1:8080/?next=/admin", "query string"),
    ("fragment", "http://127.0.0.1:8080/#top", "fragment"),
    ("bad port", "http://127.0.0.1:99999/", "port"),
    ("whitespace", "http://127.0.0.1:8080/a b", "spaces or control characters"),
]
# fmt: on


@pytest.mark.parametrize(
    ("endpoint", "words"), [pytest.param(*row[1:], id=row[0]) for row in FORBIDDEN_ENDPOINTS]
)
async def test_fixtures_cannot_point_a_participant_anywhere_but_an_http_base_url(
    scheme: Scheme, endpoint: str, words: str
) -> None:
    data = default_config_data()
    data["participants"][0]["endpoint"] = endpoint

    status, body = await put_fixtures(scheme, yaml.safe_dump(data))

    assert (status, body["code"]) == (400, "FIXTURES_INVALID")
    assert "participants.0.endpoint (line " in body["error"]  # which line of the body
    assert words in body["error"]


async def test_fixtures_cannot_bring_a_rule_pattern_that_backtracks_for_minutes(
    scheme: Scheme,
) -> None:
    # The rule would run on the server's one event loop against the values clients send.
    data = default_config_data()
    when = {"method": "PUT", "body.consentRequestId": "re:(a+)+$"}
    data["rules"] = [{"name": "stall", "when": when, "then": {"delay_s": 1}}]

    status, body = await put_fixtures(scheme, yaml.safe_dump(data))

    assert (status, body["code"]) == (400, "FIXTURES_INVALID")
    assert "rules.0.when.body.consentRequestId (line " in body["error"]
    assert "'re:(a+)+$' repeats a group that holds a repeat" in body["error"]
    assert "e.g. 're:a+'" in body["error"]
    await complete_transfer(scheme, REQUEST_ID)  # the scheme in force is untouched
