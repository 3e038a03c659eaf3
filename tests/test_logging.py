"""``tpsim.logging``: one format for every logger, and the plain line's short way (issue 17)
writes exactly what structlog's renderer would."""

from __future__ import annotations

import logging
import re
import sys

import pytest
import structlog

from tpsim.logging import PlainLines, configure_logging

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


def test_serve_writes_traffic_lines_in_the_renderers_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    flags = logging.logThreads, logging.logProcesses, logging.logMultiprocessing
    try:
        configure_logging(level="info")
        logging.getLogger("tpsim.traffic").info("received: POST /quotes pispa → dfspa 202")
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        logging.logThreads, logging.logProcesses, logging.logMultiprocessing = flags
        structlog.reset_defaults()
    line = capsys.readouterr().err.splitlines()[-1]
    assert without_stamp(line) == (
        "[info     ] received: POST /quotes pispa → dfspa 202 [tpsim.traffic]"
    )
