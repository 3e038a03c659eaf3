"""The Berlin Group XS2A edge: ``/xs2a/{fspId}/v1/…`` for every simulated bank, and the
bank's SCA page ``/login/{fspId}/xs2a/{authorisationId}``.

Each request is read (bounded in size and time), handed to the bank's ``Xs2aApi``
(sans-IO) and answered with what it says; the request and the answer are journaled as two
hops of dialect ``xs2a`` linked by the payment's and authorisation's ids. Anything else
under ``/xs2a/{fspId}/`` is a coded 404 ``RESOURCE_UNKNOWN``, never FSPIOP's error.

The SCA page is the PSU page family (``serve.pages``). While the bank's
``behaviour.psd2.headless`` is on, ``?sim_decision=approve|deny`` (``sim_psu``,
``sim_account`` optional: the payment's debtor account, as the admin decision takes it)
decides without HTML and answers the final 302 to the TPP at once (DESIGN.md "Headless
SCA"); each browser redirect is journaled with its ``redirect`` URL.

The routes are mounted at once but ``tpsim.xs2a`` is imported with the first request
that needs it (``serve.psd2`` builds the banks' APIs then), so serving starts sooner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from tpsim.auth.psu import PsuJourney, UnknownJourney
from tpsim.serve.account_choice import AccountChoice, page_choice, xs2a_choice
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.edge import SIMULATION
from tpsim.serve.oauth import UnknownAuthorizationServer, add_oauth_routes
from tpsim.serve.psd2_edge import (
    MAX_BODY_BYTES,
    SwitchablePages,
    encoded,
    journal_exchange,
    journal_redirect,
    json_answer,
    site,
)
from tpsim.serve.simulation import Simulation

if TYPE_CHECKING:
    from tpsim.auth.oauth import AuthorizationServer, IntentApproval
    from tpsim.auth.oauth_model import AuthorizationParameters
    from tpsim.xs2a.api import Answer, Xs2aApi
    from tpsim.xs2a.errors import ResourceUnknown
    from tpsim.xs2a.journey import RedirectJourney

log = structlog.get_logger("tpsim.xs2a")

DIALECT = "xs2a"
_JSON = "application/json"


async def handle_xs2a(request: web.Request) -> web.Response:
    """One XS2A request: never a traceback, always a coded answer."""
    from tpsim.xs2a.api import refusal
    from tpsim.xs2a.errors import FormatError

    sim = request.app[SIMULATION]
    fsp_id = request.match_info["fsp_id"]
    api = sim.psd2.xs2a.get(fsp_id)
    raw = b""
    if api is None:
        answer = refusal(_no_bank(sim, fsp_id), request.headers)
    else:
        try:
            raw = await read_at_most(request, MAX_BODY_BYTES, sim.config.server.body_timeout_s)
            answer = _handle(api, request, raw)
        except BodyRefused as exc:
            answer = refusal(
                FormatError(f"the body could not be read: {exc.detail}"), request.headers
            )
        sim.psd2.arm()
    sent = encoded(answer.body)
    journal_exchange(
        request,
        raw,
        dialect=DIALECT,
        client=(api.caller(request.headers) if api else None) or "tpp",
        bank=fsp_id,
        status=answer.status,
        headers=answer.headers,
        body=answer.body,
        related=(answer.payment_id, answer.authorisation_id),
        error=None if answer.status < 400 else _first_code(answer.body),
        sent=sent,
    )
    return json_answer(answer.status, answer.headers, sent)


def _handle(api: Xs2aApi, request: web.Request, raw: bytes) -> Answer:
    from tpsim.xs2a.api import ApiRequest, refusal
    from tpsim.xs2a.errors import InternalError

    tail = request.match_info.get("tail", "")
    segments = tuple(part for part in tail.split("/") if part)
    try:
        return api.handle(ApiRequest(request.method, segments, request.headers, raw, site(request)))
    except Exception:  # a bug must still answer in the dialect's format
        log.exception("XS2A request failed unexpectedly", path=request.path)
        return refusal(InternalError("tpsim failed on this request; see its log"), request.headers)


async def unknown_xs2a(request: web.Request) -> web.Response:
    """Anything under ``/xs2a/{fspId}/`` that is no XS2A resource."""
    from tpsim.xs2a.api import refusal
    from tpsim.xs2a.errors import ResourceUnknown

    error = ResourceUnknown(
        f"no XS2A resource at {request.path}: the PIS API is under"
        f" /xs2a/{request.match_info['fsp_id']}/v1/"
    )
    answer = refusal(error, request.headers)
    return web.json_response(answer.body, status=answer.status, headers=answer.headers)


def _no_bank(sim: Simulation, fsp_id: str) -> ResourceUnknown:
    from tpsim.xs2a.errors import ResourceUnknown

    banks = ", ".join(sorted(sim.psd2.xs2a)) or "none"
    return ResourceUnknown(
        f"{fsp_id} is not a bank tpsim simulates (simulated banks: {banks})", path="fspId"
    )


def _first_code(body: dict[str, Any] | None) -> str | None:
    messages = (body or {}).get("tppMessages") or [{}]
    code = messages[0].get("code")
    return str(code) if code else None


# -- the bank's SCA page ------------------------------------------------------------------


def redirect_journey(sim: Simulation, fsp_id: str, journey_id: str) -> PsuJourney:
    return _journey(sim, fsp_id, journey_id)


def _journey(sim: Simulation, fsp_id: str, journey_id: str) -> RedirectJourney:
    from tpsim.xs2a.journey import RedirectJourney

    api = sim.psd2.xs2a.get(fsp_id)
    if api is None:
        raise UnknownJourney("bank", f"{fsp_id} is not a bank tpsim simulates")
    return RedirectJourney(api.auths, journey_id)


def _decide_headless(request: web.Request, approve: bool) -> str | tuple[int, str]:
    """``sim_decision`` (with ``sim_psu``, ``sim_account``) on a redirect authorisation's
    link: where the browser goes. The payment names its debtor account, which pays: a
    ``sim_account`` the admin decision would refuse is refused (400) before anything is
    decided (``serve.account_choice``), never dropped."""
    sim, query = request.app[SIMULATION], request.query
    fsp_id, journey_id = request.match_info["fsp_id"], request.match_info["journey_id"]
    journey = _journey(sim, fsp_id, journey_id)
    psu, _ = page_choice(query, _choice(sim, fsp_id, journey_id) if approve else None)
    outcome = journey.decide_headless(approve, psu)
    if outcome.redirect is None:
        return 200, f"decided: {outcome.sca_status.value}"
    return outcome.redirect


def _choice(sim: Simulation, fsp_id: str, journey_id: str) -> AccountChoice | None:
    """What the account of authorisation ``journey_id``'s payment may be (None: no such
    authorisation, which the journey refuses)."""
    api = sim.psd2.xs2a.get(fsp_id)
    auth = api.auths.find(journey_id) if api else None
    return None if auth is None else xs2a_choice(sim, fsp_id, auth.payment_id)


def _journal_redirect(request: web.Request, location: str, status: int) -> None:
    sim = request.app[SIMULATION]
    fsp_id, journey_id = request.match_info["fsp_id"], request.match_info["journey_id"]
    api = sim.psd2.xs2a.get(fsp_id)
    auth = api.auths.find(journey_id) if api else None
    journal_redirect(
        request,
        location,
        status,
        dialect=DIALECT,
        bank=fsp_id,
        related=(auth.payment_id if auth else None, journey_id),
    )


def _oauth(sim: Simulation, fsp_id: str) -> tuple[AuthorizationServer, IntentApproval]:
    """Bank ``fsp_id``'s authorisation server, and its XS2A payments as what it authorises
    (``scope=PIS:{paymentId}``)."""
    from tpsim.xs2a.journey import OAuthApproval

    api = sim.psd2.xs2a.get(fsp_id)
    if api is None:
        raise UnknownAuthorizationServer(fsp_id)
    return sim.psd2.oauth[fsp_id], OAuthApproval(api.auths)


def _intent(params: AuthorizationParameters) -> str | None:
    """The payment an authorisation request's ``scope`` names (``PIS:{paymentId}``)."""
    from tpsim.auth.oauth_model import intent_from_scope

    return intent_from_scope(params)


def add_xs2a_routes(app: web.Application) -> None:
    """The XS2A API of every simulated bank, its SCA page and its OAuth authorisation
    server (the OAuth SCA approach), before the FSPIOP catch-all."""
    # The Berlin Group's OAuth SCA approach uses PKCE with S256 and names the payment in
    # the scope PIS:{paymentId} (digest §2.3, note 8): required here, plain refused.
    add_oauth_routes(
        app,
        "/xs2a/{fsp_id}",
        _oauth,
        intent=_intent,
        pkce_required=True,
        pkce_methods=("S256",),
        scope_templates=("PIS:{paymentId}",),
        choice=xs2a_choice,
    )
    pages = SwitchablePages(redirect_journey, _decide_headless, _journal_redirect)
    app.router.add_get("/login/{fsp_id}/xs2a/{journey_id}", pages.show)
    app.router.add_post("/login/{fsp_id}/xs2a/{journey_id}", pages.submit)
    # [\s\S]*, not .*: a segment may hold a decoded %0A, which "." does not match (the
    # request would fall through to aiohttp's plain-text 404).
    app.router.add_route("*", r"/xs2a/{fsp_id}/v1/{tail:[\s\S]*}", handle_xs2a)
    app.router.add_route("*", "/xs2a/{fsp_id}/v1", handle_xs2a)
    app.router.add_route("*", r"/xs2a/{fsp_id}/{tail:[\s\S]*}", unknown_xs2a)
