"""Reading a PISP's STET request: the JSON body, checked against the models
(``stet.models``), then the payment request in neutral terms (``resources.Order``).

Every refusal is a ``FieldInvalid`` (400) naming the member as a dotted wire path
(``creditTransferTransaction[0].instructedAmount.amount``) and what to fix.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from tpsim.core.errors import MalformedBody, TooPrecise
from tpsim.core.json_body import decode_object
from tpsim.core.money import check_precision
from tpsim.stet.errors import FieldInvalid, UnsupportedMediaType
from tpsim.stet.models import (
    ConfirmationRequest,
    RequestInvalid,
    read_confirmation,
    read_payment_request,
)
from tpsim.stet.resources import Instruction, Order
from tpsim.stet.states import Approach

Body = dict[str, Any]


def require_json(content_type: str | None) -> None:
    """A body must be sent as JSON (415 otherwise)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as Content-Type: application/json, not {content_type or 'none'!r}"
        )


MAX_DEPTH, MAX_NUMBER = 32, 100  # the edge's JSON guard, as for the other dialects


def decode(raw: bytes) -> Body:
    """The body as a JSON object (bounded by ``core.json_body``), or 400 saying why."""
    try:
        return decode_object(raw, max_depth=MAX_DEPTH, max_number_chars=MAX_NUMBER)
    except MalformedBody as exc:
        raise FieldInvalid(f"the body is not JSON STET can read: {exc}") from None


def payment_request(value: Any) -> Body:
    """``value`` checked as a ``PaymentRequestResource``: the resource as the model read it
    (wire names, unknown members dropped), or the first problem."""
    try:
        model = read_payment_request(value)
    except RequestInvalid as exc:
        raise FieldInvalid(exc.message) from None
    dumped: Body = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def confirmation(value: Any) -> ConfirmationRequest:
    """``value`` checked as a confirmation's body (``{}`` at least)."""
    try:
        return read_confirmation(value)
    except RequestInvalid as exc:
        raise FieldInvalid(exc.message) from None


def read_order(wire: Body) -> Order:
    """The payment request ``wire`` (as ``payment_request`` gave it) in neutral terms."""
    common_date = wire.get("requestedExecutionDate")
    requested = None if common_date is None else _when(common_date, "requestedExecutionDate")
    common = wire.get("beneficiary")
    instructions = tuple(
        _instruction(t, i, common, requested)
        for i, t in enumerate(wire["creditTransferTransaction"])
    )
    currencies = {i.currency for i in instructions}
    if len(currencies) > 1:
        raise FieldInvalid(
            "creditTransferTransaction: every instruction of a payment request is paid from"
            f" one account in one currency, not {sorted(currencies)}"
        )
    supplementary = wire["supplementaryData"]
    return Order(
        payment_information_id=wire["paymentInformationId"],
        debtor=_account(wire.get("debtorAccount")),
        instructions=instructions,
        approaches=tuple(Approach(a) for a in supplementary["acceptedAuthenticationApproach"]),
        successful_url=supplementary["successfulReportUrl"],
        unsuccessful_url=supplementary.get("unsuccessfulReportUrl"),
    )


def _instruction(
    wire: Body, index: int, common: Body | None, requested: datetime | None
) -> Instruction:
    where = f"creditTransferTransaction[{index}]"
    amount_wire = wire["instructedAmount"]
    currency = amount_wire["currency"]
    text = str(amount_wire["amount"])
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FieldInvalid(f"{where}.instructedAmount.amount must be a decimal number") from None
    if not amount.is_finite() or amount <= 0:
        raise FieldInvalid(f"{where}.instructedAmount.amount must be more than zero, not {text}")
    try:
        check_precision(amount, currency)
    except TooPrecise as exc:
        raise FieldInvalid(f"{where}.instructedAmount.amount: {exc}") from None
    beneficiary = wire.get("beneficiary") or common
    if beneficiary is None:  # the model requires one at either level; checked again here
        raise FieldInvalid(f"{where}.beneficiary: name the creditor here or at payment level")
    creditor = _account(beneficiary["creditorAccount"])
    if not creditor:
        raise FieldInvalid(f"{where}.beneficiary.creditorAccount: give the creditor's iban")
    remittance = wire.get("remittanceInformation")
    date = wire.get("requestedExecutionDate")
    if date is not None:
        requested = _when(date, f"{where}.requestedExecutionDate")
    if requested is None:  # the model requires one at either level
        raise FieldInvalid(f"{where}.requestedExecutionDate: give it here or at payment level")
    return Instruction(
        instruction_id=wire["paymentId"]["instructionId"],
        end_to_end_id=wire["paymentId"]["endToEndId"],
        amount=amount,
        amount_text=text,
        currency=currency,
        creditor=creditor,
        creditor_name=beneficiary["creditor"]["name"],
        execution_at=requested,
        remittance=_remittance(remittance),
    )


def _account(wire: Body | None) -> str | None:
    """An AccountIdentification's IBAN, else its other identification (an alias the bank
    may know the account by)."""
    if not wire:
        return None
    found = wire.get("iban") or (wire.get("other") or {}).get("identification")
    return str(found) if found else None


def _remittance(value: Any) -> str | None:
    """1.4.2's unstructured remittance (a list of strings; 1.6 wraps it in an object)."""
    if isinstance(value, dict):
        value = value.get("unstructured")
    if isinstance(value, list) and value:
        return str(value[0])
    return None


def _when(value: Any, where: str) -> datetime:
    """A date-time (or a date: its start) in UTC."""
    text = str(value)
    try:
        if len(text) == 10:
            return datetime.combine(datetime.fromisoformat(text).date(), time(), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldInvalid(f"{where} must be an ISO 8601 date-time, not {text[:40]!r}") from None
    if parsed.tzinfo is None:
        raise FieldInvalid(f"{where} must carry its time zone (e.g. 2026-12-01T00:00:00Z)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise FieldInvalid(f"{where} is out of range") from None
