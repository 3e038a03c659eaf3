"""The steps of a Third Party transfer as a PISP takes them, so tests state only what differs.

    body = await request_transfer(scheme, REQUEST_ID)              POST …/transactions → 202
    auth = await run_until_authorization(scheme, REQUEST_ID)       … → PUT RECEIVED, POST authz
    await approve(scheme, auth)                                    PUT …/authorizations ACCEPTED
    outcome = await wait_outcome(scheme.pisp, REQUEST_ID)          PATCH or PUT …/error

Every helper takes the sending PISP (default: ``scheme.pisp``, ``pispa``) and asserts the
synchronous answer, so a test that reads as the spec fails loudly at the step that broke.
"""

from __future__ import annotations

from typing import Any, Literal

from tests.support.pisp import Received, SentResponse, TestPisp
from tests.support.scheme import Scheme, transaction_request
from tpsim.auth.broken import Broken
from tpsim.journal import Hop

TX = "/thirdpartyRequests/transactions"
AUTHZ = "/thirdpartyRequests/authorizations"
Credential = Literal["FIDO", "GENERIC"]


def error_code(received: Received) -> str:
    """The ``errorCode`` of an error callback (fails if the callback is not one)."""
    assert received.error_code is not None, f"not an error callback: {received}"
    return received.error_code


def extensions(received: Received) -> dict[str, str]:
    """The ``errorInformation.extensionList`` of an error callback as a dict."""
    info = (received.body or {}).get("errorInformation", {})
    items = info.get("extensionList", {}).get("extension", [])
    return {item["key"]: item["value"] for item in items}


async def request_transfer(
    scheme: Scheme,
    request_id: str,
    *,
    pisp: TestPisp | None = None,
    destination: str = "dfspa",
    body: dict[str, Any] | None = None,
    **request: Any,
) -> dict[str, Any]:
    """Send ``POST /thirdpartyRequests/transactions`` (``transaction_request(**request)``
    unless ``body`` is given) and assert the 202; returns the body sent."""
    sender = pisp or scheme.pisp
    sent_body = body if body is not None else transaction_request(request_id, **request)
    sent = await sender.send("POST", TX, sent_body, destination=destination)
    assert sent.status == 202, sent.body
    return sent_body


async def wait_authorization(pisp: TestPisp, request_id: str, *, start: int = 0) -> Received:
    """The ``POST /thirdpartyRequests/authorizations`` for ``request_id``."""
    return await pisp.wait_for(
        "POST",
        AUTHZ,
        start=start,
        where=lambda r: (r.body or {}).get("transactionRequestId") == request_id,
    )


async def run_until_authorization(
    scheme: Scheme, request_id: str, *, pisp: TestPisp | None = None, **request: Any
) -> Received:
    """Request a transfer and wait for ``PUT …/transactions/{ID}`` RECEIVED and the
    authorization request; returns the latter."""
    sender = pisp or scheme.pisp
    start = len(sender.received)
    await request_transfer(scheme, request_id, pisp=sender, **request)
    received = await sender.wait_for("PUT", f"{TX}/{request_id}", start=start)
    assert received.body is not None
    assert received.body["transactionRequestState"] == "RECEIVED"
    assert received.headers["FSPIOP-Source"] == "dfspa"
    return await wait_authorization(sender, request_id, start=start)


def signed_payload(
    scheme: Scheme,
    challenge: str,
    credential: Credential = "FIDO",
    *,
    broken: Broken | None = None,
) -> dict[str, Any]:
    """The ``signedPayload`` the user's authenticator produces for ``challenge``."""
    if credential == "FIDO":
        assertion = scheme.fido.assertion(challenge, broken=broken)
        return {"signedPayloadType": "FIDO", "fidoSignedPayload": assertion}
    signature = scheme.generic.generic_signature(challenge, broken=broken)
    return {"signedPayloadType": "GENERIC", "genericSignedPayload": signature}


async def answer(
    scheme: Scheme,
    authorization: Received,
    body: dict[str, Any],
    *,
    pisp: TestPisp | None = None,
) -> SentResponse:
    """Send ``PUT /thirdpartyRequests/authorizations/{ID}`` with ``body``; asserts the 200."""
    sender = pisp or scheme.pisp
    auth = authorization.body or {}
    sent = await sender.send(
        "PUT",
        f"{AUTHZ}/{auth['authorizationRequestId']}",
        body,
        destination=auth["payer"]["fspId"],
    )
    assert sent.status == 200, sent.body
    return sent


async def approve(
    scheme: Scheme,
    authorization: Received,
    credential: Credential = "FIDO",
    *,
    broken: Broken | None = None,
    payload: dict[str, Any] | None = None,
    pisp: TestPisp | None = None,
) -> dict[str, Any]:
    """Accept the authorization request, signing its challenge (or sending ``payload``);
    returns the ``signedPayload`` sent so a test can replay it."""
    if payload is None:
        payload = signed_payload(
            scheme, (authorization.body or {})["challenge"], credential, broken=broken
        )
    await answer(
        scheme, authorization, {"responseType": "ACCEPTED", "signedPayload": payload}, pisp=pisp
    )
    return payload


async def reject(
    scheme: Scheme, authorization: Received, *, pisp: TestPisp | None = None
) -> SentResponse:
    """The user declines: ``PUT /thirdpartyRequests/authorizations/{ID}`` REJECTED."""
    return await answer(scheme, authorization, {"responseType": "REJECTED"}, pisp=pisp)


async def wait_outcome(pisp: TestPisp, request_id: str, *, start: int = 0) -> Received:
    """The final callback of a transfer: ``PATCH …/transactions/{ID}`` or ``PUT …/{ID}/error``."""
    final = {("PATCH", f"{TX}/{request_id}"), ("PUT", f"{TX}/{request_id}/error")}
    return await pisp.wait_until(lambda r: (r.method, r.path) in final, start=start)


async def wait_error(pisp: TestPisp, path: str, *, start: int = 0) -> Received:
    """The ``PUT {path}/error`` callback (``path`` is literal, not a pattern)."""
    return await pisp.wait_until(
        lambda r: r.method == "PUT" and r.path == f"{path}/error", start=start
    )


async def complete_transfer(
    scheme: Scheme,
    request_id: str,
    credential: Credential = "FIDO",
    *,
    pisp: TestPisp | None = None,
    **request: Any,
) -> Received:
    """A whole transfer that must succeed; returns the PATCH."""
    sender = pisp or scheme.pisp
    if credential == "GENERIC":
        request.setdefault("payer", "dfspa.alice.savings")
    auth = await run_until_authorization(scheme, request_id, pisp=sender, **request)
    await approve(scheme, auth, credential, pisp=sender)
    outcome = await wait_outcome(sender, request_id)
    assert outcome.method == "PATCH", outcome.body
    return outcome


def journal_bodies(scheme: Scheme, method: str, path: str) -> list[dict[str, Any]]:
    """Bodies of the messages with ``method`` and literal ``path`` that entered a participant
    (delivered in-process or sent over HTTP), in order."""
    assert scheme.sim is not None
    return [
        e.body
        for e in scheme.sim.journal.entries()
        if e.method == method
        and e.path == path
        and e.hop in (Hop.DELIVERED, Hop.SENT)
        and e.body is not None
    ]


def quote_response(scheme: Scheme, request_id: str) -> dict[str, Any]:
    """The ``PUT /quotes/{ID}`` body the payee DFSP returned for ``request_id``'s quote."""
    quotes = journal_bodies(scheme, "POST", "/quotes")
    quote_id = next(q["quoteId"] for q in quotes if q["transactionRequestId"] == request_id)
    (body,) = journal_bodies(scheme, "PUT", f"/quotes/{quote_id}")
    return body
