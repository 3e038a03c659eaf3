"""The steps of account linking as a PISP takes them (linking patterns §3), so tests state
only what differs:

    answer = await request_consent(scheme, REQUEST_ID, "carol", [CAROL_CHEQUING])
    login = await web_login(scheme, answer)                   the login page, for real
    await authenticate(scheme, REQUEST_ID, login.secret)      PATCH /consentRequests/{ID}
    grant = await wait_grant(scheme, REQUEST_ID)              POST /consents
    outcome = await register(scheme, grant, authenticator)    PUT /consents/{ID} → PATCH
    linked = await link(scheme, REQUEST_ID, "carol", [...])   all of it, asserting success

The login page redirects to the test PISP's own ``/callback`` (http on loopback is trusted),
so a test follows the redirect for real and the PISP records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.support.dfsp import registration_credential, uid
from tests.support.flows import (
    approve,
    error_code,
    request_transfer,
    run_until_authorization,
    wait_outcome,
)
from tests.support.pisp import Received, TestPisp
from tests.support.scheme import Scheme
from tpsim.auth.authenticator import SoftwareAuthenticator

CONSENT_REQUESTS = "/consentRequests"
CONSENTS = "/consents"
CAROL = "carol"
CAROL_CHEQUING = "dfspa.carol.chequing"
CAROL_SAVINGS = "dfspa.carol.savings"
TRANSFER = ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]
PASSWORD = "tpsim"

__all__ = ["uid"]


def callback_uri(scheme: Scheme) -> str:
    return f"{scheme.pisp.url}/callback"


def consent_request(
    scheme: Scheme,
    request_id: str,
    user: str,
    addresses: list[str],
    *,
    channels: tuple[str, ...] = ("WEB", "OTP"),
    actions: list[str] | None = None,
    callback: str | None = None,
) -> dict[str, Any]:
    """A ``POST /consentRequests`` body as a PISP sends it."""
    return {
        "consentRequestId": request_id,
        "userId": user,
        "scopes": [{"address": a, "actions": actions or TRANSFER} for a in addresses],
        "authChannels": list(channels),
        "callbackUri": callback or callback_uri(scheme),
    }


async def send(
    scheme: Scheme,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    pisp: TestPisp | None = None,
    dfsp: str = "dfspa",
) -> None:
    """Send as the PISP and assert the synchronous answer (202 requests, 200 callbacks)."""
    sent = await (pisp or scheme.pisp).send(method, path, body, destination=dfsp)
    expected = 200 if method == "PUT" and path.endswith("/error") else 202
    assert sent.status == expected, sent.body


async def wait_callback(pisp: TestPisp, method: str, path: str, *, start: int = 0) -> Received:
    """``method path`` or ``PUT path/error``, whichever comes first."""
    return await pisp.wait_until(
        lambda r: (r.method, r.path) in ((method, path), ("PUT", f"{path}/error")), start=start
    )


async def request_consent(
    scheme: Scheme,
    request_id: str,
    user: str = CAROL,
    addresses: list[str] | None = None,
    *,
    body: dict[str, Any] | None = None,
    **options: Any,
) -> Received:
    """``POST /consentRequests``; returns ``PUT /consentRequests/{ID}`` or its ``/error``."""
    start = len(scheme.pisp.received)
    sent = body or consent_request(
        scheme, request_id, user, addresses or [CAROL_CHEQUING], **options
    )
    await send(scheme, "POST", CONSENT_REQUESTS, sent)
    return await wait_callback(scheme.pisp, "PUT", f"{CONSENT_REQUESTS}/{request_id}", start=start)


@dataclass
class Login:
    """What the login page did: its form, the redirect, and the PISP's callback parameters."""

    form: str
    status: int
    location: str | None
    params: dict[str, str]

    @property
    def secret(self) -> str:
        return self.params["secret"]


def form_accounts(form: str) -> list[str]:
    """The account checkboxes of the login form, in order."""
    return re.findall(r'name="account" value="([^"]+)"', form)


def form_token(form: str) -> str:
    """The login form's token (``csrf``), which a submission must carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found is not None, form
    return found.group(1)


async def web_login(
    answer: Received,
    *,
    decision: str = "approve",
    password: str = PASSWORD,
    accounts: list[str] | None = None,
) -> Login:
    """Open the ``authUri`` of a WEB answer, submit the form, follow the 303 redirect."""
    auth_uri = (answer.body or {})["authUri"]
    async with aiohttp.ClientSession() as session:
        async with session.get(auth_uri) as page:
            assert page.status == 200, await page.text()
            form = await page.text()
        data = [("password", password), ("decision", decision), ("csrf", form_token(form))]
        data += [("account", a) for a in (form_accounts(form) if accounts is None else accounts)]
        async with session.post(auth_uri, data=data, allow_redirects=False) as submitted:
            location = submitted.headers.get("Location")
            status = submitted.status
        if status == 303 and location is not None:
            async with session.get(location) as followed:
                assert followed.status == 202  # the test PISP's answer to a GET
    query = parse_qs(urlsplit(location).query) if location else {}
    return Login(form, status, location, {k: v[0] for k, v in query.items()})


async def admin_otp(scheme: Scheme, request_id: str) -> dict[str, Any]:
    """``GET /admin/otp/{consentRequestId}``: what the user got "by SMS"."""
    status, data = await admin(scheme, "GET", f"/admin/otp/{request_id}")
    assert status == 200, data
    return dict(data)


async def authenticate(scheme: Scheme, request_id: str, token: str) -> None:
    """``PATCH /consentRequests/{ID}`` with ``authToken``."""
    await send(scheme, "PATCH", f"{CONSENT_REQUESTS}/{request_id}", {"authToken": token})


async def wait_grant(scheme: Scheme, request_id: str, *, start: int = 0) -> Received:
    """``POST /consents`` for ``request_id``, or ``PUT /consentRequests/{ID}/error``."""
    error = ("PUT", f"{CONSENT_REQUESTS}/{request_id}/error")
    return await scheme.pisp.wait_until(
        lambda r: (
            (r.method, r.path) == error
            or (r.method == "POST" and (r.body or {}).get("consentRequestId") == request_id)
        ),
        start=start,
    )


async def register(
    scheme: Scheme,
    grant: Received,
    authenticator: SoftwareAuthenticator,
    *,
    fmt: str = "none",
    broken: str | None = None,
) -> Received:
    """Sign the consent challenge of ``grant`` and ``PUT /consents/{ID}``; returns
    ``PATCH /consents/{ID}`` or ``PUT /consents/{ID}/error``."""
    body = grant.body or {}
    consent_id, scopes = body["consentId"], body["scopes"]
    credential = registration_credential(authenticator, consent_id, scopes, fmt=fmt, broken=broken)
    start = len(scheme.pisp.received)
    sent = {"status": "ISSUED", "scopes": scopes, "credential": credential}
    await send(scheme, "PUT", f"{CONSENTS}/{consent_id}", sent)
    return await wait_callback(scheme.pisp, "PATCH", f"{CONSENTS}/{consent_id}", start=start)


async def obtain_token(scheme: Scheme, request_id: str, answer: Received) -> str:
    """The user's authToken: the web secret (through the login page) or the OTP (admin)."""
    if (answer.body or {})["authChannels"] == ["WEB"]:
        return (await web_login(answer)).secret
    return str((await admin_otp(scheme, request_id))["otp"])


async def grant_consent(
    scheme: Scheme,
    request_id: str,
    user: str = CAROL,
    addresses: list[str] | None = None,
    *,
    channel: str = "WEB",
) -> Received:
    """Request a consent over ``channel`` and authenticate: returns ``POST /consents``."""
    answer = await request_consent(scheme, request_id, user, addresses, channels=(channel,))
    assert answer.path == f"{CONSENT_REQUESTS}/{request_id}", answer.body
    start = len(scheme.pisp.received)
    await authenticate(scheme, request_id, await obtain_token(scheme, request_id, answer))
    grant = await wait_grant(scheme, request_id, start=start)
    assert grant.method == "POST", grant.body
    return grant


async def link(
    scheme: Scheme,
    request_id: str,
    authenticator: SoftwareAuthenticator,
    user: str = CAROL,
    addresses: list[str] | None = None,
    *,
    channel: str = "WEB",
) -> str:
    """Link ``addresses`` with ``authenticator``'s credential; returns the consentId."""
    grant = await grant_consent(scheme, request_id, user, addresses, channel=channel)
    outcome = await register(scheme, grant, authenticator)
    assert outcome.method == "PATCH", outcome.body
    return str((grant.body or {})["consentId"])


def signed_with(authenticator: SoftwareAuthenticator, challenge: str) -> dict[str, Any]:
    """The ``signedPayload`` ``authenticator`` produces for a transaction ``challenge``."""
    if authenticator.credential_type == "FIDO":
        return {
            "signedPayloadType": "FIDO",
            "fidoSignedPayload": authenticator.assertion(challenge),
        }
    return {
        "signedPayloadType": "GENERIC",
        "genericSignedPayload": authenticator.generic_signature(challenge),
    }


# --- shared by the linking tests ---------------------------------------------------------------

PROFILES = ["spec", "reference"]


def code(profile: str, spec: str, reference: str) -> str:
    """The error code expected under ``profile``."""
    return spec if profile == "spec" else reference


def new_authenticator(kind: str) -> SoftwareAuthenticator:
    return SoftwareAuthenticator.create(credential_type="FIDO" if kind == "FIDO" else "GENERIC")


def wrong(token: str) -> str:
    """A token that differs from ``token`` in its last character."""
    return token[:-1] + ("1" if token[-1] == "0" else "0")


def description(received: Received) -> str:
    """tpsim's diagnostic in an error callback (see ``diagnostic``)."""
    return diagnostic(received.body)


def diagnostic(body: dict[str, Any] | None) -> str:
    """What tpsim says was wrong: the ``errorDescription`` under ``spec``; under
    ``reference`` the description is Mojaloop's fixed text for the code, and tpsim's
    sentence is the ``tpsimDetail`` extension."""
    info = (body or {})["errorInformation"]
    items = info.get("extensionList", {}).get("extension", [])
    detail = [item["value"] for item in items if item["key"] == "tpsimDetail"]
    return str(detail[0] if detail else info["errorDescription"])


async def pay(
    scheme: Scheme, request_id: str, payer: str, signer: SoftwareAuthenticator
) -> Received:
    """A transfer from ``payer`` signed by ``signer``; returns the final callback."""
    auth = await run_until_authorization(scheme, request_id, payer=payer)
    await approve(scheme, auth, payload=signed_with(signer, (auth.body or {})["challenge"]))
    return await wait_outcome(scheme.pisp, request_id)


async def transfer_refused(scheme: Scheme, request_id: str, payer: str) -> str:
    """Request a transfer from ``payer`` that must be refused at once; returns its code."""
    await request_transfer(scheme, request_id, payer=payer)
    outcome = await wait_outcome(scheme.pisp, request_id)
    assert outcome.path.endswith("/error"), outcome.body
    return error_code(outcome)


async def admin(scheme: Scheme, method: str, path: str) -> tuple[int, Any]:
    """Call the admin API; returns (status, JSON body)."""
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{scheme.url}{path}") as response:
            return response.status, await response.json()
