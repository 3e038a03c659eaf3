"""Linking a user's accounts as a PISP links them, over OTP or WEB (linking §2.2 of the
Third Party API), against a running tpsim: what ``tpsim pisp link`` plays.

``link`` discovers the DFSPs, lists the user's accounts and links them all; ``consent`` is
linking from the consent request on (what ``tpsim load --flow link`` repeats): the user
authenticates as a person would (the login page's secret, or the OTP from the admin API),
then the PISP registers a credential over the consent's challenge and waits until the DFSP
says it is verified. Messages go and come through ``pisp_flows`` (``send``, ``expect``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.challenge import consent_challenge
from tpsim.config import Config
from tpsim.scenario.pisp_client import Callback, CannotPlay, FlowFailed
from tpsim.scenario.pisp_flows import Flow, admin, answer_to, expect, send, watching

DISCOVERY = "/services/{ServiceType}"


@dataclass(frozen=True, slots=True)
class LinkPlan:
    user: str
    channel: Literal["OTP", "WEB"]
    dfsp: str = "dfspa"
    credential: SoftwareAuthenticator | None = None  # default: a new FIDO credential


@dataclass(frozen=True, slots=True)
class Linking:
    """When each hop of a linking happened (``time.perf_counter`` seconds), in the order
    of the fields: ``POST /consentRequests`` sent, its ``PUT`` arrived, the authToken
    ``PATCH`` sent, ``POST /consents`` arrived, ``PUT /consents/{ID}`` sent, ``PATCH``."""

    requested: float
    channel: float
    authenticated: float
    granted: float
    registered: float
    verified: float


@dataclass(frozen=True, slots=True)
class Linked:
    consent_id: str
    accounts: list[str]
    credential_type: str
    times: Linking


async def link(flow: Flow, plan: LinkPlan) -> Linked:
    """Discover the DFSPs, list the user's accounts, then link them all (``consent``)."""
    await discover(flow, plan.dfsp)
    with watching(flow, plan.user) as watch:
        await send(flow, "GET", f"/accounts/{plan.user}", destination=plan.dfsp)
        listed, refused = answer_to("PUT", "/accounts/{ID}", ID=plan.user)
        accounts = await expect(flow, "PUT /accounts/{ID}", listed, ended=refused, within=watch)
    return await consent(flow, plan, [a["address"] for a in accounts.get("accounts")])


async def consent(flow: Flow, plan: LinkPlan, addresses: list[str]) -> Linked:
    """Request consent for ``addresses`` over ``plan.channel``, authenticate as the user
    would, register a credential over the consent's challenge, and wait until the DFSP
    says it is verified (linking §2.2)."""
    request_id = str(uuid.uuid4())
    flow.log.note(f"consentRequestId {request_id}")
    actions = flow.config.behaviour.linking.scope_actions
    body = {
        "consentRequestId": request_id,
        "userId": plan.user,
        "scopes": [{"address": address, "actions": actions} for address in addresses],
        "authChannels": [plan.channel],
        "callbackUri": f"{flow.pisp.url}/callback",
    }
    with watching(flow, request_id) as watch:
        requested = time.perf_counter()
        await send(flow, "POST", "/consentRequests", body, destination=plan.dfsp)
        chosen, closed = answer_to("PUT", "/consentRequests/{ID}", ID=request_id)
        channel = await expect(
            flow, "PUT /consentRequests/{ID}", chosen, ended=closed, within=watch
        )
        token = await _auth_token(flow, plan, request_id, channel)
        authenticated = time.perf_counter()
        path = f"/consentRequests/{request_id}"
        await send(flow, "PATCH", path, {"authToken": token}, destination=plan.dfsp)
        grant = await expect(
            flow,
            "POST /consents",
            lambda c: c.is_("POST", "/consents") and c.get("consentRequestId") == request_id,
            ended=closed,
            within=watch,
        )
    authenticator = plan.credential or SoftwareAuthenticator.create()
    registered, patch = await _register(flow, authenticator, grant)
    times = Linking(
        requested, channel.arrived, authenticated, grant.arrived, registered, patch.arrived
    )
    linked = [s["address"] for s in grant.get("scopes")]
    return Linked(str(grant.get("consentId")), linked, authenticator.credential_type, times)


async def discover(flow: Flow, dfsp: str) -> None:
    """``GET /services/THIRD_PARTY_DFSP``: the switch names the DFSPs that link accounts."""
    with watching(flow, "THIRD_PARTY_DFSP") as watch:
        await send(flow, "GET", "/services/THIRD_PARTY_DFSP")
        found, failed = answer_to("PUT", DISCOVERY, ServiceType="THIRD_PARTY_DFSP")
        answer = await expect(
            flow, "PUT /services/THIRD_PARTY_DFSP", found, ended=failed, within=watch
        )
    providers = answer.get("providers") or []
    if dfsp not in providers:
        raise CannotPlay(f"{dfsp} is not among the DFSPs the switch names: {providers}")


async def _auth_token(flow: Flow, plan: LinkPlan, request_id: str, channel: Callback) -> str:
    """What the user gives the PISP: the secret the login page's redirect carries (WEB),
    or the OTP the DFSP sent them by SMS (OTP; tpsim shows it on its admin API)."""
    if channel.get("authChannels") == ["WEB"]:
        auth_uri = str(channel.get("authUri"))
        flow.log.note("the user opens the authUri, signs in and approves")
        page, redirect = await flow.pisp.login(
            auth_uri, password=_password(flow.config, plan), decision="approve", accounts=None
        )
        if redirect is None or "secret" not in redirect:
            raise FlowFailed(f"the login page did not approve: it answered {page.status}")
        flow.log.note("the browser comes back to the callbackUri with ?secret=…")
        return redirect["secret"]
    otp = await admin(flow, f"/admin/otp/{request_id}?fspId={plan.dfsp}")
    flow.log.note(f"the user reads the OTP {otp['otp']} from their SMS (GET /admin/otp/{{ID}})")
    return str(otp["otp"])


def _password(config: Config, plan: LinkPlan) -> str:
    """The user's own login-page password, else every simulated user's."""
    user = next((u for u in config.users if (u.user_id, u.fsp_id) == (plan.user, plan.dfsp)), None)
    return user.password if user and user.password else config.behaviour.linking.web.password


async def _register(
    flow: Flow, authenticator: SoftwareAuthenticator, grant: Callback
) -> tuple[float, Callback]:
    """``PUT /consents/{ID}`` with a credential over the consent challenge; the DFSP's
    ``PATCH /consents/{ID}`` says VERIFIED once the auth-service checked it. Returns when
    the credential was sent, and that ``PATCH``."""
    consent_id, scopes = str(grant.get("consentId")), grant.get("scopes")
    challenge = consent_challenge(consent_id, scopes)
    kind = authenticator.credential_type
    credential: dict[str, Any] = {"credentialType": kind, "status": "PENDING"}
    if kind == "FIDO":
        credential["fidoPayload"] = authenticator.attestation(challenge)
    else:
        credential["genericPayload"] = authenticator.generic_payload(challenge)
    flow.log.note(f"the PISP registers a new {kind} credential over the consent challenge")
    body = {"status": "ISSUED", "scopes": scopes, "credential": credential}
    with watching(flow, consent_id) as watch:  # before the PUT: the PATCH may come at once
        registered = time.perf_counter()
        await send(flow, "PUT", f"/consents/{consent_id}", body, destination=grant.source)
        verified, refused = answer_to("PATCH", "/consents/{ID}", ID=consent_id)
        patch = await expect(flow, "PATCH /consents/{ID}", verified, ended=refused, within=watch)
    status = (patch.get("credential") or {}).get("status")
    if status != "VERIFIED":
        raise FlowFailed(
            f"PATCH /consents/{consent_id}: the credential is {status}, not VERIFIED",
            code=f"credential {status}",
        )
    return registered, patch
