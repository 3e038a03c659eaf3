"""The STET PISP's steps: payment requests by redirect (with or without a debtor
account), decoupled and one-factor embedded SCA; approved, refused, cancelled, raced,
repeated."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import (
    precondition,
    rule,
)

from tests.serve.shared_banks.model import (
    AMOUNTS,
    EUR,
    EUR_CREDITORS,
    EUR_DEBTORS,
    FUTURE,
    MAX_ATTEMPTS,
    OTP,
    THEN,
    UNEXECUTED,
    Body,
    Model,
    Payment,
)
from tests.stet.support import NOK_URL as STET_NOK
from tests.stet.support import OK_URL as STET_OK
from tests.stet.support import payment_request
from tests.support.shared_banks import (
    OUTSIDE_IBAN,
    Phase,
    both,
    stet_phase,
)


class StetSteps(Model):
    """STET payment requests at either bank."""

    # -- STET -----------------------------------------------------------------------------

    @rule(
        debtor=st.one_of(EUR_DEBTORS, st.none()),
        creditor=EUR_CREDITORS,
        amount=AMOUNTS,
        approach=st.sampled_from(["REDIRECT", "DECOUPLED", "EMBEDDED-1-FACTOR"]),
        future=FUTURE,
        then=THEN,
    )
    def stet_payment(
        self,
        debtor: str | None,
        creditor: str,
        amount: str,
        approach: str,
        future: bool,
        then: str,
    ) -> None:
        """A payment request (future-dated: tomorrow at midnight); without a debtor
        account (REDIRECT only) Claire chooses one at dfspa. Then what happens at once."""
        owner, target = (None if debtor is None else self.accounts[debtor]), self.account(creditor)
        approach = approach if owner else "REDIRECT"
        due = self.tomorrow() if future else None
        payment = Payment("stet", owner.fsp_id if owner else "dfspa", owner, target,
                          Decimal(amount), "EUR", approach, self.now, due)  # fmt: skip
        body = payment_request(
            amount,
            debtor=owner.iban if owner else None,
            creditor=target.iban if target and target.iban else OUTSIDE_IBAN,
            approaches=(approach,),
            when=(due or self.now).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self._stet_created(payment, body, self.new_id())
        self._stet_act(then, payment)

    def _stet_created(self, payment: Payment, body: Body, request_id: str) -> None:
        created = self._run(
            self.banks.stet(payment.bank, "POST", "payment-requests", body,
                            **{"X-Request-ID": request_id})
        )  # fmt: skip
        assert created.status == 201, created
        assert created.body["appliedAuthenticationApproach"] == payment.how, created
        location = created.headers["Location"]
        payment.ref = location.rsplit("/", 1)[1]
        payment.intent = f"{payment.ref}-0"
        link = created.body.get("_links", {}).get("consentApproval", {}).get("href")
        payment.wire = {"body": body, "request_id": request_id, "location": location,
                        "link": link}  # fmt: skip
        self.track(payment)

    @precondition(lambda self: self.has("stet"))
    @rule(data=st.data())
    def stet_next(self, data: st.DataObject) -> None:
        """Next, for one STET payment request: the PSU approves or refuses it, the PISP
        cancels it, both at once, or the PISP sends the same request again."""
        chosen = self.next_act(
            data,
            "stet",
            {
                "approve": lambda p: p.phase is Phase.OPEN,
                "refuse": lambda p: p.phase is Phase.OPEN,
                "race": lambda p: (
                    p.phase is Phase.OPEN and p.how == "REDIRECT" and p.debtor is not None
                ),
                "cancel": lambda p: not p.forgettable,
                "repeat": lambda p: p.due is None or p.due >= self.now,
            },
        )
        if chosen is not None:
            self._stet_act(*chosen)

    def _stet_act(self, act: str, payment: Payment) -> None:
        acts: dict[str, Callable[[Payment], None]] = {
            "approve": self._stet_approve,
            "refuse": self._stet_refuse,
            "race": self._stet_race,
            "cancel": self._stet_cancel,
            "repeat": self._stet_repeat,
        }
        if act == "race" and (payment.how != "REDIRECT" or payment.debtor is None):
            act = "approve"  # a race needs the approval page and a named debtor account
        if act in acts:
            acts[act](payment)

    def _stet_repeat(self, first: Payment) -> None:
        """The same request and ``X-Request-ID`` again: STET has no idempotency key, so a
        second payment request (``reject_duplicate_payment_information_id`` is off)."""
        copy = first.again(self.now)
        self._stet_created(copy, first.wire["body"], first.wire["request_id"])
        assert copy.ref != first.ref

    def _stet_approve(self, payment: Payment) -> None:
        """The PSU approves: the headless approval page, the decision in their app, or the
        OTP relayed in ``confirmation`` (EMBEDDED-1-FACTOR)."""
        if payment.how == "REDIRECT":
            return self._stet_page_approve(payment)
        assert payment.debtor is not None
        if payment.how == "DECOUPLED":
            psu = payment.debtor.owner
            decided = self._run(self.banks.admin_decision(payment.ref, decision="approve", psu=psu))
            assert decided.status == 200, decided
        else:
            url, otp = payment.wire["location"] + "/confirmation", {"psuAuthenticationFactor": OTP}
            confirmed = self._run(self.banks.stet(payment.bank, "POST", url, otp))
            assert confirmed.status == 200, confirmed
        self.authorised(payment)

    def _stet_page_approve(self, payment: Payment) -> None:
        """Headless approval; without a debtor account the page pays from the first of
        Claire's accounts with the funds, and refuses (400) when none has them. A payment
        rejected at once sends the PSU to ``unsuccessfulReportUrl``."""
        link = payment.wire["link"]
        if payment.debtor is None:
            able = [a for a in EUR if self.accounts[a].owner == "claire"]
            able = [a for a in able if self.expected[a] >= payment.amount]
            answered = self._run(self.banks.page(link, sim_decision="approve", sim_psu="claire"))
            if not able:
                assert answered.status == 400, answered
                return
            payment.debtor, payment.chosen = self.accounts[able[0]], True
        else:
            psu = payment.debtor.owner
            answered = self._run(self.banks.page(link, sim_decision="approve", sim_psu=psu))
        self.authorised(payment)
        back = STET_NOK if payment.phase is Phase.REJECTED else STET_OK
        assert (answered.status, answered.body) == (302, back), (answered, payment)

    def _stet_refuse(self, payment: Payment) -> None:
        """The PSU denies (redirect, decoupled) or the PISP relays a wrong OTP (embedded:
        the last attempt rejects the request)."""
        if payment.how == "REDIRECT":
            answered = self._run(self.banks.page(payment.wire["link"], sim_decision="deny"))
            assert (answered.status, answered.body) == (302, STET_NOK), answered
            return self.end(payment, Phase.REJECTED)
        if payment.how == "DECOUPLED":
            decided = self._run(self.banks.admin_decision(payment.ref, decision="deny"))
            assert decided.status == 200, decided
            return self.end(payment, Phase.REJECTED)
        url, wrong = payment.wire["location"] + "/confirmation", {"psuAuthenticationFactor": "0"}
        said = self._run(self.banks.stet(payment.bank, "POST", url, wrong))
        assert (said.status, said.body["error"]) == (400, "PSU_AUTHENTICATION_FACTOR_INVALID")
        payment.attempts += 1
        if payment.attempts >= MAX_ATTEMPTS:
            self.end(payment, Phase.REJECTED)

    def _stet_cancel(self, payment: Payment) -> None:
        """``PUT`` with RJCT / DS02: before the approval, or approved and waiting for its
        date → RJCT DS02; executed or rejected → 400 STATUS_INVALID."""
        if payment.forgettable:
            return
        said = self._run(self.banks.stet_cancel(payment.bank, payment.wire["location"]))
        if payment.final:
            assert (said.status, said.body["error"]) == (400, "STATUS_INVALID"), said
            return
        assert said.status == 200, said
        self.end(payment, Phase.CANCELLED)

    def _stet_race(self, payment: Payment) -> None:
        """The PSU approves on the page while the PISP cancels: one of them wins, as in
        ``_xs2a_race`` (a STET request settling at another bank is refused 400 too)."""
        assert payment.debtor is not None
        psu = payment.debtor.owner
        approved, cancelled = self._run(
            both(
                self.banks.page(payment.wire["link"], sim_decision="approve", sim_psu=psu),
                self.banks.stet_cancel(payment.bank, payment.wire["location"]),
            )
        )
        if approved.status == 302:
            self.authorised(payment)
            back = STET_NOK if payment.phase is Phase.REJECTED else STET_OK
            assert approved.body == back, (approved, payment)
        if cancelled.status == 200:
            assert payment.phase in UNEXECUTED, (approved, payment)
            return self.end(payment, Phase.CANCELLED)
        assert approved.status == 302 and payment.final, (approved, cancelled, payment)
        assert (cancelled.status, cancelled.body["error"]) == (400, "STATUS_INVALID")

    def reported(self, payment: Payment) -> Phase | None:
        if payment.dialect != "stet":
            return super().reported(payment)
        stet = self._run(self.banks.stet_status(payment.bank, payment.wire["location"]))
        if stet is None:
            return None
        status, reason, debtor = stet
        if status == "ACSC":  # the account named, or the one the PSU chose
            assert payment.debtor is not None and debtor == {"iban": payment.debtor.iban}
        phase = stet_phase(status, reason)
        assert phase is not None, (stet, payment)
        return phase
