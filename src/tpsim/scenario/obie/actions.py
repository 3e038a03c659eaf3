"""What each UK Open Banking action of a scenario step sends, as the built-in TPP (the PSU
at the bank, ``obie.authorise`` and ``obie.decide``, is ``psu.py``).

Every API request goes out through ``client.send``; a step's conversation is its consent
or payment (the journal links a consent's requests and answers, its payment's and, for a
cross-bank payment, its Mojaloop quote and transfer by their ids). A step whose request
the bank refuses returns that answer: the step's ``expect.status`` says whether the
refusal was wanted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tpsim.scenario.obie import params as p
from tpsim.scenario.obie.client import (
    KnownConsent,
    KnownPayment,
    bearer,
    data_of,
    failed,
    memory,
    merged,
    send,
    token_request,
    where,
)
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import Failure, FailureKind
from tpsim.scenario.session import Session, StepFailed
from tpsim.scenario.xs2a.client import clock_date

DOMESTIC, SCHEDULED = "domestic", "domestic-scheduled"  # the kinds of payment order
SORT_CODE = "UK.OBIE.SortCodeAccountNumber"
MIDNIGHT = "T00:00:00+00:00"
PAYMENT_IDS = ("DomesticPaymentId", "DomesticScheduledPaymentId")


async def token(session: Session, params: p.Token, within: float) -> Sent:
    return await token_request(session, params)


# --- consents --------------------------------------------------------------------------------


async def create_consent(session: Session, params: p.CreateConsent, within: float) -> Sent:
    at = where(session, params)
    kind = DOMESTIC if params.execute_at is None else SCHEDULED
    body = params.body
    if body is None:
        data: dict[str, Any] = {"Initiation": initiation(params, at.version)}
        if params.execute_at is not None:
            data = {"Permission": "Create", **data}
            when = await execution_time(session, params.execute_at)
            data["Initiation"]["RequestedExecutionDateTime"] = when
        body = merged({"Data": data, "Risk": params.risk}, params.fields)
    bearer_token, records = await bearer(session, params.token, at.bank, None)
    answer, record = await send(
        session,
        params,
        "POST",
        at,
        f"/{kind}-payment-consents",
        body,
        token=bearer_token,
        idempotency_key=params.idempotency_key,
    )
    consent_id = data_of(answer).get("ConsentId")
    if answer.status != 201 or not isinstance(consent_id, str):
        return Sent(answer, 201, None, [*records, record])
    for name in ("psu_token", "payment_id"):
        session.variables.values.pop(name, None)  # the previous consent's
    session.variables.set("consent_id", consent_id)
    risk = answer.body.get("Risk") if isinstance(answer.body, dict) else None
    memory(session).consents[consent_id] = KnownConsent(
        at.bank, at.version, data_of(answer).get("Initiation"), risk, kind
    )
    return Sent(answer, 201, consent_id, [*records, record])


async def execution_time(session: Session, value: str) -> str:
    """A ``RequestedExecutionDateTime``: ``today``, ``+Nd`` and ``-Nd`` are midnight UTC of
    that day on tpsim's clock (which earlier steps may have advanced); anything else is
    sent as written."""
    resolved = await clock_date(session, value)
    return value if resolved is None or resolved == value else resolved + MIDNIGHT


def _consents(session: Session, consent: str) -> str:
    """The consents' path of the kind the TPP made ``consent`` (domestic if unknown)."""
    known = memory(session).consents.get(consent)
    return f"/{known.kind if known else DOMESTIC}-payment-consents"


def _payments(session: Session, *, consent: str = "", payment: str = "") -> str:
    """The payments' path of the kind of ``payment`` or ``consent`` (domestic if unknown)."""
    known = memory(session)
    made = known.payments.get(payment) or known.consents.get(consent)
    return f"/{made.kind if made else DOMESTIC}-payments"


def initiation(payment: p.Payment, version: str) -> dict[str, Any]:
    """The ``Data.Initiation`` the shorthand fields describe, in ``version``'s shape (v4.0
    has no ``RemittanceInformation.Reference`` and an array of ``Unstructured`` lines)."""
    remittance: dict[str, Any]
    if version == "3.1":
        remittance = {"Reference": payment.reference, "Unstructured": payment.remittance}
    else:
        line = payment.remittance or payment.reference
        remittance = {"Unstructured": [line] if line else None}
    amount = {"Amount": payment.amount, "Currency": payment.currency}
    return _present(
        {
            "InstructionIdentification": payment.instruction_id,
            "EndToEndIdentification": payment.end_to_end_id,
            "InstructedAmount": _present(amount) or None,
            "DebtorAccount": _account(payment.debtor, None),
            "CreditorAccount": _account(payment.creditor, payment.creditor_name),
            "RemittanceInformation": _present(remittance) or None,
        }
    )


def _account(identification: str | None, name: str | None) -> dict[str, str] | None:
    if identification is None:
        return None
    return _present({"SchemeName": SORT_CODE, "Identification": identification, "Name": name})


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


async def get_consent(session: Session, params: p.GetConsent, within: float) -> Sent:
    at = where(session, params, consent=params.consent)
    bearer_token, records = await bearer(session, params.token, at.bank, params.consent)
    path = f"{_consents(session, params.consent)}/{params.consent}"
    answer, record = await send(session, params, "GET", at, path, token=bearer_token)
    return Sent(answer, 200, params.consent, [*records, record])


async def funds(session: Session, params: p.Funds, within: float) -> Sent:
    at = where(session, params, consent=params.consent)
    bearer_token, records = await bearer(session, params.token, at.bank, params.consent)
    path = f"{_consents(session, params.consent)}/{params.consent}/funds-confirmation"
    answer, record = await send(session, params, "GET", at, path, token=bearer_token)
    return Sent(answer, 200, params.consent, [*records, record])


# --- payments ---------------------------------------------------------------------------------


async def pay(session: Session, params: p.Pay, within: float) -> Sent:
    at = where(session, params, consent=params.consent)
    body = params.body if params.body is not None else _payment_body(session, params)
    bearer_token, records = await bearer(session, params.token, at.bank, params.consent)
    answer, record = await send(
        session,
        params,
        "POST",
        at,
        _payments(session, consent=params.consent),
        body,
        token=bearer_token,
        idempotency_key=params.idempotency_key,
    )
    data = data_of(answer)
    payment_id = data.get("DomesticPaymentId") or data.get("DomesticScheduledPaymentId")
    if answer.status == 201 and isinstance(payment_id, str):
        session.variables.set("payment_id", payment_id)
        known = memory(session).consents.get(params.consent)
        kind = known.kind if known else DOMESTIC
        memory(session).payments[payment_id] = KnownPayment(
            at.bank, at.version, params.consent, kind
        )
        return Sent(answer, 201, payment_id, [*records, record])
    return Sent(answer, 201, params.consent, [*records, record])


def _payment_body(session: Session, params: p.Pay) -> dict[str, Any]:
    """The consent's own Initiation and Risk, as a TPP must send them, with ``fields``."""
    known = memory(session).consents.get(params.consent)
    if known is None:
        raise failed(
            session,
            f"obie.pay: consent {params.consent} was not made by this scenario's TPP, so its"
            " Initiation and Risk are unknown: give the payment's body: instead",
        )
    built = {
        "Data": {"ConsentId": params.consent, "Initiation": known.initiation},
        "Risk": known.risk,
    }
    result: dict[str, Any] = merged(built, params.fields)
    return result


async def get_payment(session: Session, params: p.GetDomesticPayment, within: float) -> Sent:
    at = where(session, params, payment=params.payment)
    bearer_token, records = await bearer(session, params.token, at.bank, None)
    path = f"{_payments(session, payment=params.payment)}/{params.payment}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        answer, record = await send(session, params, "GET", at, path, token=bearer_token)
        records.append(record)
        reached = data_of(answer).get("Status")
        if params.until is None or answer.status != 200 or reached in params.until:
            return Sent(answer, 200, params.payment, records)
        if loop.time() >= deadline:
            wanted = " or ".join(params.until)
            message = (
                f"payment {params.payment} stayed {reached}: not {wanted} within {within:g} s"
                f" ({len(records)} reads)"
            )
            raise StepFailed(Failure(FailureKind.ASSERTION, message, session.step))
        await asyncio.sleep(max(session.target.poll_s, 0.02))


async def payment_details(session: Session, params: p.PaymentDetails, within: float) -> Sent:
    at = where(session, params, payment=params.payment)
    bearer_token, records = await bearer(session, params.token, at.bank, None)
    path = f"{_payments(session, payment=params.payment)}/{params.payment}/payment-details"
    answer, record = await send(session, params, "GET", at, path, token=bearer_token)
    return Sent(answer, 200, params.payment, [*records, record])


# --- anything else ------------------------------------------------------------------------------


async def request(session: Session, params: p.UkRequest, within: float) -> Sent:
    known = memory(session)
    consent = params.consent or _named(params.path, known.consents)
    at = where(session, params, consent=consent, payment=_named(params.path, known.payments))
    latest = session.variables.values.get("consent_id")
    whose = consent or (str(latest) if latest else None)
    bearer_token, records = await bearer(session, params.token, at.bank, whose)
    answer, record = await send(
        session,
        params,
        params.method,
        at,
        params.path,
        params.body,
        token=bearer_token,
        raw=params.raw,
        idempotency_key=params.idempotency_key,
    )
    data = data_of(answer)
    made = next((data[n] for n in (*PAYMENT_IDS, "ConsentId") if data.get(n)), None)
    correlation = made if isinstance(made, str) else _named(params.path, known.payments)
    return Sent(answer, None, correlation or consent, [*records, record])


def _named(path: str, known: dict[str, Any]) -> str | None:
    """The id of a known consent or payment that ``path`` names, if any."""
    return next((s for s in path.split("?")[0].split("/") if s in known), None)
