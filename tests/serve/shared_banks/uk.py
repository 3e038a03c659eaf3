"""The UK TPP's steps (v3.1 and v4.0): domestic payment consents authorised at the bank's
``/authorize`` and paid with the PSU's token, once, twice at once, or again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import (
    precondition,
    rule,
)

from tests.serve.shared_banks.model import (
    AMOUNTS,
    GBP_CREDITORS,
    GBP_DEBTORS,
    TOKEN_LIFE,
    UK_KEY_WINDOW,
    UK_THEN,
    Body,
    Model,
    Payment,
)
from tests.support.shared_banks import (
    UK_CONSENT_PHASES,
    Phase,
    both,
    uk_consent_body,
    uk_payment_phases,
)


class UkSteps(Model):
    """UK Open Banking domestic payments at either bank."""

    # -- UK Open Banking ------------------------------------------------------------------

    @rule(
        debtor=GBP_DEBTORS,
        creditor=GBP_CREDITORS,
        amount=AMOUNTS,
        version=st.sampled_from(["4.0", "3.1"]),
        then=UK_THEN,
    )
    def uk_payment(self, debtor: str, creditor: str, amount: str, version: str, then: str) -> None:
        """A domestic payment consent, then: authorised and paid (once, twice at the same
        moment, or once and again under the same keys), left to the PSU, only authorised,
        or denied."""
        owner, target = self.accounts[debtor], self.account(creditor)
        payment = Payment("obie", owner.fsp_id, owner, target, Decimal(amount), "GBP", version,
                          self.now)  # fmt: skip
        body, key = uk_consent_body(owner, target, amount), self.new_id()
        created = self._run(
            self.banks.uk_post(payment.bank, version, "domestic-payment-consents", body, key)
        )
        assert created.status == 201, created
        assert UK_CONSENT_PHASES[created.body["Data"]["Status"]] is Phase.OPEN, created
        payment.ref = payment.intent = created.body["Data"]["ConsentId"]
        payment.wire = {"consent": body, "consent_key": key}
        self.track(payment)
        if then == "repeat":
            self._uk_repeat_consent(payment)
        if then != "wait":
            self._uk_authorise(payment, approve=then != "deny")
        if then in ("pay", "repeat"):
            self._uk_pay(payment)
        if then == "repeat":
            self._uk_pay_again(payment, same_key=True)
        if then == "pay-twice":
            self._uk_pay_twice(payment)

    @precondition(lambda self: self.has("obie"))
    @rule(data=st.data())
    def uk_next(self, data: st.DataObject) -> None:
        """Next, for one UK consent: the PSU authorises or denies it, the TPP pays (once,
        twice at the same moment), asks for the consent or the payment again under the
        same key, or pays again under another."""
        live = self._token_lives
        chosen = self.next_act(
            data,
            "obie",
            {
                "authorise": lambda p: p.phase is Phase.OPEN,
                "deny": lambda p: p.phase is Phase.OPEN,
                "pay": lambda p: p.phase is Phase.WAITING,
                "pay-twice": lambda p: p.phase is Phase.WAITING and live(p),
                "repeat-consent": lambda p: self.now - p.created < UK_KEY_WINDOW,
                "pay-again": lambda p: "payment_id" in p.wire and live(p),
                "repeat-payment": lambda p: (
                    "payment_id" in p.wire
                    and live(p)
                    and self.now - p.wire["paid_at"] < UK_KEY_WINDOW
                ),
            },
        )
        if chosen is None:
            return
        act, payment = chosen
        acts: dict[str, Callable[[Payment], None]] = {
            "authorise": lambda p: self._uk_authorise(p, approve=True),
            "deny": lambda p: self._uk_authorise(p, approve=False),
            "pay": self._uk_pay,
            "pay-twice": self._uk_pay_twice,
            "repeat-consent": self._uk_repeat_consent,
            "pay-again": lambda p: self._uk_pay_again(p, same_key=False),
            "repeat-payment": lambda p: self._uk_pay_again(p, same_key=True),
        }
        acts[act](payment)

    def _token_lives(self, payment: Payment) -> bool:
        """Whether the PSU's token for ``payment`` still lives (or was never got)."""
        got: datetime = payment.wire.get("token_at", self.now)
        return self.now - got < TOKEN_LIFE

    def _uk_repeat_consent(self, payment: Payment) -> None:
        """The same consent request under the same ``x-idempotency-key``: the same
        consent (201), as it is now."""
        wire = payment.wire
        again = self._run(
            self.banks.uk_post(payment.bank, payment.how, "domestic-payment-consents",
                               wire["consent"], wire["consent_key"])
        )  # fmt: skip
        assert again.status == 201, again
        assert again.body["Data"]["ConsentId"] == payment.ref, again
        phase = UK_CONSENT_PHASES[again.body["Data"]["Status"]]
        consumed = phase is Phase.SETTLED and "payment_id" in wire
        assert phase is payment.phase or consumed, (again.body["Data"]["Status"], payment)

    def _uk_authorise(self, payment: Payment, *, approve: bool) -> None:
        """The PSU at the bank's ``/authorize``: a code (then the PSU's token), or
        ``access_denied`` and the consent rejected."""
        assert payment.debtor is not None
        decision = "approve" if approve else "deny"
        answered, token = self._run(
            self.banks.uk_authorise(payment.bank, payment.ref, decision, payment.debtor.owner)
        )
        assert answered.status == 302, answered
        if not approve:
            assert "error=access_denied" in answered.body, answered
            return self.end(payment, Phase.REJECTED)
        assert token is not None, answered
        payment.wire |= {"token": token, "token_at": self.now}
        payment.phase = Phase.WAITING

    def _uk_payment_body(self, payment: Payment) -> Body:
        initiation = payment.wire["consent"]["Data"]["Initiation"]
        return {"Data": {"ConsentId": payment.ref, "Initiation": initiation}, "Risk": {}}

    def _uk_pay(self, payment: Payment) -> None:
        """``POST /domestic-payments`` with the PSU's token: the consent's money moves."""
        body, key = self._uk_payment_body(payment), self.new_id()
        paid = self._run(
            self.banks.uk_post(payment.bank, payment.how, "domestic-payments", body, key,
                               payment.wire["token"])
        )  # fmt: skip
        if self.now - payment.wire["token_at"] >= TOKEN_LIFE:
            assert paid.status == 401, paid  # the PSU's token expired: nothing happens
            return
        assert paid.status == 201, paid
        self._uk_paid(payment, body, key, paid.body["Data"]["DomesticPaymentId"])

    def _uk_paid(self, payment: Payment, body: Body, key: str, payment_id: str) -> None:
        payment.wire |= {"payment": body, "payment_key": key, "paid_at": self.now,
                         "payment_id": payment_id}  # fmt: skip
        self.execute(payment)

    def _uk_pay_twice(self, payment: Payment) -> None:
        """Two payments on one consent at the same moment, under two keys: one is made
        (201), the other refused; the money moves once."""
        body, keys = self._uk_payment_body(payment), [self.new_id(), self.new_id()]
        bank, version, token = payment.bank, payment.how, payment.wire["token"]
        first, second = (
            self.banks.uk_post(bank, version, "domestic-payments", body, key, token) for key in keys
        )
        answers = self._run(both(first, second))
        made = [n for n, a in enumerate(answers) if a.status == 201]
        assert len(made) == 1, answers
        refused = answers[1 - made[0]]
        assert refused.status == (409 if version == "4.0" else 400), refused
        won = answers[made[0]].body["Data"]["DomesticPaymentId"]
        self._uk_paid(payment, body, keys[made[0]], won)

    def _uk_pay_again(self, payment: Payment, *, same_key: bool) -> None:
        """The payment again: under its ``x-idempotency-key`` the same payment (201),
        under a new one refused (v4.0: 409 U029; v3.1: 400 U009); no money moves."""
        wire = payment.wire
        key = wire["payment_key"] if same_key else self.new_id()
        again = self._run(
            self.banks.uk_post(payment.bank, payment.how, "domestic-payments", wire["payment"],
                               key, wire["token"])
        )  # fmt: skip
        if same_key:
            assert again.status == 201, again
            assert again.body["Data"]["DomesticPaymentId"] == wire["payment_id"], again
        else:
            assert again.status == (409 if payment.how == "4.0" else 400), again

    def reported(self, payment: Payment) -> Phase | None:
        if payment.dialect != "obie":
            return super().reported(payment)
        paid_id = payment.wire.get("payment_id")
        uk = self._run(self.banks.uk_status(payment.bank, payment.how, payment.ref, paid_id))
        if uk is None:
            return None
        consent, paid = uk
        phase = UK_CONSENT_PHASES[consent]
        assert (phase is Phase.SETTLED) == (paid is not None), (uk, payment)  # consumed
        if paid is None:
            return phase
        phases = uk_payment_phases(payment.how, outside=payment.paid_outside())
        assert paid in phases, (uk, payment)
        return phases[paid]
