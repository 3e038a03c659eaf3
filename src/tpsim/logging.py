"""Structured logs (structlog): human-readable by default, JSON lines with ``--log-json``.

The standard library's loggers (aiohttp's access log and "Error handling request", asyncio,
tpsim's traffic lines from ``serve.traffic``) go through the same processors and renderer
as tpsim's own events (structlog's ``ProcessorFormatter``), so ``--log-json`` gives JSON
lines only, each with ``logger`` naming where a stdlib record came from. Under
``--log-json`` a stdlib record's ``extra`` fields become JSON fields too: an access-log line
carries ``remote_address``, ``first_request_line``, ``response_status``, ``response_size``…
beside its Apache-style text, a traffic line its ``method``, ``path``, ``status``, ``ms``….
"""

from __future__ import annotations

import logging
import sys

import structlog

# Marks the handler configure_logging installs, so that a second call replaces it.
_OURS = "_tpsim_handler"


def configure_logging(*, json_logs: bool = False, level: str = "info") -> None:
    """Route stdlib and structlog output to stderr in one format."""
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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # The text renderer would repeat each field the line already says.
    extra = [structlog.stdlib.ExtraAdder()] if json_logs else []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *extra, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
