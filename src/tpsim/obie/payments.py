"""A UK bank's domestic payments, sans-IO: the money an authorised consent orders.

``POST /domestic-payments`` consumes the consent (Consumed / COND) and executes its intent
(``intent_id`` = the ConsentId): the debit is reserved; a creditor at the same bank is
credited at once (AcceptedCreditSettlementCompleted / ACCC), one at another simulated bank
is paid through the settlement port (AcceptedSettlementInProcess / ACSP until the switch's
transfer commits, then ACCC), any other creditor only sees the money leave
(AcceptedSettlementCompleted / ACSC: seed 000's DEBITED). Insufficient funds reject the
payment (Rejected / RJCT, ISO reason AM04) and leave the balance untouched. A rule may
hold it (a delay, executed by ``tick``), stop it at the debtor, or reject it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tpsim.core.errors import InsufficientFunds, UnknownPayment
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.records import Records
from tpsim.core.rules import Reason, Status
from tpsim.core.settlement import (
    Settlement,
    SettlementOutcome,
    SettlementRequest,
    SettlementResult,
)
from tpsim.core.states import PaymentState
from tpsim.obie.errors import NotFound
from tpsim.obie.resources import Consent, DomesticPayment
from tpsim.obie.states import (
    PAYMENT_STATUS,
    ConsentEvent,
    ConsentReason,
    PaymentStatus,
    Step,
)

if TYPE_CHECKING:
    from tpsim.obie.bank import ObieBank

# ISO 20022 ExternalStatusReason1Code: why a payment was rejected (v4.0 StatusReason).
ISO_REASON: dict[Reason, str] = {
    Reason.INSUFFICIENT_FUNDS: "AM04",
    Reason.BLOCKED_ACCOUNT: "AC06",
    Reason.CLOSED_ACCOUNT: "AC04",
    Reason.LIMIT_EXCEEDED: "AM02",
    Reason.REJECTED: "MS03",
    Reason.PSU_UNKNOWN: "MS03",
    Reason.SCA_FAILED: "MS03",
}
_SETTLEMENT_FAILED = "MS03"


class Orders:
    """The domestic payments of ``bank`` (its ``ObieBank``)."""

    def __init__(
        self,
        bank: ObieBank,
        settlement: Settlement | None,
        *,
        retention: timedelta | None,
        max_ended: int | None,
    ) -> None:
        self._bank, self.settlement = bank, settlement
        store, fsp_id = bank.bank.store, bank.fsp_id
        self.records: Records[DomesticPayment] = Records(
            store,
            f"obie-payments:{fsp_id}",
            retention=retention,
            max_ended=max_ended,
            clock=bank.clock,
        )
        # Payments a rule's delay holds: payment id → when they execute.
        self._waiting: Records[datetime] = Records(store, f"obie-waiting:{fsp_id}")

    # -- taking and reading -------------------------------------------------------------

    def pay(self, consent: Consent) -> DomesticPayment:
        """Consume the AUTHORISED ``consent`` (400 U009 in any other status) and execute
        its payment, now or when a rule's delay has passed."""
        now = self._bank.clock.now()
        payment = DomesticPayment(
            payment_id=self._bank.ids.new_id(),
            consent_id=consent.consent_id,
            version=consent.version,
            tpp=consent.tpp,
            created_at=now,
        ).stepped(Step.VALIDATED, now)
        consent = self._bank.move(
            consent,
            ConsentEvent.CONSUME,
            payment_id=payment.payment_id,
            reason=ConsentReason.CONSUMED.value,
            reason_text="the consent was used for a payment",
        )
        self.records.put(payment.payment_id, payment)
        self.records.alias(consent.intent_id, payment.payment_id)
        verdict = consent.verdict
        if verdict is not None and verdict.status in (Status.ACCEPTED, Status.PENDING):
            return self._save(payment.stepped(Step.PENDING, now))  # held by a rule
        if verdict is not None and verdict.delay_s:
            self._waiting.put(payment.payment_id, now + timedelta(seconds=verdict.delay_s))
            return self._save(payment.stepped(Step.PENDING, now))
        return self._execute(payment, consent)

    def get(self, payment_id: str, version: str) -> DomesticPayment:
        """The payment, as the clock finds it; 400 U011 when this bank has none by that id
        under ``version``'s API."""
        payment = self.records.get(payment_id)
        if payment is not None and self._intent(payment) is None:
            self.records.drop(payment_id)  # its intent ended and was forgotten
            payment = None
        if payment is None or payment.version != version:
            raise NotFound(
                f"{self._bank.fsp_id} has no domestic payment {payment_id[:40]} under v{version}",
                path="DomesticPaymentId",
            )
        return self._run_due(payment)

    def status(self, payment: DomesticPayment) -> PaymentStatus:
        """The payment's status, read from its intent."""
        intent = self._intent(payment)
        if intent is None:
            return PaymentStatus.REJECTED
        status = PAYMENT_STATUS[intent.state]
        if status is PaymentStatus.DEBITED and payment.credited:
            return PaymentStatus.CREDITED
        return status

    def status_at(self, payment: DomesticPayment) -> datetime:
        return payment.steps[-1][1] if payment.steps else payment.created_at

    # -- execution ------------------------------------------------------------------------

    def _execute(self, payment: DomesticPayment, consent: Consent) -> DomesticPayment:
        """Move the money of the consent's intent: reserve the debit, then settle it."""
        now, core = self._bank.clock.now(), self._bank.bank
        verdict = consent.verdict
        if verdict is not None and verdict.reject is not None:
            core.payments.end(consent.intent_id, PaymentEvent.REJECT, at=now)
            text = verdict.text or verdict.reject.value
            return self._rejected(payment, ISO_REASON[verdict.reject], text)
        try:
            intent = core.payments.execute(consent.intent_id, at=now)
        except InsufficientFunds as exc:
            core.payments.end(consent.intent_id, PaymentEvent.REJECT, at=now)
            return self._rejected(payment, "AM04", f"insufficient funds: {exc}")
        payment = payment.stepped(Step.FUNDS_CHECKED, now)
        creditor = core.accounts.find(intent.creditor)
        if verdict is not None and verdict.status is Status.SETTLED_DEBTOR:
            creditor = None  # the money leaves the debtor's account, and goes no further
        if creditor is not None and creditor.fsp_id != self._bank.fsp_id and self.settlement:
            self.settlement.submit(self._request(intent, creditor.fsp_id))
            return self._save(payment.stepped(Step.IN_PROCESS, now))
        core.payments.settle(intent.intent_id, at=now)
        payment = payment.stepped(Step.DEBITED, now)
        if creditor is not None and creditor.fsp_id == self._bank.fsp_id:
            core.ledger.credit(
                creditor.address,
                intent.amount,
                currency=intent.currency,
                ref=intent.intent_id,
                at=now,
            )
            payment = replace(payment.stepped(Step.CREDITED, now), credited=True)
        return self._save(payment)

    def _request(self, intent: PaymentIntent, to_bank: str) -> SettlementRequest:
        # Named by its address: a sort code + account number reads as an MSISDN otherwise.
        account = self._bank.bank.accounts.require(intent.creditor)
        return SettlementRequest(
            intent_id=intent.intent_id,
            from_bank=self._bank.fsp_id,
            debtor=intent.debtor,
            to_bank=to_bank,
            creditor=f"ACCOUNT_ID {account.address}",
            amount=intent.amount,
            currency=intent.currency,
        )

    def _rejected(self, payment: DomesticPayment, code: str, text: str) -> DomesticPayment:
        now = self._bank.clock.now()
        rejected = replace(payment, reason=code, reason_text=text[:256])
        return self._save(rejected.stepped(Step.REJECTED, now))

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome for the intent of one of these payments."""
        payment = self.records.find(result.intent_id)
        if payment is None or self._intent(payment) is None:
            return
        now = self._bank.clock.now()
        if result.outcome is SettlementOutcome.SETTLED:
            payment = payment.stepped(Step.DEBITED, now).stepped(Step.CREDITED, now)
            self._save(replace(payment, credited=True))
            return
        reason = f"settlement failed: {result.reason}" if result.reason else "settlement failed"
        self._rejected(payment, _SETTLEMENT_FAILED, reason)

    # -- what falls due -------------------------------------------------------------------

    def tick(self) -> None:
        """Execute the payments whose delay has passed."""
        for payment in list(self.records):
            if payment.payment_id in self._waiting:
                self._run_due(payment)

    def next_due(self) -> datetime | None:
        return min(iter(self._waiting), default=None)

    def _run_due(self, payment: DomesticPayment) -> DomesticPayment:
        due = self._waiting.get(payment.payment_id)
        if due is None or due > self._bank.clock.now():
            return payment
        self._waiting.drop(payment.payment_id)
        consent = self._bank.consents.get(payment.consent_id)
        if consent is None:
            return payment
        return self._execute(payment, consent)

    def _intent(self, payment: DomesticPayment) -> PaymentIntent | None:
        try:
            return self._bank.bank.payments.get(payment.consent_id)
        except UnknownPayment:
            return None

    def _save(self, payment: DomesticPayment) -> DomesticPayment:
        """Keep ``payment``; once its intent has ended, it (and its consent) is dropped
        after the retention."""
        self.records.put(payment.payment_id, payment)
        intent = self._intent(payment)
        if intent is not None and intent.finalised and intent.state is not PaymentState.EXECUTING:
            now = self._bank.clock.now()
            self.records.end(payment.payment_id, at=now)
            self._bank.consents.end(payment.consent_id, at=now)
        return payment
