"""A simulated bank's STET payment initiation service, sans-IO: the PSU's approval and the
PISP's confirmations of the payment requests ``stet.payment_requests`` keeps (the digest
§3, STET 1.4.2).

    approve     the PSU at the bank (REDIRECT page), the admin decision (DECOUPLED, or
                headless for any), or the PISP's /confirmation with the OTP (EMBEDDED)
    deny        the PSU refuses                      → RJCT / CUST
    confirm     POST …/confirmation (the OTP; or, where the profile requires it, the PISP's
                go-ahead after the PSU approved) and POST …/o-confirmation (the PSU's token)
    cancel      PUT  /payment-requests/{id} with RJCT / DS02, whole or per instruction

Approving receives one core payment intent per instruction (AUTHORISED) over the debtor
account the request named or the PSU chose (``stet.orders`` executes them).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from tpsim.auth.psu import WrongPassword
from tpsim.core.bank import Account
from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.rules import Applied, Fact, Reason, RuleEvent
from tpsim.stet import admission
from tpsim.stet.errors import FieldInvalid, OtpInvalid, StatusInvalid, StetError
from tpsim.stet.payment_requests import PaymentRequests
from tpsim.stet.resources import Instruction, PaymentRequest, Rejection
from tpsim.stet.states import Approach, RequestEvent, RequestState, Why


class StetBank(PaymentRequests):
    """Bank ``fsp_id``'s STET interface over the shared ``bank`` (the module docstring):
    its payment requests (``PaymentRequests``, which takes the same arguments), the PSU's
    decision and the PISP's confirmations and cancellation."""

    def fresh(self, request: PaymentRequest) -> PaymentRequest:
        """``request`` after what the clock made due: its approval delay, its expiry, its
        instructions' executions."""
        now = self.clock.now()
        due = self._approving.get(request.resource_id)
        if request.state is RequestState.AWAITING and due is not None and now >= due:
            self._approving.drop(request.resource_id)
            if now < request.expires_at:
                assert request.order.debtor is not None  # noqa: S101 - decoupled names it
                try:
                    return self.approve(request.resource_id, None, None, request.order.debtor)
                except StetError as exc:  # refused before anything changed: it ends here
                    text = f"the decoupled approval failed: {exc.message}"
                    return self.reject(request, Why.UNSPECIFIED, text)
        return super().fresh(request)

    # -- the PSU's decision ---------------------------------------------------------------

    def approve(
        self, resource_id: str, user: str | None, password: str | None, account: str | None
    ) -> PaymentRequest:
        """The PSU ``user`` approves (``password`` None: already checked, or a headless or
        admin decision), paying from the request's debtor account, else the one chosen,
        else the first of ``user``'s that can pay. A wrong password is ``WrongPassword``;
        the last allowed one rejects the request."""
        request = self._awaiting(resource_id)
        debtor = self._chosen(request, user, account)
        psu = user or debtor.owner
        facts = admission.facts(
            self.fsp_id, request.tpp, request.order, RuleEvent.PAYMENT_AUTHORISE
        )
        facts.update({Fact.DEBTOR: debtor.address, Fact.PSU: psu})
        applied = self.rules.first(facts)
        if applied is not None and applied.outcome.reject is Reason.PSU_UNKNOWN:
            raise FieldInvalid(applied.outcome.text or f"{psu} is no PSU of {self.fsp_id}")
        persona = applied is not None and self.rules.by_psu(applied, facts)
        if not persona and psu != debtor.owner:
            raise FieldInvalid(f"{psu} does not hold account {debtor.iban or debtor.address}")
        if password is not None and not self.bank.password_ok(
            self.fsp_id, debtor.owner, password, self._password
        ):
            request = self._wrong(request, "wrong password")
            raise WrongPassword("wrong password", left=self._left(request))
        return self._approved(request, debtor, psu, applied)

    def deny(self, resource_id: str) -> PaymentRequest:
        """The PSU refuses: RJCT / CUST."""
        return self.reject(self._awaiting(resource_id), Why.CUSTOMER, "refused by the PSU")

    def decide(
        self, resource_id: str, approve: bool, psu: str | None, account: str | None
    ) -> PaymentRequest:
        """The admin API's (or a headless) decision."""
        if approve:
            return self.approve(resource_id, psu, None, account)
        return self.deny(resource_id)

    def sign_in(self, resource_id: str, user: str, password: str) -> list[Account]:
        """The PSU ``user`` signs in at the bank's page to choose the debtor account: the
        accounts of theirs that can pay. A wrong password is ``WrongPassword`` (counted;
        the last allowed one rejects the request)."""
        request = self._awaiting(resource_id)
        if not self.bank.password_ok(self.fsp_id, user, password, self._password):
            request = self._wrong(request, "wrong password")
            raise WrongPassword("wrong user id or password", left=self._left(request))
        return self.can_pay(request, user)

    def report_url(self, request: PaymentRequest) -> str:
        """Where the PSU's browser goes back to once they decided: ``successfulReportUrl``,
        or, when the request is rejected (refused, or rejected at once: no funds…),
        ``unsuccessfulReportUrl`` (else ``successfulReportUrl``, the digest §3.2)."""
        if self.status(request) == "RJCT":
            return request.report_failure_url
        return request.order.successful_url

    def can_pay(self, request: PaymentRequest, user: str) -> list[Account]:
        """``user``'s accounts at this bank that can pay ``request`` now: in its currency,
        with its whole amount available (the account picker of seed 002)."""
        order = request.order
        return [
            account
            for account in self.bank.accounts.held_by(self.fsp_id, user)
            if account.currency == order.currency
            and self.bank.ledger.available(account.address) >= request.amount_due
        ]

    # -- the PISP's confirmations and cancellation ----------------------------------------

    def confirm(self, resource_id: str, tpp: str, factor: str | None) -> PaymentRequest:
        """``POST …/confirmation``: the EMBEDDED-1-FACTOR OTP approves and executes; for
        the other approaches, where the profile requires the PISP's confirmation, it
        executes what the PSU approved."""
        request = self.get(resource_id, tpp)
        if request.approach is Approach.EMBEDDED and request.state is RequestState.AWAITING:
            if factor is None:
                raise FieldInvalid(
                    "psuAuthenticationFactor: give the one-time password the PSU received"
                )
            if not secrets.compare_digest(factor.encode(), self.settings.otp.encode()):
                request = self._wrong(request, "wrong psuAuthenticationFactor")
                left = self._left(request)
                ended = " The payment request is now RJCT." if left == 0 else ""
                raise OtpInvalid(
                    f"psuAuthenticationFactor is not the one-time password sent to the PSU:"
                    f" {left} attempt(s) left.{ended}"
                )
            assert request.order.debtor is not None  # noqa: S101 - embedded names it
            request = self.approve(resource_id, None, None, request.order.debtor)
            return request if request.state is RequestState.ORDERED else self.order(request)
        if request.state is RequestState.APPROVED and not self.by_o_confirmation(request):
            return self.order(request)
        raise StatusInvalid(self._not_confirmable(request, "confirmation"))

    def o_confirm(self, resource_id: str, tpp: str) -> PaymentRequest:
        """``POST …/o-confirmation`` with the PSU's token: executes what the PSU approved."""
        request = self.get(resource_id, tpp)
        if request.state is RequestState.APPROVED and self.by_o_confirmation(request):
            return self.order(request)
        raise StatusInvalid(self._not_confirmable(request, "o-confirmation"))

    def by_o_confirmation(self, request: PaymentRequest) -> bool:
        """Whether the PISP confirms ``request`` with the PSU's token (o-confirmation)."""
        return request.approach is Approach.REDIRECT and self.profile.o_confirmation

    def _not_confirmable(self, request: PaymentRequest, what: str) -> str:
        status = self.status(request)
        if request.state is RequestState.AWAITING:
            return f"payment request {request.resource_id} is {status}: the PSU has not approved it"
        if request.state is RequestState.APPROVED:
            other = "o-confirmation" if what == "confirmation" else "confirmation"
            return f"{self.fsp_id} confirms this payment request by POST …/{other}, not {what}"
        return f"payment request {request.resource_id} is {status}: there is nothing to confirm"

    def cancel(self, resource_id: str, tpp: str, indexes: frozenset[int] | None) -> PaymentRequest:
        """Cancel the request (``indexes`` None) or those of its instructions: RJCT / DS02.
        Only what has not started executing can be cancelled (all or nothing)."""
        request = self.get(resource_id, tpp)
        if request.state is RequestState.REJECTED:
            raise StatusInvalid(
                f"payment request {resource_id} is RJCT already: there is nothing to cancel"
            )
        count = len(request.order.instructions)
        chosen = frozenset(range(count)) if indexes is None else indexes
        if chosen <= request.cancelled:
            which = ", ".join(str(i) for i in sorted(chosen))
            raise StatusInvalid(
                f"creditTransferTransaction[{which}] of payment request {resource_id} is RJCT"
                " already: there is nothing to cancel"
            )
        if request.state is RequestState.ORDERED:
            return self.orders.cancel(request, chosen)
        cancelled = request.cancelled | chosen
        for index in sorted(chosen - request.cancelled):  # approved: its intents end too
            intent = self.orders.intent(request, index)
            if intent is not None and not intent.finalised:
                self.bank.payments.end(intent.intent_id, PaymentEvent.CANCEL, at=self.clock.now())
        if len(cancelled) == count:
            return self.reject(request, Why.CANCELLED, "cancelled by the PISP")
        return self._put(replace(request, cancelled=cancelled, status_at=self.clock.now()))

    def force_reject(self, resource_id: str, why: Why, text: str) -> PaymentRequest:
        """The bank rejects the request (the admin API): before it was ordered, whole; once
        ordered, its instructions that have not started executing (a rule's hold, a future
        date), so a held request ends too."""
        request = self.get(resource_id)
        if request.state is RequestState.ORDERED:
            return self.orders.reject_waiting(request, Rejection(why, text[:256]))
        return self.reject(request, why, text)

    def retire(self, cause: str) -> list[str]:
        """End each request not ordered yet, and the instructions of an ordered one that
        wait to execute (a future date, a rule's delay or hold): RJCT, MS03 with
        ``cause``. tpsim no longer plays this bank (a restart with it made external or
        removed), so nothing would ever end them. Read as kept, not as the clock finds
        them: ``fresh`` would execute what fell due meanwhile. An instruction executing
        is left to its settlement's outcome. The ids of the requests ended."""
        ended = []
        for request in list(self.requests):
            if request.state in (RequestState.AWAITING, RequestState.APPROVED):
                self.reject(request, Why.UNSPECIFIED, cause)
            elif request.state is RequestState.ORDERED:
                try:
                    self.orders.reject_waiting(request, Rejection(Why.UNSPECIFIED, cause[:256]))
                except StatusInvalid:  # none waits: executed, or executing
                    continue
            else:
                continue
            ended.append(request.resource_id)
        return ended

    # -- helpers --------------------------------------------------------------------------

    def _awaiting(self, resource_id: str) -> PaymentRequest:
        request = self.get(resource_id)
        if request.state is not RequestState.AWAITING:
            raise StatusInvalid(
                f"payment request {resource_id} is {self.status(request)}, not awaiting the"
                " PSU's approval: there is nothing to decide"
            )
        return request

    def _chosen(self, request: PaymentRequest, user: str | None, account: str | None) -> Account:
        """The account the request debits: its own, else the one chosen, else the first
        of the PSU's that can pay."""
        order = request.order
        if order.debtor is not None:
            return self.debtor(order, order.debtor, None)
        if account:
            return self.debtor(order, account, None)
        fitting = [] if user is None else self.can_pay(request, user)
        if fitting:
            return fitting[0]
        if user is None:
            raise FieldInvalid(
                "the payment request names no debtorAccount: say who approves (the PSU:"
                " sim_psu, or the admin decision's psu) or which account pays (sim_account,"
                " account)"
            )
        raise FieldInvalid(
            f"{user} holds no {order.currency} account at {self.fsp_id} with"
            f" {request.amount_due} {order.currency} available"
        )

    def _approved(
        self, request: PaymentRequest, debtor: Account, psu: str, applied: Applied | None
    ) -> PaymentRequest:
        """Receive an authorised intent per instruction, then order them unless the PISP
        must confirm first."""
        now = self.clock.now()
        for index, instruction in enumerate(request.order.instructions):
            if index not in request.cancelled:
                self._authorised_intent(request, index, instruction, debtor, now)
        approved = self.move(
            request,
            RequestEvent.APPROVE,
            debtor=debtor.address,
            psu=psu,
            rule=applied.rule_name if applied else request.rule,
            verdict=applied.outcome if applied else request.verdict,
            expires_at=now + timedelta(seconds=self.profile.approval_expiry_s),
        )
        if self._confirmed_by_pisp(approved):
            self._expiring.put(approved.resource_id, approved.expires_at)
            return approved
        return self.order(approved)

    def _confirmed_by_pisp(self, request: PaymentRequest) -> bool:
        """Whether the PISP's confirmation is awaited before anything executes."""
        if request.approach is Approach.EMBEDDED:
            return False  # its /confirmation was the approval
        return self.by_o_confirmation(request) or self.profile.confirmation_required

    def _authorised_intent(
        self,
        request: PaymentRequest,
        index: int,
        instruction: Instruction,
        debtor: Account,
        now: datetime,
    ) -> None:
        intent = PaymentIntent(
            intent_id=request.intent_id(index),
            debtor=debtor.address,
            creditor=instruction.creditor,
            amount=instruction.amount,
            currency=instruction.currency,
            created_at=now,
        )
        self.bank.payments.receive_authorised(intent, at=now)
        self.orders.records_intent(request, index)

    def _wrong(self, request: PaymentRequest, what: str) -> PaymentRequest:
        """Count a wrong password or factor; the last allowed one rejects the request."""
        counted = replace(request, attempts=request.attempts + 1)
        if self._left(counted) == 0:
            return self.reject(counted, Why.UNSPECIFIED, f"authentication failed: {what}")
        return self._put(counted)

    def _left(self, request: PaymentRequest) -> int:
        return max(self.settings.max_attempts - request.attempts, 0)
