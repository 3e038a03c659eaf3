"""tpsim as a PISP's sdk-scheme-adapter for party lookup: ``GET /sdk/{fspId}/parties/…``.

Mojaloop's reference PISP (thirdparty-sdk) does not send ``GET /parties`` through the switch
itself: it asks its own sdk-scheme-adapter synchronously, at
``{SDK_OUTGOING_HTTP_SCHEME}://{SDK_OUTGOING_URI}/parties/{Type}/{ID}[/{SubId}]``, and the
adapter runs the asynchronous lookup for it. With ``SDK_OUTGOING_URI`` pointed at
``127.0.0.1:4040/sdk/pispa``, tpsim plays that adapter: the lookup goes through the switch as
participant ``pispa`` (journaled as any ``GET /parties`` from it), the ``PUT /parties`` (or
``…/error``) callback destined to ``pispa`` is taken by tpsim itself (``SdkLookups.claim``,
asked by ``serve.transports.Http`` before it sends anything) and never reaches the PISP's
HTTP endpoint, and the waiting request is answered in the adapter's shapes
(sdk-scheme-adapter ``OutboundServer/handlers.js`` ``getPartiesByTypeAndId``,
``PartiesModel.reformatMessage``):

    callback PUT /parties/…        → 200 {"party": {"body": <its party>, "headers": {…}},
                                          "currentState": "COMPLETED"}
    callback PUT /parties/…/error  → 404 {"errorInformation": {…}, "currentState": "COMPLETED"}
    no callback in time            → 500 {"message": …, "requestPartiesInformationState": {},
                                          "statusCode": "500"}  (the adapter's TimeoutError)
    a request tpsim cannot run     → 400 / 404 / 405 {"message": …, "statusCode": <FSPIOP code>}

Each waiting request takes one callback, oldest first: two lookups of the same party by the
same PISP send two ``GET /parties`` and each gets its own answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tpsim.config_participants import Kind
from tpsim.core.errors import TpsimError
from tpsim.journal import Hop
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Message, make_headers
from tpsim.mojaloop.registry import External
from tpsim.mojaloop.wire import routes
from tpsim.mojaloop.wire.headers import build_headers
from tpsim.mojaloop.wire.models.common import PartyIdType
from tpsim.serve.traffic import Seen, ms_since, started_at

if TYPE_CHECKING:
    from tpsim.serve.simulation import Simulation

# (fspId, Type, ID, SubId): what a lookup waits for, as Mojaloop's adapter keys its
# channel ``parties-{Type}-{ID}-{SubId}`` (per adapter, so per PISP here).
PartyKey = tuple[str, str, str, str | None]

_CALLBACKS = {
    "/parties/{Type}/{ID}",
    "/parties/{Type}/{ID}/error",
    "/parties/{Type}/{ID}/{SubId}",
    "/parties/{Type}/{ID}/{SubId}/error",
}
_MAX_ID = 128  # FSPIOP PartyIdentifier and PartySubIdOrType: 1 to 128 characters
USAGE = "GET /sdk/{fspId}/parties/{Type}/{ID}[/{SubId}]"
MAX_WAITING = 1000  # lookups waiting at once, each a future, a timer and a switch round trip


class SdkLookups:
    """Party lookups waiting for their callback; survives scheme reloads (the router
    does)."""

    def __init__(self) -> None:
        self._waiting: dict[PartyKey, list[asyncio.Future[Message]]] = {}

    @property
    def waiting(self) -> int:
        return sum(map(len, self._waiting.values()))

    def wait(self, key: PartyKey) -> asyncio.Future[Message]:
        """A future the next callback for ``key`` resolves (after those already waiting);
        ``Refused`` 503 when ``MAX_WAITING`` lookups wait already (the route is open to
        anyone who reaches tpsim, as FSPIOP's own are)."""
        if self.waiting >= MAX_WAITING:
            raise Refused(
                503,
                "2003",
                f"{MAX_WAITING} lookups are waiting for their callbacks: try again shortly",
            )
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        return future

    def forget(self, key: PartyKey, future: asyncio.Future[Message]) -> None:
        """``future`` waits no more (answered, timed out, or its client went away)."""
        waiting = self._waiting.get(key, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiting.pop(key, None)

    def claim(self, fsp_id: str, message: Message) -> bool:
        """Whether ``message`` to ``fsp_id`` is the ``PUT /parties`` callback a lookup of
        ``fsp_id`` waits for: then the oldest such lookup takes it, and it is not sent."""
        key = _callback_key(fsp_id, message)
        waiting = self._waiting.get(key) if key is not None else None
        if not waiting or key is None:
            return False
        taken = False
        while waiting and not taken:
            future = waiting.pop(0)
            if not future.done():  # one that timed out waits for its handler to forget it
                future.set_result(message)
                taken = True
        if not waiting:
            self._waiting.pop(key, None)
        return taken


def _callback_key(fsp_id: str, message: Message) -> PartyKey | None:
    """The lookup ``message`` answers, if it is a ``PUT /parties/…`` (or ``…/error``)."""
    if message.method != "PUT" or not message.path.startswith("/parties/"):
        return None
    route, params = (message.route, message.params) if message.route else _matched(message)
    if route is None or route.template not in _CALLBACKS:
        return None
    return (fsp_id, params["Type"], params["ID"], params.get("SubId"))


def _matched(message: Message) -> tuple[routes.Route | None, Mapping[str, str]]:
    try:
        return routes.match(message.method, message.path)
    except FspiopError:
        return None, {}


# --- the adapter's answers --------------------------------------------------------------


class Refused(TpsimError):
    """A lookup tpsim cannot run: answered ``status`` with the FSPIOP ``code``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def is_lookup(segments: list[str]) -> bool:
    """Whether ``segments`` (the path after ``/sdk/``) are a lookup's, ``USAGE``'s path: the
    routing and the edge's refusal of a method aiohttp cannot parse both ask."""
    return len(segments) in (4, 5) and segments[1] == "parties" and all(segments)


def refusal(error: Refused) -> web.Response:
    """The adapter's error shape for a request it does not run (its validator answers
    ``{"message", "statusCode"}``); ``statusCode`` is the FSPIOP code that says why. A 405
    names the one method the adapter's lookup takes (``Allow``, RFC 9110 §15.5.6)."""
    headers = {"Allow": "GET"} if error.status == 405 else None
    return web.json_response(
        {"message": error.detail, "statusCode": error.code}, status=error.status, headers=headers
    )


def answer(callback: Message) -> web.Response:
    """The adapter's answer from the callback: the party and the callback's headers (as
    Node names them, lower case), or its ``errorInformation`` with 404."""
    body: dict[str, Any] = callback.body or {}
    if callback.path.endswith("/error"):
        failed = {"errorInformation": body.get("errorInformation"), "currentState": "COMPLETED"}
        return web.json_response(failed, status=404)
    headers = {name.lower(): value for name, value in callback.headers.items()}
    found = {"party": {"body": body.get("party"), "headers": headers}, "currentState": "COMPLETED"}
    return web.json_response(found, status=200)


def timed_out(what: str, fsp_id: str, seconds: float) -> web.Response:
    """The adapter's answer when no callback came: its ``TimeoutError`` through
    ``handleError`` (500, ``statusCode`` "500"), the message saying what was awaited."""
    message = (
        f"Timeout: no {what} callback reached {fsp_id} within {seconds:g} s"
        " (behaviour.sdk_lookup_timeout_s)"
    )
    body = {"message": message, "requestPartiesInformationState": {}, "statusCode": "500"}
    return web.json_response(body, status=500)


# --- the request ------------------------------------------------------------------------


def read_request(request: web.Request, sim: Simulation) -> tuple[External, PartyKey, Message]:
    """The PISP, the party and the ``GET /parties`` that looks it up, of ``GET
    /sdk/{fspId}/parties/{Type}/{ID}[/{SubId}]``; or the ``Refused`` saying what to fix."""
    segments = request.match_info["tail"].split("/")
    if not is_lookup(segments):
        raise Refused(404, "3002", f"no such path: tpsim's /sdk serves {USAGE}")
    if request.method != "GET":
        raise Refused(405, "3000", f"{request.method} is not allowed: tpsim's /sdk serves {USAGE}")
    fsp_id, _, id_type, identifier, *rest = segments
    pisp = _pisp(fsp_id, sim)
    if id_type not in PartyIdType.__members__:
        kinds = ", ".join(PartyIdType.__members__)
        raise Refused(400, "3100", f"{id_type!r} is not a PartyIdType; use one of {kinds}")
    sub_id = rest[0] if rest else None
    for name, value in (("ID", identifier), ("SubId", sub_id)):
        if value is not None and (
            len(value) > _MAX_ID or not value.isprintable() or any(c in value for c in " ?#")
        ):
            raise Refused(
                400,
                "3100",
                f"{name} must be 1 to {_MAX_ID} printable characters, no spaces, '?' or '#'",
            )
    key = (fsp_id, id_type, identifier, sub_id)
    return pisp, key, lookup_message(key, sim)


def _pisp(fsp_id: str, sim: Simulation) -> External:
    """The external PISP ``fsp_id``, or the ``Refused`` naming the PISPs there are."""
    participant = sim.router.registry.get(fsp_id)
    if isinstance(participant, External) and participant.kind is Kind.PISP:
        return participant
    pisps = ", ".join(sim.router.registry.ids(Kind.PISP)) or "none"
    raise Refused(
        404,
        "3200",
        f"{fsp_id!r} is not a PISP of this scheme; use /sdk/{{fspId}} with one of: {pisps}",
    )


def lookup_message(key: PartyKey, sim: Simulation) -> Message:
    """The ``GET /parties`` the PISP's adapter sends: from the PISP, no FSPIOP-Destination
    (the switch's ALS finds the party's DFSP); ``Refused`` when the path names no party
    lookup (a SubId of "error": ``/parties/…/error`` is a callback)."""
    fsp_id, id_type, identifier, sub_id = key
    path = f"/parties/{id_type}/{identifier}" + (f"/{sub_id}" if sub_id else "")
    try:
        route, params = routes.match("GET", path)
    except FspiopError:
        route = None
    if route is None or not route.template.startswith("/parties/{Type}/{ID}"):
        raise Refused(404, "3002", f"no such path: tpsim's /sdk serves {USAGE}")
    headers = build_headers("GET", route.resource, fsp_id, None, sim.clock.now())
    return Message("GET", path, make_headers(headers), None, route=route, params=params)


async def lookup(request: web.Request, sim: Simulation) -> web.Response:
    """Run one party lookup through the switch and answer as the adapter does."""
    try:
        pisp, key, message = read_request(request, sim)
    except Refused as refused:
        return refusal(refused)
    route = message.route
    assert route is not None  # noqa: S101 - lookup_message matched it
    try:
        future = sim.sdk.wait(key)
    except Refused as refused:
        return refusal(refused)
    entry = sim.journal.record(
        Hop.RECEIVED,
        message,
        at=sim.clock.now(),
        path_id=routes.correlation_id(route, message.params, None),
        status=route.sync_status,
    )
    traffic = sim.router.traffic
    if traffic.watched():  # counted and logged as the edge does a lookup sent to it
        took = ms_since(started_at(request))
        hub = sim.router.hub_name
        traffic.seen(Seen(entry, route.template, route.sync_status, took, receiver=hub))
    seconds = sim.config.behaviour.sdk_lookup_timeout_s
    timer = sim.clock.call_at(
        sim.clock.now() + timedelta(seconds=seconds),
        lambda: None if future.done() else future.set_exception(TimeoutError()),
    )
    try:
        sim.router.submit(message)
        callback = await future
    except TimeoutError:
        return timed_out(f"PUT {message.path}", pisp.fsp_id, seconds)
    finally:
        timer.cancel()
        sim.sdk.forget(key, future)
    return answer(callback)


def add_sdk_routes(app: web.Application, sim: Simulation) -> None:
    """Mount ``/sdk/…`` (every method, so a wrong one is refused in the adapter's shape).

    Not behind the admin token: it is the PISP's own adapter API, as FSPIOP is."""

    async def handle(request: web.Request) -> web.Response:
        return await lookup(request, sim)

    app.router.add_route("*", r"/sdk/{tail:[\s\S]*}", handle)
