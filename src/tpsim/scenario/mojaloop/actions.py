"""What each Mojaloop action of a scenario step sends, as the built-in PISP (or the user).

Every FSPIOP message goes out through ``send``: as the PISP, with the headers the API
requires, its conversation the message's own id (the path id, else the first id of its
body) unless the action names another.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.challenge import consent_challenge
from tpsim.mojaloop.correlation import first_id
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.wire import routes
from tpsim.scenario.base import parse_duration
from tpsim.scenario.mojaloop import params as p
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed

TX = "/thirdpartyRequests/transactions"
# How much longer than behaviour.sdk_lookup_timeout_s an sdk_lookup waits for its answer:
# the adapter's own 500 after that wait, not a request timed out before it.
SDK_ANSWER_MARGIN_S = 5.0
AUTHZ = "/thirdpartyRequests/authorizations"


async def send(
    session: Session,
    method: str,
    path: str,
    body: Any = None,
    *,
    destination: str | None = None,
    correlation: str | None = None,
    **options: Any,
) -> Sent:
    """Send one FSPIOP message as the PISP; the conversation is the message's own id."""
    answer = await session.pisp.send(method, path, body, destination=destination, **options)
    try:
        route, params = routes.match(method, path)
    except FspiopError:
        required, found = None, None
    else:
        required = route.sync_status
        found = routes.correlation_id(route, params, body if isinstance(body, dict) else None)
    if found is None and isinstance(body, dict):
        found = first_id(body)
    record = {"method": method, "path": path, "destination": destination, "body": body}
    return Sent(answer, required, correlation or found, [record])


# --- discovery, parties ---------------------------------------------------------------------


async def discover(session: Session, params: p.Discover, within: float) -> Sent:
    return await send(session, "GET", f"/services/{params.service}")


async def list_accounts(session: Session, params: p.ListAccounts, within: float) -> Sent:
    return await send(session, "GET", f"/accounts/{params.user}", destination=params.dfsp)


async def lookup_party(session: Session, params: p.LookupParty, within: float) -> Sent:
    path = f"/parties/{params.type}/{params.id}" + (f"/{params.sub_id}" if params.sub_id else "")
    return await send(session, "GET", path)


async def sdk_lookup(session: Session, params: p.SdkLookup, within: float) -> Sent:
    """Ask tpsim's stand-in for the PISP's sdk-scheme-adapter (``serve.sdk``) as the
    reference PISP does: a plain JSON GET, answered synchronously once the lookup through
    the switch is over. The conversation is the lookup's (``{type}/{id}``), so ``expect``
    sees its ``GET /parties`` and callback too. The request waits at least the adapter's
    own wait (``behaviour.sdk_lookup_timeout_s``) plus ``SDK_ANSWER_MARGIN_S``, whatever
    ``--timeout``, so that a DFSP that never calls back is the adapter's 500 saying so."""
    party = f"{params.type}/{params.id}" + (f"/{params.sub_id}" if params.sub_id else "")
    path = f"/sdk/{params.fsp}/parties/{party}"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    wait = session.behaviour.sdk_lookup_timeout_s + SDK_ANSWER_MARGIN_S
    url = session.target.url + path
    answer = await session.pisp.request("GET", url, headers=headers, at_least=wait)
    try:
        route, found = routes.match("GET", f"/parties/{party}")
        conversation = routes.correlation_id(route, found, None)
    except FspiopError:  # no party lookup (a sub-id "error"): tpsim refuses it, 404
        conversation = party
    record = {"method": "GET", "path": path, "destination": None, "body": None}
    return Sent(answer, 200, conversation, [record])


# --- linking ------------------------------------------------------------------------------


async def request_consent(session: Session, params: p.RequestConsent, within: float) -> Sent:
    request_id = params.id or str(uuid.uuid4())
    session.variables.set("consent_request", request_id)
    body = {
        "consentRequestId": request_id,
        "userId": params.user,
        "scopes": [{"address": a, "actions": params.actions} for a in params.accounts],
        "authChannels": params.channels,
        "callbackUri": params.callback_uri or f"{session.pisp.url}/callback",
    }
    return await send(session, "POST", "/consentRequests", body, destination=params.dfsp)


async def authenticate(session: Session, params: p.Authenticate, within: float) -> Sent:
    request_id = params.consent_request
    path = f"/consentRequests/{request_id}"
    if params.token is not None:  # the user types something: nothing to wait for
        body = {"authToken": params.token}
        return await send(session, "PATCH", path, body, destination=params.dfsp or "dfspa")
    answer = await session.await_message(
        "PUT", path, correlation=request_id, within=within, what="authenticate"
    )
    dfsp = params.dfsp or str(answer["source"])
    redirect: dict[str, str] | None = None
    if (answer["body"] or {}).get("authChannels") == ["WEB"]:
        login, redirect = await session.pisp.login(
            answer["body"]["authUri"],
            password=params.password,
            decision=params.decision,
            accounts=params.accounts,
        )
        if redirect is None:
            raise StepFailed(
                Failure(
                    FailureKind.ASSERTION,
                    f"the login page did not redirect: it answered {login.status}",
                    session.step,
                    expected="303 to the callbackUri",
                    actual=f"{login.status} {str(login.body)[:300]}",
                )
            )
        if "secret" not in redirect:  # the user denied: the PISP has nothing to send
            return Sent(redirect=redirect, correlation=request_id)
        token = redirect["secret"]
    else:
        otp = await session.target.admin("GET", f"/admin/otp/{request_id}?fspId={dfsp}")
        if otp.status != 200:
            raise StepFailed(
                Failure(
                    FailureKind.ASSERTION,
                    f"no OTP for consent request {request_id}: {otp.body}",
                    session.step,
                )
            )
        token = str(otp.body["otp"])
    sent = await send(session, "PATCH", path, {"authToken": token}, destination=dfsp)
    sent.redirect = redirect
    return sent


async def register_credential(
    session: Session, params: p.RegisterCredential, within: float
) -> Sent:
    request_id = params.consent_request
    grant = await session.await_message(
        "POST",
        "/consents",
        correlation=request_id,
        within=within,
        what="register_credential needs the consent the DFSP granted",
        where=lambda e: (e["body"] or {}).get("consentRequestId") == request_id,
    )
    consent_id, scopes = grant["body"]["consentId"], grant["body"]["scopes"]
    authenticator = SoftwareAuthenticator.create(
        credential_type=params.credential, key_type=params.key
    )
    challenge = consent_challenge(consent_id, scopes)
    credential: dict[str, Any] = {"credentialType": params.credential, "status": "PENDING"}
    if params.credential == "FIDO":
        credential["fidoPayload"] = authenticator.attestation(challenge, params.fmt, params.broken)
    else:
        credential["genericPayload"] = authenticator.generic_payload(challenge, params.broken)
    name = params.name or params.credential
    session.authenticators[name] = authenticator
    for scope in scopes:
        session.signers[scope["address"]] = name
    session.variables.set("consent", consent_id)
    body = {"status": "ISSUED", "scopes": scopes, "credential": credential}
    return await send(
        session, "PUT", f"/consents/{consent_id}", body, destination=str(grant["source"])
    )


async def revoke_consent(session: Session, params: p.RevokeConsent, within: float) -> Sent:
    if params.by == "pisp":
        return await send(session, "DELETE", f"/consents/{params.consent}", destination=params.dfsp)
    answer = await session.target.admin("POST", f"/admin/consents/{params.consent}/revoke")
    record = {"method": "POST", "path": f"/admin/consents/{params.consent}/revoke"}
    return Sent(answer, 200, params.consent, [record])


# --- transfers ----------------------------------------------------------------------------


async def initiate_transfer(session: Session, params: p.InitiateTransfer, within: float) -> Sent:
    request_id = params.id or str(uuid.uuid4())
    body = params.body or transfer_request(request_id, params)
    request_id = str(body.get("transactionRequestId", request_id))
    session.variables.set("transfer", request_id)
    payer = (body.get("payer") or {}).get("partyIdentifier")
    if isinstance(payer, str):
        session.payers[request_id] = payer
    return await send(session, "POST", TX, body, destination=params.dfsp, correlation=request_id)


def transfer_request(request_id: str, params: p.InitiateTransfer) -> dict[str, Any]:
    payee: dict[str, Any] = {"partyIdType": params.payee.type, "partyIdentifier": params.payee.id}
    if params.payee.fsp:
        payee["fspId"] = params.payee.fsp
    return {
        "transactionRequestId": request_id,
        "payee": {
            "partyIdInfo": payee,
            **({"name": params.payee.name} if params.payee.name else {}),
        },
        "payer": {
            "partyIdType": "THIRD_PARTY_LINK",
            "partyIdentifier": params.payer,
            "fspId": params.dfsp,
        },
        "amountType": params.amount_type,
        "amount": {"currency": params.currency, "amount": params.amount},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
        "expiration": expiration(params.expiration),
    }


def expiration(value: str) -> str:
    """A duration from now (``5m``) as an FSPIOP DateTime, or ``value`` as written."""
    try:
        seconds = parse_duration(value)
    except ValueError:
        return value
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


async def _authorization(session: Session, transfer: str, within: float) -> dict[str, Any]:
    return await session.await_message(
        "POST",
        AUTHZ,
        correlation=transfer,
        within=within,
        what="the authorization request to answer",
        where=lambda e: (e["body"] or {}).get("transactionRequestId") == transfer,
    )


async def _answer(session: Session, request: dict[str, Any], body: dict[str, Any]) -> Sent:
    auth_id = request["body"]["authorizationRequestId"]
    return await send(
        session,
        "PUT",
        f"{AUTHZ}/{auth_id}",
        body,
        destination=str(request["source"]),
        correlation=request["body"]["transactionRequestId"],
    )


async def approve(session: Session, params: p.Approve, within: float) -> Sent:
    request = await _authorization(session, params.transfer, within)
    payload = params.payload
    if payload is None:
        signer = _signer(session, params)
        challenge = params.challenge or request["body"]["challenge"]
        if signer.credential_type == "FIDO":
            assertion = signer.assertion(challenge, params.broken)
            payload = {"signedPayloadType": "FIDO", "fidoSignedPayload": assertion}
        else:
            signature = signer.generic_signature(challenge, params.broken)
            payload = {"signedPayloadType": "GENERIC", "genericSignedPayload": signature}
    return await _answer(session, request, {"responseType": "ACCEPTED", "signedPayload": payload})


def _signer(session: Session, params: p.Approve) -> SoftwareAuthenticator:
    name = params.credential or session.signers.get(session.payers.get(params.transfer, ""))
    if name is None or name not in session.authenticators:
        known = ", ".join(session.authenticators) or "none"
        reason = (
            f"no authenticator {name!r}"
            if name
            else f"no credential is linked to the payer of transfer {params.transfer}"
        )
        raise StepFailed(
            Failure(
                FailureKind.ERROR,
                f"approve: {reason}; name one with credential: (known: {known})",
                session.step,
            )
        )
    return session.authenticators[name]


async def reject(session: Session, params: p.Reject, within: float) -> Sent:
    request = await _authorization(session, params.transfer, within)
    return await _answer(session, request, {"responseType": "REJECTED"})


async def get_transaction(session: Session, params: p.GetTransaction, within: float) -> Sent:
    return await send(session, "GET", f"{TX}/{params.transfer}", destination=params.dfsp)


# --- anything else ---------------------------------------------------------------------------


async def send_raw(session: Session, params: p.Send, within: float) -> Sent:
    sent = await send(
        session,
        params.method,
        params.path,
        params.body,
        destination=params.destination,
        source=params.source,
        headers=params.headers,
        raw=params.raw,
    )
    sent.required_status = None  # a raw message states its own expectations
    return sent
