"""No client can hold tpsim's file descriptors (issue 11: ~1,100 idle sockets under
``ulimit -n 1024`` stopped every transfer and wrote thousands of tracebacks).

A connection that sends nothing, or trickles its headers, is closed after
``server.header_timeout_s``; a kept-alive one idle for ``server.idle_timeout_s`` too;
beyond ``server.max_connections`` a new one is closed at once with one warning, and the
others are still served; running out of descriptors anyway is one warning per interval,
not a traceback per accept()."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import resource
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from structlog.testing import capture_logs

from tests.support.scheme import default_config_data
from tpsim.config import parse_config
from tpsim.serve.app import create_app
from tpsim.serve.server import (
    AcceptErrors,
    GuardedSite,
    HeadScanner,
    Throttle,
    make_runner,
)
from tpsim.serve.simulation import Simulation

# Long enough that a test's own steps never hit it; the tests shorten the one they test.
LONG = 30.0
# How long a test waits for tpsim to close a connection it must close after 1 s.
PATIENCE = 10.0


@asynccontextmanager
async def guarded(**limits: Any) -> AsyncIterator[tuple[int, GuardedSite]]:
    """tpsim's app behind the same site ``tpsim serve`` uses, on an ephemeral port."""
    server = {"header_timeout_s": LONG, "idle_timeout_s": LONG, **limits}
    config = parse_config({**default_config_data(), "server": server})
    runner = make_runner(create_app(Simulation(config)), config.server, access_log=False)
    await runner.setup()
    try:
        site = GuardedSite(runner, "127.0.0.1", 0, config.server)
        await site.start()
        yield runner.addresses[0][1], site
    finally:
        await runner.cleanup()


@asynccontextmanager
async def raw(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def closed_by_tpsim(reader: asyncio.StreamReader) -> bool:
    """Whether tpsim closes the connection (EOF) within ``PATIENCE``; what it sent is ignored."""
    try:
        async with asyncio.timeout(PATIENCE):
            while await reader.read(65_536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


HEALTH = b"GET /health HTTP/1.1\r\nHost: tpsim\r\n\r\n"


async def health_over(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """The status line of ``GET /health`` sent on an open connection."""
    writer.write(HEALTH)
    return await health_answer(reader)


async def health_answer(reader: asyncio.StreamReader) -> bytes:
    """The status line of the answer to ``GET /health``, read to its end."""
    status = await asyncio.wait_for(reader.readline(), PATIENCE)
    while (await asyncio.wait_for(reader.readline(), PATIENCE)) not in (b"\r\n", b""):
        pass
    await asyncio.wait_for(reader.readexactly(len(b'{"status": "OK"}')), PATIENCE)
    return status


async def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout() -> None:
    async with guarded(header_timeout_s=1) as (port, site), raw(port) as (reader, _):
        assert await closed_by_tpsim(reader)
        await asyncio.sleep(0)
        assert site.connections.open == 0


async def test_a_client_trickling_its_headers_is_closed_after_the_header_timeout() -> None:
    async with guarded(header_timeout_s=1) as (port, _), raw(port) as (reader, writer):

        async def trickle() -> None:
            for byte in b"GET /health HTTP/1.1\r\nHost: tpsim\r\nX-Slow: " + b"a" * 1000:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        sending = asyncio.create_task(trickle())
        try:
            assert await closed_by_tpsim(reader)
            assert not sending.done()  # closed while the head was still arriving
        finally:
            sending.cancel()


async def test_a_kept_alive_connection_is_closed_after_the_idle_timeout() -> None:
    async with guarded(idle_timeout_s=1) as (port, _), raw(port) as (reader, writer):
        assert await health_over(reader, writer) == b"HTTP/1.1 200 OK\r\n"
        assert await closed_by_tpsim(reader)


async def test_a_client_that_sends_its_request_in_pieces_is_served() -> None:
    async with guarded(header_timeout_s=2) as (port, _), raw(port) as (reader, writer):
        for piece in (b"\r\n", b"GET /health HTTP/1.1\r", b"\nHost: tpsim\r\n\r", b"\n"):
            writer.write(piece)
            await asyncio.sleep(0.05)
        assert await health_answer(reader) == b"HTTP/1.1 200 OK\r\n"
        # The head arrived in time, so the header deadline no longer applies: a request on
        # the same connection after it has passed is still answered.
        await asyncio.sleep(2.5)
        assert await health_over(reader, writer) == b"HTTP/1.1 200 OK\r\n"


async def test_over_the_cap_a_new_connection_is_closed_and_the_others_are_served() -> None:
    async with AsyncExitStack() as stack:
        port, site = await stack.enter_async_context(guarded(max_connections=2))
        first = await stack.enter_async_context(raw(port))
        second = await stack.enter_async_context(raw(port))
        with capture_logs() as logs:
            extra = [await stack.enter_async_context(raw(port)) for _ in range(3)]
            for reader, _ in extra:
                assert await closed_by_tpsim(reader)

        assert await health_over(*first) == b"HTTP/1.1 200 OK\r\n"
        assert await health_over(*second) == b"HTTP/1.1 200 OK\r\n"
        assert site.connections.open == 2
        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert [(w["event"], w["max_connections"], w["refused"]) for w in warnings] == [
            ("connections refused: server.max_connections reached", 2, 1)
        ]


async def test_a_real_client_is_served_through_the_guard() -> None:
    async with guarded(header_timeout_s=1) as (port, site), aiohttp.ClientSession() as session:
        for _ in range(3):  # one kept-alive connection
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                assert await response.json() == {"status": "OK"}
        assert site.connections.open == 1


# (case, chunks, whether the head ended)
# fmt: off
HEADS: list[tuple[str, list[bytes], bool]] = [
    ("one read", [b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"], True),
    ("CRLF split", [b"GET / HTTP/1.1\r\nHost: a\r\n\r", b"\n"], True),
    ("split after LF", [b"GET / HTTP/1.1\r\nHost: a\r\n", b"\r\n"], True),
    ("byte by byte", [bytes([b]) for b in b"GET / HTTP/1.1\r\n\r\n"], True),
    ("bare LF", [b"GET / HTTP/1.1\nHost: a\n\n"], True),
    ("headers only begun", [b"GET / HTTP/1.1\r\nHost: a\r\n"], False),
    ("nothing", [], False),
    ("empty lines before the request line", [b"\r\n\r\n", b"\r\n"], False),
    ("then the request", [b"\r\n\r\n", b"GET / HTTP/1.1\r\n", b"\r\n"], True),
]
# fmt: on


@pytest.mark.parametrize(("chunks", "ended"), [pytest.param(*h[1:], id=h[0]) for h in HEADS])
def test_the_end_of_the_first_head_is_found_however_the_bytes_are_split(
    chunks: list[bytes], ended: bool
) -> None:
    scanner = HeadScanner()
    assert any([scanner.feed(chunk) for chunk in chunks]) is ended


def test_a_throttle_reports_the_first_event_then_one_per_interval_with_the_count() -> None:
    now = [0.0]
    throttle = Throttle(10.0, clock=lambda: now[0])
    reports = []
    for second in range(25):
        now[0] = float(second)
        reports.append(throttle.count())
    assert [(s, n) for s, n in enumerate(reports) if n] == [(0, 1), (10, 10), (20, 10)]


def test_accept_failures_are_one_warning_per_interval_and_other_errors_pass_through() -> None:
    passed: list[dict[str, Any]] = []
    handler = AcceptErrors(lambda loop, context: passed.append(context))
    loop = asyncio.new_event_loop()
    try:
        emfile = OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        with capture_logs() as logs:
            for _ in range(100):
                handler(
                    loop,
                    {
                        "message": "socket.accept() out of system resource",
                        "exception": emfile,
                        "socket": object(),
                    },
                )
            handler(loop, {"message": "something else", "exception": ValueError("x")})
    finally:
        loop.close()
    assert [(e["event"], e["failed_accepts"]) for e in logs] == [("cannot accept connections", 1)]
    assert [c["message"] for c in passed] == ["something else"]


async def test_out_of_file_descriptors_tpsim_serve_logs_one_line_not_a_traceback_per_accept(
    tmp_path: Path,
) -> None:
    # The situation, scaled down: a low open-file limit and more idle clients than
    # it allows, with the cap set above the limit so that accept() itself fails.
    config = tmp_path / "tpsim.yaml"
    config.write_text(yaml.safe_dump({"server": {"max_connections": 1000}}))
    limit = 64

    def lower_limit() -> None:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        )

    serve = ("serve", "--port", "0", "--config", str(config), "--log-json")
    # asyncio's accept loop reports each failed accept() to the loop's handler (uvloop,
    # when installed, retries without reporting: nothing to log there).
    env = {**os.environ, "TPSIM_LOOP": "asyncio"}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tpsim", *serve),
        stderr=subprocess.PIPE,
        preexec_fn=lower_limit,
        env=env,
    )
    assert process.stderr is not None
    clients: list[asyncio.StreamWriter] = []
    try:
        line = b""
        while b'"tpsim is serving"' not in line:
            line = await asyncio.wait_for(process.stderr.readline(), 20)
            assert line, "tpsim serve stopped before serving"
        port = int(json.loads(line)["url"].rsplit(":", 1)[1])
        for _ in range(limit + 20):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            clients.append(writer)
        await asyncio.sleep(3.5)  # asyncio retries a failed accept() every second
    finally:
        for writer in clients:
            writer.close()
        process.terminate()
        _, stderr = await process.communicate()
    text = stderr.decode()
    assert "Traceback" not in text
    assert text.count('"cannot accept connections"') == 1
    assert "Too many open files" in text  # said once, in that line
