"""Running the application until SIGINT / SIGTERM, with bounded connections.

No client may hold the process's file descriptors (issue 11: ~1,100 idle sockets under
``ulimit -n 1024`` stopped every transfer). The config's ``server`` block bounds them:

- ``header_timeout_s``: a connection that has not sent its first request's head by then
  (silent, or trickling headers) is closed; aiohttp has no such timer of its own;
- ``idle_timeout_s``: aiohttp's keep-alive timeout, from an answer to the next request's head;
- ``max_connections``: a connection beyond it is closed at once, with one warning per
  ``WARN_INTERVAL_S`` rather than one per connection.

When the process still runs out of descriptors, asyncio logs a traceback for every accept()
it retries (one a second per listening socket); ``AcceptErrors`` logs one line per interval.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import importlib
import importlib.util
import os
import re
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import structlog
from aiohttp import web
from aiohttp.log import access_logger

from tpsim.config import Config
from tpsim.config_settings import ServerConfig
from tpsim.serve.admin import ADMIN_TOKEN, admin_token_for
from tpsim.serve.app import create_app
from tpsim.serve.edge import SIMULATION
from tpsim.serve.parser_refusals import CodedRefusals
from tpsim.serve.simulation import Simulation

log = structlog.get_logger("tpsim")

WARN_INTERVAL_S = 10.0

T = TypeVar("T")
LOOP_ENV = "TPSIM_LOOP"  # "asyncio" keeps the standard loop even with uvloop installed


def event_loop_name() -> str:
    """The event loop ``run`` uses: ``uvloop`` when it is installed (the ``tpsim[fast]``
    extra) unless ``$TPSIM_LOOP`` is ``asyncio``, else ``asyncio`` (the standard
    library's). uvloop's libuv loop spends less CPU on each request, response and callback
    than asyncio's (issue 17); the variable lets one compare the two, or rule uvloop out."""
    if os.environ.get(LOOP_ENV, "").strip().lower() == "asyncio":
        return "asyncio"
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of ``event_loop_name``'s loop (None: asyncio's default)."""
    if event_loop_name() != "uvloop":
        return None
    # Imported by name: an optional dependency, absent from most installs (and type checks).
    factory: Callable[[], asyncio.AbstractEventLoop] = importlib.import_module(
        "uvloop"
    ).new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` (``serve(…)``) to its end on ``event_loop_name``'s loop, as
    ``asyncio.run`` does; ``serve`` logs which loop it runs on."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


async def serve(
    config: Config,
    *,
    host: str,
    port: int,
    access_log: bool = False,
    admin_token: str | None = None,
    state: Path | None = None,
) -> None:
    """Serve ``config``'s scheme on ``host:port`` until interrupted; the admin API needs
    ``admin_token``, or on a non-loopback ``host`` without one a generated token (logged).
    ``state``: the SQLite file the scheme's state lives in (None: in memory)."""
    sim = Simulation(config, state=state)
    app = create_app(sim)
    token = admin_token_for(host, admin_token)
    if token is not None:
        app[ADMIN_TOKEN] = token
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(AcceptErrors(previous))
    runner = make_runner(app, config.server, access_log=access_log)
    await runner.setup()
    tune_gc()
    try:
        await GuardedSite(runner, host, port, config.server).start()
        port = runner.addresses[0][1]  # the one chosen when asked for port 0
        sim.site.url = f"http://{_browser_host(host)}:{port}"
        external = {p.fsp_id: p.endpoint for p in config.participants if p.endpoint}
        log.info(
            "tpsim is serving",
            url=f"http://{host}:{port}",
            login_pages=config.behaviour.linking.web.public_url or sim.site.url,
            hub=config.hub.name,
            profile=config.behaviour.profile.value,
            challenge=config.behaviour.challenge,
            external=external,
            xs2a=[f"{sim.site.url}/xs2a/{fsp_id}/v1/" for fsp_id in sim.psd2.xs2a],
            obie=[f"{sim.site.url}/obie/{fsp_id}/open-banking/" for fsp_id in sim.psd2.obie],
            stet=[f"{sim.site.url}/stet/{fsp_id}/v1/" for fsp_id in sim.psd2.stet],
            live=f"{sim.site.url}/ui",
            state=str(state) if state else "in memory",
            loop=_loop_kind(loop),
            **_admin_fields(token, generated=token is not None and token != admin_token),
        )
        sim.resume()  # what a restart left unfinished, now that callbacks can be answered
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("tpsim is stopping")
    finally:
        await runner.cleanup()
        loop.set_exception_handler(previous)


def _loop_kind(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: the loop actually serving (a caller may bring its own)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def _admin_fields(token: str | None, *, generated: bool) -> dict[str, str]:
    """What the start line says about the admin API: a generated token is printed, since
    nobody else knows it (``docker compose logs`` shows it); a configured one is not."""
    if token is None:
        return {"admin": "open (loopback only, no token)"}
    if generated:
        return {"admin": "Authorization: Bearer <admin_token>", "admin_token": token}
    return {"admin": "Authorization: Bearer <the --admin-token / TPSIM_ADMIN_TOKEN given>"}


def make_runner(app: web.Application, limits: ServerConfig, *, access_log: bool) -> Runner:
    """The runner for ``app``, closing kept-alive connections after ``idle_timeout_s``."""
    return Runner(
        app,
        access_log=access_logger if access_log else None,
        keepalive_timeout=limits.idle_timeout_s,
    )


class Runner(web.AppRunner):
    """An ``AppRunner`` that keeps the options of its connections' request handlers, for
    ``GuardedSite`` to make them ``CodedRefusals`` with the same options."""

    def __init__(self, app: web.Application, **handler_options: Any) -> None:
        super().__init__(app, **handler_options)
        self.handler_options = handler_options


class GuardedSite(web.BaseSite):
    """A TCP site (as ``web.TCPSite``) whose connections obey ``limits``: aiohttp's
    request handler of each accepted connection sits behind a ``_Guarded`` protocol."""

    __slots__ = ("_connections", "_host", "_port")

    def __init__(self, runner: Runner, host: str, port: int, limits: ServerConfig) -> None:
        super().__init__(runner)
        server = runner.server
        if server is None:
            raise RuntimeError("call runner.setup() before making a site")
        self._host, self._port = host, port
        sim, options = runner.app[SIMULATION], runner.handler_options

        def handler(last_read: Callable[[], bytes]) -> asyncio.Protocol:
            loop = asyncio.get_running_loop()
            return CodedRefusals(server, sim, last_read, loop=loop, **options)

        self._connections = Connections(handler, limits)

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def connections(self) -> Connections:
        return self._connections

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._connections, self._host, self._port, backlog=self._backlog
        )


class Connections:
    """The site's protocol factory: counts open connections and admits one more only
    under ``max_connections``."""

    def __init__(
        self, handlers: Callable[[Callable[[], bytes]], asyncio.Protocol], limits: ServerConfig
    ) -> None:
        self.limits = limits
        self.open = 0
        self._handlers = handlers
        self._refused = Throttle(WARN_INTERVAL_S)

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)

    def admit(self, last_read: Callable[[], bytes]) -> asyncio.Protocol | None:
        """The request handler of a new connection (``last_read``: the bytes its last read
        gave), or None when it must be closed."""
        if self.open >= self.limits.max_connections:
            refused = self._refused.count()
            if refused:
                log.warning(
                    "connections refused: server.max_connections reached",
                    max_connections=self.limits.max_connections,
                    refused=refused,
                    hint="a client holds connections open; or raise server.max_connections",
                )
            return None
        self.open += 1
        return self._handlers(last_read)

    def release(self) -> None:
        self.open -= 1


class _Guarded(asyncio.Protocol):
    """One connection as asyncio sees it: aiohttp's request handler, closed when the first
    request's head has not arrived within ``header_timeout_s`` of the accept. Later heads
    on a kept-alive connection are bounded by aiohttp's keep-alive timeout."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._head = HeadScanner()
        self._last = b""  # what a parser refusal's request line is read from

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        inner = self._connections.admit(self._last_read)
        if inner is None:
            transport.close()
            return
        self._inner, self._transport = inner, transport
        inner.connection_made(transport)
        loop = asyncio.get_running_loop()
        timeout = self._connections.limits.header_timeout_s
        self._deadline = loop.call_later(timeout, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if self._deadline is not None and self._head.feed(data):
            self._deadline.cancel()
            self._deadline = None
        self._last = data
        self._inner.data_received(data)

    def _last_read(self) -> bytes:
        return self._last

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        if self._deadline is not None:
            self._deadline.cancel()
        self._connections.release()
        inner, self._inner = self._inner, None
        inner.connection_lost(exc)


# The empty line that ends a request's head (RFC 9112 §2.1), bare LF tolerated (§2.2).
_HEAD_END = re.compile(rb"\n\r?\n")


class HeadScanner:
    """Watches a connection's first bytes for the end of its first request's head, however
    the bytes are split, ignoring empty lines before the request line (RFC 9112 §2.2)."""

    def __init__(self) -> None:
        self._started = False
        self._tail = b""  # the last two bytes seen: an end may straddle two reads

    def feed(self, data: bytes) -> bool:
        """Whether the head has ended within the bytes fed so far."""
        if not self._started:
            data = data.lstrip(b"\r\n")
            if not data:
                return False
            self._started = True
        if _HEAD_END.search(self._tail + data[:2]) or _HEAD_END.search(data):
            return True
        self._tail = (self._tail + data[-2:])[-2:]
        return False


class Throttle:
    """Counts events and says when to log: the first, then at most one per ``interval_s``,
    with how many happened since the last one logged."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_s
        self._clock = clock
        self._next = float("-inf")
        self._pending = 0

    def count(self) -> int:
        """Record one event; returns how many to report now (0: stay quiet)."""
        self._pending += 1
        now = self._clock()
        if now < self._next:
            return 0
        self._next = now + self._interval
        reported, self._pending = self._pending, 0
        return reported


# What asyncio's accept loop reports and retries a second later (selector_events.py).
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

ExceptionHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


class AcceptErrors:
    """The loop's exception handler while serving: a failed accept() is one warning line
    per ``WARN_INTERVAL_S`` (with how many failed); anything else goes to ``previous``."""

    def __init__(self, previous: ExceptionHandler | None) -> None:
        self._previous = previous
        self._failed = Throttle(WARN_INTERVAL_S)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if "socket" in context and isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES:
            failed = self._failed.count()
            if failed:
                log.warning(
                    "cannot accept connections",
                    reason=exc.strerror,
                    failed_accepts=failed,
                    hint="lower server.max_connections or raise the open-file limit (ulimit -n)",
                )
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)


def tune_gc() -> None:
    """Collect cycles less often, and never look at what start-up built again.

    A transfer allocates a few thousand short-lived containers (messages, models, journal
    entries), so with the default thresholds (700, 10, 10) the collector ran ~0.4 collections
    per transfer and took 13 % of the server's CPU, most of it in full collections walking
    the state every earlier transfer left (benchmarks/bench_transfer.py). tpsim makes few
    reference cycles; fewer, later collections reclaim them all the same.
    """
    gc.collect()
    gc.freeze()  # imports, config, routes, models: permanent, never scanned again
    gc.set_threshold(50_000, 20, 100)


def _browser_host(host: str) -> str:
    """A host a browser on this machine can open for the address served on."""
    if host in ("0.0.0.0", "", "::"):  # noqa: S104 - comparing, not binding
        return "localhost"
    return f"[{host}]" if ":" in host else host
