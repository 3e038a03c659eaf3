"""The built-in STET PISP's client side: requests to a simulated bank's payment initiation
API with the headers a PISP sends, its OAuth 2.0 tokens, and what it remembers of its
payment requests.

Every API request carries a new ``X-Request-ID`` (a UUID), ``Accept: application/json``,
the bearer token the step chose and ``Content-Type: application/json`` with a body; a
step's ``headers`` override these (null removes one, so header errors can be written).
What the PISP learns (each payment request's bank, its ``consentApproval`` link and the
approach the bank applied; its tokens) is kept in the scenario's variables (``STET``)
beside the ``${client_token}``, ``${payment_request_id}``, ``${consent_approval}``,
``${auth_code}`` and ``${psu_token}`` the user sees.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tpsim.scenario.harness import Answer, payload
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.stet import params as p
from tpsim.scenario.tpp_token import learn_token, overridden, request_token, tpp_request

STET = "stet"  # the variable the PISP's memory is kept in
DEFAULT_BANK = "dfspa"
REQUESTS = "/payment-requests"


@dataclass(slots=True)
class KnownRequest:
    """A payment request the PISP made: where, and what the bank's 201 said of it."""

    bank: str
    approach: str | None = None  # appliedAuthenticationApproach
    approval: str | None = None  # the consentApproval link (REDIRECT)


@dataclass(slots=True)
class Memory:
    """What the PISP knows within one scenario (each matrix cell has its own)."""

    requests: dict[str, KnownRequest] = field(default_factory=dict)
    client_tokens: dict[str, str] = field(default_factory=dict)  # bank → token
    psu_tokens: dict[str, str] = field(default_factory=dict)  # payment request → token


def memory(session: Session) -> Memory:
    """The scenario's ``Memory`` (made on first use)."""
    return session.variables.kept(STET, Memory)


def bank_of(session: Session, call: p.StetCall, request_id: str | None = None) -> str:
    """Where a request goes: the bank the step names, else the one its payment request was
    made at, else dfspa."""
    made = memory(session).requests.get(request_id or "")
    return call.bank or (made.bank if made else DEFAULT_BANK)


def failed(session: Session, message: str, kind: FailureKind = FailureKind.ERROR) -> StepFailed:
    return StepFailed(Failure(kind, message, session.step))


def latest_request(session: Session) -> str | None:
    """The payment request the scenario made last, if any."""
    latest = session.variables.values.get("payment_request_id")
    return str(latest) if latest else None


# --- tokens ----------------------------------------------------------------------------------


async def bearer(
    session: Session, token: str | None, bank: str, request_id: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """The bearer token a step chose (``client``: the scenario's, fetched when it has
    none; ``psu``: the payment request's PSU token; null: none; else as written) and the
    requests made to get it."""
    known = memory(session)
    if token == p.CLIENT:
        if bank in known.client_tokens:
            return known.client_tokens[bank], []
        got = await token_request(session, p.StetToken(bank=bank))
        answer = got.answer
        if answer is None or answer.status != 200:
            said = f"{answer.status} {answer.body}" if answer else "no answer"
            raise failed(session, f"no client token from {bank}'s /token: {said}")
        return known.client_tokens[bank], got.messages
    if token == p.PSU:
        psu = known.psu_tokens.get(request_id or "")
        if psu is None:
            raise failed(
                session,
                f"there is no PSU token for payment request {request_id}: approve it through"
                " the bank's /authorize first (stet.authorize, the o-confirmation variant), or"
                " give token: a token, or null for none",
            )
        return psu, []
    return token, []


async def token_request(
    session: Session, params: p.StetToken, request_id: str | None = None
) -> Sent:
    """``POST /stet/{bank}/token``; a token it answers is remembered and set as
    ``${client_token}`` (client_credentials) or ``${psu_token}`` (a code: the PSU's for
    ``request_id``, default ``${payment_request_id}``)."""
    answer, record = await request_token(session, params, f"/stet/{params.bank}")
    known = memory(session)
    learn_token(
        session,
        params,
        answer,
        client_tokens=known.client_tokens,
        psu_tokens=known.psu_tokens,
        psu_for=lambda: request_id or latest_request(session) or "",
    )
    return Sent(answer, 200, request_id, [record])


# --- the API ----------------------------------------------------------------------------------


async def call(
    session: Session,
    params: p.StetCall,
    method: str,
    bank: str,
    path: str,
    body: Any = None,
    *,
    token: str | None,
    request_id: str | None,
    raw: str | None = None,
) -> tuple[Answer, list[dict[str, Any]]]:
    """``send`` with the bearer token the step chose (``bearer``), and the requests made:
    a client token the bank no longer takes (expired as tpsim's clock moved on) is
    replaced and the request sent again, as a PISP does."""
    bearer_token, fetched = await bearer(session, token, bank, request_id)
    answer, record = await send(
        session, params, method, bank, path, body, token=bearer_token, raw=raw
    )
    if token != p.CLIENT or fetched or not _token_refused(answer):
        return answer, [*fetched, record]
    memory(session).client_tokens.pop(bank, None)  # fetched anew (and not again) below
    again, records = await call(
        session, params, method, bank, path, body, token=token, request_id=request_id, raw=raw
    )
    return again, [record, *records]


def _token_refused(answer: Answer) -> bool:
    """Whether the bank refused the bearer token itself (401 TOKEN_INVALID), not the
    request (a signature's 401 is another)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    return answer.status == 401 and body.get("error") == "TOKEN_INVALID"


async def send(
    session: Session,
    params: p.StetCall,
    method: str,
    bank: str,
    path: str,
    body: Any = None,
    *,
    token: str | None,
    raw: str | None = None,
) -> tuple[Answer, dict[str, Any]]:
    """One request to ``bank``'s STET API (``path`` under its ``/v1``); returns the answer
    and what was sent, for the step's report."""
    data = payload(body, raw)
    headers = request_headers(params, token=token, body=data is not None)
    return await tpp_request(session, method, f"/stet/{bank}/v1{path}", body, data, headers)


def request_headers(
    call: p.StetCall, *, token: str | None, body: bool
) -> tuple[dict[str, str], list[str]]:
    """The headers to send and the names the step removed (which the HTTP client must not
    add back on its own)."""
    sent = {"X-Request-ID": str(uuid.uuid4()), "Accept": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if body:
        sent["Content-Type"] = "application/json"
    return overridden(sent, call.headers)


def resource_of(answer: Answer) -> dict[str, Any]:
    """The answer's ``paymentRequest`` (empty when it has none)."""
    found = answer.body.get("paymentRequest") if isinstance(answer.body, dict) else None
    return found if isinstance(found, dict) else {}


def merged(base: Any, changes: Any) -> Any:
    """``base`` with ``changes`` merged in deeply: mappings key by key (a null removes a
    key), lists item by item (STET bodies hold their transactions in a list: a change to
    the first one is a list of one; items beyond ``base``'s are added), anything else
    replaces."""
    if isinstance(base, dict) and isinstance(changes, dict):
        result = dict(base)
        for key, value in changes.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merged(result.get(key), value)
        return result
    if isinstance(base, list) and isinstance(changes, list):
        items = [merged(mine, theirs) for mine, theirs in zip(base, changes, strict=False)]
        return items + base[len(changes) :] + changes[len(base) :]
    return changes
