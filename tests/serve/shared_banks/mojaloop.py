"""The Mojaloop PISP's steps: Third Party transfers from Alice's linked accounts to Bob,
signed (FIDO or GENERIC), rejected, or sent again."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import (
    precondition,
    rule,
)

from tests.serve.shared_banks.model import (
    AMOUNTS,
    BOB,
    USD,
    Model,
    Payment,
)
from tests.support.flows import AUTHZ, TX, Credential
from tests.support.shared_banks import (
    Phase,
)


class MojaloopSteps(Model):
    """Mojaloop Third Party transfers through the switch."""

    # -- Mojaloop -------------------------------------------------------------------------

    @rule(
        payer=st.sampled_from(sorted(USD)),
        amount=AMOUNTS,
        then=st.sampled_from(["approve", "approve", "wait", "reject"]),
    )
    def mojaloop_transfer(self, payer: str, amount: str, then: str) -> None:
        """A Third Party transfer to Bob (dfspb) from Alice's linked account, up to the
        authorization request (the error callback when her funds do not cover it), then
        signed, left waiting, or rejected by her."""
        request_id = self.new_id()
        payment = Payment("mojaloop", "dfspa", self.accounts[payer], self.accounts[BOB],
                          Decimal(amount), "USD", USD[payer], self.now, ref=request_id)  # fmt: skip
        self.track(payment)
        sent = self._run(self.banks.transfer(request_id, payer, amount))
        assert sent.status == 202, sent
        callbacks = self.banks.callbacks(request_id)
        received = [r for r in callbacks if (r.method, r.path) == ("PUT", f"{TX}/{request_id}")]
        if received:  # RECEIVED, with the transactionId its core intent is kept under
            payment.intent = (received[0].body or {}).get("transactionId")
        if self.expected[payer] < payment.amount:
            (refused,) = self.banks.outcomes(request_id)
            assert refused.error_code == "4001", refused  # insufficient funds
            return self.end(payment, Phase.REJECTED)
        (authorization,) = [r for r in callbacks if (r.method, r.path) == ("POST", AUTHZ)]
        payment.wire = {"authorization": authorization}
        if then != "wait":
            self._mojaloop_answer(payment, accept=then == "approve")

    @precondition(lambda self: self.has("mojaloop"))
    @rule(data=st.data())
    def mojaloop_next(self, data: st.DataObject) -> None:
        """Next, for one transfer: Alice signs or rejects it, or the PISP sends the same
        request again (an FSPIOP duplicate: answered with what the first got, and
        nothing moves again)."""
        chosen = self.next_act(
            data,
            "mojaloop",
            {
                "sign": lambda p: p.phase is Phase.OPEN,
                "reject": lambda p: p.phase is Phase.OPEN,
                # only before the clock moves: its expiration may have passed since
                "repeat": lambda p: p.advances == self.advanced,
            },
        )
        if chosen is None:
            return
        act, payment = chosen
        if act != "repeat":
            return self._mojaloop_answer(payment, accept=act == "sign")
        assert payment.debtor is not None
        sent = self._run(
            self.banks.transfer(payment.ref, payment.debtor.address, str(payment.amount))
        )
        assert sent.status == 202, sent

    def _mojaloop_answer(self, payment: Payment, *, accept: bool) -> None:
        credential: Credential = "FIDO" if payment.how == "FIDO" else "GENERIC"
        authorization = payment.wire["authorization"]
        answered = self._run(
            self.banks.answer_authorization(authorization, credential, accept=accept)
        )
        assert answered.status == 200, answered
        if accept:
            self.execute(payment)
        else:
            self.end(payment, Phase.REJECTED)

    def reported(self, payment: Payment) -> Phase | None:
        """From the final callbacks: none yet is OPEN; every one (a duplicate request gets
        the last again) must say the same."""
        if payment.dialect != "mojaloop":
            return super().reported(payment)
        finals = self.banks.outcomes(payment.ref)
        completed = {(r.body or {}).get("transactionState") == "COMPLETED" for r in finals}
        assert len(completed) <= 1, finals
        if not finals:
            return Phase.OPEN
        return Phase.SETTLED if completed.pop() else Phase.REJECTED
