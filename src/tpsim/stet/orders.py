"""A STET bank's ordered payment requests, sans-IO: executing each instruction's intent and
reading the statuses back.

Once ordered, each instruction not cancelled executes through ``core.execution``: at once,
or on its ``requestedExecutionDate`` when that is still ahead, or after a rule's delay (a
rule may also hold it: ACCP or PDNG, never executed). A creditor at the same bank is
credited at once, one at another simulated bank is paid through the settlement port (ACSP
until the switch's transfer commits), any other creditor only sees the money leave; all
three read ACSC in STET, which has no ACCC. Insufficient funds reject the instruction
(RJCT / CUST) and leave the balance untouched. Until an instruction starts executing, the
PISP may cancel it (RJCT / DS02).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from tpsim.core.due import Due
from tpsim.core.errors import UnknownPayment
from tpsim.core.execution import Execution, execute
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.rules import Status
from tpsim.core.settlement import Settlement, SettlementOutcome, SettlementResult
from tpsim.core.states import PaymentState
from tpsim.stet.errors import StatusInvalid
from tpsim.stet.resources import PaymentRequest, Rejection
from tpsim.stet.states import TRANSACTION_STATUS, WHY_OF, RequestState, Why, ordered_status

if TYPE_CHECKING:
    from tpsim.stet.payment_requests import PaymentRequests

_HELD = (Status.ACCEPTED, Status.PENDING)


class Orders:
    """The ordered requests of ``bank`` (its ``PaymentRequests``)."""

    def __init__(self, bank: PaymentRequests, settlement: Settlement | None) -> None:
        self._bank, self.settlement = bank, settlement
        # Instructions waiting for their execution date or a rule's delay: intent id → when.
        self.waiting = Due(bank.bank.store, f"stet-due:{bank.fsp_id}")

    def records_intent(self, request: PaymentRequest, index: int) -> None:
        """Find ``request`` by the intent of its instruction ``index`` (the settlement
        port reports by intent)."""
        self._bank.requests.alias(request.intent_id(index), request.resource_id)

    # -- starting ------------------------------------------------------------------------

    def start(self, request: PaymentRequest) -> PaymentRequest:
        """Execute the ORDERED request's instructions now, or schedule them."""
        now = self._bank.clock.now()
        verdict = request.verdict
        for index, instruction in enumerate(request.order.instructions):
            if index in request.cancelled:
                continue
            if verdict is not None and verdict.status in _HELD:
                continue  # held by a rule: never executed
            when = instruction.execution_at
            if verdict is not None and verdict.delay_s:
                when = max(when, now + timedelta(seconds=verdict.delay_s))
            if when > now:
                self.waiting.put(request.intent_id(index), when)
            else:
                request = self._execute(request, index)
        return self._save(request)

    def run_due(self, request: PaymentRequest) -> PaymentRequest:
        """Execute the instructions of ``request`` whose time has come."""
        now, ran = self._bank.clock.now(), False
        for index in range(len(request.order.instructions)):
            due = self.waiting.get(request.intent_id(index))
            if due is not None and due <= now:
                self.waiting.drop(request.intent_id(index))
                request, ran = self._execute(request, index), True
        return self._save(request) if ran else request

    def tick(self) -> None:
        """Execute the instructions whose time has come, for every request."""
        for intent_id in self.waiting.pop(self._bank.clock.now()):
            request = self._bank.requests.find(intent_id)
            if request is None:
                self.waiting.drop(intent_id)
            else:
                self.run_due(request)

    def _execute(self, request: PaymentRequest, index: int) -> PaymentRequest:
        now = self._bank.clock.now()
        done = execute(
            self._bank.bank,
            request.intent_id(index),
            own_bank=self._bank.fsp_id,
            settlement=self.settlement,
            verdict=request.verdict,
            at=now,
        )
        if done.outcome is Execution.REJECTED:
            assert done.reason is not None  # noqa: S101 - a rejection says why
            return request.with_rejection(index, Rejection(WHY_OF[done.reason], done.text[:256]))
        return request

    # -- cancelling ----------------------------------------------------------------------

    def cancel(self, request: PaymentRequest, chosen: frozenset[int]) -> PaymentRequest:
        """Cancel the ``chosen`` instructions of the ORDERED request: refused (nothing
        cancelled) when any of them has started executing or ended."""
        for index in sorted(chosen - request.cancelled):
            intent = self.intent(request, index)
            if intent is None or intent.state is not PaymentState.AUTHORISED:
                status, _ = self.transaction(request, index)
                raise StatusInvalid(
                    f"creditTransferTransaction[{index}] is {status or 'RJCT'}: only an"
                    " instruction that has not started executing can be cancelled"
                )
        now = self._bank.clock.now()
        for index in sorted(chosen - request.cancelled):
            self.waiting.drop(request.intent_id(index))
            self._bank.bank.payments.end(request.intent_id(index), PaymentEvent.CANCEL, at=now)
        cancelled = replace(request, cancelled=request.cancelled | chosen, status_at=now)
        return self._save(cancelled)

    def reject_waiting(self, request: PaymentRequest, rejection: Rejection) -> PaymentRequest:
        """The bank rejects the ORDERED request's instructions that have not started
        executing (a future date, a rule's delay or hold); 400 STATUS_INVALID when none
        waits."""
        count = range(len(request.order.instructions))
        waiting = [
            i
            for i in count
            if i not in request.cancelled
            and (intent := self.intent(request, i)) is not None
            and intent.state is PaymentState.AUTHORISED
        ]
        if not waiting:
            raise StatusInvalid(
                f"payment request {request.resource_id} is {self.status(request)}: none of"
                " its instructions waits to execute, so none can be rejected"
            )
        now = self._bank.clock.now()
        for index in waiting:
            self.waiting.drop(request.intent_id(index))
            self._bank.bank.payments.end(request.intent_id(index), PaymentEvent.REJECT, at=now)
            request = request.with_rejection(index, rejection)
        return self._save(request)

    def end_intent(self, request: PaymentRequest, index: int, why: Why) -> None:
        """End instruction ``index``'s intent with its request (before it was ordered)."""
        event = PaymentEvent.EXPIRE if why is Why.NO_ANSWER else PaymentEvent.REJECT
        self._bank.bank.payments.end(request.intent_id(index), event, at=self._bank.clock.now())

    # -- reading -------------------------------------------------------------------------

    def intent(self, request: PaymentRequest, index: int) -> PaymentIntent | None:
        try:
            return self._bank.bank.payments.get(request.intent_id(index))
        except UnknownPayment:  # never received (not approved), or forgotten
            return None

    def transaction(
        self, request: PaymentRequest, index: int
    ) -> tuple[str | None, Rejection | None]:
        """Instruction ``index``'s ``transactionStatus`` and why it was rejected (None
        before the request is ordered or rejected)."""
        if index in request.cancelled:
            return "RJCT", Rejection(Why.CANCELLED, "cancelled by the PISP")
        if request.state is RequestState.REJECTED:
            assert request.reason is not None  # noqa: S101 - a rejection says why
            return "RJCT", Rejection(request.reason, request.reason_text or "")
        if request.state is not RequestState.ORDERED:
            return None, None
        intent = self.intent(request, index)
        if intent is None:  # forgotten after the retention: the status it ended in
            return request.finals.get(index, "RJCT"), request.rejections.get(index)
        status = TRANSACTION_STATUS[intent.state]
        rejection = request.rejections.get(index)
        if status == "RJCT" and rejection is None:
            rejection = Rejection(Why.UNSPECIFIED, "rejected by the bank")
        return status, rejection if status == "RJCT" else None

    def status(self, request: PaymentRequest) -> str:
        """An ORDERED request's ``paymentInformationStatus`` (``states.ordered_status``)."""
        count = range(len(request.order.instructions))
        statuses = [self.transaction(request, i)[0] or "PDNG" for i in count]
        started = any(
            (intent := self.intent(request, i)) is not None
            and intent.state is not PaymentState.AUTHORISED
            for i in count
            if i not in request.cancelled
        )
        verdict = request.verdict
        held = verdict is not None and verdict.status is Status.PENDING
        return ordered_status(statuses, started=started, held=held)

    def reason(self, request: PaymentRequest) -> Rejection | None:
        """Why the whole request reads RJCT: its own reason, else its first instruction's."""
        if request.state is RequestState.REJECTED:
            assert request.reason is not None  # noqa: S101 - a rejection says why
            return Rejection(request.reason, request.reason_text or "")
        if self.status(request) != "RJCT":
            return None
        return self.transaction(request, 0)[1]

    # -- settlement ----------------------------------------------------------------------

    def concluded(self, result: SettlementResult) -> None:
        """The settlement port's outcome for one instruction's intent (already applied to
        the intent by ``Payments.conclude``)."""
        request = self._bank.requests.find(result.intent_id)
        if request is None:
            return
        if result.outcome is not SettlementOutcome.SETTLED:
            index = int(result.intent_id.rsplit("-", 1)[1])
            text = f"settlement failed: {result.reason}" if result.reason else "settlement failed"
            request = request.with_rejection(index, Rejection(Why.UNSPECIFIED, text[:256]))
        self._save(request)

    def _save(self, request: PaymentRequest) -> PaymentRequest:
        """Keep ``request``; once every instruction has ended, with the statuses they ended
        in, and it is forgotten after the retention."""
        count = range(len(request.order.instructions))
        transactions = [self.transaction(request, i)[0] for i in count]
        if all(s in ("ACSC", "RJCT") for s in transactions):
            finals = {i: s for i, s in zip(count, transactions, strict=True) if s is not None}
            request = replace(request, finals=finals)
            self._bank.requests.put(request.resource_id, request)
            self._bank.ended(request)
            return request
        self._bank.requests.put(request.resource_id, request)
        return request
