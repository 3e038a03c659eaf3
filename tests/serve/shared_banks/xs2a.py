"""The XS2A TPP's steps: single and bulk SEPA credit transfers by redirect, embedded and
decoupled SCA; approved, refused, cancelled, raced, repeated."""

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
    EUR_CREDITORS,
    EUR_DEBTORS,
    FUTURE,
    MAX_ATTEMPTS,
    OTP,
    PASSWORDS,
    THEN,
    UNEXECUTED,
    Body,
    Model,
    Payment,
)
from tests.support.shared_banks import (
    OUTSIDE_IBAN,
    XS2A_NOK,
    XS2A_OK,
    Phase,
    both,
    xs2a_body,
    xs2a_headers,
    xs2a_phases,
)


class Xs2aSteps(Model):
    """Berlin Group XS2A payments at either bank."""

    # -- XS2A -----------------------------------------------------------------------------

    @rule(
        debtor=EUR_DEBTORS,
        creditor=EUR_CREDITORS,
        amount=AMOUNTS,
        approach=st.sampled_from(["REDIRECT", "EMBEDDED", "DECOUPLED"]),
        future=FUTURE,
        then=THEN,
    )
    def xs2a_payment(
        self, debtor: str, creditor: str, amount: str, approach: str, future: bool, then: str
    ) -> None:
        """A SEPA credit transfer (future-dated: tomorrow), then what the PSU or the TPP
        does at once (``wait``: nothing yet)."""
        owner, target = self.accounts[debtor], self.account(creditor)
        due = self.tomorrow() if future else None
        payment = Payment("xs2a", owner.fsp_id, owner, target, Decimal(amount), "EUR", approach,
                          self.now, due)  # fmt: skip
        iban = target.iban if target and target.iban else OUTSIDE_IBAN
        day = None if due is None else due.date()
        body = xs2a_body(owner.iban or "", [(iban, amount)], due=day, batch=None)
        path = f"/xs2a/{owner.fsp_id}/v1/payments/sepa-credit-transfers"
        self._xs2a_initiated(payment, path, body, xs2a_headers(approach, owner.owner))
        self._xs2a_act(then, payment)

    @rule(
        debtor=EUR_DEBTORS,
        entries=st.lists(st.tuples(EUR_CREDITORS, AMOUNTS), min_size=1, max_size=3),
        batch=st.booleans(),
        then=THEN,
    )
    def xs2a_bulk(
        self, debtor: str, entries: list[tuple[str, str]], batch: bool, then: str
    ) -> None:
        """A bulk payment of up to three entries (``batchBookingPreferred`` or not) by
        redirect, then what happens at once."""
        owner = self.accounts[debtor]
        named = [(self.account(c), Decimal(a)) for c, a in entries]
        total = sum((a for _, a in named), Decimal(0))
        payment = Payment("xs2a", owner.fsp_id, owner, None, total, "EUR", "REDIRECT",
                          self.now, entries=named, batch=batch)  # fmt: skip
        ibans = [(c.iban if c and c.iban else OUTSIDE_IBAN, a) for (c, _), (_, a) in zip(
            named, entries, strict=True)]  # fmt: skip
        body = xs2a_body(owner.iban or "", ibans, due=None, batch=batch)
        path = f"/xs2a/{owner.fsp_id}/v1/bulk-payments/sepa-credit-transfers"
        self._xs2a_initiated(payment, path, body, xs2a_headers("REDIRECT", owner.owner))
        self._xs2a_act(then, payment)

    def _xs2a_initiated(
        self, payment: Payment, path: str, body: Body, headers: dict[str, str]
    ) -> None:
        headers = headers | {"X_Request_ID": headers.get("X_Request_ID") or self.new_id()}
        created = self._run(self.banks.xs2a("POST", path, body, **headers))
        assert created.status == 201, created
        assert created.body["transactionStatus"] == "RCVD", created
        payment.ref = payment.intent = created.body["paymentId"]
        links = created.body["_links"]
        payment.wire = {
            "path": path,
            "body": body,
            "headers": headers,
            "self": links["self"]["href"],
            "status": links["status"]["href"],
            "authorisation": links["scaStatus"]["href"],
            "redirect": links.get("scaRedirect", {}).get("href"),
        }
        self.track(payment)

    @precondition(lambda self: self.has("xs2a"))
    @rule(data=st.data())
    def xs2a_next(self, data: st.DataObject) -> None:
        """Next, for one XS2A payment: the PSU approves or refuses, the TPP cancels, both
        at once, or the TPP sends the same request again."""
        chosen = self.next_act(
            data,
            "xs2a",
            {
                "approve": lambda p: p.phase is Phase.OPEN,
                "refuse": lambda p: p.phase is Phase.OPEN,
                "race": lambda p: p.phase is Phase.OPEN and p.how == "REDIRECT" and not p.stale,
                "cancel": lambda p: not p.forgettable,
                "repeat": lambda p: p.due is None or p.due.date() >= self.now.date(),
            },
        )
        if chosen is not None:
            self._xs2a_act(*chosen)

    def _xs2a_act(self, act: str, payment: Payment) -> None:
        acts: dict[str, Callable[[Payment], None]] = {
            "approve": self._xs2a_approve,
            "refuse": self._xs2a_refuse,
            "race": self._xs2a_race,
            "cancel": self._xs2a_cancel,
            "repeat": self._xs2a_repeat,
        }
        if act == "race" and (payment.how != "REDIRECT" or payment.stale):
            act = "approve"  # a race needs the redirect link (embedded takes three steps)
        if act in acts:
            acts[act](payment)

    def _xs2a_repeat(self, first: Payment) -> None:
        """The same request under the same ``X-Request-ID``: Berlin Group makes it a second
        payment (``idempotent_x_request_id`` is off in the default profile)."""
        copy, wire = first.again(self.now), first.wire
        self._xs2a_initiated(copy, wire["path"], wire["body"], wire["headers"])
        assert copy.ref != first.ref

    def _xs2a_approve(self, payment: Payment) -> None:
        """The PSU approves: the headless redirect link, the decision in their app, or the
        embedded password, method and TAN."""
        assert payment.debtor is not None
        psu = payment.debtor.owner
        if payment.how == "REDIRECT":
            answered = self._run(self.banks.page(payment.wire["redirect"], sim_decision="approve"))
            if payment.stale:  # the link expired: the authorisation fails with it
                assert answered.status == 409, answered
                return self.end(payment, Phase.REJECTED)
            assert (answered.status, answered.body) == (302, XS2A_OK), answered
        elif payment.how == "DECOUPLED":
            authorisation = payment.wire["authorisation"].rsplit("/", 1)[1]
            decided = self._run(self.banks.admin_decision(authorisation, decision="approve"))
            assert (decided.status, decided.body["status"]) == (200, "finalised"), decided
        else:
            password = PASSWORDS.get(psu, "tpsim")
            step = payment.wire["authorisation"]
            said = self._run(self.banks.xs2a_embedded(step, psu, password, OTP))
            assert (said.status, said.body["scaStatus"]) == (200, "finalised"), said
        self.authorised(payment)

    def _xs2a_refuse(self, payment: Payment) -> None:
        """The PSU denies (redirect, decoupled) or types a wrong password (embedded: the
        last attempt fails the authorisation, and the payment is rejected)."""
        assert payment.debtor is not None
        if payment.how == "REDIRECT":
            answered = self._run(self.banks.page(payment.wire["redirect"], sim_decision="deny"))
            expected = (409, answered.body) if payment.stale else (302, XS2A_NOK)
            assert (answered.status, answered.body) == expected, answered
            return self.end(payment, Phase.REJECTED)
        if payment.how == "DECOUPLED":
            authorisation = payment.wire["authorisation"].rsplit("/", 1)[1]
            decided = self._run(self.banks.admin_decision(authorisation, decision="deny"))
            assert (decided.status, decided.body["status"]) == (200, "failed"), decided
            return self.end(payment, Phase.REJECTED)
        wrong = {"psuData": {"password": "wrong"}}
        step, psu = payment.wire["authorisation"], payment.debtor.owner
        said = self._run(self.banks.xs2a("PUT", step, wrong, PSU_ID=psu))
        assert said.status == 401, said
        assert said.body["tppMessages"][0]["code"] == "PSU_CREDENTIALS_INVALID", said
        payment.attempts += 1
        if payment.attempts >= MAX_ATTEMPTS:
            self.end(payment, Phase.REJECTED)

    def _xs2a_cancel(self, payment: Payment) -> None:
        """``DELETE``: unauthorised, or authorised and waiting for its date → 204 CANC;
        finalised → 400 FORMAT_ERROR."""
        if payment.forgettable:
            return
        said = self._run(self.banks.xs2a("DELETE", payment.wire["self"]))
        if payment.final:
            assert said.status == 400, said
            assert said.body["tppMessages"][0]["code"] == "FORMAT_ERROR", said
            return
        assert said.status == 204, said
        self.end(payment, Phase.CANCELLED)

    def _xs2a_race(self, payment: Payment) -> None:
        """The PSU approves while the TPP cancels, at the same moment: one of them wins.
        Cancelled first, the approval is refused; approved first, the cancellation is
        refused (405 while it settles at another bank), unless the payment waits for its
        date (cancelled after its authorisation). Never a payment executed and a 204."""
        approved, deleted = self._run(
            both(
                self.banks.page(payment.wire["redirect"], sim_decision="approve"),
                self.banks.xs2a("DELETE", payment.wire["self"]),
            )
        )
        if approved.status == 302:
            assert approved.body == XS2A_OK, approved
            self.authorised(payment)
        if deleted.status == 204:
            assert payment.phase in UNEXECUTED, (approved, payment)
            return self.end(payment, Phase.CANCELLED)
        assert approved.status == 302 and payment.final, (approved, deleted, payment)
        elsewhere = any(c is not None and c.fsp_id != payment.bank for c in payment.creditors)
        assert deleted.status in ((400, 405) if elsewhere else (400,)), (deleted, payment)

    def reported(self, payment: Payment) -> Phase | None:
        if payment.dialect != "xs2a":
            return super().reported(payment)
        word = self._run(self.banks.xs2a_status(payment.wire["status"]))
        phases = xs2a_phases(outside=payment.paid_outside())
        assert word is None or word in phases, (word, payment)
        return None if word is None else phases[word]
