"""What each STET action of a scenario step sends, as the built-in PISP (the PSU at the
bank, ``stet.approve``, ``stet.authorize`` and ``stet.decide``, is ``psu.py``).

Every API request goes out through ``client.call``; a step's conversation is its payment
request (the journal links the requests and answers about it by its id). A step whose
request the bank refuses returns that answer: the step's ``expect.status`` says whether
the refusal was wanted.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from tpsim.scenario.registry import Sent
from tpsim.scenario.results import FailureKind
from tpsim.scenario.session import Session
from tpsim.scenario.stet import params as p
from tpsim.scenario.stet.client import (
    REQUESTS,
    KnownRequest,
    bank_of,
    call,
    failed,
    latest_request,
    memory,
    merged,
    resource_of,
    token_request,
)
from tpsim.scenario.xs2a.client import clock_date

INITIATING_PARTY = "Example TPP"  # tpp-one's name in the built-in config
MIDNIGHT = "T00:00:00.000+00:00"


async def token(session: Session, params: p.StetToken, within: float) -> Sent:
    return await token_request(session, params)


# --- creating ---------------------------------------------------------------------------------


async def create_payment_request(
    session: Session, params: p.CreatePaymentRequest, within: float
) -> Sent:
    bank = bank_of(session, params)
    body = params.body
    if body is None:
        body = merged(await payment_request_body(session, params), params.fields)
    answer, records = await call(
        session, params, "POST", bank, REQUESTS, body, token=params.token, request_id=None
    )
    location = answer.headers.get("Location") or ""
    if answer.status != 201 or "/" not in location:
        return Sent(answer, 201, None, records)
    request_id = location.rsplit("/", 1)[1]
    created = answer.body if isinstance(answer.body, dict) else {}
    approval = (created.get("_links") or {}).get("consentApproval") or {}
    known = KnownRequest(bank, created.get("appliedAuthenticationApproach"), approval.get("href"))
    memory(session).requests[request_id] = known
    session.variables.values.pop("consent_approval", None)  # the previous request's
    session.variables.set("payment_request_id", request_id)
    if known.approval is not None:
        session.variables.set("consent_approval", known.approval)
    return Sent(answer, 201, request_id, records)


async def payment_request_body(session: Session, params: p.CreatePaymentRequest) -> dict[str, Any]:
    """The ``PaymentRequestResource`` the shorthand fields describe (STET 1.4.2: the
    beneficiary at payment level for one transaction, on each transaction for several)."""
    transactions = await _transactions(session, params)
    single = params.instructions is None
    body = {
        "paymentInformationId": params.payment_information_id or _new_id("PMT"),
        # When the PISP made it, by its own clock (the bank holds no date against it).
        "creationDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "numberOfTransactions": len(transactions),
        "initiatingParty": {"name": INITIATING_PARTY},
        "paymentTypeInformation": _present(
            {"serviceLevel": "SEPA", "categoryPurpose": params.category_purpose}
        ),
        "debtorAccount": {"iban": params.debtor} if params.debtor else None,
        "beneficiary": _beneficiary(params.creditor, params.creditor_name) if single else None,
        "chargeBearer": "SLEV",
        "requestedExecutionDate": await execution_date(session, params.requested_execution_date),
        "creditTransferTransaction": transactions,
        "supplementaryData": _present(
            {
                "acceptedAuthenticationApproach": params.approaches,
                "successfulReportUrl": params.successful_report_url,
                "unsuccessfulReportUrl": params.unsuccessful_report_url,
            }
        ),
    }
    return _present(body)


async def _transactions(session: Session, params: p.CreatePaymentRequest) -> list[dict[str, Any]]:
    """The ``creditTransferTransaction`` list: the step's one, or ``instructions`` (each
    field it leaves out is the step's; ids numbered)."""
    if params.instructions is None:
        own = p.StetTransfer(
            instruction_id=params.instruction_id, end_to_end_id=params.end_to_end_id
        )
        return [await _transaction(session, params, own, beneficiary=False)]
    numbered = [
        transfer.model_copy(
            update={
                "instruction_id": transfer.instruction_id or f"{params.instruction_id}-{n}",
                "end_to_end_id": transfer.end_to_end_id or f"{params.end_to_end_id}-{n}",
            }
        )
        for n, transfer in enumerate(params.instructions, start=1)
    ]
    return [await _transaction(session, params, t, beneficiary=True) for t in numbered]


async def _transaction(
    session: Session, step: p.CreatePaymentRequest, own: p.StetTransfer, *, beneficiary: bool
) -> dict[str, Any]:
    remittance = own.remittance or step.remittance
    amount = {"currency": own.currency or step.currency, "amount": own.amount or step.amount}
    creditor = own.creditor or step.creditor
    name = own.creditor_name or step.creditor_name
    return _present(
        {
            "paymentId": {"instructionId": own.instruction_id, "endToEndId": own.end_to_end_id},
            "requestedExecutionDate": await execution_date(session, own.requested_execution_date),
            "instructedAmount": amount,
            "beneficiary": _beneficiary(creditor, name) if beneficiary else None,
            "remittanceInformation": [remittance] if remittance else None,
        }
    )


def _beneficiary(iban: str, name: str) -> dict[str, Any]:
    return {"creditor": {"name": name}, "creditorAccount": {"iban": iban}}


async def execution_date(session: Session, value: str | None) -> str | None:
    """A ``requestedExecutionDate``: ``today``, ``+Nd`` and ``-Nd`` are midnight UTC of that
    day on tpsim's clock (which earlier steps may have advanced); anything else is sent as
    written."""
    resolved = await clock_date(session, value)
    return resolved + MIDNIGHT if resolved is not None and resolved != value else resolved


def _new_id(prefix: str) -> str:
    """A new STET identifier (at most 35 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


# --- reading, confirming, cancelling -------------------------------------------------------


async def get(session: Session, params: p.GetPaymentRequest, within: float) -> Sent:
    request_id = params.payment_request
    bank = bank_of(session, params, request_id)
    path = f"{REQUESTS}/{request_id}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    records: list[dict[str, Any]] = []
    while True:
        answer, made = await call(
            session, params, "GET", bank, path, token=params.token, request_id=request_id
        )
        records += made
        reached = resource_of(answer).get("paymentInformationStatus")
        if params.until is None or answer.status != 200 or reached in params.until:
            return Sent(answer, 200, request_id, records)
        if loop.time() >= deadline:
            wanted = " or ".join(params.until)
            raise failed(
                session,
                f"payment request {request_id} stayed {reached}: not {wanted} within"
                f" {within:g} s ({len(records)} reads)",
                FailureKind.ASSERTION,
            )
        await asyncio.sleep(max(session.target.poll_s, 0.02))


async def confirm(session: Session, params: p.StetConfirm, within: float) -> Sent:
    body = params.body
    if body is None:
        body = {} if params.otp is None else {"psuAuthenticationFactor": params.otp}
    return await _post(session, params, "confirmation", body, params.token)


async def o_confirm(session: Session, params: p.StetOConfirm, within: float) -> Sent:
    body = {} if params.body is None else params.body
    return await _post(session, params, "o-confirmation", body, params.token)


async def _post(
    session: Session, params: p.PaymentRequestCall, what: str, body: Any, token: str | None
) -> Sent:
    request_id = params.payment_request
    bank = bank_of(session, params, request_id)
    path = f"{REQUESTS}/{request_id}/{what}"
    answer, records = await call(
        session, params, "POST", bank, path, body, token=token, request_id=request_id
    )
    return Sent(answer, 200, request_id, records)


async def cancel(session: Session, params: p.StetCancel, within: float) -> Sent:
    request_id = params.payment_request
    bank = bank_of(session, params, request_id)
    path = f"{REQUESTS}/{request_id}"
    body = params.body
    records: list[dict[str, Any]] = []
    if body is None:
        read, records = await call(
            session, params, "GET", bank, path, token=params.token, request_id=request_id
        )
        if read.status != 200:
            return Sent(read, 200, request_id, records)
        body = merged(cancellation(session, resource_of(read), params), params.fields)
    answer, sent = await call(
        session, params, "PUT", bank, path, body, token=params.token, request_id=request_id
    )
    return Sent(answer, 200, request_id, records + sent)


def cancellation(
    session: Session, resource: dict[str, Any], params: p.StetCancel
) -> dict[str, Any]:
    """The payment request as GET gave it, with the cancellation's statuses (STET 1.4 has
    no CANC: RJCT with the reason DS02)."""
    changed = dict(resource)
    if params.instructions is None:
        changed |= {"paymentInformationStatus": "RJCT", "statusReasonInformation": params.reason}
        return changed
    transactions = [dict(t) for t in changed.get("creditTransferTransaction") or []]
    for index in params.instructions:
        if not 0 <= index < len(transactions):
            raise failed(
                session,
                f"stet.cancel: payment request {params.payment_request} has"
                f" {len(transactions)} transaction(s); there is no index {index}",
            )
        transactions[index] |= {
            "transactionStatus": "RJCT",
            "statusReasonInformation": params.reason,
        }
    changed["creditTransferTransaction"] = transactions
    return changed


# --- anything else ------------------------------------------------------------------------------


async def request(session: Session, params: p.StetRequest, within: float) -> Sent:
    known = memory(session).requests
    named = next((s for s in params.path.split("?")[0].split("/") if s in known), None)
    whose = params.payment_request or named or latest_request(session)
    bank = bank_of(session, params, named or whose)
    answer, records = await call(
        session,
        params,
        params.method,
        bank,
        params.path,
        params.body,
        token=params.token,
        request_id=whose,
        raw=params.raw,
    )
    location = answer.headers.get("Location") or ""
    made = location.rsplit("/", 1)[1] if answer.status == 201 and "/" in location else None
    return Sent(answer, None, made or named or params.payment_request, records)
