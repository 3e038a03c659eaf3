"""A UK bank's domestic payments, sans-IO: the money an authorised consent orders.

``POST /domestic-payments`` consumes the consent (Consumed / COND) and executes its intent
(``intent_id`` = the ConsentId): the debit is reserved; a creditor at the same bank is
credited at once (AcceptedCreditSettlementCompleted / ACCC), one at another simulated bank
is paid through the settlement port (AcceptedSettlementInProcess / ACSP until the switch's
transfer commits, then ACCC), any other creditor only sees the money leave
(AcceptedSettlementCompleted / ACSC: seed 000's DEBITED). Insufficient funds reject the
payment (Rejected / RJCT, ISO reason AM04) and leave the balance untouched. A rule may
hold it (a delay, executed by ``tick``), stop it at the debtor, or reject it.

``POST /domestic-scheduled-payments`` consumes its consent the same way, but its payment
waits (InitiationPending / PDNG, its details Pending / PDNG) for the consent's
``RequestedExecutionDateTime`` (or a rule's delay, if that ends later): ``tick`` then
executes it as above, on the bank's clock, and the wait is kept in the store, so a restart
finds it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tpsim.core.due import Due
from tpsim.core.errors import UnknownPayment
from tpsim.core.execution import Execution, execute
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.records import Records
from tpsim.core.rules import Reason, Status
from tpsim.core.settlement import Settlement, SettlementOutcome, SettlementResult
from tpsim.core.states import PaymentState
from tpsim.obie.errors import NotFound
from tpsim.obie.resources import Consent, DomesticPayment
from tpsim.obie.states import (
    PAYMENT_STATUS,
    ConsentEvent,
    ConsentReason,
    Kind,
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
    """The payment orders (domestic and scheduled) of ``bank`` (its ``ObieBank``)."""

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
        # Payments a rule's delay or their date holds: payment id → when they execute.
        self.waiting = Due(store, f"obie-due:{fsp_id}")

    # -- taking and reading -------------------------------------------------------------

    def pay(self, consent: Consent) -> DomesticPayment:
        """Consume the AUTHORISED ``consent`` (400 U009 in any other status) and execute
        its payment, now or when a rule's delay (and a scheduled payment's date) has
        passed."""
        now = self._bank.clock.now()
        payment = DomesticPayment(
            payment_id=self._bank.ids.new_id(),
            consent_id=consent.consent_id,
            version=consent.version,
            tpp=consent.tpp,
            created_at=now,
            kind=consent.kind,
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
        due = consent.order.execute_at
        if verdict is not None and verdict.delay_s:
            delayed = now + timedelta(seconds=verdict.delay_s)
            due = delayed if due is None else max(due, delayed)
        if due is not None:
            self.waiting.put(payment.payment_id, due)
            return self._save(payment.stepped(Step.PENDING, now))
        return self._execute(payment, consent)

    def get(
        self,
        payment_id: str,
        version: str,
        tpp: str | None = None,
        kind: Kind = Kind.DOMESTIC,
    ) -> DomesticPayment:
        """The payment of ``kind``, as the clock finds it; 400 U011 when this bank has none
        by that id under ``version``'s API made by ``tpp`` (None: by any TPP; another
        TPP's payment, or one of another kind, is answered as unknown)."""
        payment = self.records.get(payment_id)
        if payment is not None and payment.final is None and self._intent(payment) is None:
            self.records.drop(payment_id)  # its intent was forgotten before it ended here
            payment = None
        if (
            payment is None
            or payment.version != version
            or payment.kind is not kind
            or tpp not in (None, payment.tpp)
        ):
            raise NotFound(
                f"{self._bank.fsp_id} has no {kind.what} {payment_id[:40]} under v{version}",
                path=kind.payment_id,
            )
        return self._run_due(payment)

    def status(self, payment: DomesticPayment) -> PaymentStatus:
        """The payment's status, read from its intent."""
        intent = self._intent(payment)
        if intent is None:  # forgotten by the bank's retention: the status it ended with
            return payment.final or PaymentStatus.REJECTED
        status = PAYMENT_STATUS[intent.state]
        if status is PaymentStatus.DEBITED and payment.credited:
            return PaymentStatus.CREDITED
        return status

    def status_at(self, payment: DomesticPayment) -> datetime:
        return payment.steps[-1][1] if payment.steps else payment.created_at

    # -- execution ------------------------------------------------------------------------

    def _execute(self, payment: DomesticPayment, consent: Consent) -> DomesticPayment:
        """Move the money of the consent's intent (``core.execution``) and record the
        steps it took."""
        now = self._bank.clock.now()
        done = execute(
            self._bank.bank,
            consent.intent_id,
            own_bank=self._bank.fsp_id,
            settlement=self.settlement,
            verdict=consent.verdict,
            at=now,
        )
        if done.outcome is Execution.REJECTED:
            assert done.reason is not None  # noqa: S101 - a rejection says why
            return self._rejected(payment, ISO_REASON[done.reason], done.text)
        payment = payment.stepped(Step.FUNDS_CHECKED, now)
        if done.outcome is Execution.IN_PROCESS:
            return self._save(payment.stepped(Step.IN_PROCESS, now))
        payment = payment.stepped(Step.DEBITED, now)
        if done.outcome is Execution.CREDITED:
            payment = replace(payment.stepped(Step.CREDITED, now), credited=True)
        return self._save(payment)

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

    def retire(self, cause: str) -> list[str]:
        """Reject (MS03, ``cause`` its text) each payment a rule's delay or hold keeps
        from executing, its debit never reserved: its bank is no longer played by tpsim
        (``ObieBank.retire``). One executing is left to its settlement's outcome."""
        ended, now = [], self._bank.clock.now()
        for payment in list(self.records):
            intent = self._intent(payment)
            if intent is None or intent.state is not PaymentState.AUTHORISED:
                continue
            self.waiting.drop(payment.payment_id)
            self._bank.bank.payments.end(intent.intent_id, PaymentEvent.REJECT, at=now)
            self._rejected(payment, _SETTLEMENT_FAILED, cause)
            ended.append(payment.payment_id)
        return ended

    # -- what falls due -------------------------------------------------------------------

    def tick(self) -> None:
        """Execute the payments whose delay (or date) has passed."""
        for payment_id in self.waiting.pop(self._bank.clock.now()):
            payment = self.records.get(payment_id)
            if payment is None:
                self.waiting.drop(payment_id)
            else:
                self._run_due(payment)

    def _run_due(self, payment: DomesticPayment) -> DomesticPayment:
        due = self.waiting.get(payment.payment_id)
        if due is None or due > self._bank.clock.now():
            return payment
        self.waiting.drop(payment.payment_id)
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
        """Keep ``payment``; once its intent has ended, with the status it ended in, and it
        (and its consent) is dropped after the retention."""
        intent = self._intent(payment)
        ended = intent is not None and intent.finalised
        if ended and payment.final is None:
            payment = replace(payment, final=self.status(payment))
        self.records.put(payment.payment_id, payment)
        if ended:
            now = self._bank.clock.now()
            self.records.end(payment.payment_id, at=now)
            self._bank.consents.end(payment.consent_id, at=now)
        return payment
