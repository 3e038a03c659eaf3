"""Structured logs (structlog): human-readable by default, JSON lines with ``--log-json``.

The standard library's loggers (aiohttp's access log and "Error handling request", asyncio,
tpsim's traffic lines from ``serve.traffic``) go through the same processors and renderer
as tpsim's own events (structlog's ``ProcessorFormatter``), so ``--log-json`` gives JSON
lines only, each with ``logger`` naming where a stdlib record came from. Under
``--log-json`` a stdlib record's ``extra`` fields become JSON fields too: an access-log line
carries ``remote_address``, ``first_request_line``, ``response_status``, ``response_size``…
beside its Apache-style text, a traffic line its ``method``, ``path``, ``status``, ``ms``….

``tpsim serve`` logs a line per message at its default level (``serve.traffic``), so the
cost of a line is part of the CPU of every transfer (issue 17): through structlog's
``ProcessorFormatter`` and ``ConsoleRenderer`` a plain stdlib line took ~100 µs. Without
``--log-json`` and colours, a plain record (no exception, no stack, no bound context) is
written by ``PlainLines`` straight to the text the renderer would give (the same bytes:
``tests/test_logging.py`` compares them); anything else takes structlog's path.

Every line goes to stderr through one ``Batched`` stream: a traffic line written while an
event loop runs (``write_plain``) waits for the end of the loop's turn and is written with
the others of that turn, in one ``write`` instead of one per line (a write to a pipe read by
another process, as a container's log is, costs more than making the line); any other line
through logging or structlog writes the waiting ones first, so the order stays (what writes
to ``sys.stderr`` itself, such as a warning or a traceback Python prints, may come before
lines of the same turn). ``logging.shutdown`` at exit writes a turn the loop never ended; a
process killed outright loses at most the lines of one turn.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from contextlib import nullcontext, suppress
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog

# Marks the handler configure_logging installs, so that a second call replaces it.
_OURS = "_tpsim_handler"


def configure_logging(*, json_logs: bool = False, level: str = "info") -> None:
    """Route stdlib and structlog output to stderr in one format."""
    stream = Batched(sys.stderr)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info
        if json_logs
        else structlog.processors.StackInfoRenderer(),
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    # The text renderer would repeat each field the line already says.
    extra = [structlog.stdlib.ExtraAdder()] if json_logs else []
    handler = logging.StreamHandler(stream)
    global _PLAIN  # noqa: PLW0603 - the one handler tpsim installs
    _PLAIN = handler
    handler.setFormatter(
        PlainLines(
            plain=not json_logs and not sys.stderr.isatty(),
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *extra, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    # Nothing rendered shows a record's thread, process or task: don't look them up for
    # every line.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    if sys.version_info >= (3, 12):
        logging.logAsyncioTasks = False
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


# The stdlib levels as ``ConsoleRenderer`` names them, padded to its widest ("exception").
_LEVELS = {
    name.lower(): f"[{name.lower():<9}]"
    for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
}
_EVENT_WIDTH = 30  # ConsoleRenderer's default pad_event


class PlainLines(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, with a short way for the common record when ``plain``
    (uncoloured text): ``2026-01-24T10:23:12.503695Z [info     ] <message> [<logger>]``,
    what ``TimeStamper(fmt="iso", utc=True)``, ``add_log_level``, ``add_logger_name`` and
    ``ConsoleRenderer(colors=False)`` make of a stdlib record, without building its event
    dict, copying the record or running the renderer's columns. A record from structlog,
    with an exception or a stack, of a custom level, or logged while context variables
    are bound goes the whole way."""

    def __init__(self, *, plain: bool, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.plain = plain

    def format(self, record: logging.LogRecord) -> str:
        level = _LEVELS.get(record.levelname.lower()) if self.plain else None
        if (
            level is None
            or record.exc_info
            or record.stack_info
            or hasattr(record, "_logger")  # from structlog: its event dict is the message
            or structlog.contextvars.get_contextvars()
        ):
            return super().format(record)
        return _plain_line(level, record.name, record.getMessage())


def _plain_line(level: str, name: str, message: str) -> str:
    return f"{_stamp()} {level} {message.ljust(_EVENT_WIDTH)} [{name}]"


_second = (-1, "")  # the last second stamped, and its text up to the seconds


def _stamp() -> str:
    """Now as ``datetime.now(UTC).isoformat()`` with ``Z`` for ``+00:00`` writes it (no
    fraction at a whole second), the date and time formatted once a second."""
    global _second  # noqa: PLW0603 - a one-entry cache
    second, micro = divmod(time.time_ns() // 1000, 1_000_000)
    if second != _second[0]:
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{micro:06d}Z" if micro else f"{_second[1]}Z"


class Batched:
    """A text stream (stderr) whose deferred lines (``defer``) are written together at the
    end of the running event loop's turn; ``write`` and ``flush`` write what waits first,
    so lines keep their order. Anything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._waiting: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop a flush is due on
        self._lock = threading.RLock()

    def defer(self, text: str) -> None:
        """Write ``text`` at the end of this turn of the running event loop (now when none
        runs). Raises what writing raises only when written now."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            if loop is None:
                self._write_waiting()
                self.stream.write(text)
                return
            self._waiting.append(text)
            if self._loop is not loop:  # none due on this loop (an earlier loop's was lost)
                self._loop = loop
                loop.call_soon(self.flush_waiting)

    def write(self, text: str) -> int:
        with self._lock:
            self._write_waiting()
            return self.stream.write(text)

    def flush(self) -> None:
        with self._lock:
            self._write_waiting()
            self.stream.flush()

    def _write_waiting(self) -> None:
        if self._waiting:
            text = "".join(self._waiting)
            self._waiting.clear()
            self.stream.write(text)

    def flush_waiting(self) -> None:
        """The end of a turn: write what waits. A stream that fails here loses those
        lines: stderr is where logging would report the failure."""
        with self._lock:
            self._loop = None
            with suppress(OSError, ValueError):  # a broken pipe, a closed stream
                self.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


_PLAIN: logging.StreamHandler[Batched] | None = None  # configure_logging's handler


def write_plain(logger: logging.Logger, level: int, message: str) -> bool:
    """Write ``message`` as ``logger`` would at ``level`` (enabled: the caller checked),
    without a ``LogRecord``, when the only handler that would see it is the one
    ``configure_logging`` installed for uncoloured text (a per-message line costs ~10 µs
    this way, ~40 µs through ``Logger.log``), at the end of the event loop's turn when one
    runs (``Batched``). False: nothing was written; log it. (A line deferred to the end of
    the turn and lost there to a broken stream is not reported.)
    Filters, other handlers (pytest's ``caplog``) and bound context variables all take
    the ordinary way."""
    handler = _PLAIN
    formatter = None if handler is None else handler.formatter
    if (
        handler is None
        or not isinstance(formatter, PlainLines)
        or not formatter.plain
        or level < handler.level
        or handler.filters
        or structlog.contextvars.get_contextvars()
    ):
        return False
    found: logging.Logger | None = logger
    reached = False  # whether the record would reach the handler
    while found is not None:  # the handlers the record would reach, as callHandlers walks
        if found.filters or found.disabled:
            return False
        for other in found.handlers:
            if other is handler:
                reached = True
            elif not isinstance(other, logging.NullHandler):
                return False
        found = found.parent if found.propagate else None
    label = _LEVELS.get(logging.getLevelName(level).lower())
    if not reached or label is None:
        return False
    try:
        with handler.lock or nullcontext():  # as Handler.handle: no interleaved lines
            handler.stream.defer(_plain_line(label, logger.name, message) + handler.terminator)
    except Exception:  # a closed or broken stream: the ordinary way reports it (handleError)
        return False
    return True
