"""``tpsim.logging``: one format for every logger, and the plain line's short way (issue 17)
writes exactly what structlog's renderer would."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import structlog

from tpsim import logging as tpsim_logging
from tpsim.logging import PlainLines, configure_logging, write_plain

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z ")


def formatter(*, plain: bool) -> PlainLines:
    """The formatter ``configure_logging`` installs for uncoloured text."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    return PlainLines(
        plain=plain,
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
    )


def record(
    message: str, *, level: int = logging.INFO, name: str = "tpsim.traffic", args: tuple = ()
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def without_stamp(line: str) -> str:
    assert STAMP.match(line), line
    return STAMP.sub("", line, count=1)


@pytest.mark.parametrize(
    ("message", "level", "name", "args"),
    [
        (
            "sent: PUT /thirdpartyRequests/transactions/7d0e dfspa → pispa 200 2.93 ms",
            logging.INFO,
            "tpsim.traffic",
            (),
        ),
        ("short", logging.INFO, "tpsim.traffic", ()),
        ("", logging.INFO, "tpsim.traffic", ()),
        ("exactly thirty characters long", logging.INFO, "tpsim.traffic", ()),
        ("trailing spaces   ", logging.INFO, "tpsim.traffic", ()),
        (
            "unreachable: POST /x pispa → ? pispa at http://127.0.0.1:1 could not be reached",
            logging.WARNING,
            "tpsim.traffic",
            (),
        ),
        ("not reported: %s %s from %s", logging.DEBUG, "tpsim.traffic", ("PUT", "/p", "dfspa")),
        ("Error handling request", logging.ERROR, "aiohttp.server", ()),
        ("line\nbreak", logging.CRITICAL, "asyncio", ()),
        ("naïve ünïcode ✓", logging.INFO, "root", ()),
    ],
)
def test_a_plain_line_is_what_structlogs_renderer_writes(
    message: str, level: int, name: str, args: tuple
) -> None:
    fast = formatter(plain=True).format(record(message, level=level, name=name, args=args))
    slow = formatter(plain=False).format(record(message, level=level, name=name, args=args))
    assert without_stamp(fast) == without_stamp(slow)


def test_an_exception_still_renders_its_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord(
            "tpsim", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = formatter(plain=True).format(failed)
    assert "failed" in line and "ValueError: boom" in line and "Traceback" in line


def test_bound_context_variables_still_reach_the_line() -> None:
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        line = formatter(plain=True).format(record("with context"))
    finally:
        structlog.contextvars.clear_contextvars()
    assert "request_id=r-1" in line


def test_a_custom_level_takes_the_whole_way() -> None:
    custom = record("custom level", level=25)
    assert without_stamp(formatter(plain=True).format(custom)) == without_stamp(
        formatter(plain=False).format(custom)
    )


@contextmanager
def configured(level: str = "info", *, alone: bool = False) -> Iterator[None]:
    """``configure_logging`` as ``tpsim serve`` calls it, undone afterwards; ``alone``: as
    in ``tpsim serve``'s process, without pytest's handlers on the root logger."""
    root = logging.getLogger()
    before, handlers = root.level, list(root.handlers)
    flags = logging.logThreads, logging.logProcesses, logging.logMultiprocessing
    try:
        if alone:
            root.handlers = []
        configure_logging(level=level)
        yield
    finally:
        root.handlers = handlers
        root.setLevel(before)
        logging.logThreads, logging.logProcesses, logging.logMultiprocessing = flags
        structlog.reset_defaults()


def test_serve_writes_traffic_lines_in_the_renderers_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with configured():
        logging.getLogger("tpsim.traffic").info("received: POST /quotes pispa → dfspa 202")
    line = capsys.readouterr().err.splitlines()[-1]
    assert without_stamp(line) == (
        "[info     ] received: POST /quotes pispa → dfspa 202 [tpsim.traffic]"
    )


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
def test_a_line_written_without_a_record_is_the_handlers_line(
    capsys: pytest.CaptureFixture[str], level: int
) -> None:
    traffic = logging.getLogger("tpsim.traffic")
    with configured(alone=True):
        assert write_plain(traffic, level, "sent: PUT /quotes/1 dfspa → pispa 200")
        traffic.log(level, "sent: PUT /quotes/1 dfspa → pispa 200")
    short, ordinary = capsys.readouterr().err.splitlines()[-2:]
    assert without_stamp(short) == without_stamp(ordinary)


def test_any_other_handler_gets_the_line_as_a_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    traffic = logging.getLogger("tpsim.traffic")
    with configured():  # caplog's handler sits on the root logger beside tpsim's
        assert not write_plain(traffic, logging.INFO, "sent: PUT /quotes/1")
    assert not write_plain(traffic, logging.INFO, "sent: PUT /quotes/1")  # none installed


@pytest.mark.parametrize(
    ("now_ns", "stamp"),
    [
        (1_700_000_000_250_000_000, "2023-11-14T22:13:20.250000Z"),
        (1_700_000_000_000_000_000, "2023-11-14T22:13:20Z"),  # isoformat() writes no fraction
        (1_700_000_000_000_001_999, "2023-11-14T22:13:20.000001Z"),
    ],
)
def test_the_stamp_is_isoformat_in_utc(
    monkeypatch: pytest.MonkeyPatch, now_ns: int, stamp: str
) -> None:
    monkeypatch.setattr(tpsim_logging.time, "time_ns", lambda: now_ns)
    seconds, micro = divmod(now_ns // 1000, 1_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)
    assert tpsim_logging._stamp() == moment.isoformat().replace("+00:00", "Z") == stamp


def test_a_logger_that_does_not_propagate_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    quiet = logging.getLogger("tpsim.traffic.quiet-test")
    quiet.propagate = False
    with configured(alone=True):
        assert not write_plain(quiet, logging.INFO, "never written")
    assert "never written" not in capsys.readouterr().err


def test_a_broken_stream_is_left_to_the_ordinary_way(monkeypatch: pytest.MonkeyPatch) -> None:
    traffic = logging.getLogger("tpsim.traffic")
    with configured(alone=True):
        handler = tpsim_logging._PLAIN
        assert handler is not None

        def broken(text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        monkeypatch.setattr(handler.stream.stream, "write", broken)  # stderr itself
        assert not write_plain(traffic, logging.INFO, "sent: PUT /quotes/1")


class Writes:
    """A stream that keeps each ``write`` apart."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


async def test_lines_of_one_turn_of_the_loop_are_written_together() -> None:
    stream = Writes()
    batched = tpsim_logging.Batched(stream)  # type: ignore[arg-type]
    batched.defer("one\n")
    batched.defer("two\n")
    assert stream.writes == []  # the turn is not over
    await asyncio.sleep(0)
    assert stream.writes == ["one\ntwo\n"]
    batched.defer("three\n")
    await asyncio.sleep(0)
    assert stream.writes == ["one\ntwo\n", "three\n"]


async def test_any_other_line_writes_the_waiting_ones_first() -> None:
    stream = Writes()
    batched = tpsim_logging.Batched(stream)  # type: ignore[arg-type]
    batched.defer("traffic\n")
    batched.write("a warning\n")  # through the handler or structlog
    assert stream.writes == ["traffic\n", "a warning\n"]
    await asyncio.sleep(0)
    assert stream.writes == ["traffic\n", "a warning\n"]  # nothing written twice


def test_without_a_running_loop_a_line_is_written_at_once() -> None:
    stream = Writes()
    tpsim_logging.Batched(stream).defer("now\n")  # type: ignore[arg-type]
    assert stream.writes == ["now\n"]


def test_a_turn_the_loop_never_finished_is_written_by_the_next_loop() -> None:
    stream = Writes()
    batched = tpsim_logging.Batched(stream)  # type: ignore[arg-type]

    first = asyncio.new_event_loop()

    def log_and_stop() -> None:
        batched.defer("first\n")
        first.stop()  # the loop ends with this turn, before the write due at its end

    first.call_soon(log_and_stop)
    first.run_forever()
    first.close()
    assert stream.writes == []

    async def log(line: str) -> None:
        batched.defer(line)

    asyncio.run(log("second\n"))
    assert "".join(stream.writes) == "first\nsecond\n"


def test_a_broken_stream_at_the_end_of_a_turn_loses_that_turn_only() -> None:
    stream = Writes()
    batched = tpsim_logging.Batched(stream)  # type: ignore[arg-type]

    def broken(text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    async def turn(line: str) -> None:
        batched.defer(line)
        await asyncio.sleep(0)

    stream.write = broken  # type: ignore[method-assign]
    asyncio.run(turn("lost\n"))
    del stream.write
    asyncio.run(turn("kept\n"))
    assert stream.writes == ["kept\n"]


async def test_a_served_traffic_line_is_the_handlers_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    traffic = logging.getLogger("tpsim.traffic")
    with configured(alone=True):
        assert write_plain(traffic, logging.INFO, "sent: PUT /quotes/1 dfspa → pispa 200")
        assert capsys.readouterr().err == ""  # until the end of the turn
        await asyncio.sleep(0)
        traffic.info("sent: PUT /quotes/1 dfspa → pispa 200")
    short, ordinary = capsys.readouterr().err.splitlines()[-2:]
    assert without_stamp(short) == without_stamp(ordinary)
