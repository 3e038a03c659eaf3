"""An external DFSP talking to tpsim's simulated hub auth-service, for role tests.

``ExternalDfsp`` wraps a recording ``TestPisp`` registered as participant ``dfspx`` (kind
``dfsp``, with an endpoint) and sends what a DFSP sends to ``central-auth``:

    dfsp = ExternalDfsp(scheme, server)
    await dfsp.register(consent_id, scopes, credential)      POST /consents → 202
    await dfsp.verify(request_id, consent_id, challenge, …)  POST …/verifications → 202
    received = await dfsp.outcome("/consents", consent_id)   PUT …/{ID} or PUT …/{ID}/error

Register it with ``tests.support.overrides.with_participant(DFSP_ID, "dfsp", endpoint)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.pisp import Received, TestPisp
from tests.support.scheme import Scheme
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.auth.challenge import consent_challenge

DFSP_ID = "dfspx"
AUTH_ID = "central-auth"
CONSENTS = "/consents"
VERIFICATIONS = "/thirdpartyRequests/verifications"


def uid(label: str) -> str:
    """A deterministic lower-case UUID (version 5) for ``label``, valid as a CorrelationId."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://tpsim.test/{label}"))


def scopes(*addresses: str) -> list[dict[str, Any]]:
    return [
        {"address": a, "actions": ["ACCOUNTS_GET_BALANCE", "ACCOUNTS_TRANSFER"]} for a in addresses
    ]


def fido_credential(payload: dict[str, Any]) -> dict[str, Any]:
    return {"credentialType": "FIDO", "status": "PENDING", "fidoPayload": payload}


def generic_credential(payload: dict[str, str]) -> dict[str, Any]:
    return {"credentialType": "GENERIC", "status": "PENDING", "genericPayload": payload}


def registration_credential(
    authenticator: SoftwareAuthenticator,
    consent_id: str,
    consent_scopes: list[dict[str, Any]],
    *,
    fmt: str = "none",
    broken: str | None = None,
) -> dict[str, Any]:
    """The ``SignedCredential`` ``authenticator`` produces over the consent challenge."""
    challenge = consent_challenge(consent_id, consent_scopes)
    if authenticator.credential_type == "GENERIC":
        return generic_credential(authenticator.generic_payload(challenge, broken))
    return fido_credential(authenticator.attestation(challenge, fmt, broken))


@dataclass
class ExternalDfsp:
    """``dfspx``: sends to ``central-auth`` through tpsim's HTTP edge and records callbacks."""

    scheme: Scheme
    server: TestPisp

    async def register(
        self,
        consent_id: str,
        consent_scopes: list[dict[str, Any]],
        credential: dict[str, Any],
    ) -> dict[str, Any]:
        """``POST /consents`` (ConsentsPostRequestAUTH) as the reference DFSP sends it;
        asserts the 202 and returns the body sent."""
        body = {
            "consentId": consent_id,
            "scopes": consent_scopes,
            "credential": credential,
            "status": "ISSUED",
        }
        sent = await self.server.send("POST", CONSENTS, body, destination=AUTH_ID)
        assert sent.status == 202, sent.body
        return body

    async def verify(
        self,
        request_id: str,
        consent_id: str,
        challenge: str,
        *,
        fido: dict[str, Any] | None = None,
        generic: str | None = None,
    ) -> dict[str, Any]:
        """``POST /thirdpartyRequests/verifications`` with a FIDO assertion or a GENERIC
        signature; asserts the 202 and returns the body sent."""
        body: dict[str, Any] = {
            "verificationRequestId": request_id,
            "challenge": challenge,
            "consentId": consent_id,
        }
        if fido is not None:
            body.update(signedPayloadType="FIDO", fidoSignedPayload=fido)
        else:
            assert generic is not None
            body.update(signedPayloadType="GENERIC", genericSignedPayload=generic)
        sent = await self.server.send("POST", VERIFICATIONS, body, destination=AUTH_ID)
        assert sent.status == 202, sent.body
        return body

    async def get_verification(self, request_id: str) -> None:
        sent = await self.server.send("GET", f"{VERIFICATIONS}/{request_id}", destination=AUTH_ID)
        assert sent.status == 202, sent.body

    async def outcome(self, resource: str, resource_id: str, *, start: int = 0) -> Received:
        """The ``PUT {resource}/{ID}`` or ``PUT {resource}/{ID}/error`` callback, checked to
        come from the auth-service to this DFSP."""
        received = await self.server.wait_for(
            "PUT", f"{resource}/{resource_id}(/error)?", start=start
        )
        assert received.headers["FSPIOP-Source"] == AUTH_ID
        assert received.headers["FSPIOP-Destination"] == DFSP_ID
        return received

    def callbacks(self, resource: str, resource_id: str) -> list[Received]:
        """Every callback for ``{resource}/{ID}`` received so far."""
        prefix = f"{resource}/{resource_id}"
        return [r for r in self.server.received if r.path in (prefix, f"{prefix}/error")]

    async def admin_consents(self) -> dict[str, dict[str, Any]]:
        """``GET /admin/consents`` keyed by consent id."""
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{self.scheme.url}/admin/consents") as response:
                assert response.status == 200
                data = await response.json()
        return {c["consentId"]: c for c in data["consents"]}
