"""A simulated bank's XS2A payments and their money, sans-IO: kept, read as the clock finds
them, executed and ended (``xs2a.bank`` takes them in and cancels them).

    payment    GET    /v1/{service}/{product}/{id}      → the resource, read fresh

Authorisations are ``xs2a.authorisations``; this module moves the money once one is
finalised (``authorised``): a creditor at the same bank is credited at once (ACCC), one at
another simulated bank is paid through the settlement port (ACSP until the switch's
transfer commits, then ACCC), any other creditor only sees the money leave (ACSC). A
future-dated payment waits, authorised (ACTC), until the clock reaches its date; a periodic
one executes on each date of its schedule; ``tick`` does what fell due. Everything reads
the clock lazily too: an unauthorised payment past its expiry is rejected when next read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from tpsim.config_psd2 import Psd2Settings
from tpsim.core.bank import Bank
from tpsim.core.clock import Clock, IdGenerator
from tpsim.core.due import Due, earliest
from tpsim.core.errors import BankRefused, UnknownPayment
from tpsim.core.execution import Execution, execute
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.records import Records
from tpsim.core.rules import Rules, Status
from tpsim.core.settlement import (
    Settlement,
    SettlementOutcome,
    SettlementResult,
)
from tpsim.core.states import PaymentState
from tpsim.xs2a.errors import ResourceUnknown
from tpsim.xs2a.resources import Service, Xs2aPayment
from tpsim.xs2a.schedule import execution_dates, first_execution
from tpsim.xs2a.states import TRANSACTION_STATUS, TransactionStatus

_UNAUTHORISED = (PaymentState.RECEIVED, PaymentState.AUTHORISING)


class Xs2aPayments:
    """Bank ``fsp_id``'s XS2A payments over the shared ``bank`` (the module docstring);
    ``Xs2aBank`` adds their initiation and cancellation.

    ``settlement`` pays creditors at other simulated banks (None: such a payment only
    leaves the debtor's account, ACSC); ``rules`` decide magic outcomes (``core.rules``).
    """

    def __init__(
        self,
        fsp_id: str,
        bank: Bank,
        settings: Psd2Settings,
        *,
        clock: Clock,
        ids: IdGenerator,
        settlement: Settlement | None = None,
        rules: Rules | None = None,
        retention: timedelta | None = None,
        max_ended: int | None = None,
    ) -> None:
        self.fsp_id, self.bank, self.settings = fsp_id, bank, settings
        self.profile = settings.xs2a
        self.clock, self.ids = clock, ids
        self.settlement, self.rules = settlement, rules or Rules([])
        # With the clock, an ended payment is dropped once its retention has passed.
        self.payments: Records[Xs2aPayment] = Records(
            bank.store, f"xs2a:{fsp_id}", retention=retention, max_ended=max_ended, clock=clock
        )
        # Payments waiting to execute (future-dated, periodic, a rule's delay): id → when.
        self._waiting = Due(bank.store, f"xs2a-waiting:{fsp_id}")
        # Payments not authorised yet, by when they expire: ``tick`` rejects them then, so a
        # payment nobody comes back to ends (and is forgotten) without being read again.
        self._expiring = Due(bank.store, f"xs2a-expiring:{fsp_id}")
        # Told of each payment nobody may authorise or cancel any more (it ended unexecuted,
        # or a payment other than a standing order is executing): its open authorisations
        # fail (``Authorisations``).
        self.closings: list[Callable[[Xs2aPayment], None]] = []

    # -- reading ------------------------------------------------------------------------

    def payment(self, service: Service, product: str, payment_id: str) -> Xs2aPayment:
        """The payment, as the clock finds it now; ``ResourceUnknown`` (404) when this
        bank has no such payment under that service and product."""
        payment = self.find(payment_id)
        if payment is None or (payment.service, payment.product) != (service, product):
            raise ResourceUnknown(
                f"{self.fsp_id} has no {service.value} {product} with paymentId {payment_id}",
                path="paymentId",
            )
        return payment

    def find(self, payment_id: str) -> Xs2aPayment | None:
        """The payment ``payment_id``, as the clock finds it now, or None (also when its
        intents ended and were forgotten after their retention: so is the payment)."""
        payment = self.payments.get(payment_id)
        if payment is not None and any(self._kept(p) is None for p in payment.parts):
            self.payments.drop(payment_id)
            return None
        return None if payment is None else self.fresh(payment)

    def fresh(self, payment: Xs2aPayment) -> Xs2aPayment:
        """``payment`` after what the clock made due: its expiry while unauthorised, its
        execution date."""
        now = self.clock.now()
        intents = self.intents(payment)
        if any(
            i.state in _UNAUTHORISED and i.expires_at is not None and now >= i.expires_at
            for i in intents
        ):
            return self.end(payment, PaymentEvent.EXPIRE, "expired")
        if payment.payment_id in self._waiting:
            return self._run_due(payment, now)
        return payment

    def intents(self, payment: Xs2aPayment) -> list[PaymentIntent]:
        """The payment's intents: its parts, and a periodic payment's executions so far
        (an execution ended and forgotten after its retention is left out: a standing
        order outlives them)."""
        executions = (f"{payment.payment_id}:{day.isoformat()}" for day in payment.executed)
        kept = (self._kept(intent_id) for intent_id in (*payment.parts, *executions))
        return [intent for intent in kept if intent is not None]

    def _kept(self, intent_id: str) -> PaymentIntent | None:
        try:
            return self.bank.payments.get(intent_id)
        except UnknownPayment:
            return None

    def transaction_status(self, payment: Xs2aPayment) -> TransactionStatus:
        """The payment's ``transactionStatus``, read from its intents (a bulk payment with
        some parts settled and some rejected is PART; a periodic one is ACTC while its
        schedule runs)."""
        if payment.service is Service.PERIODIC:  # the standing order itself
            return self._status_of(payment, self.bank.payments.get(payment.payment_id))
        statuses = {self._status_of(payment, i) for i in self.intents(payment)}
        if len(statuses) == 1:
            return statuses.pop()
        done = {TransactionStatus.ACSC, TransactionStatus.ACCC}
        if statuses <= done:  # every entry settled: credited everywhere, or not
            return TransactionStatus.ACSC if TransactionStatus.ACSC in statuses else statuses.pop()
        if statuses <= done | {TransactionStatus.RJCT}:
            return TransactionStatus.PART  # some settled, some rejected (spec: "PART")
        return TransactionStatus.ACSP

    # -- execution ------------------------------------------------------------------------

    def authorised(self, payment: Xs2aPayment) -> Xs2aPayment:
        """The payment's SCA is complete: execute it now, or wait for its date (or for a
        rule's delay)."""
        self._expiring.drop(payment.payment_id)  # authorised: it no longer expires
        now = self.clock.now()
        first = self._first_date(payment)
        verdict = payment.verdict
        if verdict is not None and verdict.status in (Status.ACCEPTED, Status.PENDING):
            held = "ACCP" if verdict.status is Status.ACCEPTED else "PDNG"
            return self._save(replace(payment, held=held))
        when = now
        if first is not None and first > now.date():
            when = datetime.combine(first, time(0), tzinfo=now.tzinfo)
        if verdict is not None and verdict.delay_s:
            when = max(when, now + timedelta(seconds=verdict.delay_s))
        if when > now:
            self._waiting.put(payment.payment_id, when)
            return payment
        return self._execute(payment, now.date())

    def tick(self) -> None:
        """Do what fell due by the clock (the edge calls it on a timer and after the clock
        moves): execute what waited for its time, reject what expired unauthorised."""
        now = self.clock.now()
        for payment_id in self._waiting.pop(now) + self._expiring.pop(now):
            payment = self.payments.get(payment_id)
            if payment is None:
                self._waiting.drop(payment_id)
                self._expiring.drop(payment_id)
            else:
                self.fresh(payment)

    def next_due(self) -> datetime | None:
        """When ``tick`` next has something to do."""
        return earliest(self._waiting, self._expiring)

    def _run_due(self, payment: Xs2aPayment, now: datetime) -> Xs2aPayment:
        due = self._waiting.get(payment.payment_id)
        if due is None or due > now:
            return payment
        self._waiting.drop(payment.payment_id)
        return self._execute(payment, now.date())

    def _execute(self, payment: Xs2aPayment, today: date) -> Xs2aPayment:
        if payment.service is Service.PERIODIC:
            return self._execute_periodic(payment, today)
        self._closed(payment)
        if payment.order.batch_booking and not self._funds_cover(payment):
            # Batch booking: one booking of the whole bulk, so all of it or nothing.
            return self.reject(payment, "insufficient-funds", funds_available=False)
        for part in payment.parts:
            payment = self._pay(payment, part)
        return payment

    def _pay(self, payment: Xs2aPayment, part: str) -> Xs2aPayment:
        """Move the money of one intent (``core.execution``); a refusal is kept as the
        payment's reason (a rule's text, else its reason code)."""
        done = execute(
            self.bank,
            part,
            own_bank=self.fsp_id,
            settlement=self.settlement,
            verdict=payment.verdict,
            at=self.clock.now(),
        )
        if done.outcome is not Execution.REJECTED:
            return self._save(replace(payment, funds_available=True))
        assert done.reason is not None  # noqa: S101 - a rejection says why
        reason = done.text if done.by_rule else done.reason.value
        return self._save(replace(payment, reason=reason, funds_available=done.funds))

    def _execute_periodic(self, payment: Xs2aPayment, today: date) -> Xs2aPayment:
        """Each date of the schedule up to ``today`` not executed yet becomes one intent,
        paid now; the next date waits. Once the schedule has run out, the standing order
        itself (its first intent, which never moves money) is settled with a zero debit."""
        schedule = payment.order.schedule
        assert schedule is not None  # noqa: S101 - every periodic order has one
        due, upcoming = execution_dates(schedule, through=today)
        for day in due:
            if day in payment.executed or payment.stopped:
                continue
            part = f"{payment.payment_id}:{day.isoformat()}"
            self._receive_execution(payment, part)
            payment = self._save(replace(payment, executed=(*payment.executed, day)))
            payment = self._pay(payment, part)
        if upcoming is not None:
            when = datetime.combine(upcoming, time(0), tzinfo=self.clock.now().tzinfo)
            self._waiting.put(payment.payment_id, when)
            return payment
        now = self.clock.now()
        self.bank.payments.execute(payment.payment_id, debit=Decimal(0), at=now)
        self.bank.payments.settle(payment.payment_id, at=now)
        self._closed(payment)  # nothing left to cancel
        return self._save(payment)

    def _receive_execution(self, payment: Xs2aPayment, part: str) -> None:
        """One execution of a standing order, authorised with it: no SCA of its own."""
        order = self.bank.payments.get(payment.payment_id)
        intent = replace(
            order,
            intent_id=part,
            state=PaymentState.RECEIVED,
            sca=None,
            reservation=None,
            created_at=self.clock.now(),
            expires_at=None,
        )
        self.bank.payments.receive_authorised(intent)

    # -- endings ----------------------------------------------------------------------------

    def reject(
        self, payment: Xs2aPayment, reason: str, *, funds_available: bool | None = None
    ) -> Xs2aPayment:
        ended = self.end(payment, PaymentEvent.REJECT, reason)
        if funds_available is not None:
            ended = self._save(replace(ended, funds_available=funds_available))
        return ended

    def end(self, payment: Xs2aPayment, event: PaymentEvent, reason: str) -> Xs2aPayment:
        """End every intent of ``payment`` not ended yet with ``event`` (reject, expire,
        cancel): reserved funds go back."""
        now = self.clock.now()
        for intent in self.intents(payment):
            if not intent.finalised and intent.state is not PaymentState.EXECUTING:
                self.bank.payments.end(intent.intent_id, event, at=now)
        self._waiting.drop(payment.payment_id)
        stopped = payment.service is Service.PERIODIC
        ended = self._save(replace(payment, reason=payment.reason or reason, stopped=stopped))
        self._closed(ended)
        return ended

    def _closed(self, payment: Xs2aPayment) -> None:
        """Nobody may authorise or cancel ``payment`` any more: tell ``closings``."""
        for told in self.closings:
            told(payment)

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome for one of this bank's intents, once
        ``Payments.conclude`` applied it (the edge's settlement listener): a failure's
        reason is kept for ``GET …/status``, and a payment now wholly ended starts its
        retention."""
        payment = self.payments.get(result.intent_id.split(":", 1)[0])
        if payment is None or self._kept(result.intent_id) is None:
            return
        if result.outcome is SettlementOutcome.FAILED:
            payment = replace(
                payment, reason=payment.reason or f"settlement failed: {result.reason}"
            )
        self._save(payment)

    # -- helpers ------------------------------------------------------------------------------

    def _status_of(self, payment: Xs2aPayment, intent: PaymentIntent) -> TransactionStatus:
        status = TRANSACTION_STATUS[intent.state]
        if status is TransactionStatus.ACTC and payment.held is not None:
            return TransactionStatus(payment.held)  # a rule holds it (ACCP, PDNG)
        said = payment.verdict.status if payment.verdict is not None else None
        if status is TransactionStatus.ACSC and said is not Status.SETTLED_DEBTOR:
            if said is Status.SETTLED_CREDITOR or self._credited(intent):
                return TransactionStatus.ACCC
        return status

    def _credited(self, intent: PaymentIntent) -> bool:
        """Whether tpsim credited the creditor of a settled intent: an account of this
        bank, or of another simulated bank the settlement port paid (without a port, the
        money only left the debtor's account)."""
        creditor = self.bank.accounts.find(intent.creditor)
        if creditor is None:
            return False
        return creditor.fsp_id == self.fsp_id or self.settlement is not None

    def _save(self, payment: Xs2aPayment) -> Xs2aPayment:
        self.payments.put(payment.payment_id, payment)
        intents = self.intents(payment)
        if not any(i.state in _UNAUTHORISED for i in intents):
            self._expiring.drop(payment.payment_id)
        if all(i.finalised for i in intents) and payment.payment_id not in self._waiting:
            self.payments.end(payment.payment_id, at=self.clock.now())
        return payment

    def _first_date(self, payment: Xs2aPayment) -> date | None:
        if payment.order.schedule is not None:
            return first_execution(payment.order.schedule)
        return payment.order.execution_date

    def _funds_cover(self, payment: Xs2aPayment) -> bool:
        total = sum((t.amount for t in payment.order.transfers), Decimal(0))
        try:
            self.bank.ledger.check_funds(payment.debtor, total)
        except BankRefused:
            return False
        return True
