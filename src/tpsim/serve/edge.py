"""The HTTP edge: every FSPIOP / Third Party request enters here.

Validation runs in the order the FSPIOP API describes (URI, method, size, headers, body)
and each failure is answered synchronously with its error code and an
``errorInformation`` body naming the field and the rule. After the headers comes the
sender (``_check_sender``): nobody outside speaks as a participant tpsim plays (3100), and
a source configured with a public key signs its requests (``FSPIOP-Signature``, 3105
otherwise) over the exact bytes received. An accepted message is
answered with the route's status (202 for requests, 200 for callbacks) and routed in
the background. No client input ever produces a 500: a body aiohttp cannot decode (a
broken gzip or deflate ``Content-Encoding``) is 3101, and an ``Expect`` header other than
``100-continue`` is 3100 in the same ``errorInformation`` format (``expect_handler``), not
aiohttp's plain text. (What aiohttp's HTTP parser refuses before a request exists, a bad
request line or header, ``serve.parser_refusals`` answers as 3101, or 3000 for a method.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import structlog
from aiohttp import HttpVersion11, hdrs, web

from tpsim.journal import Hop
from tpsim.mojaloop.errors import (
    FspiopError,
    InternalServerError,
    MalformedSyntax,
    MethodNotAllowed,
    MissingElement,
    PayloadTooLarge,
    UnknownUri,
    ValidationError,
)
from tpsim.mojaloop.message import DESTINATION, SOURCE, Message, make_headers
from tpsim.mojaloop.registry import Simulated
from tpsim.mojaloop.wire import headers as wire_headers
from tpsim.mojaloop.wire import routes
from tpsim.mojaloop.wire.jws import Keyring
from tpsim.mojaloop.wire.validation import decode_body
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.simulation import Simulation
from tpsim.serve.traffic import UNMATCHED, Seen, ms_since, started_at

log = structlog.get_logger("tpsim.edge")

MAX_BODY_BYTES = 5_242_880  # FSPIOP v1.1 §3.1.3: Content-Length at most 5 MiB
SIMULATION = web.AppKey("simulation", Simulation)


class Arrival(NamedTuple):
    """A request as the edge reads it: ``path`` decoded (what routes match), ``raw_path`` as
    sent (what a signature covers), ``has_body`` whether it came with one, ``started``
    when tpsim began handling it (``time.perf_counter``; None when unknown)."""

    method: str
    path: str
    raw_path: str
    headers: Mapping[str, str]
    has_body: bool
    started: float | None = None

    @classmethod
    def of(cls, request: web.Request) -> Arrival:
        """What ``request`` brought (its body is read apart: ``_read_body``)."""
        return cls(
            request.method,
            request.path,
            request.raw_path,
            request.headers,
            request.body_exists,
            started_at(request),
        )


class Answer(NamedTuple):
    """The edge's synchronous answer: a status, and the error's body and headers when
    refused (a 405's ``Allow``, RFC 9110 §15.5.6)."""

    status: int
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] | None = None


async def handle_fspiop(request: web.Request) -> web.Response:
    """Validate, answer synchronously, and hand the message to the router."""
    sim, arrival = request.app[SIMULATION], Arrival.of(request)
    matched: tuple[routes.Route, dict[str, str]] | None = None
    try:
        matched = routes.match(request.method, request.path)
        raw = await _read_body(request, sim)
    except FspiopError as exc:
        answer = refuse(sim, arrival, _at_root(exc, request.path), None, matched)
    except Exception:  # a bug must still not answer without a coded body
        answer = refuse(sim, arrival, _unexpected(request.path), None, matched)
    else:
        answer = admit(sim, arrival, matched, raw)
    if answer.body is not None:
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)
    return web.Response(status=answer.status, headers=answer.headers)


def admit(
    sim: Simulation,
    arrival: Arrival,
    matched: tuple[routes.Route, dict[str, str]],
    raw: bytes | None,
) -> Answer:
    """The rest of the edge, without sockets: validate what arrived at ``matched`` (its
    route and path parameters) with body ``raw``, journal it and hand it to the router,
    or refuse it."""
    route, params = matched
    body: dict[str, Any] | None = None
    try:
        body = None if raw is None else decode_body(raw)
        _check_headers(arrival, route, sim)
        _check_sender(arrival, raw, sim)
        # Roles read the typed model; the body stays as it was on the wire beside it.
        model = routes.parse_body(route, body)
    except FspiopError as exc:
        return refuse(sim, arrival, exc, body, matched)
    except Exception:  # a validator bug must still not answer without a coded body
        return refuse(sim, arrival, _unexpected(arrival.path), body, matched)
    message = Message(
        arrival.method,
        arrival.path,
        make_headers(dict(arrival.headers)),
        body,
        route=route,
        params=params,
        parsed=model,
    )
    refusal = sim.router.switch.sync_refusal(message)  # a rule's error: {sync: true}
    if refusal is not None:
        rule = refusal.rule.rule_name
        return refuse(sim, arrival, refusal.error, body, matched, rule=rule)
    entry = sim.journal.record(
        Hop.RECEIVED,
        message,
        at=sim.clock.now(),
        path_id=routes.correlation_id(route, params, body),
        status=route.sync_status,
    )
    traffic = sim.router.traffic
    if traffic.watched():  # no FSPIOP-Destination: the switch's own services answer
        hub = sim.router.hub_name
        took = ms_since(arrival.started)
        traffic.seen(Seen(entry, route.template, route.sync_status, took, receiver=hub))
    sim.router.submit(message)
    return Answer(route.sync_status)


# Where a person trying tpsim's address with curl finds what is for them (a browser gets
# the page: ``live.index``); the 3002 an FSPIOP client expects is kept.
AT_ROOT = (
    "no Third Party or FSPIOP resource at /: tpsim's live view is at /ui, its admin API"
    " at /admin/openapi.json, its health at /health"
)


def _at_root(error: FspiopError, path: str) -> FspiopError:
    """``error``, or at ``/`` the 3002 that says where tpsim's own pages are."""
    return UnknownUri(AT_ROOT) if isinstance(error, UnknownUri) and path == "/" else error


def _unexpected(path: str) -> InternalServerError:
    """The error for a request the edge failed on (logged with its traceback)."""
    log.exception("validation failed unexpectedly", path=path)
    return InternalServerError("tpsim could not validate this request")


async def _read_body(request: web.Request, sim: Simulation) -> bytes | None:
    if not request.body_exists:
        return None
    timeout = sim.config.server.body_timeout_s
    try:
        return await read_at_most(request, MAX_BODY_BYTES, timeout) or None
    except BodyRefused as exc:
        if exc.status == 413:
            raise PayloadTooLarge(exc.detail, field="Content-Length") from None
        raise MalformedSyntax(exc.detail) from None


async def expect_handler(request: web.Request) -> web.StreamResponse | None:
    """aiohttp's ``Expect`` handling (RFC 9110 §10.1.1) with its refusal as a coded error.

    aiohttp runs this before the handler and outside any middleware; its own one answers an
    unknown expectation with a plain-text 417.
    """
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version != HttpVersion11:
        return None  # HTTP/1.0 has no 100 (Continue): the client sends the body anyway
    if expect.lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the 100 is not part of the answer's size
        return None
    error = ValidationError(f"only 100-continue can be expected; got {expect!r}", field="Expect")
    answer = refuse(request.app[SIMULATION], Arrival.of(request), error, None, None)
    return web.json_response(answer.body, status=answer.status)


def _check_headers(arrival: Arrival, route: routes.Route, sim: Simulation) -> None:
    headers = arrival.headers
    if arrival.has_body or route.body is not None:
        content_type = _required(headers, "Content-Type")
        wire_headers.check_content_type(route.resource, content_type)
    if arrival.method != "PUT":
        wire_headers.check_accept(route.resource, _required(headers, "Accept"))
    wire_headers.parse_http_date(_required(headers, "Date"))
    source = _required(headers, SOURCE)
    if source not in sim.router.registry:
        raise ValidationError(
            f"{source!r} is not a participant of this scheme; register it in the config"
            " (participants) or load fixtures through /admin/fixtures",
            field=SOURCE,
        )
    if route.destination_required:
        _required(headers, DESTINATION)


def _check_sender(arrival: Arrival, raw: bytes | None, sim: Simulation) -> None:
    """What makes ``FSPIOP-Source`` more than a claim (README "Who may speak as whom").

    No request from outside may speak as a participant tpsim plays (a simulated DFSP or
    auth-service, or the switch): only tpsim sends their messages, in-process or over its
    own HTTP client. A source with a configured public key must sign every request but GETs
    (``mojaloop.wire.jws``): 3105 otherwise. Any other source is trusted as sent.
    """
    source = arrival.headers[SOURCE]
    if isinstance(sim.router.registry.get(source), Simulated):
        raise ValidationError(
            f"{source!r} is played by tpsim itself: no request from outside may carry its"
            " fspId; send as your own participant",
            field=SOURCE,
        )
    Keyring.of(sim.config).check(arrival.method, arrival.raw_path, arrival.headers, raw)


def _required(headers: Any, name: str) -> str:
    value: str | None = headers.get(name)
    if not value:
        raise MissingElement(f"the {name} header is required", field=name)
    return value


def refuse(
    sim: Simulation,
    arrival: Arrival,
    error: FspiopError,
    body: dict[str, Any] | None,
    matched: tuple[routes.Route, dict[str, str]] | None,
    *,
    rule: str | None = None,
) -> Answer:
    """The coded error's answer, the refused request journaled in its conversation
    (``rule``: the message rule whose error it is)."""
    info = error.error_information(sim.config.behaviour.profile)
    message = Message(arrival.method, arrival.path, make_headers(dict(arrival.headers)), body)
    path_id = None
    if matched is not None:
        path_id = routes.correlation_id(*matched, body)
    entry = sim.journal.record(
        Hop.RECEIVED,
        message,
        at=sim.clock.now(),
        path_id=path_id,
        status=error.http_status,
        error=info["errorInformation"]["errorDescription"],
        rule=rule,
    )
    traffic = sim.router.traffic
    if traffic.watched():
        route = UNMATCHED if matched is None else matched[0].template
        code = info["errorInformation"]["errorCode"]
        took = ms_since(arrival.started)
        traffic.seen(Seen(entry, route, error.http_status, took, code=code))
    return Answer(error.http_status, info, error_headers(error))


def error_headers(error: FspiopError) -> dict[str, str] | None:
    """The headers ``error``'s answer carries besides its body: a 405's ``Allow``."""
    if isinstance(error, MethodNotAllowed) and error.allow:
        return {"Allow": ", ".join(error.allow)}
    return None
