"""What each XS2A action of a scenario step sends, as the built-in TPP (the SCA it follows,
``xs2a.authorise``, is ``sca.py``).

Every request goes out through ``client.send``; a step's conversation is its payment (the
journal links a payment's requests, answers, redirects and, for a cross-bank payment, its
Mojaloop quote and transfer by the ``paymentId``). A step whose request the bank refuses
returns that answer: the step's ``expect.status`` says whether the refusal was wanted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tpsim.scenario.harness import Answer
from tpsim.scenario.registry import Sent
from tpsim.scenario.results import FailureKind
from tpsim.scenario.session import Session
from tpsim.scenario.xs2a import params as p
from tpsim.scenario.xs2a.client import (
    KnownPayment,
    Where,
    clock_date,
    failed,
    learn,
    memory,
    send,
    sent,
    where,
)

_PREFERRED = {
    "redirect": {"TPP-Redirect-Preferred": "true"},
    "embedded": {"TPP-Redirect-Preferred": "false"},
    "decoupled": {"TPP-Decoupled-Preferred": "true"},
}
APPROACHES = tuple(_PREFERRED)


# --- initiation ----------------------------------------------------------------------------


async def initiate(session: Session, params: p.Initiate, within: float) -> Sent:
    body = params.body if params.body is not None else await payment_body(session, params)
    answer, record = await send(
        session,
        params,
        "POST",
        params.bank,
        f"/{params.service}/{params.product}",
        body,
        psu_id=params.psu_id,
        more=_preferences(params),
    )
    payment_id = answer.body.get("paymentId") if isinstance(answer.body, dict) else None
    if answer.status == 201 and isinstance(payment_id, str):
        for name in ("authorisation_id", "sca_redirect", "links"):
            session.variables.values.pop(name, None)  # the previous payment's
        session.variables.set("payment_id", payment_id)
        approach = answer.headers.get("ASPSP-SCA-Approach")
        memory(session).payments[payment_id] = KnownPayment(
            params.bank, params.service, params.product, approach, params.psu_id
        )
        learn(session, answer, payment_id)
    else:
        payment_id = None
    return sent(answer, 201, payment_id, [record])


def _preferences(params: p.Initiate) -> dict[str, str]:
    """The TPP-* headers of an initiation: the approach it prefers, where the PSU returns."""
    headers = dict(_PREFERRED[params.approach]) if params.approach else {}
    optional = {
        "TPP-Redirect-URI": params.redirect_uri,
        "TPP-Nok-Redirect-URI": params.nok_redirect_uri,
        "TPP-Explicit-Authorisation-Preferred": _flag(params.explicit),
        "TPP-Rejection-NoFunds-Preferred": _flag(params.reject_no_funds),
    }
    return headers | {k: v for k, v in optional.items() if v is not None}


def _flag(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()


async def payment_body(session: Session, params: p.Initiate) -> dict[str, Any]:
    """The JSON body the shorthand fields describe, for the step's payment service, with
    ``fields`` merged in."""
    currency = params.currency or "EUR"
    debtor = {"debtorAccount": {"iban": params.debtor}} if params.debtor else {}
    if params.service == "bulk-payments":
        entries = params.payments if params.payments is not None else [params]
        body: dict[str, Any] = {
            "batchBookingPreferred": params.batch_booking,
            **debtor,
            "requestedExecutionDate": await clock_date(session, params.execution_date),
            "payments": [_credit(entry, currency) for entry in entries],
        }
    elif params.service == "periodic-payments":
        body = {
            **_credit(params, currency),
            **debtor,
            "startDate": await clock_date(session, params.start_date),
            "endDate": await clock_date(session, params.end_date),
            "frequency": params.frequency,
            "executionRule": params.execution_rule,
            "dayOfExecution": params.day_of_execution,
        }
    else:
        body = {
            **_credit(params, currency),
            **debtor,
            "requestedExecutionDate": await clock_date(session, params.execution_date),
        }
    return _present(body | params.fields)


def _credit(credit: p.Credit, currency: str) -> dict[str, Any]:
    amount = {"currency": credit.currency or currency, "amount": credit.amount}
    return _present(
        {
            "endToEndIdentification": credit.end_to_end_id,
            "instructedAmount": amount if credit.amount is not None else None,
            "creditorAccount": {"iban": credit.creditor} if credit.creditor else None,
            "creditorName": credit.creditor_name,
            "remittanceInformationUnstructured": credit.remittance,
        }
    )


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


# --- reading --------------------------------------------------------------------------------


async def status(session: Session, params: p.Status, within: float) -> Sent:
    at = where_of(session, params)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    records: list[dict[str, Any]] = []
    while True:
        answer, record = await send(session, params, "GET", at.bank, f"{at.path}/status")
        records.append(record)
        reached = _transaction_status(answer)
        if params.until is None or answer.status != 200 or reached in params.until:
            return sent(answer, 200, at.payment, records)
        if loop.time() >= deadline:
            raise failed(
                session,
                f"payment {at.payment} stayed {reached}: not {' or '.join(params.until)}"
                f" within {within:g} s ({len(records)} status requests)",
                FailureKind.ASSERTION,
            )
        await asyncio.sleep(max(session.target.poll_s, 0.02))


def _transaction_status(answer: Answer) -> str | None:
    found = answer.body.get("transactionStatus") if isinstance(answer.body, dict) else None
    return str(found) if found is not None else None


async def get_payment(session: Session, params: p.GetPayment, within: float) -> Sent:
    at = where_of(session, params)
    answer, record = await send(session, params, "GET", at.bank, at.path)
    return sent(answer, 200, at.payment, [record])


async def get_authorisation(session: Session, params: p.GetAuthorisation, within: float) -> Sent:
    at = where_of(session, params)
    if params.authorisation is None:
        listed = at.authorisations(bool(params.cancellation))
        answer, record = await send(session, params, "GET", at.bank, listed)
        return sent(answer, 200, at.payment, [record])
    cancellation = _is_cancellation(session, params.authorisation, params.cancellation)
    path = f"{at.authorisations(cancellation)}/{params.authorisation}"
    answer, record = await send(session, params, "GET", at.bank, path)
    learn(session, answer, at.payment, params.authorisation, cancellation=cancellation)
    return sent(answer, 200, at.payment, [record])


# --- authorisations -----------------------------------------------------------------------


async def start_authorisation(
    session: Session, params: p.StartAuthorisation, within: float
) -> Sent:
    at = where_of(session, params)
    answer, record = await send(
        session,
        params,
        "POST",
        at.bank,
        at.authorisations(params.cancellation),
        params.body,
        psu_id=params.psu_id,
    )
    learn(session, answer, at.payment, cancellation=params.cancellation)
    return sent(answer, 201, at.payment, [record])


async def update_authorisation(
    session: Session, params: p.UpdateAuthorisation, within: float
) -> Sent:
    at = where_of(session, params)
    cancellation = _is_cancellation(session, params.authorisation, params.cancellation)
    path = f"{at.authorisations(cancellation)}/{params.authorisation}"
    answer, record = await send(
        session, params, "PUT", at.bank, path, params.body, psu_id=params.psu_id
    )
    learn(session, answer, at.payment, params.authorisation, cancellation=cancellation)
    return sent(answer, 200, at.payment, [record])


def _is_cancellation(session: Session, auth_id: str, given: bool | None) -> bool:
    if given is not None:
        return given
    known = memory(session).authorisations.get(auth_id)
    return known.cancellation if known is not None else False


# --- cancellation, anything else ------------------------------------------------------------


async def cancel(session: Session, params: p.Cancel, within: float) -> Sent:
    at = where_of(session, params)
    answer, record = await send(session, params, "DELETE", at.bank, at.path, psu_id=params.psu_id)
    learn(session, answer, at.payment, cancellation=True)
    # The API allows 204 (cancelled) or 202 (a cancellation authorisation is needed).
    required = answer.status if answer.status in (202, 204) else 204
    return sent(answer, required, at.payment, [record])


async def request(session: Session, params: p.Request, within: float) -> Sent:
    answer, record = await send(
        session,
        params,
        params.method,
        params.bank,
        params.path,
        params.body,
        raw=params.raw,
        psu_id=params.psu_id,
    )
    named = answer.body.get("paymentId") if isinstance(answer.body, dict) else None
    known = memory(session).payments
    segments = [s for s in params.path.split("?")[0].split("/") if s in known]
    correlation = named if isinstance(named, str) else (segments[0] if segments else None)
    return sent(answer, None, correlation, [record])


def where_of(session: Session, params: p.PaymentCall) -> Where:
    """The resource of the payment a step names."""
    return where(session, params.payment, params.bank, params.service, params.product)
