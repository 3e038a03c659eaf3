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
request line, header or chunk size, it answers itself in plain text.)
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import HttpVersion11, hdrs, web

from tpsim.journal import Hop
from tpsim.mojaloop.errors import (
    FspiopError,
    InternalServerError,
    MalformedSyntax,
    MissingElement,
    PayloadTooLarge,
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
from tpsim.serve.traffic import UNMATCHED, Seen, elapsed_ms

log = structlog.get_logger("tpsim.edge")

MAX_BODY_BYTES = 5_242_880  # FSPIOP v1.1 §3.1.3: Content-Length at most 5 MiB
SIMULATION = web.AppKey("simulation", Simulation)


async def handle_fspiop(request: web.Request) -> web.Response:
    """Validate, answer synchronously, and hand the message to the router."""
    sim = request.app[SIMULATION]
    body: dict[str, Any] | None = None
    matched: tuple[routes.Route, dict[str, str]] | None = None
    try:
        matched = route, params = routes.match(request.method, request.path)
        raw = await _read_body(request, sim)
        body = None if raw is None else decode_body(raw)
        _check_headers(request, route, sim)
        _check_sender(request, raw, sim)
        # Roles read the typed model; the body stays as it was on the wire beside it.
        model = routes.parse_body(route, body)
    except FspiopError as exc:
        return _reject(request, sim, exc, body, matched)
    except Exception:  # a validator bug must still not answer without a coded body
        log.exception("validation failed unexpectedly", path=request.path)
        error = InternalServerError("tpsim could not validate this request")
        return _reject(request, sim, error, body, matched)
    message = Message(
        request.method,
        request.path,
        make_headers(dict(request.headers)),
        body,
        route=route,
        params=params,
        parsed=model,
    )
    refusal = sim.router.switch.sync_refusal(message)  # a rule's error: {sync: true}
    if refusal is not None:
        return _reject(request, sim, refusal.error, body, matched, rule=refusal.rule.rule_name)
    entry = sim.journal.record(
        Hop.RECEIVED,
        message,
        at=sim.clock.now(),
        path_id=routes.correlation_id(route, params, body),
        status=route.sync_status,
    )
    traffic = sim.router.traffic
    if traffic.watched():  # no FSPIOP-Destination: the switch's own services answer
        took, hub = elapsed_ms(request), sim.router.hub_name
        traffic.seen(Seen(entry, route.template, route.sync_status, took, receiver=hub))
    sim.router.submit(message)
    return web.Response(status=route.sync_status)


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
    return _reject(request, request.app[SIMULATION], error, None, None)


def _check_headers(request: web.Request, route: routes.Route, sim: Simulation) -> None:
    headers = request.headers
    if request.body_exists or route.body is not None:
        content_type = _required(headers, "Content-Type")
        wire_headers.check_content_type(route.resource, content_type)
    if request.method != "PUT":
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


def _check_sender(request: web.Request, raw: bytes | None, sim: Simulation) -> None:
    """What makes ``FSPIOP-Source`` more than a claim (README "Who may speak as whom").

    No request from outside may speak as a participant tpsim plays (a simulated DFSP or
    auth-service, or the switch): only tpsim sends their messages, in-process or over its
    own HTTP client. A source with a configured public key must sign every request but GETs
    (``mojaloop.wire.jws``): 3105 otherwise. Any other source is trusted as sent.
    """
    source = request.headers[SOURCE]
    if isinstance(sim.router.registry.get(source), Simulated):
        raise ValidationError(
            f"{source!r} is played by tpsim itself: no request from outside may carry its"
            " fspId; send as your own participant",
            field=SOURCE,
        )
    Keyring.of(sim.config).check(request.method, request.raw_path, request.headers, raw)


def _required(headers: Any, name: str) -> str:
    value: str | None = headers.get(name)
    if not value:
        raise MissingElement(f"the {name} header is required", field=name)
    return value


def _reject(
    request: web.Request,
    sim: Simulation,
    error: FspiopError,
    body: dict[str, Any] | None,
    matched: tuple[routes.Route, dict[str, str]] | None,
    *,
    rule: str | None = None,
) -> web.Response:
    """Answer with the coded error and journal the refused request in its conversation
    (``rule``: the message rule whose error it is)."""
    info = error.error_information(sim.config.behaviour.profile)
    message = Message(request.method, request.path, make_headers(dict(request.headers)), body)
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
        traffic.seen(Seen(entry, route, error.http_status, elapsed_ms(request), code=code))
    return web.json_response(info, status=error.http_status)
