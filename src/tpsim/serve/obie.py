"""The UK Open Banking edge: ``/obie/{fspId}/open-banking/v3.1/pisp/…`` and ``…/v4.0/pisp/…``
for every simulated bank, and the bank's OAuth 2.0 / OIDC server under ``/obie/{fspId}``.

Each request is read (bounded in size and time), handed to the bank's ``ObieApi``
(sans-IO) and answered with what it says; the request and the answer are journaled as
two hops of dialect ``obie`` linked by the consent's and payment's ids
(``serve.psd2_edge``). The consent page is the OAuth server's PSU page: the PSU signs in,
picks the debtor account when the consent names none, and authorises or denies; the
authorisation server reads the consent from the request object's
``openbanking_intent_id`` claim (or a plain parameter).

The routes are mounted at once but ``tpsim.obie`` is imported with the first request
that needs it (``serve.psd2`` builds the banks' APIs then), so serving starts sooner.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from tpsim.serve.account_choice import uk_choice
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.edge import SIMULATION
from tpsim.serve.oauth import UnknownAuthorizationServer, add_oauth_routes, issuer_at
from tpsim.serve.psd2_edge import MAX_BODY_BYTES, journal_exchange, json_answer, site
from tpsim.serve.simulation import Simulation

if TYPE_CHECKING:
    from tpsim.auth.oauth import AuthorizationServer, IntentApproval
    from tpsim.auth.oauth_model import AuthorizationParameters
    from tpsim.obie.api import Answer, ObieApi, ObieRequest

log = structlog.get_logger("tpsim.obie")

DIALECT = "obie"
BASE = "/obie/{fsp_id}"  # the bank's UK API and its OAuth server (one issuer)


async def handle_obie(request: web.Request) -> web.Response:
    """One UK request: never a traceback, always an answer in the version's own format."""
    from tpsim.obie.errors import InvalidFormat
    from tpsim.obie.signatures import encode
    from tpsim.obie.states import VERSIONS

    sim = request.app[SIMULATION]
    fsp_id, version = request.match_info["fsp_id"], request.match_info["version"]
    api = sim.psd2.obie.get(fsp_id)
    if api is None or version not in VERSIONS:
        return _not_found(request, sim, fsp_id, version)
    try:
        raw = await read_at_most(request, MAX_BODY_BYTES, sim.config.server.body_timeout_s)
    except BodyRefused as exc:
        raw = b""  # not read: the journal keeps no body
        error = InvalidFormat(f"the body could not be read: {exc.detail}")
        answer = api.refuse(_request(request, version, raw), error)
    else:
        answer = _handle(api, request, version, raw)
    sim.psd2.arm()
    # The bytes the body's x-jws-signature covers.
    sent = None if answer.body is None else encode(answer.body)
    journal_exchange(
        request,
        raw,
        dialect=DIALECT,
        client=answer.tpp or "tpp",
        bank=fsp_id,
        status=answer.status,
        headers=answer.headers,
        body=answer.body,
        related=(answer.consent_id, answer.payment_id),
        error=None if answer.status < 400 else _first_code(answer.body),
        sent=sent,
    )
    return json_answer(answer.status, answer.headers, sent)


def _request(request: web.Request, version: str, raw: bytes) -> ObieRequest:
    from tpsim.obie.api import ObieRequest

    tail = request.match_info.get("tail", "")
    segments = tuple(part for part in tail.split("/") if part)
    issuer = issuer_at(request.app[SIMULATION], BASE, request.match_info["fsp_id"])
    return ObieRequest(
        version, request.method, segments, request.headers, raw, site(request), issuer
    )


def _handle(api: ObieApi, request: web.Request, version: str, raw: bytes) -> Answer:
    from tpsim.obie.errors import UnexpectedError

    asked = _request(request, version, raw)
    try:
        return api.handle(asked)
    except Exception:  # a bug must still answer in the dialect's format
        log.exception("UK request failed unexpectedly", path=request.path)
        return api.refuse(asked, UnexpectedError("tpsim failed on this request; see its log"))


def _not_found(request: web.Request, sim: Simulation, fsp_id: str, version: str) -> web.Response:
    from tpsim.obie.api import ERROR_HEADER, INTERACTION, interaction_id, printable

    banks = ", ".join(sorted(sim.psd2.obie)) or "none"
    text = (
        f"no UK Open Banking API at {request.path}: the simulated banks ({banks}) serve"
        " /obie/{fspId}/open-banking/v3.1/pisp/... and .../v4.0/pisp/..."
    )
    # The spec's 404 has no body: say why in a header (and, as on every answer, the
    # interaction id). A header is printable ASCII: the decoded path may hold a line break
    # (%0D%0A), which aiohttp refuses to write (the connection would end unanswered).
    interaction = interaction_id(request.headers, lambda: str(uuid.uuid4()))
    headers = {ERROR_HEADER: printable(text), INTERACTION: interaction}
    return web.Response(status=404, headers=headers)


async def unknown_obie(request: web.Request) -> web.Response:
    """Any other path under ``/obie/{fspId}``: the UK API's own 404, not the FSPIOP edge's."""
    sim = request.app[SIMULATION]
    return _not_found(request, sim, request.match_info["fsp_id"], "")


def _first_code(body: dict[str, object] | None) -> str | None:
    errors = (body or {}).get("Errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("ErrorCode")
        return str(code) if code else None
    return None


def _oauth(sim: Simulation, fsp_id: str) -> tuple[AuthorizationServer, IntentApproval]:
    """Bank ``fsp_id``'s authorisation server, and its UK consents as what it authorises
    (``openbanking_intent_id``)."""
    api = sim.psd2.obie.get(fsp_id)
    if api is None:
        raise UnknownAuthorizationServer(fsp_id)
    return sim.psd2.oauth[fsp_id], api.approval


def _intent(params: AuthorizationParameters) -> str | None:
    """The consent an authorisation request names (``openbanking_intent_id``)."""
    from tpsim.auth.oauth_model import intent_from_claims

    return intent_from_claims(params)


def add_obie_routes(app: web.Application) -> None:
    """The UK API of every simulated bank and its OAuth server, before the FSPIOP catch-all."""
    add_oauth_routes(app, BASE, _oauth, intent=_intent, choice=uk_choice)
    # [\s\S]*, not .*: a segment may hold a decoded %0A, which "." does not match.
    app.router.add_route(
        "*", r"/obie/{fsp_id}/open-banking/v{version}/pisp/{tail:[\s\S]*}", handle_obie
    )
    app.router.add_route("*", r"/obie/{fsp_id}/{tail:[\s\S]*}", unknown_obie)
    app.router.add_route("*", "/obie/{fsp_id}", unknown_obie)
