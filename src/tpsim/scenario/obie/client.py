"""The built-in UK TPP's client side: requests to a simulated bank's payment initiation
API with the headers a TPP sends, its OAuth 2.0 tokens, and what it remembers of its
consents and payments.

Every API request carries a new ``x-fapi-interaction-id`` (a UUID), ``Accept``, the
bearer token the step chose, ``Content-Type`` with a body and a new ``x-idempotency-key``
on a POST; a step's ``headers`` override these (null removes one, so header errors can be
written). What the TPP learns (each consent's bank, version, Initiation and Risk as the
bank answered them; its tokens) is kept in the scenario's variables (``OBIE``) beside the
``${client_token}``, ``${consent_id}``, ``${psu_token}``, ``${auth_code}`` and
``${payment_id}`` the user sees.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tpsim.scenario.harness import Answer, payload
from tpsim.scenario.obie import params as p
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.tpp_token import learn_token, overridden, request_token, tpp_request

OBIE = "obie"  # the variable the TPP's memory is kept in
DEFAULT_BANK, DEFAULT_VERSION = "dfspa", "4.0"


@dataclass(slots=True)
class KnownConsent:
    """A consent the TPP made: where, and what the bank answered of it."""

    bank: str
    version: str
    initiation: Any = None
    risk: Any = None
    kind: str = "domestic"  # its resources: /{kind}-payment-consents, /{kind}-payments


@dataclass(slots=True)
class KnownPayment:
    bank: str
    version: str
    consent: str | None
    kind: str = "domestic"  # its consent's


@dataclass(slots=True)
class Memory:
    """What the TPP knows within one scenario (each matrix cell has its own)."""

    consents: dict[str, KnownConsent] = field(default_factory=dict)
    payments: dict[str, KnownPayment] = field(default_factory=dict)
    client_tokens: dict[str, str] = field(default_factory=dict)  # bank → token
    psu_tokens: dict[str, str] = field(default_factory=dict)  # ConsentId → token


def memory(session: Session) -> Memory:
    """The scenario's ``Memory`` (made on first use)."""
    return session.variables.kept(OBIE, Memory)


@dataclass(frozen=True, slots=True)
class Where:
    """A bank's UK API of one version: ``/obie/{bank}/open-banking/v{version}/pisp``."""

    bank: str
    version: str

    @property
    def base(self) -> str:
        return f"/obie/{self.bank}/open-banking/v{self.version}/pisp"


def where(
    session: Session, call: p.ObieCall, consent: str | None = None, payment: str | None = None
) -> Where:
    """Where a request goes: what the step names, else where its consent or payment was
    made, else dfspa and v4.0."""
    known = memory(session)
    made = known.payments.get(payment or "") or known.consents.get(consent or "")
    return Where(
        call.bank or (made.bank if made else DEFAULT_BANK),
        call.version or (made.version if made else DEFAULT_VERSION),
    )


def failed(session: Session, message: str) -> StepFailed:
    return StepFailed(Failure(FailureKind.ERROR, message, session.step))


# --- tokens ----------------------------------------------------------------------------------


async def bearer(
    session: Session, token: str | None, bank: str, consent: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """The bearer token a step chose (``client``: the scenario's, fetched when it has
    none; ``psu``: the consent's PSU token; null: none; else as written) and the
    requests made to get it."""
    known = memory(session)
    if token == p.CLIENT:
        if bank in known.client_tokens:
            return known.client_tokens[bank], []
        got = await token_request(session, p.Token(bank=bank))
        if got.answer is None or got.answer.status != 200:
            raise failed(session, f"no client token from {bank}'s /token: {got.answer}")
        return known.client_tokens[bank], got.messages
    if token == p.PSU:
        psu = known.psu_tokens.get(consent or "")
        if psu is None:
            raise failed(
                session,
                f"there is no PSU token for consent {consent}: authorise it first"
                " (obie.authorise), or give token: a token, or null for none",
            )
        return psu, []
    return token, []


async def token_request(session: Session, params: p.Token, consent: str | None = None) -> Sent:
    """``POST /obie/{bank}/token``; a token it answers is remembered and set as
    ``${client_token}`` (client_credentials) or ``${psu_token}`` (a code, the PSU's for
    ``consent``, default ``${consent_id}``)."""
    answer, record = await request_token(session, params, f"/obie/{params.bank}")
    known = memory(session)
    learn_token(
        session,
        params,
        answer,
        client_tokens=known.client_tokens,
        psu_tokens=known.psu_tokens,
        psu_for=lambda: consent or str(session.variables.values.get("consent_id", "")),
    )
    return Sent(answer, 200, None, [record])


# --- the API ----------------------------------------------------------------------------------


async def send(
    session: Session,
    call: p.ObieCall,
    method: str,
    at: Where,
    path: str,
    body: Any = None,
    *,
    token: str | None,
    raw: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Answer, dict[str, Any]]:
    """One request to ``at`` (``path`` under its ``/pisp``); returns the answer and what
    was sent, for the step's report."""
    data = payload(body, raw)
    headers = request_headers(
        call, method, token=token, body=data is not None, idempotency_key=idempotency_key
    )
    return await tpp_request(session, method, at.base + path, body, data, headers)


def request_headers(
    call: p.ObieCall,
    method: str,
    *,
    token: str | None,
    body: bool,
    idempotency_key: str | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The headers to send and the names the step removed (which the HTTP client must not
    add back on its own)."""
    sent = {"x-fapi-interaction-id": str(uuid.uuid4()), "Accept": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if body:
        sent["Content-Type"] = "application/json"
    if method == "POST":
        sent["x-idempotency-key"] = idempotency_key or str(uuid.uuid4())
    return overridden(sent, call.headers)


def data_of(answer: Answer) -> dict[str, Any]:
    """The answer's ``Data`` object (empty when it has none)."""
    data = answer.body.get("Data") if isinstance(answer.body, dict) else None
    return data if isinstance(data, dict) else {}


def merged(base: Any, changes: dict[str, Any]) -> Any:
    """``base`` with ``changes`` merged in deeply: mappings key by key, a null removes a
    key, anything else replaces."""
    if not isinstance(base, dict):
        return changes
    result = dict(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def redirect_params(location: str) -> dict[str, str]:
    """A browser redirect as a step's ``expect.redirect`` sees it: its query and fragment
    parameters (``code id_token`` answers in the fragment) and the URL as ``location``."""
    parts = urlsplit(location)
    found = dict(parse_qsl(parts.query)) | dict(parse_qsl(parts.fragment))
    return {**found, "location": location}


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """An unsecured JWT (RFC 7519 §6, ``alg: none``): the request object a lenient bank
    accepts without the TPP's key."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
