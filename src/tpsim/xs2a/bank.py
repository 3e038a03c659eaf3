"""A simulated bank's XS2A payment initiation service, sans-IO: taking payments in and
cancelling them, over the payments and money of ``xs2a.payments``.

    initiate   POST   /v1/{service}/{product}           → a payment resource (RCVD), its
                                                           approach, and (implicit start) its
                                                           first authorisation
    cancel     DELETE /v1/{service}/{product}/{id}      → cancelled (204), or a cancellation
                                                           authorisation is needed (202)

Rules are applied at initiation (and, for a PSU who does not hold the debited account, at
authorisation: ``signer``); the bank may force a payment's status (``force``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tpsim.core.payment import PaymentEvent, PaymentIntent
from tpsim.core.rules import Applied, Reason, RuleEvent
from tpsim.xs2a.errors import (
    CancellationInvalid,
    FinalisedPayment,
    PsuCredentialsInvalid,
    StatusInvalid,
)
from tpsim.xs2a.initiation import (
    check_amounts,
    check_dates,
    debtor_account,
    payment_facts,
)
from tpsim.xs2a.payments import Xs2aPayments
from tpsim.xs2a.resources import Approach, PaymentOrder, Service, TppRequest, Xs2aPayment
from tpsim.xs2a.states import TransactionStatus

_OPEN_STATUSES = (
    TransactionStatus.RCVD,
    TransactionStatus.PDNG,
    TransactionStatus.ACTC,
    TransactionStatus.ACCP,
)


class Xs2aBank(Xs2aPayments):
    """Bank ``fsp_id``'s XS2A interface over the shared ``bank`` (the module docstring):
    its payments (``Xs2aPayments``, which takes the same arguments), their initiation and
    cancellation, and the bank's forced status."""

    # -- initiation ---------------------------------------------------------------------

    def initiate(
        self,
        service: Service,
        product: str,
        order: PaymentOrder,
        tpp: TppRequest,
        approach: Approach,
        *,
        signer: str | None = None,
    ) -> Xs2aPayment:
        """Take a new payment (RCVD) by ``approach``, or refuse it: a debtor account that is
        not this bank's, a date in the past or a schedule with no execution date, an amount
        finer than its currency's minor unit, a rule's unknown PSU, a ``signer`` who may not
        sign it. The caller checked the product (``initiation.check_product``) and chose the
        approach (``initiation.choose_approach``); the authorisation is started by
        ``xs2a.authorisations``.

        ``signer`` is the PSU an authorisation starting with the payment asks at once (a
        decoupled push to PSU-ID's app): refused (401) before anything is kept unless they
        hold the debited account or are a sandbox persona, as the authorisation would
        refuse them. A refusal keeps nothing: the TPP, told no paymentId, could never
        reach a payment kept anyway."""
        now = self.clock.now()
        check_dates(order, now.date())
        check_amounts(order)
        debtor = debtor_account(self.bank, self.fsp_id, order)
        applied = self.rules.first(payment_facts(self.fsp_id, order, tpp))
        if applied is not None and applied.outcome.reject is Reason.PSU_UNKNOWN:
            raise PsuCredentialsInvalid(
                applied.outcome.text or f"{tpp.psu_id} is not a PSU of {self.fsp_id}",
                path="PSU-ID",
            )
        if signer is not None:
            self.check_signer(order, tpp, debtor.owner, signer)
        payment_id = self.ids.new_id()
        parts = self._parts(payment_id, service, order)
        payment = Xs2aPayment(
            payment_id=payment_id,
            service=service,
            product=product,
            bank=self.fsp_id,
            tpp=tpp,
            order=order,
            debtor=debtor.address,
            owner=debtor.owner,
            approach=approach,
            created_at=now,
            parts=parts,
            rule=applied.rule_name if applied else None,
            verdict=applied.outcome if applied else None,
        )
        expires = now + timedelta(
            milliseconds=self.profile.not_confirmed_payment_expiration_time_ms
        )
        for part_id, transfer in zip(parts, order.transfers, strict=False):
            self.bank.payments.receive(
                PaymentIntent(
                    intent_id=part_id,
                    debtor=debtor.address,
                    creditor=transfer.creditor_iban,
                    amount=transfer.amount,
                    currency=transfer.currency,
                    created_at=now,
                    expires_at=expires,
                )
            )
        self.payments.put(payment_id, payment)
        self._expiring.put(payment_id, expires)
        if tpp.reject_no_funds and not self._funds_cover(payment):
            # TPP-Rejection-NoFunds-Preferred: true lets the bank refuse at once.
            return self.reject(payment, "insufficient-funds", funds_available=False)
        return payment

    def signer(
        self,
        order: PaymentOrder,
        tpp: TppRequest,
        owner: str,
        psu: str,
        *,
        cancellation: bool = False,
    ) -> Applied | bool:
        """Whether ``psu`` may authorise ``order`` (debiting ``owner``'s account; its
        ``cancellation``): True for the account's holder; for an initiation only, the rule
        that makes them a sandbox persona (a PSU the rules know, whose payment is refused —
        never one that would move money; its refusal becomes the payment's outcome:
        ``judged``); False for anyone else. A cancellation stops the holder's payment: only
        the holder may authorise it. A rule's ``psu-unknown`` is ``PsuCredentialsInvalid``
        (401)."""
        if psu == owner:
            return True
        applied = None if cancellation else self._persona(order, tpp, psu)
        return False if applied is None else applied

    def check_signer(
        self,
        order: PaymentOrder,
        tpp: TppRequest,
        owner: str,
        psu: str,
        *,
        cancellation: bool = False,
    ) -> Applied | None:
        """Refuse ``psu`` as the PSU a decoupled SCA of ``order`` pushes to, with
        ``PsuCredentialsInvalid`` (401, path PSU-ID), unless they may sign it (``signer``):
        the rule that makes them a persona, None for the holder. Callers check before they
        keep anything: a refused start leaves nothing the TPP cannot reach, and counts no
        attempt (``max_attempts`` counts a PSU's wrong secrets, and a wrong PSU-ID guesses
        none)."""
        found = self.signer(order, tpp, owner, psu, cancellation=cancellation)
        if found is False:
            raise PsuCredentialsInvalid(
                f"{psu} does not hold the account this payment debits: the decoupled SCA"
                " goes to the app of the PSU named in PSU-ID; name the account holder",
                path="PSU-ID",
            )
        return None if found is True else found

    def judged(self, payment: Xs2aPayment, applied: Applied) -> None:
        """A sandbox persona's rule decides ``payment``'s outcome, unless one did already."""
        if payment.verdict is None:
            self._save(replace(payment, rule=applied.rule_name, verdict=applied.outcome))

    def _persona(self, order: PaymentOrder, tpp: TppRequest, psu: str) -> Applied | None:
        """The rule that makes ``psu`` a sandbox persona for ``order`` (its payment
        refused), or None; a rule's ``psu-unknown`` is ``PsuCredentialsInvalid`` (401)."""
        named = replace(tpp, psu_id=psu)
        facts = payment_facts(self.fsp_id, order, named, event=RuleEvent.PAYMENT_AUTHORISE)
        applied = self.rules.first(facts)
        if applied is None or applied.outcome.reject is None:
            return None
        if applied.outcome.reject is Reason.PSU_UNKNOWN:
            raise PsuCredentialsInvalid(
                applied.outcome.text or f"{psu} is not a PSU of {self.fsp_id}", path="PSU-ID"
            )
        return applied

    @staticmethod
    def _parts(payment_id: str, service: Service, order: PaymentOrder) -> tuple[str, ...]:
        if service is Service.BULK:
            return tuple(f"{payment_id}:{i + 1}" for i in range(len(order.transfers)))
        return (payment_id,)

    # -- cancellation and the bank's decision ----------------------------------------------

    def force(self, payment: Xs2aPayment, status: str, reason: str | None) -> Xs2aPayment:
        """The bank decides (the admin API's "direct ASPSP update"): ``RJCT`` rejects what
        has not executed, ``CANC`` cancels it, ``ACSC`` executes an authorised payment now
        (one waiting for its date, or held by a rule). Refused with ``StatusInvalid``
        where the payment's state does not allow it."""
        current = self.transaction_status(payment)
        if status == "RJCT" and current in _OPEN_STATUSES:
            return self.reject(payment, reason or "rejected by the bank")
        if status == "CANC" and current in _OPEN_STATUSES:
            return self.end(payment, PaymentEvent.CANCEL, reason or "cancelled by the bank")
        waiting = current in (
            TransactionStatus.ACTC,
            TransactionStatus.ACCP,
            TransactionStatus.PDNG,
        )
        if status == "ACSC" and waiting:
            self._waiting.drop(payment.payment_id)
            payment = self._save(replace(payment, held=None))
            return self._execute(payment, self.clock.now().date())
        raise StatusInvalid(
            f"payment {payment.payment_id} is {current.value}: the bank cannot make it"
            f" {status} now (RJCT and CANC before execution, ACSC once authorised)"
        )

    def retire(self, cause: str) -> list[str]:
        """End each payment not executed yet (RJCT, ``cause`` its reason; its open
        authorisations fail): tpsim no longer plays this bank (a restart with it made
        external or removed), so nothing would ever execute or end it. Read as kept, not
        as the clock finds it: ``fresh`` would execute what fell due meanwhile. One
        executing is left to its settlement's outcome. The ids of the payments ended."""
        ended = []
        for payment in list(self.payments):
            kept = (payment.payment_id,) if payment.service is Service.PERIODIC else payment.parts
            if any(self._kept(p) is None for p in kept):
                continue  # forgotten after its retention: ended long ago
            if self.transaction_status(payment) in _OPEN_STATUSES:
                self.reject(payment, cause)
                ended.append(payment.payment_id)
        return ended

    def cancel_requested(self, payment: Xs2aPayment) -> Xs2aPayment:
        """The TPP asked to cancel ``payment``, which needs its own SCA first (DELETE
        answered 202): a cancellation authorisation may start now, not before."""
        return self._save(replace(payment, cancel_requested=True))

    def cancel_now(self, payment: Xs2aPayment) -> Xs2aPayment:
        """Cancel what may still be cancelled (``cancellable`` said so)."""
        return self.end(payment, PaymentEvent.CANCEL, "cancelled")

    def awaits_execution(self, payment: Xs2aPayment) -> bool:
        """Whether ``payment`` is authorised and not executed yet: waiting for its date, a
        standing order whose schedule runs, or held by the bank (a rule's ACCP, PDNG).
        Such a payment is cancelled by a cancellation, which may need its own SCA."""
        status = self.transaction_status(payment)
        if payment.stopped:
            return False
        if status in (TransactionStatus.PDNG, TransactionStatus.ACCP):
            return True
        return status is TransactionStatus.ACTC and (
            payment.payment_id in self._waiting or payment.service is Service.PERIODIC
        )

    def cancellable(self, payment: Xs2aPayment) -> bool:
        """Whether ``payment`` can still be cancelled, or the error that says why not.

        True: its SCA never finished (nothing was sent on; cancelled without
        authorisation). False: authorised and waiting (future-dated, a periodic payment's
        schedule, held by the bank): a cancellation, which the profile may make need SCA.
        """
        status = self.transaction_status(payment)
        if status in (TransactionStatus.RCVD,):
            return True
        if self.awaits_execution(payment):
            return False
        if status in (
            TransactionStatus.ACSC,
            TransactionStatus.ACCC,
            TransactionStatus.RJCT,
            TransactionStatus.CANC,
            TransactionStatus.PART,
        ):
            raise FinalisedPayment(
                f"payment {payment.payment_id} is finalised already ({status.value}) and"
                " cannot be cancelled",
                code=self.profile.finalised_cancel_code,
            )
        raise CancellationInvalid(
            f"payment {payment.payment_id} is being executed ({status.value}): an"
            f" {payment.product} payment cannot be recalled once sent"
        )
