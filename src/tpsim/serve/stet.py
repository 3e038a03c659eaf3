"""The STET edge: ``/stet/{fspId}/v1/…`` for every simulated bank, its approval page and
its OAuth 2.0 server under ``/stet/{fspId}`` (``/token``: client credentials with scope
``pisp``; ``/authorize``: the o-confirmation variant's approval).

Each request is read (bounded in size and time), handed to the bank's ``StetApi``
(sans-IO) and answered with what it says; the request and the answer are journaled as two
hops of dialect ``stet`` linked by the payment request's id (``serve.psd2_edge``). The
approval page (``/login/{fspId}/stet/{paymentRequestResourceId}``) is the page family of
``serve.pages``: the PSU signs in, chooses an account that can pay when the request names
none, and approves or denies; ``sim_decision=approve|deny`` (with ``sim_psu``,
``sim_account``) on it decides at once and answers the final 302.

The routes are mounted at once but ``tpsim.stet`` is imported with the first request
that needs it (``serve.psd2`` builds the banks' APIs then), so serving starts sooner.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from tpsim.auth.psu import PsuJourney, UnknownJourney
from tpsim.serve.account_choice import page_choice, stet_choice
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.edge import SIMULATION
from tpsim.serve.oauth import UnknownAuthorizationServer, add_oauth_routes, issuer_at
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
    from tpsim.stet.api import Answer, StetApi, StetRequest
    from tpsim.stet.approval import RedirectJourney

# The approval page (``stet.answers.APPROVAL_PATH``, which the bank's links name: a test
# checks the two agree) and the request id header (``stet.api.REQUEST_ID``), here so that
# mounting the routes imports nothing of ``tpsim.stet``.
APPROVAL_PATH = "/login/{fsp_id}/stet/{journey_id}"
REQUEST_ID = "X-Request-ID"

log = structlog.get_logger("tpsim.stet")

DIALECT = "stet"
BASE = "/stet/{fsp_id}"  # the bank's STET API and its OAuth server (one issuer)


async def handle_stet(request: web.Request) -> web.Response:
    """One STET request: never a traceback, always an ``ErrorModel`` when refused."""
    from tpsim.stet.errors import FieldInvalid

    sim = request.app[SIMULATION]
    fsp_id = request.match_info["fsp_id"]
    api = sim.psd2.stet.get(fsp_id)
    if api is None:
        return _no_bank(request, sim, fsp_id)
    try:
        raw = await read_at_most(request, MAX_BODY_BYTES, sim.config.server.body_timeout_s)
    except BodyRefused as exc:
        raw = b""  # not read: the journal keeps no body
        error = FieldInvalid(f"the body could not be read: {exc.detail}", status=exc.status)
        answer = api.refuse(_request(request, raw), error)
    else:
        answer = _handle(api, request, raw)
    sim.psd2.arm()
    sent = encoded(answer.body)
    journal_exchange(
        request,
        raw,
        dialect=DIALECT,
        client=answer.tpp or "pisp",
        bank=fsp_id,
        status=answer.status,
        headers=answer.headers,
        body=answer.body,
        related=(answer.resource_id, *_intent_ids(api, answer.resource_id)),
        error=None if answer.status < 400 else _code(answer),
        sent=sent,
    )
    return json_answer(answer.status, answer.headers, sent)


def _intent_ids(api: StetApi, resource_id: str | None) -> tuple[str, ...]:
    """The core intents of a payment request's instructions: its conversation includes
    their settlement (the Mojaloop quote and transfer carry the intent id)."""
    found = api.bank.requests.get(resource_id) if resource_id else None
    if found is None:
        return ()
    return tuple(found.intent_id(i) for i in range(len(found.order.instructions)))


def _request(request: web.Request, raw: bytes) -> StetRequest:
    from tpsim.stet.api import StetRequest

    tail = request.match_info.get("tail", "")
    segments = tuple(part for part in tail.split("/") if part)
    target = request.raw_path
    issuer = issuer_at(request.app[SIMULATION], BASE, request.match_info["fsp_id"])
    return StetRequest(
        request.method, segments, request.headers, raw, site(request), target, issuer
    )


def _handle(api: StetApi, request: web.Request, raw: bytes) -> Answer:
    from tpsim.stet.errors import InternalError

    asked = _request(request, raw)
    try:
        return api.handle(asked)
    except Exception:  # a bug must still answer in the dialect's format
        log.exception("STET request failed unexpectedly", path=request.path)
        return api.refuse(asked, InternalError("tpsim failed on this request; see its log"))


def _code(answer: Answer) -> str | None:
    code = (answer.body or {}).get("error")
    return str(code) if code else None


def _no_bank(request: web.Request, sim: Simulation, fsp_id: str) -> web.Response:
    banks = ", ".join(sorted(sim.psd2.stet)) or "none"
    return _no_route(
        request,
        f"{fsp_id} is not a bank tpsim simulates (simulated banks: {banks}): their STET APIs"
        " are at /stet/{fspId}/v1/payment-requests",
    )


async def unknown_stet(request: web.Request) -> web.Response:
    """Anything under ``/stet/{fspId}/`` that is neither the API nor the OAuth server."""
    fsp_id = request.match_info["fsp_id"]
    return _no_route(request, f"no STET resource here: the PIS API is under /stet/{fsp_id}/v1/")


def _no_route(request: web.Request, text: str) -> web.Response:
    """STET's ErrorModel (404) for a path no bank serves, with the request id echoed."""
    from tpsim.stet.errors import NoRoute

    error = NoRoute(f"{request.path[:200]}: {text}")
    body = error.body(request.app[SIMULATION].clock.now(), request.path)
    headers = {REQUEST_ID: request.headers.get(REQUEST_ID, "")[:128] or str(uuid.uuid4())}
    return web.json_response(body, status=error.status, headers=headers)


# -- the approval page ---------------------------------------------------------------------


def _journey(sim: Simulation, fsp_id: str, journey_id: str) -> RedirectJourney:
    from tpsim.stet.approval import RedirectJourney

    api = sim.psd2.stet.get(fsp_id)
    if api is None:
        raise UnknownJourney("bank", f"{fsp_id} is not a bank tpsim simulates")
    return RedirectJourney(api.page, journey_id)


def approval_journey(sim: Simulation, fsp_id: str, journey_id: str) -> PsuJourney:
    return _journey(sim, fsp_id, journey_id)


def _decide_headless(request: web.Request, approve: bool) -> str:
    """``sim_decision`` (with ``sim_psu``, ``sim_account``) on the approval link: the report
    URL the browser goes back to. A ``sim_account`` the admin decision would refuse is
    refused (400) before anything is decided (``serve.account_choice``)."""
    sim, query = request.app[SIMULATION], request.query
    fsp_id, journey_id = request.match_info["fsp_id"], request.match_info["journey_id"]
    journey = _journey(sim, fsp_id, journey_id)
    choice = stet_choice(sim, fsp_id, journey_id) if approve else None
    psu, account = page_choice(query, choice)
    return journey.decide_headless(approve, psu, account)


def _journal_redirect(request: web.Request, location: str, status: int) -> None:
    journal_redirect(
        request,
        location,
        status,
        dialect=DIALECT,
        bank=request.match_info["fsp_id"],
        related=(request.match_info["journey_id"],),
    )


def _oauth(sim: Simulation, fsp_id: str) -> tuple[AuthorizationServer, IntentApproval]:
    """Bank ``fsp_id``'s authorisation server, and its STET payment requests as what it
    authorises (the o-confirmation variant: ``paymentRequestResourceId``)."""
    api = sim.psd2.stet.get(fsp_id)
    if api is None:
        raise UnknownAuthorizationServer(fsp_id)
    return sim.psd2.oauth[fsp_id], api.approval


def _intent(params: AuthorizationParameters) -> str | None:
    """The payment request a ``consentApproval`` link names (o-confirmation)."""
    from tpsim.stet.api import intent_from_link

    return intent_from_link(params)


def add_stet_routes(app: web.Application) -> None:
    """The STET API of every simulated bank, its approval page and its OAuth server,
    before the FSPIOP catch-all."""
    add_oauth_routes(app, BASE, _oauth, intent=_intent, choice=stet_choice)
    pages = SwitchablePages(approval_journey, _decide_headless, _journal_redirect)
    app.router.add_get(APPROVAL_PATH, pages.show)
    app.router.add_post(APPROVAL_PATH, pages.submit)
    # [\s\S]*, not .*: a segment may hold a decoded %0A, which "." does not match.
    app.router.add_route("*", r"/stet/{fsp_id}/v1/{tail:[\s\S]*}", handle_stet)
    app.router.add_route("*", "/stet/{fsp_id}/v1", handle_stet)
    app.router.add_route("*", r"/stet/{fsp_id}/{tail:[\s\S]*}", unknown_stet)
    app.router.add_route("*", "/stet/{fsp_id}", unknown_stet)
