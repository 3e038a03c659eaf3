"""A body sent one byte at a time cannot hold a connection: every handler that reads a body
(the FSPIOP edge, the admin API, the PSU pages) gives up after ``server.body_timeout_s``
with its own coded answer, and tpsim keeps serving (review finding: a slow body held a
connection slot for ever)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.conftest import MakeScheme
from tests.support.flows import TX
from tpsim.mojaloop.wire.headers import format_http_date

THIRDPARTY = "application/vnd.interoperability.thirdparty+json;version=1.0"


async def slow_request(
    url: str, method: str, path: str, headers: dict[str, str]
) -> tuple[int, str]:
    """Send ``headers`` announcing a 1,000-byte body, then one byte, and wait: the answer."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {where.netloc}", "Content-Length: 1000"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n{").encode())
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        status = int(head.split()[1])
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        body = await asyncio.wait_for(reader.readexactly(length), timeout=10)
        return status, body.decode()
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "says"),
    [
        (
            "POST",
            TX,
            {
                "Content-Type": THIRDPARTY,
                "Accept": THIRDPARTY,
                "FSPIOP-Source": "pispa",
                "FSPIOP-Destination": "dfspa",
            },
            400,
            '"errorCode": "3101"',
        ),
        ("PUT", "/admin/fixtures", {"Content-Type": "application/yaml"}, 408, "did not arrive"),
        ("POST", "/admin/clock/advance", {"Content-Type": "application/json"}, 408, "arrive"),
    ],
    ids=["FSPIOP edge", "admin fixtures", "admin clock"],
)
async def test_a_body_that_never_arrives_is_given_up_on(
    make_scheme: MakeScheme,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    scheme = await make_scheme(server={"body_timeout_s": 0.5})
    headers = {"Date": format_http_date(datetime.now(UTC)), **headers}
    answered, body = await slow_request(scheme.url, method, path, headers)
    assert answered == status, body
    assert says.replace(" ", "") in body.replace(" ", "")
    assert "did not arrive within 0.5 s" in body
