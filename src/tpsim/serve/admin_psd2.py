"""The admin API of the PSD2 dialects (DESIGN.md "Headless SCA", "Admin"):

POST /admin/psd2/authorisations/{id}/decision  {"decision": "approve"|"deny", "psu": …,
                                    "otp": …} (all but decision optional; no otp for a UK
                                    consent, authorised by redirect): the PSU decides
                                    in their app (decoupled) or headless for any approach →
                                    200 {"redirect": URL or null, "status": scaStatus}
GET  /admin/psd2/intents/{id}       a payment's (or UK consent's) full state: its dialect
                                    resource, its authorisations and its core intents
POST /admin/psd2/intents/{id}/status  {"status": "RJCT"|"CANC"|"ACSC", "reason": …}: the
                                    bank decides (BG's "direct ASPSP update")

``{id}`` is the dialect's handle: an XS2A ``authorisationId`` / ``paymentId``, a UK
``ConsentId`` (its decision also answers the TPP's waiting ``/authorize``: the redirect
with the code), a STET ``paymentRequestResourceId`` (its decision's redirect is the report
URL, or in the o-confirmation variant the code for the waiting ``/authorize``). Refusals
are ``{"error": …}`` like the rest of the admin API (404 unknown, 409 not now). A bank
no longer simulated, whose records a restart ended (``Psd2.retire``), still has them
read and (409) refused here; it decides nothing.

A dialect's modules are imported (and its banks built, ``serve.psd2``) by the first call
that looks into it, not when the routes are mounted.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tpsim.core.json_body import lone_surrogate_at
from tpsim.core.payment import PaymentIntent
from tpsim.errors import TpsimError
from tpsim.serve.account_choice import AccountChoice, stet_choice, uk_choice, xs2a_choice
from tpsim.serve.admin import Handler, members_refused, problem
from tpsim.serve.body import BodyRefused, read_at_most
from tpsim.serve.edge import SIMULATION
from tpsim.serve.simulation import Simulation

if TYPE_CHECKING:
    from tpsim.obie.api import ObieApi
    from tpsim.stet.api import StetApi
    from tpsim.xs2a.api import Xs2aApi
    from tpsim.xs2a.resources import Xs2aPayment

MAX_BODY = 4096


async def decide(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    authorisation_id = request.match_info["authorisation_id"]
    body = await _body(request, sim)
    if isinstance(body, web.Response):
        return body
    refused = members_refused(
        body, "decision", optional=("psu", "otp", "account"), example='{"decision": "approve"}'
    )
    if refused is not None:
        return refused
    decision = body.get("decision")
    if decision not in ("approve", "deny"):
        return problem(400, 'decision is "approve" or "deny"')
    psu, otp, account = body.get("psu"), body.get("otp"), body.get("account")
    if not all(v is None or isinstance(v, str) for v in (psu, otp, account)):
        return problem(400, "psu, otp and account are strings")
    found = next(
        (
            (api, auth)
            for api in sim.psd2.xs2a.values()
            if (auth := api.auths.find(authorisation_id))
        ),
        None,
    )
    if found is None:
        uk = next((a for a in sim.psd2.obie.values() if authorisation_id in a.bank.consents), None)
        if uk is not None:
            return _decide_consent(sim, uk, authorisation_id, decision, body)
        stet = _request(sim, authorisation_id, retired=False)
        if stet is not None:
            return _decide_request(sim, stet, authorisation_id, decision, body)
        return problem(
            404,
            f"no simulated bank has an authorisation, consent or payment request"
            f" {authorisation_id}",
        )
    api, auth = found
    if otp is not None and not secrets.compare_digest(otp.encode(), api.bank.settings.otp.encode()):
        return problem(400, "otp is not the bank's OTP (behaviour.psd2.otp)", code="OTP_WRONG")
    payment = api.bank.payments[auth.payment_id]
    refused = _refusal(xs2a_choice(sim, api.bank.fsp_id, auth.payment_id), psu, account)
    if refused is not None:
        return refused
    from tpsim.xs2a.errors import PsuCredentialsInvalid

    try:
        if decision == "approve":
            outcome = api.auths.approve(authorisation_id, psu, None)
        else:
            outcome = api.auths.deny(authorisation_id)
    except PsuCredentialsInvalid as exc:  # what was asked cannot be, as UK and STET say
        return problem(400, f"{exc.text} ({payment.debtor}): name its holder or leave psu out")
    except TpsimError as exc:
        return problem(409, str(exc))
    finally:
        sim.psd2.arm()
    return web.json_response({"redirect": outcome.redirect, "status": outcome.sca_status.value})


def _decide_consent(
    sim: Simulation, api: ObieApi, consent_id: str, decision: str, body: dict[str, Any]
) -> web.Response:
    """A UK consent decided as its PSU would at the consent page: its status, and the
    redirect with the code (or the error) when the TPP's authorisation request waits. A
    refusal that ended the consent (a scheduled payment's date passed: U003) answers that
    request with ``access_denied`` saying why, as a headless ``/authorize`` is told."""
    from tpsim.obie.errors import InvalidConsentStatus, ObieError
    from tpsim.obie.states import ConsentState

    if body.get("otp") is not None:  # a field with no effect is refused, not ignored
        return problem(
            400,
            "a UK consent is authorised by redirect (the PSU signs in at the bank) and takes no"
            " otp: leave otp out",
            code="OTP_NOT_TAKEN",
        )
    psu, account = body.get("psu"), body.get("account")
    bank = api.bank
    refused = _refusal(uk_choice(sim, bank.fsp_id, consent_id), psu, account)
    if refused is not None:
        return refused
    server = sim.psd2.oauth[bank.fsp_id]
    awaiting = bank.fresh(bank.consents[consent_id]).state is ConsentState.AWAITING
    try:
        status = bank.decide(consent_id, decision == "approve", psu, account)
    except InvalidConsentStatus as exc:
        return problem(409, exc.message)
    except ObieError as exc:  # what was asked cannot be: a PSU who holds no such account…
        pending = server.waiting_for(consent_id)
        ended = bank.consents[consent_id]
        if pending is None or not awaiting or ended.state is ConsentState.AWAITING:
            return problem(400, exc.message)
        told = server.refuse(pending.id, description=exc.message)
        return web.json_response({"redirect": told, "status": bank.status_word(ended)})
    except TpsimError as exc:
        return problem(409, str(exc))
    finally:
        sim.psd2.arm()
    pending = server.waiting_for(consent_id)
    redirect = None
    if pending is not None and decision == "approve":
        consent = api.bank.consents[consent_id]
        redirect = server.grant(pending.id, consent.psu or "", accounts=[consent.debtor or ""])
    elif pending is not None:
        redirect = server.refuse(pending.id)
    return web.json_response({"redirect": redirect, "status": status})


def _decide_request(
    sim: Simulation, api: StetApi, resource_id: str, decision: str, body: dict[str, Any]
) -> web.Response:
    """A STET payment request decided as its PSU would (at the bank's page, in its app, or
    with the OTP): its status, and where the browser goes back to (the report URL; in
    the o-confirmation variant the PISP's waiting ``/authorize`` gets the code)."""
    from tpsim.stet.errors import StatusInvalid, StetError
    from tpsim.stet.states import Approach

    psu, account, otp = body.get("psu"), body.get("account"), body.get("otp")
    bank = api.bank
    if otp is not None and not secrets.compare_digest(otp.encode(), bank.settings.otp.encode()):
        return problem(400, "otp is not the bank's OTP (behaviour.psd2.otp)", code="OTP_WRONG")
    server = sim.psd2.oauth[bank.fsp_id]
    request = bank.requests[resource_id]
    refused = _refusal(stet_choice(sim, bank.fsp_id, resource_id), psu, account)
    if refused is not None:
        return refused
    if decision == "approve" and bank.by_o_confirmation(request):
        if server.waiting_for(resource_id) is None:  # the code would have nowhere to go
            return problem(
                409,
                f"payment request {resource_id} is approved through the bank's /authorize"
                " (o-confirmation): open its consentApproval link with your redirect_uri"
                " first, then decide",
            )
    try:
        decided = bank.decide(resource_id, decision == "approve", psu, account)
    except StatusInvalid as exc:
        return problem(409, exc.message)
    except StetError as exc:  # what was asked cannot be: a PSU who holds no such account…
        return problem(400, exc.message)
    finally:
        sim.psd2.arm()
    redirect: str | None = None
    if decided.approach is Approach.REDIRECT and not bank.profile.o_confirmation:
        redirect = bank.report_url(decided)
    pending = server.waiting_for(resource_id) if bank.by_o_confirmation(decided) else None
    if pending is not None and decision == "approve":
        redirect = server.grant(pending.id, decided.psu or "", accounts=[decided.debtor or ""])
    elif pending is not None:
        redirect = server.refuse(pending.id)
    return web.json_response({"redirect": redirect, "status": bank.status(decided)})


def _refusal(
    choice: AccountChoice | None, psu: str | None, account: str | None
) -> web.Response | None:
    """The 400 that says which accounts ``psu`` may pick (``AccountChoice``), or None."""
    reason = None if choice is None else choice.refusal(psu, account)
    return None if reason is None else problem(400, reason)


async def get_intent(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    intent_id = request.match_info["intent_id"]
    found = _payment(sim, intent_id)
    if found is not None:
        return web.json_response(_state(*found))
    uk = _consent(sim, intent_id)
    if uk is not None:
        return web.json_response(_consent_state(uk, intent_id))
    stet = _request(sim, intent_id)
    if stet is not None:
        return web.json_response(_request_state(stet, intent_id))
    return problem(404, f"no PSD2 payment, consent or payment request {intent_id}")


async def force_status(request: web.Request) -> web.Response:
    sim = request.app[SIMULATION]
    intent_id = request.match_info["intent_id"]
    # The body first: while it arrives, PUT /admin/fixtures or /admin/reset may replace
    # the banks, and what was found before would be a scheme's that is gone.
    body = await _body(request, sim)
    if isinstance(body, web.Response):
        return body
    refused = members_refused(
        body, "status", optional=("reason",), example='{"status": "RJCT", "reason": "fraud"}'
    )
    if refused is not None:
        return refused
    found, uk, stet = _payment(sim, intent_id), _consent(sim, intent_id), _request(sim, intent_id)
    if found is None and uk is None and stet is None:
        return problem(404, f"no PSD2 payment, consent or payment request {intent_id}")
    status, reason = body.get("status"), body.get("reason")
    if status not in ("RJCT", "CANC", "ACSC") or not (reason is None or isinstance(reason, str)):
        return problem(400, 'status is "RJCT", "CANC" or "ACSC"; reason, if given, a string')
    if uk is not None:
        return _force_consent(sim, uk, intent_id, status, reason)
    if stet is not None:
        return _force_request(sim, stet, intent_id, status, reason)
    assert found is not None  # noqa: S101 - one of the two was found
    api, payment = found
    try:
        payment = api.bank.force(payment, status, reason)
    except TpsimError as exc:
        return problem(409, str(exc))
    finally:
        sim.psd2.arm()
    return web.json_response(_state(api, payment))


def _consent(sim: Simulation, consent_id: str) -> ObieApi | None:
    apis = sim.psd2.obie.with_retired()
    return next((a for a in apis if consent_id in a.bank.consents), None)


def _consent_state(api: ObieApi, consent_id: str) -> dict[str, Any]:
    """A UK consent of either kind: a scheduled one also names its payment
    (``domesticScheduledPaymentId``) and when it executes."""
    from tpsim.obie.states import Kind

    consent = api.bank.fresh(api.bank.consents[consent_id])
    intent = api.bank.intent(consent)
    scheduled = consent.kind is Kind.SCHEDULED
    state: dict[str, Any] = {
        "dialect": "obie",
        "bank": api.bank.fsp_id,
        "consentId": consent.consent_id,
        "kind": consent.kind.value,
        "version": consent.version,
        "tpp": consent.tpp,
        "status": api.bank.status_word(consent),
        "reason": consent.reason,
        "psu": consent.psu,
        "debtor": consent.debtor,
        "domesticPaymentId": None if scheduled else consent.payment_id,
        "rule": consent.rule,
        "createdAt": consent.created_at.isoformat(),
        "intents": [] if intent is None else [_intent(intent)],
    }
    if scheduled:
        state["domesticScheduledPaymentId"] = consent.payment_id
        execute_at = consent.order.execute_at
        state["requestedExecutionDateTime"] = None if execute_at is None else execute_at.isoformat()
    return state


def _force_consent(
    sim: Simulation, api: ObieApi, consent_id: str, status: str, reason: str | None
) -> web.Response:
    """The bank rejects a consent not yet used (UK has no cancellation of a payment
    order, and its payment executes when the TPP orders it)."""
    from tpsim.obie.states import ConsentReason, ConsentState

    consent = api.bank.fresh(api.bank.consents[consent_id])
    if status != "RJCT" or consent.state not in (ConsentState.AWAITING, ConsentState.AUTHORISED):
        word = api.bank.status_word(consent)
        return problem(
            409,
            f"consent {consent_id} is {word}: the bank can only reject (RJCT) an unused consent",
        )
    api.bank.reject(consent, ConsentReason.DENIED, reason or "rejected by the bank")
    sim.psd2.arm()
    return web.json_response(_consent_state(api, consent_id))


def _request(sim: Simulation, resource_id: str, *, retired: bool = True) -> StetApi | None:
    """The STET API whose bank has ``resource_id``; with ``retired``, also a bank no
    longer simulated whose requests a restart ended (``Psd2.retire``)."""
    apis = sim.psd2.stet.with_retired() if retired else sim.psd2.stet.values()
    return next((a for a in apis if resource_id in a.bank.requests), None)


def _request_state(api: StetApi, resource_id: str) -> dict[str, Any]:
    bank = api.bank
    request = bank.fresh(bank.requests[resource_id])
    status = bank.status(request)
    why = bank.orders.reason(request) if status == "RJCT" else None
    instructions = []
    for index, one in enumerate(request.order.instructions):
        found, rejection = bank.orders.transaction(request, index)
        instructions.append(
            {
                "endToEndId": one.end_to_end_id,
                "transactionStatus": found,
                "reason": None if rejection is None else rejection.why.value,
            }
        )
    intents = [bank.orders.intent(request, i) for i in range(len(request.order.instructions))]
    return {
        "dialect": "stet",
        "bank": bank.fsp_id,
        "paymentRequestResourceId": request.resource_id,
        "tpp": request.tpp,
        "approach": request.approach.value,
        "paymentInformationStatus": status,
        "reason": None if why is None else why.why.value,
        "reasonText": None if why is None else why.text,
        "psu": request.psu,
        "debtor": request.debtor,
        "rule": request.rule,
        "createdAt": request.created_at.isoformat(),
        "instructions": instructions,
        "intents": [_intent(i) for i in intents if i is not None],
    }


def _force_request(
    sim: Simulation, api: StetApi, resource_id: str, status: str, reason: str | None
) -> web.Response:
    """The bank rejects a payment request (or, once ordered, its instructions that have not
    started executing): RJCT with ``reason`` when it is a STET reason code (else MS03,
    ``reason`` as its text)."""
    from tpsim.stet.errors import StatusInvalid
    from tpsim.stet.states import Why

    if status != "RJCT":
        return problem(409, "a STET payment request can only be rejected (RJCT) by the bank")
    why = next((w for w in Why if w.value == reason), Why.UNSPECIFIED)
    try:
        api.bank.force_reject(resource_id, why, reason or "rejected by the bank")
    except StatusInvalid as exc:
        return problem(409, exc.message)
    finally:
        sim.psd2.arm()
    return web.json_response(_request_state(api, resource_id))


def _payment(sim: Simulation, payment_id: str) -> tuple[Xs2aApi, Xs2aPayment] | None:
    for api in sim.psd2.xs2a.with_retired():
        payment = api.bank.find(payment_id)
        if payment is not None:
            return api, payment
    return None


def _state(api: Xs2aApi, payment: Xs2aPayment) -> dict[str, Any]:
    auths = [api.auths.find(a) for a in (*payment.authorisations, *payment.cancellations)]
    return {
        "dialect": "xs2a",
        "bank": payment.bank,
        "paymentId": payment.payment_id,
        "paymentService": payment.service.value,
        "paymentProduct": payment.product,
        "tpp": payment.tpp.tpp,
        "approach": payment.approach.value,
        "transactionStatus": api.bank.transaction_status(payment).value,
        "reason": payment.reason,
        "rule": payment.rule,
        "createdAt": payment.created_at.isoformat(),
        "authorisations": [
            {
                "authorisationId": a.authorisation_id,
                "cancellation": a.cancellation,
                "approach": a.approach.value,
                "scaStatus": a.sca_status.value,
                "psuId": a.psu_id,
                "attempts": a.attempts,
            }
            for a in auths
            if a is not None
        ],
        "intents": [_intent(i) for i in api.bank.intents(payment)],
    }


def _intent(intent: PaymentIntent) -> dict[str, Any]:
    return {
        "intentId": intent.intent_id,
        "state": intent.state.value,
        "debtor": intent.debtor,
        "creditor": intent.creditor,
        "amount": format(intent.amount.normalize(), "f"),
        "currency": intent.currency,
    }


async def _body(request: web.Request, sim: Simulation) -> dict[str, Any] | web.Response:
    try:
        raw = await read_at_most(request, MAX_BODY, sim.config.server.body_timeout_s)
        body = json.loads(raw)
    except BodyRefused as exc:
        return problem(exc.status, exc.detail)
    except (ValueError, RecursionError):
        return problem(400, "the body must be a JSON object")
    if not isinstance(body, dict):
        return problem(400, "the body must be a JSON object")
    if lone_surrogate_at(body) is not None:
        # A lone surrogate (\ud800) is no character: compared as an OTP it has no UTF-8,
        # and kept as a PSU or a reason it would go out in a TPP's JSON.
        return problem(400, "the body's strings must be Unicode text: no lone \\ud800 escapes")
    return body


PSD2_ADMIN_ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/admin/psd2/authorisations/{authorisation_id}/decision", decide),
    ("GET", "/admin/psd2/intents/{intent_id}", get_intent),
    ("POST", "/admin/psd2/intents/{intent_id}/status", force_status),
]
