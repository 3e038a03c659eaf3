"""What tpsim's traffic looks like to whoever watches it: one concise log line per message
(logger ``tpsim.traffic``) and the listeners that count it (``serve.metrics``).

The FSPIOP edge, the router and the PSD2 edges tell ``Traffic`` of every hop right after
they journal it: a ``Seen`` is the journal entry plus what the journal does not keep (the
route template, the time the hop took, an error's code, an unreachable participant's
endpoint, a PSD2 answer's body). One line per hop, at info level::

    received: POST /thirdpartyRequests/transactions pispa → dfspa 202 0.81 ms
    delivered: POST /thirdpartyRequests/transactions pispa → dfspa 202 0.07 ms
    sent: PUT /thirdpartyRequests/transactions/7d0e… dfspa → pispa 200 2.93 ms
    refused: POST /thirdpartyRequests/transactions pispa → dfspa 400 3102 Date: the Date…
    xs2a: POST /xs2a/dfspa/v1/payments/sepa-credit-transfers tpp → dfspa 201 3.12 ms

and at warning level what did not arrive (``unreachable: … pispa at http://… could not be
reached: connection refused``, a non-2xx answer, a message dropped for an unknown
destination). Under ``--log-json`` each line also carries its parts as fields (``hop``,
``dialect``, ``method``, ``path``, ``source``, ``destination``, ``status``, ``ms``,
``code``, ``error``, ``conversation``).

The lines go through the standard library's ``logging``, not structlog, on purpose:
``tpsim serve`` routes stdlib records through structlog's renderer (``tpsim.logging``), and
everything that configures no logging (``tpsim run``, tests, an embedding program) leaves
the level at warning, so the per-message check is one ``isEnabledFor`` and nothing is
formatted (issue 17 measures the CPU a transfer costs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from aiohttp import web

from tpsim.journal import Exchange, Hop, JournalEntry
from tpsim.logging import write_plain
from tpsim.serve.transports import plain_reason

log = logging.getLogger("tpsim.traffic")
# A library's logger: without a configured handler its warnings are not printed by
# logging's last resort (``tpsim run`` reports failures itself).
log.addHandler(logging.NullHandler())

MOJALOOP = "mojaloop"
UNMATCHED = "(unmatched)"  # the route of a path no route matches


class Seen(NamedTuple):
    """One hop as the watchers see it: its journal ``entry`` and what the journal does not
    keep. ``route``: the path's template (bounded: ``/quotes/{ID}``, never the id);
    ``status``: the answer's (a PSD2 request's is its answer's); ``ms``: the time taken;
    ``code``: the error code of a refusal; ``receiver``: the participant the message went
    to, when its headers do not name it (the switch's own services); ``endpoint``: where
    an external participant was sent to; ``answer``: a PSD2 answer's body. (A named tuple:
    one is made for every hop, and it is cheaper to make than a frozen dataclass.)"""

    entry: JournalEntry
    route: str
    status: int | None
    ms: float | None = None
    code: str | None = None
    receiver: str | None = None
    endpoint: str | None = None
    answer: dict[str, Any] | None = None

    @property
    def failed_delivery(self) -> bool:
        """A message tpsim could not hand to its receiver: dropped, unreachable, or
        answered with anything but 2xx."""
        hop = self.entry.hop
        if hop is Hop.DROPPED:
            return True
        return hop is Hop.SENT and not (self.status is not None and 200 <= self.status < 300)


Listener = Callable[[Seen], None]


class Traffic:
    """Tells each hop to the listeners and to the log. One per router: a scheme reloaded
    through the admin API keeps its watchers."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every hop from now on."""
        self._listeners.append(listener)

    def watched(self) -> bool:
        """Whether anyone wants to know of a hop: callers skip building a ``Seen`` (and
        anything it needs) when not."""
        return bool(self._listeners) or log.isEnabledFor(logging.WARNING)

    def seen(self, seen: Seen) -> None:
        """Count ``seen`` and log its line; a listener's bug is logged, never raised to the
        edge or the router (the message goes on)."""
        for listener in self._listeners:
            try:
                listener(seen)
            except Exception:
                log.exception("a traffic listener failed on %s %s", seen.entry.method, seen.route)
        level = logging.WARNING if seen.failed_delivery else logging.INFO
        if log.isEnabledFor(level):
            text = line(seen)
            if not write_plain(log, level, text):
                log.log(level, text, extra=fields(seen))

    def unanswered(self, message: Exchange, code: str, detail: str, reason: str) -> None:
        """An error about ``message`` that nobody is told, and why (``reason``: error
        callbacks are never answered with error callbacks; its source is unknown). Debug
        only: the hop that failed has said what went wrong already (``unreachable: …``)."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "not reported: %s %s from %s: %s %s (%s)",
                message.method,
                message.path,
                message.source or "?",
                code,
                detail,
                reason,
            )


def line(seen: Seen) -> str:
    """The hop in one line: what happened, method, path, source → destination, status and
    time; a refusal's code and reason, an unreachable participant named with its address."""
    entry = seen.entry
    receiver = entry.destination or seen.receiver or "?"
    head = f"{entry.method} {entry.path} {entry.source or '?'} → {receiver}"
    took = "" if seen.ms is None else f" {seen.ms:.2f} ms"
    if entry.dialect != MOJALOOP:  # a PSD2 request and its answer
        refused = "" if seen.code is None else f" {seen.code} {_said(seen.answer) or ''}"
        return f"{entry.dialect}: {head} {seen.status}{took}{refused.rstrip()}"
    match entry.hop:
        case Hop.DROPPED:
            return f"dropped: {head}: {entry.error}"
        case Hop.SENT if seen.status is None:
            where = f"{entry.destination} at {seen.endpoint}"
            return f"unreachable: {head}: {where} could not be reached: {plain_reason(entry.error)}"
        case Hop.RECEIVED if entry.error is not None:
            return f"refused: {head} {seen.status} {seen.code} {entry.error}"
        case Hop.DELIVERED if entry.error is not None:
            return f"delivered: {head} {seen.status}{took}, refused: {entry.error}"
    return f"{entry.hop}: {head} {seen.status}{took}"


def fields(seen: Seen) -> dict[str, Any]:
    """The line's parts, as JSON fields under ``--log-json``."""
    entry = seen.entry
    return {
        "hop": entry.hop.value,
        "dialect": entry.dialect,
        "method": entry.method,
        "path": entry.path,
        "source": entry.source,
        "destination": entry.destination or seen.receiver,
        "status": seen.status,
        "ms": None if seen.ms is None else round(seen.ms, 3),
        "code": seen.code,
        "error": entry.error,
        "conversation": entry.conversation,
    }


def _said(body: dict[str, Any] | None) -> str | None:
    """What a PSD2 refusal says, in each dialect's error body: XS2A's first
    ``tppMessages[].text``, UK's first ``Errors[].Message``, STET's ``message``."""
    if not body:
        return None
    for key, text in (("tppMessages", "text"), ("Errors", "Message")):
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            said = items[0].get(text)
            return said if isinstance(said, str) else None
    message = body.get("message")
    return message if isinstance(message, str) else None


# -- the time a request took ------------------------------------------------------------

# aiohttp 3.13+ wants a typed key (a plain string warns); earlier versions have none.
_STARTED: Any = (
    web.RequestKey("tpsim_started", float) if hasattr(web, "RequestKey") else "tpsim_started"
)


@web.middleware
async def timed(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    """Note when tpsim began handling ``request``, for ``elapsed_ms``. (aiohttp keeps its
    own start time only for the access log, and only when that is on.)"""
    request[_STARTED] = time.perf_counter()
    response: web.StreamResponse = await handler(request)
    return response


def started_at(request: web.Request) -> float | None:
    """When ``timed`` saw ``request`` (``time.perf_counter``; None in an app without it)."""
    started: float | None = request.get(_STARTED)
    return started


def ms_since(started: float | None) -> float | None:
    """Milliseconds since ``started`` (a ``time.perf_counter`` value), None for None."""
    return None if started is None else (time.perf_counter() - started) * 1000


def elapsed_ms(request: web.Request) -> float | None:
    """Milliseconds since ``timed`` saw ``request`` (None in an app without it)."""
    return ms_since(started_at(request))
