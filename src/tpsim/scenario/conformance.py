"""Conformance checks of an external participant under test (sans-IO, over the journal).

Every message it sent is validated against the official OpenAPI (when the bundles are
available) and must have been accepted by tpsim's edge (headers, media types, Date,
FSPIOP-Source…); every callback tpsim sent it must have been answered with the status the
API requires, and its ``Date`` headers must be within ``MAX_CLOCK_SKEW`` of tpsim's clock.
Each breach is a ``Violation`` naming the field and the rule.

XS2A has its own pair (``xs2a_violations`` for an external TPP, ``xs2a_sent_by_tpsim`` for
``--check-sent``), against the official NextGenPSD2 OpenAPI tpsim ships
(``tpsim.specs.openapi3``); its paths there start at ``/v1``, so ``/xs2a/{fspId}`` is
dropped first. UK Open Banking has the same pair (``obie_violations``,
``obie_sent_by_tpsim``) against the official OpenAPI of each version, whose paths start
after ``/obie/{fspId}/open-banking/v{version}/pisp``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.wire import routes
from tpsim.mojaloop.wire.headers import parse_http_date
from tpsim.mojaloop.wire.openapi import OpenApiValidator, SchemaViolation
from tpsim.scenario.attribution import SOURCE, sent_by, source_problem
from tpsim.scenario.expectations import describe, header
from tpsim.scenario.results import Failure, FailureKind, Violation
from tpsim.specs.openapi3 import Operation, Spec

MAX_CLOCK_SKEW = timedelta(minutes=5)
# The bundle that describes a message, by the kind of its receiver.
_RECEIVER_ROLE = {"pisp": "pisp", "dfsp": "dfsp", "auth-service": "auth", "hub": "hub"}


def violations(
    journal: Iterable[dict[str, Any]],
    participant: str,
    kinds: Mapping[str, str],
    validator: OpenApiValidator | None,
    clock_moves: Iterable[tuple[int, float]] = (),
    *,
    others: Collection[str] | None = None,
) -> list[Violation]:
    """What ``participant`` did against the API, in journal order. ``clock_moves``: each
    time the scenario moved tpsim's clock ahead (``advance_clock``), the journal's last seq
    before the move and by how many seconds: a ``Date`` from the participant's own clock may
    lag tpsim's by as much as it was moved before the message came. Its messages are those
    ``attribution.sent_by`` gives it (``others``: the other external participants), never
    the scenario's own."""
    moves = list(clock_moves)
    found: list[Violation] = []
    for entry in journal:
        if sent_by(entry, participant, others):
            moved_s = sum(seconds for mark, seconds in moves if entry["seq"] > mark)
            wrong_source = source_problem(entry, participant)
            if wrong_source is not None:
                found.append(_violation(entry, SOURCE, "header", wrong_source))
            found += _sent_by(entry, kinds, validator, moved_s)
        elif entry["hop"] == "sent" and entry.get("destination") == participant:
            found += _answered_by(entry)
    return found


def _sent_by(
    entry: dict[str, Any],
    kinds: Mapping[str, str],
    validator: OpenApiValidator | None,
    moved_s: float = 0.0,
) -> list[Violation]:
    found: list[Violation] = []
    status = entry.get("status") or 0
    # A scenario's rule that refuses at once (``error: {sync: true}``) judged nothing of the
    # message: the edge had taken it, and the rule answered in its participant's stead.
    if status >= 400 and not entry.get("rule"):
        found.append(
            _violation(entry, "(message)", "accepted by the switch", f"{status}: {entry['error']}")
        )
    found += _date(entry, moved_s)
    if validator is not None:
        destination = header(entry, "FSPIOP-Destination") or ""
        found += _schema(entry, kinds.get(destination, "hub"), validator)
    return found


def sent_by_tpsim(
    journal: Iterable[dict[str, Any]],
    kinds: Mapping[str, str],
    simulated: set[str],
    validator: OpenApiValidator,
) -> list[Violation]:
    """Bodies tpsim's ``simulated`` participants sent that the official OpenAPI does not
    allow (``tpsim run --check-sent``: a check of tpsim itself)."""
    found: list[Violation] = []
    for entry in filter(_mojaloop, journal):
        if entry["hop"] in ("delivered", "sent") and entry["source"] in simulated:
            found += _schema(entry, kinds.get(entry.get("destination") or "", "hub"), validator)
    return found


def _mojaloop(entry: dict[str, Any]) -> bool:
    """An FSPIOP hop (entries journaled before dialects have none): the Mojaloop bundles
    describe these only; XS2A answers have their own check (``xs2a_sent_by_tpsim``)."""
    return entry.get("dialect") in (None, "mojaloop")


def _schema(
    entry: dict[str, Any], receiver_kind: str, validator: OpenApiValidator
) -> list[Violation]:
    try:
        validator.validate_sent(entry, _RECEIVER_ROLE.get(receiver_kind, "hub"))
    except SchemaViolation as exc:
        if not exc.problems:
            return [_violation(entry, "(message)", "openapi", exc.summary)]
        return [
            _violation(
                entry,
                problem.field if problem.depth == 0 else f"{problem.field} (a oneOf variant)",
                problem.rule,
                problem.message,
            )
            for problem in exc.problems
        ]
    return []


def _date(entry: dict[str, Any], moved_s: float = 0.0) -> list[Violation]:
    """The ``Date`` within ``MAX_CLOCK_SKEW`` of the time the message arrived: of tpsim's
    clock, or of the real time when the scenario had moved that clock ``moved_s`` ahead
    (nobody outside tpsim can follow it there)."""
    date = header(entry, "Date")
    try:
        sent = parse_http_date(date)
    except FspiopError:
        return []  # the edge refused the message for it: already a violation
    at = datetime.fromisoformat(entry["at"])
    real = at - timedelta(seconds=moved_s)
    if real - MAX_CLOCK_SKEW <= sent <= at + MAX_CLOCK_SKEW:
        return []
    skew = sent - at if sent > at else real - sent
    moved = f"; tpsim's clock had been moved {moved_s:g} s ahead" if moved_s else ""
    return [
        _violation(
            entry,
            "Date",
            "header",
            f"{date} is {skew.total_seconds():.0f} s away from the time it"
            f" arrived (at most {MAX_CLOCK_SKEW.total_seconds():.0f} s{moved})",
        )
    ]


def _answered_by(entry: dict[str, Any]) -> list[Violation]:
    try:
        allowed = routes.match(entry["method"], entry["path"])[0].answers
    except FspiopError:
        return []
    status = entry.get("status")
    if status in allowed:
        return []
    got = f"answered {status}" if status is not None else f"did not answer ({entry['error']})"
    required = " or ".join(map(str, sorted(allowed)))
    return [_violation(entry, "(answer)", "status", f"{got}; the API requires {required}")]


# --- XS2A -------------------------------------------------------------------------------------

XS2A = "xs2a"
Exchange = tuple[dict[str, Any], dict[str, Any]]  # an XS2A request and the bank's answer


def xs2a_violations(journal: Iterable[dict[str, Any]], tpp: str) -> list[Violation]:
    """What TPP ``tpp`` (a client_id of the config's ``tpps``) did against the XS2A API, in
    journal order: each request it sent checked against the official OpenAPI (headers,
    path, query, body) and refused by no bank."""
    spec = Spec.load(XS2A)
    found: list[Violation] = []
    for request, answer in exchanges(journal):
        if _sent_by_tpp(request, tpp):
            found += _xs2a_request(request, answer, spec)
    return found


def _sent_by_tpp(request: dict[str, Any], tpp: str) -> bool:
    """The bank journals a request from the TPP it resolved (the first TPP when the request
    names none); one naming a client_id the banks do not know is journaled from no
    configured TPP, so it is the TPP's by the ``TPP-Client-ID`` it sent."""
    return request["source"] == tpp or header(request, "TPP-Client-ID") == tpp


def exchanges(
    journal: Iterable[dict[str, Any]], dialects: Collection[str] = (XS2A,)
) -> list[Exchange]:
    """Each request of ``dialects`` (XS2A, UK Open Banking: HTTP APIs whose edge answers
    synchronously) with its answer: the edge journals the two one after the other."""
    entries = [e for e in journal if e.get("dialect") in dialects]
    return [
        (request, answer)
        for request, answer in zip(entries, entries[1:], strict=False)
        if request["hop"] == "received"
        and answer["hop"] == "sent"
        and answer["seq"] == request["seq"] + 1
        and (answer["method"], answer["path"]) == (request["method"], request["path"])
    ]


def _xs2a_request(request: dict[str, Any], answer: dict[str, Any], spec: Spec) -> list[Violation]:
    found: list[Violation] = []
    status = answer.get("status") or 0
    if status >= 400:
        text = _tpp_message(answer.get("body"))
        found.append(_violation(request, "(message)", "accepted by the bank", f"{status}: {text}"))
    operation = _xs2a_operation(spec, request)
    if operation is None:
        if status < 400:
            message = f"{request['method']} {_v1(request['path'])} is no operation of the XS2A API"
            found.append(_violation(request, "(message)", "openapi", message))
        return found
    query = dict(parse_qsl(urlsplit(request["path"]).query))
    problems = operation.check_request(request["headers"], request.get("body"), query=query)
    return found + [_violation(request, p.where, "openapi", p.message) for p in problems]


def xs2a_sent_by_tpsim(journal: Iterable[dict[str, Any]], simulated: set[str]) -> list[Violation]:
    """XS2A answers tpsim's ``simulated`` banks sent that the official OpenAPI does not
    allow (``tpsim run --check-sent``: a check of tpsim itself). An answer to a request for
    no documented operation must be a refusal; there is no schema to hold it to."""
    spec = Spec.load(XS2A)
    found: list[Violation] = []
    for _, answer in exchanges(journal):
        if answer["source"] not in simulated:
            continue
        status = answer.get("status") or 0
        operation = _xs2a_operation(spec, answer)
        if operation is None:
            if status < 400:
                message = f"answered {status} to a request for no operation of the XS2A API"
                found.append(_violation(answer, "(answer)", "openapi", message))
            continue
        problems = operation.check_response(status, answer.get("body"), answer["headers"])
        found += [_violation(answer, p.where, "openapi", p.message) for p in problems]
    return found


def _xs2a_operation(spec: Spec, entry: dict[str, Any]) -> Operation | None:
    return spec.operation(entry["method"], _v1(entry["path"]))


def _v1(path: str) -> str:
    """``/xs2a/{fspId}/v1/…`` as the bundle writes it: ``/v1/…``."""
    parts = path.split("/", 3)
    return "/" + parts[3] if len(parts) == 4 else path


def _tpp_message(body: Any) -> str:
    messages = body.get("tppMessages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return "refused"
    first = messages[0]
    return f"{first.get('code')}: {first.get('text', '')}".rstrip(": ")


# --- UK Open Banking -------------------------------------------------------------------------

OBIE = "obie"
_OBIE_PATH = re.compile(r"^/obie/[^/]+/open-banking/v(?P<version>[^/]+)/pisp(?P<tail>/[^?]*)")
_OBIE_VERSIONS = ("3.1", "4.0")


def obie_violations(journal: Iterable[dict[str, Any]], tpp: str) -> list[Violation]:
    """What UK TPP ``tpp`` (a client_id of the config's ``tpps``) did against the UK
    payment initiation API, in journal order: each request it sent checked against the
    official OpenAPI of its version (headers, body) and refused by no bank. A request is
    the TPP's by the token it carried: one the bank could tie to no client (no token, an
    unknown one) is journaled from no TPP and cannot be counted."""
    found: list[Violation] = []
    for request, answer in exchanges(journal, (OBIE,)):
        if request["source"] != tpp:
            continue
        status = answer.get("status") or 0
        if status >= 400:
            text = _ob_error(answer.get("body"))
            message = f"{status}: {text}"
            found.append(_violation(request, "(message)", "accepted by the bank", message))
        operation = _obie_operation(request)
        if operation is None:
            if status < 400:
                message = f"{request['method']} {request['path']} is no operation of the UK API"
                found.append(_violation(request, "(message)", "openapi", message))
            continue
        problems = operation.check_request(request["headers"], request.get("body"))
        found += [_violation(request, p.where, "openapi", p.message) for p in problems]
    return found


def obie_sent_by_tpsim(journal: Iterable[dict[str, Any]], simulated: set[str]) -> list[Violation]:
    """UK answers tpsim's ``simulated`` banks sent that the official OpenAPI of their
    version does not allow (``tpsim run --check-sent``). An answer to a request for no
    documented operation must be a refusal; there is no schema to hold it to."""
    found: list[Violation] = []
    for _, answer in exchanges(journal, (OBIE,)):
        if answer["source"] not in simulated:
            continue
        status = answer.get("status") or 0
        operation = _obie_operation(answer)
        if operation is None:
            if status < 400:
                message = f"answered {status} to a request for no operation of the UK API"
                found.append(_violation(answer, "(answer)", "openapi", message))
            continue
        body = answer.get("body")
        headers = dict(answer["headers"])
        if body is not None and header(answer, "Content-Type") is None:
            headers["Content-Type"] = "application/json"  # the journal keeps the API's own
        problems = operation.check_response(status, body, headers)
        found += [_violation(answer, p.where, "openapi", p.message) for p in problems]
    return found


def _obie_operation(entry: dict[str, Any]) -> Operation | None:
    """The official operation of the entry's version (the bundles' paths start after
    ``/open-banking/v{version}/pisp``), or None."""
    found = _OBIE_PATH.match(entry["path"])
    if found is None or found.group("version") not in _OBIE_VERSIONS:
        return None
    spec = Spec.load(f"obie-{found.group('version')}")
    return spec.operation(entry["method"], found.group("tail"))


def _ob_error(body: Any) -> str:
    errors = body.get("Errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "refused"
    first = errors[0]
    return f"{first.get('ErrorCode')}: {first.get('Message', '')}".rstrip(": ")


def _violation(entry: dict[str, Any], field: str, rule: str, message: str) -> Violation:
    return Violation(entry["seq"], entry["method"], entry["path"], field, rule, message)


_API_NAMES = {XS2A: "the XS2A API", OBIE: "the UK Open Banking API", "stet": "the STET API"}


def failures(
    found: list[Violation], journal: list[dict[str, Any]], *, by_tpsim: bool = False
) -> list[Failure]:
    """One failure per message with violations (``by_tpsim``: an error of tpsim itself,
    not a verdict on the participant under test)."""
    by_seq: dict[int, list[Violation]] = {}
    for violation in found:
        by_seq.setdefault(violation.seq, []).append(violation)
    entries = {e["seq"]: e for e in journal}
    result = []
    for seq, listed in by_seq.items():
        first = listed[0]
        problems = "\n".join(f"  - {v.field}: {v.message} [{v.rule}]" for v in listed)
        who = "tpsim sent a body that breaks the API" if by_tpsim else "breaks the API"
        dialect = entries.get(seq, {}).get("dialect")
        api = _API_NAMES.get(str(dialect), "the Third Party API")
        result.append(
            Failure(
                FailureKind.ERROR if by_tpsim else FailureKind.CONFORMANCE,
                f"{first.method} {first.path} {who}: {first.field}: {first.message}",
                expected=f"a message {api} allows",
                actual=f"{describe(entries[seq]) if seq in entries else seq}\n{problems}",
            )
        )
    return result
