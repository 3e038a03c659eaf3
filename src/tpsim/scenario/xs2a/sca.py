"""Following a payment's SCA as the built-in TPP and its PSU (``xs2a.authorise``), and the
PSU's decision in their bank's app (``xs2a.decide``).

REDIRECT: the PSU's browser opens the ``scaRedirect`` link, headless (``sim_decision``) or
by signing in on the bank's real page, and is sent back to the TPP (the redirect is the
step's outcome: it is not followed, the TPP's redirect URI being no server of the test);
a ``confirmationCode`` in it is PUT back. EMBEDDED: from the authorisation's ``scaStatus``
on, the password, the SCA method and the TAN, one PUT each. DECOUPLED: the PSU identified
(``PSU-ID``), then their decision in the app (the admin API).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tpsim.scenario.browser import browse
from tpsim.scenario.harness import Answer
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import FailureKind
from tpsim.scenario.session import Session
from tpsim.scenario.xs2a import params as p
from tpsim.scenario.xs2a.actions import APPROACHES, start_authorisation, where_of
from tpsim.scenario.xs2a.client import (
    KnownAuthorisation,
    Where,
    failed,
    form_fields,
    learn,
    memory,
    redirect_of,
    send,
    sent,
    with_query,
)

_EMBEDDED_STEPS = 4  # password, method, OTP: at most this many PUTs in one step


async def authorise(session: Session, params: p.Authorise, within: float) -> Sent:
    at = where_of(session, params)
    known = memory(session)
    payment = known.payments.get(params.payment)
    chosen = payment.approach.lower() if payment and payment.approach else None
    approach = params.approach or chosen
    if approach not in APPROACHES:
        raise failed(
            session,
            f"authorise: the SCA approach of payment {params.payment} is {chosen or 'unknown'}"
            " to tpsim's TPP: name one with approach: redirect, embedded or decoupled",
        )
    records: list[dict[str, Any]] = []
    auth_id = params.authorisation or known.latest(params.payment, cancellation=params.cancellation)
    if auth_id is None:  # explicit start: the TPP starts the authorisation itself
        started = await start_authorisation(
            session,
            p.StartAuthorisation(
                payment=at.payment,
                bank=at.bank,
                service=at.service,
                product=at.product,
                cancellation=params.cancellation,
                psu_id=params.psu or (payment.psu_id if payment else None),
                tpp=params.tpp,
                psu_ip=params.psu_ip,
                headers=params.headers,
            ),
            within,
        )
        records += started.messages
        auth_id = session.variables.values.get("authorisation_id")
        if started.answer is None or started.answer.status != 201 or not auth_id:
            return sent(started.answer, 201, at.payment, records)
    auth = known.authorisations.setdefault(
        str(auth_id), KnownAuthorisation(at.payment, params.cancellation)
    )
    psu = params.psu or (payment.psu_id if payment else None)
    if approach == "redirect":
        return await _redirected(session, params, at, str(auth_id), auth, records)
    if approach == "embedded":
        return await _embedded(session, params, at, str(auth_id), psu, records)
    return await _decoupled(session, params, at, str(auth_id), psu, records)


async def _redirected(
    session: Session,
    params: p.Authorise,
    at: Where,
    auth_id: str,
    auth: KnownAuthorisation,
    records: list[dict[str, Any]],
) -> Sent:
    """The PSU's browser at the bank's SCA page, then back at the TPP."""
    link = auth.links.get("scaRedirect")
    if link is None:
        raise failed(
            session,
            f"authorisation {auth_id} has no scaRedirect link (is it a redirect one, and"
            " still open?)",
            FailureKind.ASSERTION,
        )
    if params.password is None:  # headless: DESIGN.md "Headless SCA"
        url = with_query(link, sim_decision=params.decision, sim_psu=params.psu)
        answer = await browse(session, "GET", url, records)
        required = 302
    else:
        answer = await _sign_in(session, link, params, records)
        required = 303
    auth.sca_status = None  # decided at the bank: the TPP learns the outcome by asking
    location = answer.headers.get("Location")
    if answer.status != required or location is None:
        return sent(answer, required, at.payment, records)
    redirect = redirect_of(location)
    code = redirect.get("confirmationCode")
    if code is None or not params.confirm:
        return sent(answer, required, at.payment, records, redirect)
    path = f"{at.authorisations(auth.cancellation)}/{auth_id}"
    confirmed, record = await send(
        session, params, "PUT", at.bank, path, {"confirmationCode": code}
    )
    records.append(record)
    learn(session, confirmed, at.payment, auth_id, cancellation=auth.cancellation)
    return sent(confirmed, 200, at.payment, records, redirect)


async def _sign_in(
    session: Session, link: str, params: p.Authorise, records: list[dict[str, Any]]
) -> Answer:
    """Open the SCA page and submit its form as a browser would (its hidden fields and
    ticked boxes, the password, the decision button)."""
    page = await browse(session, "GET", link, records)
    if page.status != 200:
        return page
    form = form_fields(str(page.body))
    form += [("password", params.password or ""), ("decision", params.decision)]
    if params.psu is not None:
        form.append(("user", params.psu))
    return await browse(session, "POST", link, records, urlencode(form).encode())


async def _embedded(
    session: Session,
    params: p.Authorise,
    at: Where,
    auth_id: str,
    psu: str | None,
    records: list[dict[str, Any]],
) -> Sent:
    """From the authorisation's ``scaStatus`` on: the password, the SCA method, the OTP."""
    known = memory(session).authorisations[auth_id]
    path = f"{at.authorisations(known.cancellation)}/{auth_id}"
    if known.sca_status is None:
        current, record = await send(session, params, "GET", at.bank, path)
        records.append(record)
        learn(session, current, at.payment, auth_id, cancellation=known.cancellation)
    answer: Answer | None = None
    for _ in range(_EMBEDDED_STEPS):
        body = _embedded_step(session, params, auth_id, known)
        if body is None:
            break
        answer, record = await send(session, params, "PUT", at.bank, path, body, psu_id=psu)
        records.append(record)
        learn(session, answer, at.payment, auth_id, cancellation=known.cancellation)
        if answer.status != 200:
            break
    if answer is None:
        raise failed(
            session,
            f"authorisation {auth_id} is {known.sca_status}: there is no embedded SCA step"
            " left to take",
            FailureKind.ASSERTION,
        )
    return sent(answer, 200, at.payment, records)


def _embedded_step(
    session: Session, params: p.Authorise, auth_id: str, known: KnownAuthorisation
) -> dict[str, Any] | None:
    """The body of the next embedded step for the authorisation's status (None: done)."""
    if known.sca_status in ("received", "psuIdentified"):
        return {"psuData": {"password": params.password or p.PSU_PASSWORD}}
    if known.sca_status == "psuAuthenticated":
        method = params.method or (known.methods[0] if known.methods else None)
        if method is None:
            raise failed(session, f"authorise: name the SCA method of {auth_id} with method:")
        return {"authenticationMethodId": method}
    if known.sca_status == "scaMethodSelected":
        return {"scaAuthenticationData": params.otp or p.SANDBOX_OTP}
    return None


async def _decoupled(
    session: Session,
    params: p.Authorise,
    at: Where,
    auth_id: str,
    psu: str | None,
    records: list[dict[str, Any]],
) -> Sent:
    """The PSU identified (the bank then pushes to their app), and their decision there."""
    known = memory(session).authorisations[auth_id]
    if known.sca_status in (None, "received", "psuIdentified", "psuAuthenticated"):
        path = f"{at.authorisations(known.cancellation)}/{auth_id}"
        answer, record = await send(session, params, "PUT", at.bank, path, {}, psu_id=psu)
        records.append(record)
        learn(session, answer, at.payment, auth_id, cancellation=known.cancellation)
        if answer.status != 200:
            return sent(answer, 200, at.payment, records)
    decided = await decide(
        session,
        p.Decide(authorisation=auth_id, decision=params.decision, psu=params.psu, otp=params.otp),
        0.0,
    )
    return sent(decided.answer, 200, at.payment, records + decided.messages)


async def decide(session: Session, params: p.Decide, within: float) -> Sent:
    path = f"/admin/psd2/authorisations/{params.authorisation}/decision"
    given = {"decision": params.decision, "psu": params.psu, "otp": params.otp}
    body = {key: value for key, value in given.items() if value is not None}
    answer = await session.target.admin("POST", path, body)
    known = memory(session).authorisations.get(params.authorisation)
    if known is not None and answer.status == 200 and isinstance(answer.body, dict):
        known.sca_status = answer.body.get("status")
    payment = known.payment if known is not None else None
    return sent(answer, 200, payment, [{"method": "POST", "path": path, "body": body}])
