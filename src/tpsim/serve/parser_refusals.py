"""What aiohttp's HTTP parser refuses, answered in the refused API's own format.

A request whose head aiohttp cannot parse (a method token it does not know, a control
character in a header value, a duplicate ``Content-Type``, a ``Content-Length`` that is
no number) never becomes a request: aiohttp answers it itself through its request
handler's ``handle_error``, as ``400 text/plain``. ``CodedRefusals`` is that handler with
``handle_error`` overridden (a public method of ``web.RequestHandler``, called with the
parser's ``BadHttpMessage``; its signature is the same in aiohttp 3.11 to 3.14): the refusal is
the coded error of the API the request line addressed: FSPIOP's ``errorInformation``
(3101), XS2A's ``tppMessages``, the UK's ``OBErrorResponse1``, STET's ``ErrorModel``, the
sdk lookup's ``{"message", "statusCode"}``, a bank's OAuth error JSON, else the admin API's
``{"error"}``. A method is the API's own 405 with the ``Allow`` its routing sends on the
path (each API's one table of methods per resource, RFC 9110 §15.5.6), or its 404 where
it has no resource.
A ``CONNECT`` parses, but no route takes it: ``tunnel_refusal`` answers it the same way.

The parser keeps no path once it fails, so the target is read from the connection's last
bytes (``last_read``), which hold the refused head; no target there (the head began in
an earlier read) is answered as the admin API would.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Container
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import http_exceptions, web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.web_request import BaseRequest

from tpsim.mojaloop.errors import FspiopError, MalformedSyntax, MethodNotAllowed, UnknownUri
from tpsim.mojaloop.wire.routes import allowed_methods
from tpsim.serve.admin import problem
from tpsim.serve.edge import SIMULATION, error_headers
from tpsim.serve.oauth import ENDPOINTS, malformed_refusal, method_refusal
from tpsim.serve.psd2_edge import encoded, json_answer
from tpsim.serve.simulation import Simulation

# A request line (RFC 9112 §3): method SP request-target SP HTTP-version; the last one in
# the bytes read is the refused request's.
_REQUEST_LINE = re.compile(rb"(?:\A|\n)[^\s]+ +([^\s]+) +HTTP/")


# aiohttp 3.11.8 named an unknown method's refusal BadHttpMethod; before it, llhttp's
# message ("Invalid method encountered") is what tells it apart.
_BAD_METHOD: tuple[type[BadHttpMessage], ...] = tuple(
    kind for kind in (getattr(http_exceptions, "BadHttpMethod", None),) if kind is not None
)


class CodedRefusals(web.RequestHandler):
    """aiohttp's request handler of one connection, whose parser refusals are coded."""

    __slots__ = ("_last_read", "_sim")

    def __init__(
        self,
        manager: web.Server,
        sim: Simulation,
        last_read: Callable[[], bytes],
        *,
        loop: asyncio.AbstractEventLoop,
        **options: Any,
    ) -> None:
        super().__init__(manager, loop=loop, **options)
        self._sim = sim
        self._last_read = last_read

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own first: it logs, and raises when an answer has begun already.
        plain = super().handle_error(request, status, exc, message)
        if not isinstance(exc, BadHttpMessage):
            return plain  # a 500 or 504 of a request tpsim's handlers took
        answer = refusal(self._sim, request_target(self._last_read()), exc)
        answer.force_close()  # what follows a head the parser refused cannot be framed
        return answer


def request_target(data: bytes) -> str | None:
    """The path of the last request line in ``data`` (None: none there)."""
    lines = _REQUEST_LINE.findall(data)
    if not lines:
        return None
    target: str = lines[-1].decode("latin-1")
    return target if target.startswith("/") else urlsplit(target).path or None


def refusal(sim: Simulation, path: str | None, exc: BadHttpMessage) -> web.Response:
    """The refusal of a head aiohttp could not parse, in the format of ``path``'s API."""
    reason = exc.message.split("\n", 1)[0].rstrip(": ") or "malformed request"
    method = isinstance(exc, _BAD_METHOD) or reason.startswith("Invalid method")
    return coded_refusal(sim, path, reason, method=method)


async def tunnel_refusal(request: web.Request) -> web.StreamResponse:
    """The refusal of a ``CONNECT``, which tpsim serves on no path (it is no proxy).

    aiohttp reads a CONNECT's target as an authority (``request.path`` is ``''``, so no
    route matches: aiohttp's plain ``404: Not Found``) and everything after its head as
    the tunnel's bytes, which end only when the client closes. Once answered, aiohttp
    waits for that end (its lingering close, 10 s) before it closes the connection, which
    holds a ``server.max_connections`` slot. So the refusal is written here, as a method
    refusal of the path the target names, and the connection closed right after it: what
    follows a refused CONNECT cannot be read as HTTP anyway (RFC 9110 §9.3.6).
    """
    target = request.raw_path
    path = urlsplit(target).path if target.startswith("/") else None
    reason = f"{request.method} is not served: tpsim is no proxy"
    answer = coded_refusal(request.app[SIMULATION], path, reason, method=True)
    answer.force_close()
    await answer.prepare(request)
    await answer.write_eof()
    request.protocol.force_close()  # closes the transport once the answer is written
    return answer


def coded_refusal(sim: Simulation, path: str | None, reason: str, *, method: bool) -> web.Response:
    """``reason`` (what was refused) as the coded error of ``path``'s API: a method the API
    does not define (``method``) is the API's own 405 with the ``Allow`` its routing sends
    on the path (RFC 9110 §15.5.6), or its 404 where it has no resource; anything else its
    malformed-request error."""
    fix = (
        "send a method the API defines for this resource"
        if method
        else "send the request line and each 'name: value' header as RFC 9112 spells them"
    )
    text = f"{reason}: {fix}"
    dialect = (path or "").split("/", 2)[1] if path and path.count("/") > 1 else ""
    parts = unquote(path or "").split("/")  # "", dialect, fspId, …: as aiohttp matches it
    if dialect in ("xs2a", "obie", "stet") and len(parts) > 3 and parts[2]:
        allowed = ENDPOINTS.get("/" + "/".join(parts[3:]))  # the bank's OAuth server's
        if allowed is not None:
            return method_refusal(reason, allowed) if method else malformed_refusal(text)
    if dialect == "xs2a":
        return _xs2a(sim, text, parts, method=method)
    if dialect == "obie":
        return _obie(sim, text, parts, method=method)
    if dialect == "stet":
        return _stet(sim, text, path or "", parts, method=method)
    if dialect == "sdk":
        return _sdk(text, parts, method=method)
    if path is None or path.startswith(("/admin/", "/metrics", "/ui", "/health", "/login/")):
        return problem(400, text, code="MALFORMED_REQUEST")
    error: FspiopError = MalformedSyntax(text)
    if method:
        allow = allowed_methods(unquote(path))
        if allow is None:
            error = UnknownUri(f"no Third Party or FSPIOP resource at {path[:200]}")
        else:
            error = MethodNotAllowed(text, allow=allow)
    info = error.error_information(sim.config.behaviour.profile)
    return web.json_response(info, status=error.http_status, headers=error_headers(error))


def _xs2a(sim: Simulation, text: str, parts: list[str], *, method: bool) -> web.Response:
    from tpsim.xs2a.api import allowed_methods as xs2a_methods
    from tpsim.xs2a.api import refusal as xs2a_refusal
    from tpsim.xs2a.errors import FormatError, ResourceUnknown, ServiceInvalid, Xs2aError

    error: Xs2aError = FormatError(text)
    if method:  # the PIS API under /v1/, as its routing says
        allow = _allowed(parts, ["v1"], sim.psd2.xs2a, xs2a_methods)
        if allow is None:
            where = "/".join(parts)[:200]
            error = ResourceUnknown(f"no XS2A resource at {where}: the PIS API is under /v1/")
        else:
            error = ServiceInvalid(text, allow=allow)
    answer = xs2a_refusal(error, {})
    return json_answer(answer.status, answer.headers, encoded(answer.body))


def _obie(sim: Simulation, text: str, parts: list[str], *, method: bool) -> web.Response:
    from tpsim.obie.api import ERROR_HEADER, INTERACTION, allowed_methods, printable
    from tpsim.obie.errors import InvalidFormat, MethodNotAllowed, NoRoute, ObieError
    from tpsim.obie.states import VERSIONS

    interaction = str(uuid.uuid4())
    headers = {INTERACTION: interaction}
    version = parts[4][1:] if len(parts) > 4 and parts[4].startswith("v") else ""
    error: ObieError = InvalidFormat(text)
    if method:  # the PIS API under /open-banking/v{version}/pisp/, as its routing says
        api = ["open-banking", f"v{version}", "pisp"] if version in VERSIONS else []
        allow = _allowed(parts, api, sim.psd2.obie, allowed_methods)
        if allow is None:
            error = NoRoute(f"no UK Open Banking API resource at {'/'.join(parts)[:200]}")
        else:
            error = MethodNotAllowed(text, allow=allow)
            headers["Allow"] = ", ".join(allow)  # RFC 9110 §15.5.6, as a DELETE there is told
    body = error.body("4.0" if version == "4.0" else "3.1", interaction)
    if body is None:  # the spec's 404 and 405 have no body: why is said in a header
        headers[ERROR_HEADER] = printable(error.message)
        return web.Response(status=error.status, headers=headers)
    return web.json_response(body, status=error.status, headers=headers)


def _stet(sim: Simulation, text: str, path: str, parts: list[str], *, method: bool) -> web.Response:
    from tpsim.stet.api import allowed_methods as stet_methods
    from tpsim.stet.errors import HeaderInvalid, MethodNotAllowed, NoRoute, StetError

    headers = {"X-Request-ID": str(uuid.uuid4())}
    error: StetError = HeaderInvalid(text)
    if method:  # the PIS API under /v1/, as its routing says
        allow = _allowed(parts, ["v1"], sim.psd2.stet, stet_methods)
        if allow is None:
            error = NoRoute(f"no STET resource at {path[:200]}: see /payment-requests")
        else:
            error = MethodNotAllowed(text, allow=allow)
            headers["Allow"] = ", ".join(allow)  # RFC 9110 §15.5.6, as a DELETE there is told
    body = error.body(sim.clock.now(), path)
    return web.json_response(body, status=error.status, headers=headers)


def _allowed(
    parts: list[str],
    api: list[str],
    banks: Container[str],
    methods: Callable[[tuple[str, ...]], tuple[str, ...] | None],
) -> tuple[str, ...] | None:
    """The methods a dialect's routing (``methods``, its ``allowed_methods``) gives the
    resource at ``parts`` ("", dialect, fspId, …): under the PIS API's base segments
    ``api`` of one of its ``banks``; None where it has no resource (``api`` empty: a
    version it does not play)."""
    base = 3 + len(api)
    if not api or parts[3:base] != api or len(parts) <= base or parts[2] not in banks:
        return None
    return methods(tuple(part for part in parts[base:] if part))


def _sdk(text: str, parts: list[str], *, method: bool) -> web.Response:
    from tpsim.serve.sdk import USAGE, Refused, is_lookup
    from tpsim.serve.sdk import refusal as sdk_refusal

    error = Refused(400, "3101", text)
    if method and is_lookup(parts[2:]):
        error = Refused(405, "3000", text)  # with Allow: GET, as the lookup's routing says
    elif method:
        error = Refused(404, "3002", f"no such path: tpsim's /sdk serves {USAGE}")
    return sdk_refusal(error)
