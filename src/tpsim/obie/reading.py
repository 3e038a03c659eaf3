"""Reading a UK request: its body and headers checked against the official OpenAPI of its
version (``tpsim.specs``), every problem as the OBIE error that names it, then the
``Initiation`` read into the bank's typed ``Order``.

    a header the spec requires, missing           400 U007 Header.Missing
    a header's value the spec refuses             400 U006 Header.Invalid
    a body that is no JSON object                 400 U010 Resource.InvalidFormat
    a body member missing / not allowed / wrong   400 U004 / U005 / U002
    a Content-Type that is not JSON               415 (no body)
    an account scheme tpsim does not play         400 U021 Unsupported.AccountIdentifier
    a RequestedExecutionDateTime without offset   400 U002 Field.Invalid

``x-jws-signature`` is required by the spec but accepted and ignored by default (the
digest §0): ``obie.signatures`` decides about it, never this check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tpsim.core.errors import MalformedBody, TooPrecise
from tpsim.core.json_body import decode_object, lone_surrogate_at
from tpsim.core.money import check_precision
from tpsim.obie.errors import (
    FieldInvalid,
    FieldMissing,
    FieldUnexpected,
    HeaderInvalid,
    HeaderMissing,
    InvalidFormat,
    ObieError,
    UnsupportedIdentifier,
    UnsupportedMediaType,
)
from tpsim.obie.resources import SCHEMES, SORT_CODE, AccountRef, Order

if TYPE_CHECKING:  # the OpenAPI checker (jsonschema) loads with the first UK request
    from tpsim.specs import Operation, Problem

MAX_DEPTH = 32  # the deepest member of OBWriteDomesticConsent4 is 9 levels down
MAX_NUMBER = 64
_MISSING = "is required but missing"
_UNEXPECTED = "is not a member this object may have"
_SORT_CODE = re.compile(r"[0-9]{14}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_SIGNATURE = "header x-jws-signature"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def operation(version: str, method: str, path: str) -> Operation | None:
    """The official operation of ``version`` ("3.1", "4.0") serving ``method path``
    (``path`` after ``/pisp``), or None when the spec has none."""
    from tpsim.specs import Spec

    return Spec.load(f"obie-{version}").operation(method, path)


def require_json(content_type: str | None) -> None:
    """A body must be JSON (``application/json``, with or without a charset); anything
    else, the signed-and-encrypted ``application/jose+jwe`` included, is 415."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not JSON: send application/json"
        )


def decode(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400 U010 saying what is wrong with it: also a lone
    surrogate escape (``"\\ud800"``), which JSON's grammar lets through but which is no
    text, so no answer echoing it (nor the idempotency digest) could be encoded."""
    try:
        body = decode_object(raw, max_depth=MAX_DEPTH, max_number_chars=MAX_NUMBER)
    except MalformedBody as exc:
        raise InvalidFormat(f"{exc}") from None
    # UTF-8 read strictly holds no surrogate: only an escape can make one (walk then only).
    where = lone_surrogate_at(body) if _SURROGATE_ESCAPE.search(raw) else None
    if where is not None:
        raise InvalidFormat(
            f"{where or 'the body'} holds a lone surrogate escape (\\ud800 to \\udfff) in"
            " a string or member name: that is no Unicode text; send UTF-8 text",
            path=where or None,
        )
    return body


def check_request(op: Operation, headers: Mapping[str, str], body: dict[str, Any] | None) -> None:
    """Refuse a request the official OpenAPI refuses: one error listing every problem
    (the first decides the code and status), each at its field or header."""
    problems = [p for p in op.check_request(headers, body, content_type="application/json")]
    errors = [_error(p) for p in problems if p.where != _SIGNATURE]
    if errors:
        first, *more = errors
        raise type(first)(first.message, path=first.path, more=more)


def _error(problem: Problem) -> ObieError:
    """One problem of the OpenAPI check as the OBIE error that names it."""
    where, message = problem.where, problem.message
    if where.startswith("header "):
        name = where.removeprefix("header ")
        kind: type[ObieError] = HeaderMissing if message == _MISSING else HeaderInvalid
        return kind(f"header {name} {message}", path=name)
    path = where.removeprefix("body.") if where.startswith("body.") else None
    shown = path or "the body"
    if message.startswith(_MISSING):
        return FieldMissing(f"{shown} {message}", path=path)
    if message.startswith(_UNEXPECTED):
        return FieldUnexpected(f"{shown} {message}: leave it out", path=path)
    return FieldInvalid(f"{shown}: {message}", path=path)


def read_order(initiation: Mapping[str, Any]) -> Order:
    """The ``Data.Initiation`` the OpenAPI check passed, in the bank's terms, or the error
    naming the field tpsim cannot play (a scheme other than sort code + account number
    or IBAN, an identification of the wrong shape, a zero amount, one finer than its
    currency's minor unit, a ``RequestedExecutionDateTime`` without its UTC offset). A
    scheduled payment's ``EndToEndIdentification`` is optional: "" when left out."""
    where = "Data.Initiation"
    instructed = initiation["InstructedAmount"]
    amount = Decimal(instructed["Amount"])
    if amount <= 0:
        raise FieldInvalid(
            f"{where}.InstructedAmount.Amount {instructed['Amount']!r} is no positive amount",
            path=f"{where}.InstructedAmount.Amount",
        )
    try:
        check_precision(amount, instructed["Currency"])
    except TooPrecise as exc:
        raise FieldInvalid(str(exc), path=f"{where}.InstructedAmount.Amount") from None
    debtor = initiation.get("DebtorAccount")
    return Order(
        instruction_id=initiation["InstructionIdentification"],
        end_to_end_id=initiation.get("EndToEndIdentification", ""),
        amount=amount,
        amount_text=instructed["Amount"],
        currency=instructed["Currency"],
        creditor=account(initiation["CreditorAccount"], f"{where}.CreditorAccount"),
        debtor=None if debtor is None else account(debtor, f"{where}.DebtorAccount"),
        reference=_reference(initiation.get("RemittanceInformation")),
        execute_at=_execution(initiation.get("RequestedExecutionDateTime"), where),
    )


def _execution(value: Any, where: str) -> datetime | None:
    """A scheduled payment's ``RequestedExecutionDateTime`` (RFC 3339, with its offset), in
    UTC; None for an order that has none. RFC 3339 (5.6) lets its ``T`` and ``Z`` be lower
    case, which Python's parser does not take: they are read upper case."""
    if value is None:
        return None
    path = f"{where}.RequestedExecutionDateTime"
    try:
        at = datetime.fromisoformat(str(value).upper())
        if at.tzinfo is not None:
            return at.astimezone(UTC)
    except (ValueError, OverflowError):  # no date-time, or beyond year 1 to 9999 in UTC
        pass
    raise FieldInvalid(
        f"{path} {str(value)[:60]!r} is no RFC 3339 date-time with its UTC offset"
        " (2030-01-08T09:00:00+00:00)",
        path=path,
    )


def account(wire: Mapping[str, Any], where: str) -> AccountRef:
    """An ``OBCashAccount`` the bank can find: ``SortCodeAccountNumber`` (6 + 8 digits)
    or ``IBAN``."""
    scheme, identification = wire["SchemeName"], wire["Identification"]
    if scheme not in SCHEMES:
        raise UnsupportedIdentifier(
            f"{where}.SchemeName {scheme!r}: tpsim's banks identify accounts by"
            f" {' or '.join(SCHEMES)}",
            path=f"{where}.SchemeName",
        )
    shape = _SORT_CODE if scheme == SORT_CODE else _IBAN
    if not shape.fullmatch(identification):
        wanted = (
            "14 digits: the 6-digit sort code, then the 8-digit account number"
            if scheme == SORT_CODE
            else "an IBAN in electronic format (upper case, no spaces)"
        )
        raise FieldInvalid(
            f"{where}.Identification {identification[:60]!r} is not {wanted}",
            path=f"{where}.Identification",
        )
    return AccountRef(scheme, identification, wire.get("Name"), wire.get("SecondaryIdentification"))


def _reference(remittance: Any) -> str | None:
    """What the consent page shows as the reference: v3.1's ``Reference`` or
    ``Unstructured`` (a string), v4.0's first ``Unstructured`` line."""
    if not isinstance(remittance, Mapping):
        return None
    for name in ("Reference", "Unstructured"):
        value = remittance.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            return value
    return None
