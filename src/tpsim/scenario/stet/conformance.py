"""Conformance checks of STET exchanges (sans-IO, over the journal), beside the other
dialects' in ``scenario/conformance.py``.

No official STET OpenAPI ships with tpsim, so the STET wire models (``tpsim.stet.models``)
are the reference on both sides:

* ``stet_violations``: what an external PISP sent to ``/stet/{fspId}/v1/…``. Every request
  carries ``X-Request-ID`` and ``Authorization`` and must have been accepted by the bank;
  the body of ``POST /payment-requests`` and of ``PUT /payment-requests/{id}`` is read as
  a ``PaymentRequestResource`` (``read_payment_request``), the body of a confirmation
  must be a JSON object (``{}`` at least).
* ``stet_sent_by_tpsim`` (``tpsim run --check-sent``): what tpsim's banks answered, held
  to ``sent_problems``: a 201 is a creation, a 200 the payment request, a refusal
  STET's ``ErrorModel``; every answer echoes an ``X-Request-ID``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

# One journal reading and one way of naming a breach for every dialect.
from tpsim.scenario.conformance import _violation, exchanges
from tpsim.scenario.expectations import header
from tpsim.scenario.results import Violation
from tpsim.stet.models import (
    RequestInvalid,
    SentKind,
    read_confirmation,
    read_payment_request,
    sent_problems,
)

STET = "stet"
NO_CLIENT = "pisp"  # whom serve/stet.py journals a request from when no token names one
_PATH = re.compile(r"^/stet/[^/]+/v1(?P<tail>/[^?]*)")
_REQUESTS = re.compile(
    r"^/payment-requests(?P<one>/[^/]+)?(?P<confirmation>/(?:o-)?confirmation)?$"
)
_REQUIRED_HEADERS = ("X-Request-ID", "Authorization")
# The requests with a body, by (method, operation), and how STET reads it.
_READERS: dict[tuple[str, str | None], Callable[[object], object]] = {
    ("POST", "payment_requests"): read_payment_request,
    ("PUT", "payment_request"): read_payment_request,
    ("POST", "confirmation"): read_confirmation,
}


def stet_violations(journal: Iterable[dict[str, Any]], tpp: str) -> list[Violation]:
    """What PISP ``tpp`` (a client_id of the config's ``tpps``) did against the STET API,
    in journal order. A request is the PISP's by the token it carried; one the bank could
    tie to no client (no token, an unknown one: STET names no client otherwise) is
    counted as the PISP's under test too, so a request without its token is a breach."""
    found: list[Violation] = []
    for request, answer in exchanges(journal, (STET,)):
        if request["source"] in (tpp, NO_CLIENT):
            found += _request_problems(request, answer)
    return found


def _request_problems(request: dict[str, Any], answer: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    status = answer.get("status") or 0
    if status >= 400:
        message = f"{status}: {_error_text(answer.get('body'))}"
        found.append(_violation(request, "(message)", "accepted by the bank", message))
    for name in _REQUIRED_HEADERS:
        if header(request, name) is None:
            found.append(_violation(request, name, "header", f"{name} is required"))
    reader = _READERS.get((request["method"], _operation(request)))
    return found if reader is None else found + _body(request, reader)


def _body(request: dict[str, Any], read: Callable[[object], object]) -> list[Violation]:
    """The request's body read as the STET model ``read`` reads it: its first problem."""
    body = request.get("body")
    if body is None:
        message = "the body is required: a JSON object ({} at least)"
        return [_violation(request, "(body)", "stet", message)]
    try:
        read(body)
    except RequestInvalid as exc:
        return [_violation(request, exc.path or "(body)", "stet", exc.message)]
    return []


def stet_sent_by_tpsim(journal: Iterable[dict[str, Any]], simulated: set[str]) -> list[Violation]:
    """STET answers tpsim's ``simulated`` banks sent that STET 1.4.2 does not allow
    (``tpsim run --check-sent``). An answer to a request for no STET resource must be a
    refusal; there is no model to hold it to."""
    found: list[Violation] = []
    for _, answer in exchanges(journal, (STET,)):
        if answer["source"] in simulated:
            found += _answer_problems(answer)
    return found


def _answer_problems(answer: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    if header(answer, "X-Request-ID") is None:
        found.append(_violation(answer, "X-Request-ID", "header", "every answer echoes it"))
    status = answer.get("status") or 0
    kind = _answer_kind(answer, status)
    if kind is None:
        message = f"answered {status} to a request for no operation of the STET API"
        return [*found, _violation(answer, "(answer)", "stet", message)]
    problems = sent_problems(kind, answer.get("body"))
    return found + [_violation(answer, "(body)", "stet", message) for message in problems]


def _answer_kind(answer: dict[str, Any], status: int) -> SentKind | None:
    """Which body an answer must be: a refusal's ``ErrorModel``, the 201 of a creation, or
    the payment request (200 to GET, PUT and the confirmations); None: no STET operation
    answers so."""
    if status >= 400:
        return "error"
    operation = _operation(answer)
    if operation is None:
        return None
    if status == 201 and answer["method"] == "POST" and operation == "payment_requests":
        return "created"
    if status == 200 and operation in ("payment_request", "confirmation"):
        return "payment_request"
    return None


def _operation(entry: dict[str, Any]) -> str | None:
    """``payment_requests`` (the collection), ``payment_request`` (one), ``confirmation``
    (either confirmation), or None: no STET resource."""
    found = _PATH.match(entry["path"])
    tail = _REQUESTS.match(found.group("tail")) if found else None
    if tail is None:
        return None
    if tail.group("confirmation"):
        return "confirmation" if tail.group("one") else None
    return "payment_request" if tail.group("one") else "payment_requests"


def _error_text(body: Any) -> str:
    if not isinstance(body, dict):
        return "refused"
    return f"{body.get('error') or body.get('status')}: {body.get('message', '')}".rstrip(": ")
