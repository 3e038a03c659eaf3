"""The bodies a UK bank answers with (OBWriteDomesticConsentResponse5 and
OBWriteDomesticScheduledConsentResponse5, OBWriteFundsConfirmationResponse1,
OBWriteDomesticResponse5 and OBWriteDomesticScheduledResponse5,
OBWritePaymentDetailsResponse1), in the words of the consent's or payment's version and
kind. A scheduled one also says when it is expected to execute (``ExpectedExecutionDateTime``:
its ``RequestedExecutionDateTime``).

``Links.Self`` is absolute, under the URL the TPP reached tpsim at:
``{site}/obie/{fspId}/open-banking/v{version}/pisp/…``. Times are RFC 3339 in UTC without
fractions (``2030-01-07T09:00:00+00:00``). What a consent keeps as the TPP sent it is
copied into each body: a body is the caller's to change, the record is not.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tpsim.obie.resources import Consent, DomesticPayment
from tpsim.obie.states import (
    CONSENT_STATUS,
    PAYMENT_WORDS,
    STEP_WORDS,
    ConsentState,
    Kind,
    PaymentStatus,
    Step,
)

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Links:
    """Where one version's resources are, for one answer."""

    site: str  # scheme://host[:port], no trailing slash
    fsp_id: str
    version: str

    @property
    def base(self) -> str:
        return f"{self.site}/obie/{self.fsp_id}/open-banking/v{self.version}/pisp"

    def consent(self, consent_id: str, kind: Kind = Kind.DOMESTIC) -> str:
        return f"{self.base}/{kind.consents}/{consent_id}"

    def payment(self, payment_id: str, kind: Kind = Kind.DOMESTIC) -> str:
        return f"{self.base}/{kind.payments}/{payment_id}"


def when(at: datetime) -> str:
    """An ISODateTime as the spec's examples write it: seconds, UTC offset."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def _self(url: str) -> Body:
    return {"Links": {"Self": url}, "Meta": {}}


def consent_body(links: Links, consent: Consent) -> Body:
    """``POST`` (201) and ``GET`` (200) of a (domestic or scheduled) payment consent."""
    data: Body = {
        "ConsentId": consent.consent_id,
        "CreationDateTime": when(consent.created_at),
        "Status": CONSENT_STATUS[consent.version][consent.state],
        "StatusUpdateDateTime": when(consent.status_at),
    }
    reason = _consent_reason(consent)
    if reason is not None:
        data["StatusReason"] = [reason]
    if consent.cut_off is not None:
        data["CutOffDateTime"] = when(consent.cut_off)
    if consent.order.execute_at is not None:
        data["ExpectedExecutionDateTime"] = when(consent.order.execute_at)
    data.update(copy.deepcopy(consent.extras))  # Permission, Authorisation… as sent
    data["Initiation"] = copy.deepcopy(consent.initiation)
    if "DebtorAccount" not in consent.initiation and consent.debtor_ref is not None:
        # OBWriteDomesticConsentResponse5: Debtor "only included … if
        # Data.Initiation.DebtorAccount is omitted", once the PSU chose it.
        data["Debtor"] = consent.debtor_ref.wire()
    risk = copy.deepcopy(consent.risk)
    return {"Data": data, "Risk": risk, **_self(links.consent(consent.consent_id, consent.kind))}


def _consent_reason(consent: Consent) -> Body | None:
    """v4.0's ``StatusReason`` (v3.1 has no such member)."""
    if consent.version == "3.1" or consent.reason is None:
        return None
    if consent.state not in (ConsentState.REJECTED, ConsentState.CONSUMED):
        return None
    reason: Body = {"StatusReasonCode": consent.reason}
    if consent.reason_text:
        reason["StatusReasonDescription"] = consent.reason_text[:500]
    return reason


def funds_body(links: Links, consent: Consent, available: bool, at: datetime) -> Body:
    """``GET …/funds-confirmation`` (200)."""
    result = {"FundsAvailableDateTime": when(at), "FundsAvailable": available}
    url = f"{links.consent(consent.consent_id)}/funds-confirmation"
    return {"Data": {"FundsAvailableResult": result}, **_self(url)}


def payment_body(
    links: Links, payment: DomesticPayment, consent: Consent, status: PaymentStatus, at: datetime
) -> Body:
    """``POST /domestic-payments`` (201) and ``GET …/{DomesticPaymentId}`` (200), or the
    same of a domestic scheduled payment."""
    data: Body = {
        payment.kind.payment_id: payment.payment_id,
        "ConsentId": payment.consent_id,
        "CreationDateTime": when(payment.created_at),
        "Status": PAYMENT_WORDS[payment.kind][payment.version][status],
        "StatusUpdateDateTime": when(at),
    }
    if payment.version == "4.0" and status is PaymentStatus.REJECTED and payment.reason:
        reason: Body = {"StatusReasonCode": payment.reason[:4]}
        if payment.reason_text:
            reason["StatusReasonDescription"] = payment.reason_text[:500]
        data["StatusReason"] = [reason]
    if consent.order.execute_at is not None:
        data["ExpectedExecutionDateTime"] = when(consent.order.execute_at)
    data["Initiation"] = copy.deepcopy(consent.initiation)
    if consent.debtor_ref is not None:
        data["Debtor"] = consent.debtor_ref.wire()
    return {"Data": data, **_self(links.payment(payment.payment_id, payment.kind))}


def details_body(links: Links, payment: DomesticPayment) -> Body:
    """``GET …/payment-details`` (200): each step the payment went through, oldest first."""
    words = STEP_WORDS[payment.version]
    statuses = [_step(payment, step, at, words[step]) for step, at in payment.steps]
    url = f"{links.payment(payment.payment_id, payment.kind)}/payment-details"
    return {"Data": {"PaymentStatus": statuses}, **_self(url)}


def _step(payment: DomesticPayment, step: Step, at: datetime, word: str) -> Body:
    entry: Body = {
        "PaymentTransactionId": payment.payment_id,
        "Status": word,
        "StatusUpdateDateTime": when(at),
    }
    if step is Step.REJECTED and payment.reason:
        if payment.version == "3.1":
            detail: Body = {"Status": word, "StatusReason": "ProprietaryRejection"}
            text = f"{payment.reason}: {payment.reason_text or 'rejected'}"
        else:
            detail = {"Status": word, "StatusReason": payment.reason[:4]}
            text = payment.reason_text or "rejected"
        detail["StatusReasonDescription"] = text[:256]
        entry["StatusDetail"] = detail
    return entry
