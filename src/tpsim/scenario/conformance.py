"""Conformance checks of an external participant under test (sans-IO, over the journal).

Every message it sent is validated against the official OpenAPI (when the bundles are
available) and must have been accepted by tpsim's edge (headers, media types, Date,
FSPIOP-Source…); every callback tpsim sent it must have been answered with the status the
API requires, and its ``Date`` headers must be within ``MAX_CLOCK_SKEW`` of tpsim's clock.
Each breach is a ``Violation`` naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.wire import routes
from tpsim.mojaloop.wire.headers import parse_http_date
from tpsim.mojaloop.wire.openapi import OpenApiValidator, SchemaViolation
from tpsim.scenario.expectations import describe
from tpsim.scenario.results import Failure, FailureKind, Violation

MAX_CLOCK_SKEW = timedelta(minutes=5)
# The bundle that describes a message, by the kind of its receiver.
_RECEIVER_ROLE = {"pisp": "pisp", "dfsp": "dfsp", "auth-service": "auth", "hub": "hub"}


def violations(
    journal: Iterable[dict[str, Any]],
    participant: str,
    kinds: Mapping[str, str],
    validator: OpenApiValidator | None,
) -> list[Violation]:
    """What ``participant`` did against the API, in journal order."""
    found: list[Violation] = []
    for entry in journal:
        if entry["hop"] == "received" and entry["source"] == participant:
            found += _sent_by(entry, kinds, validator)
        elif entry["hop"] == "sent" and entry.get("destination") == participant:
            found += _answered_by(entry)
    return found


def _sent_by(
    entry: dict[str, Any], kinds: Mapping[str, str], validator: OpenApiValidator | None
) -> list[Violation]:
    found: list[Violation] = []
    status = entry.get("status") or 0
    if status >= 400:
        found.append(
            _violation(entry, "(message)", "accepted by the switch", f"{status}: {entry['error']}")
        )
    found += _date(entry)
    if validator is not None:
        destination = entry["headers"].get("FSPIOP-Destination") or ""
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
    for entry in journal:
        if entry["hop"] in ("delivered", "sent") and entry["source"] in simulated:
            found += _schema(entry, kinds.get(entry.get("destination") or "", "hub"), validator)
    return found


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


def _date(entry: dict[str, Any]) -> list[Violation]:
    try:
        sent = parse_http_date(entry["headers"].get("Date"))
    except FspiopError:
        return []  # the edge refused the message for it: already a violation
    skew = abs(sent - datetime.fromisoformat(entry["at"]))
    if skew <= MAX_CLOCK_SKEW:
        return []
    return [
        _violation(
            entry,
            "Date",
            "header",
            f"{entry['headers']['Date']} is {skew.total_seconds():.0f} s away from the time it"
            f" arrived (at most {MAX_CLOCK_SKEW.total_seconds():.0f} s)",
        )
    ]


def _answered_by(entry: dict[str, Any]) -> list[Violation]:
    try:
        required = routes.match(entry["method"], entry["path"])[0].sync_status
    except FspiopError:
        return []
    status = entry.get("status")
    if status == required:
        return []
    got = f"answered {status}" if status is not None else f"did not answer ({entry['error']})"
    return [_violation(entry, "(answer)", "status", f"{got}; the API requires {required}")]


def _violation(entry: dict[str, Any], field: str, rule: str, message: str) -> Violation:
    return Violation(entry["seq"], entry["method"], entry["path"], field, rule, message)


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
        result.append(
            Failure(
                FailureKind.ERROR if by_tpsim else FailureKind.CONFORMANCE,
                f"{first.method} {first.path} {who}: {first.field}: {first.message}",
                expected="a message the Third Party API allows",
                actual=f"{describe(entries[seq]) if seq in entries else seq}\n{problems}",
            )
        )
    return result
