"""The shared simulated banks, model-based: every dialect at once over one served tpsim.

A hypothesis ``RuleBasedStateMachine`` plays an XS2A TPP, a UK TPP (v3.1 and v4.0), a STET
PISP and a Mojaloop PISP against one tpsim on its built-in default config, over real HTTP
on loopback with headless SCA (``tests.support.shared_banks``). Payments (XS2A single and
bulk, UK domestic, STET, Mojaloop Third Party transfers) go from every debtor account a
dialect can name to creditors at the same bank, at the other bank and outside tpsim, for
amounts within and beyond the balance and the sandbox's ``.99``. Then they are approved,
refused (a denial, wrong credentials up to the last attempt), cancelled before and after
authorisation (future-dated), approved and cancelled at the same moment, repeated under
the same idempotency key or ``X-Request-ID``, decided by the bank (the admin API), and
overtaken by the clock (expiries, execution dates, retention).

The model keeps every account's expected balance and each payment's phase, and predicts
each outcome (a rule's refusal, a creditor in another currency, the funds). After every
step, once the router has drained, it checks:

- money is conserved per currency: the balances and what left for accounts no simulated
  bank holds add up to the opening total; every balance is the model's (the admin API's
  too), never below its reservations, and no hold is left open;
- no intent that ended holds a reservation, none is left executing, none is debited twice;
- every HTTP answer is below 500, each 4xx in its dialect's coded error body;
- the status each dialect reports for the payments the step touched is the model's
  phase, and the ledger agrees with it (settled: debited exactly once; else never).

At the end of each run every payment's status is read again, and every body tpsim sent
is checked against the official OpenAPI (XS2A, UK, Mojaloop) or tpsim's STET models.

The model and each dialect's steps are in ``tests.serve.shared_banks``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import Phase as Stage
from hypothesis import strategies as st
from hypothesis.stateful import (
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.serve.shared_banks.model import (
    ADVANCES,
    BANK_MAY,
    BOB,
    DAY,
    EUR,
    EXPIRY,
    GBP,
    MAX_ADVANCES,
    MIDNIGHT,
    OTP,
    RETENTION,
    SHORT,
    UK_KEY_WINDOW,
    USD,
    XS2A_LINK,
    Payment,
)
from tests.serve.shared_banks.mojaloop import MojaloopSteps
from tests.serve.shared_banks.stet import StetSteps
from tests.serve.shared_banks.uk import UkSteps
from tests.serve.shared_banks.xs2a import Xs2aSteps
from tests.stet.support import CLAIRE, LOUIS, payment_request
from tests.support.ledger_invariants import commits, ledger_problems, quiet_problems, totals
from tests.support.scheme import default_config_data
from tests.support.shared_banks import (
    XS2A_OK,
    Banks,
    Phase,
    xs2a_body,
)


class SharedBanks(Xs2aSteps, UkSteps, StetSteps, MojaloopSteps):
    """The model with every dialect's steps (``tests.serve.shared_banks``), and what no
    one dialect owns: the bank's own decisions, the clock and the invariants."""

    # -- the bank's own decision ----------------------------------------------------------

    @precondition(lambda self: any(p.dialect != "mojaloop" for p in self.payments))
    @rule(data=st.data(), status=st.sampled_from(["RJCT", "CANC", "ACSC"]))
    def bank_decides(self, data: st.DataObject, status: str) -> None:
        """``POST /admin/psd2/intents/{id}/status``: the bank rejects or cancels what has
        not executed (STET and UK: only rejects), or executes an authorised XS2A payment
        now (one waiting for its date); anything else is 409 and changes nothing."""
        psd2 = [p for p in self.payments if p.dialect != "mojaloop"]
        payment = self.touch(data.draw(st.sampled_from(psd2), label="payment"))
        if payment.forgettable:
            return
        said = self._run(self.banks.force(payment.ref, status))
        if payment.phase not in BANK_MAY[payment.dialect].get(status, ()):
            assert said.status == 409, (said, payment)
            return
        assert said.status == 200, (said, payment)
        if status == "ACSC":
            self.execute(payment)
        else:
            self.end(payment, Phase.CANCELLED if status == "CANC" else Phase.REJECTED)

    # -- the clock ------------------------------------------------------------------------

    @precondition(lambda self: self.advanced < MAX_ADVANCES)
    @rule(how=st.sampled_from([SHORT, MIDNIGHT, DAY]))
    def advance_clock(self, how: str) -> None:
        """Time passes (1000 s, to just past midnight, or 25 h): what waits for the PSU
        expires, future-dated payments fall due, ended ones may be forgotten."""
        seconds = ADVANCES.get(how) or (self.tomorrow() - self.now).total_seconds() + 1
        moved = self._run(self.banks.advance(seconds))
        assert moved.status == 200, moved
        self._run(self.banks.scheme.settle())
        self.advanced += 1
        for payment in self.payments:
            if not payment.final:
                self._expire(self.touch(payment))
        self._execute_due()
        for payment in self.payments:
            keep = UK_KEY_WINDOW if payment.dialect == "obie" else RETENTION
            ended = payment.ended
            payment.forgettable = ended is not None and self.now >= ended + keep

    def _expire(self, payment: Payment) -> None:
        """An unanswered payment past its dialect's deadline is rejected (a UK consent
        also when authorised and unused); an XS2A redirect link lives 10 minutes."""
        deadline = payment.created + EXPIRY[payment.dialect]
        waits = payment.phase is Phase.OPEN or payment.dialect == "obie"
        if waits and self.now >= deadline:
            self.end(payment, Phase.REJECTED, deadline)
        elif payment.dialect == "xs2a" and payment.phase is Phase.OPEN:
            payment.stale = payment.how == "REDIRECT" and self.now >= payment.created + XS2A_LINK

    def _execute_due(self) -> None:
        """Execute what fell due, each at its date. The banks choose their order: where it
        decides an outcome (a debtor whose payments due together do not all fit, or who
        is credited by another of them) the dialect's status says which were paid (the
        ledger, once the dialect has forgotten it), and the balances must agree."""
        due = [p for p in self.payments if p.phase is Phase.WAITING and p.due and p.due <= self.now]
        debits: dict[str, list[Payment]] = {}
        for payment in due:
            assert payment.debtor is not None
            debits.setdefault(payment.debtor.address, []).append(payment)
        credited = {c.address for p in due for c in p.creditors if c is not None}
        for payment in sorted(due, key=lambda p: (p.due, p.created)):
            assert payment.debtor is not None and payment.due is not None
            mine = debits[payment.debtor.address]
            total = sum((p.amount for p in mine), Decimal(0))
            known = total <= self.expected[payment.debtor.address] or len(mine) == 1
            if self.ruled_out(payment) or (known and payment.debtor.address not in credited):
                self.execute(payment, payment.due)
            elif self._observed(payment) is Phase.SETTLED:
                self.pay(payment, payment.due)
            else:
                self.end(payment, Phase.REJECTED, payment.due)

    def _observed(self, payment: Payment) -> Phase:
        """How ``payment``'s execution ended, as its dialect reports it, or as the ledger
        shows it once the dialect has forgotten it."""
        reported = self.reported(payment)
        if reported is None:
            assert payment.intent is not None
            spent = commits(self.banks.bank)[payment.intent]
            return Phase.SETTLED if spent else Phase.REJECTED
        assert reported in (Phase.SETTLED, Phase.REJECTED), (reported, payment)
        return reported

    # -- the invariants -------------------------------------------------------------------

    @invariant()
    def money_and_state_agree(self) -> None:
        """The module docstring's checks, after every step."""
        self._run(self.banks.scheme.settle())
        bank = self.banks.bank
        assert not self.banks.problems, self.banks.problems
        broken = ledger_problems(bank, self.opening, self.left) + quiet_problems(bank)
        assert not broken, broken
        booked = {a: bank.ledger.balance(a) for a in self.accounts}
        wrong = {a: (b, self.expected[a]) for a, b in booked.items() if b != self.expected[a]}
        assert not wrong, f"(ledger, model) balances {wrong} after {self.payments}"
        assert self._run(self.banks.admin_accounts()) == self.expected
        spent = commits(bank)
        for payment in self.payments:
            for intent, paid in payment.debits():
                assert spent[intent] == int(paid), (intent, spent[intent], payment)
        self._check_reported()


def test_the_model_names_the_default_configs_accounts() -> None:
    """The machine's account lists are the built-in config's (a renamed account would
    otherwise only fail inside the machine)."""
    accounts = {a["address"]: a for a in default_config_data()["accounts"]}
    assert {*EUR, *GBP, *USD, BOB} <= set(accounts)
    assert all(accounts[a].get("iban") and accounts[a]["currency"] == "EUR" for a in EUR)
    assert all(accounts[a].get("sort_code_account_number") for a in GBP)


# A passing run takes about 10 s; a failing one needs longer to shrink to its few steps.
@pytest.mark.timeout(300)
def test_the_shared_banks_keep_money_and_state_consistent() -> None:
    run_state_machine_as_test(
        SharedBanks,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,  # the same examples on every run: CI is stable
            database=None,
            # No "explain" stage: tracing every line of a failing run slows its shrinking
            # several times over, and the shrunk steps say enough.
            phases=[Stage.explicit, Stage.reuse, Stage.generate, Stage.shrink],
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- what the machine found (fixed since: c4f4c84, b153282) ---------------------------------


async def test_cancelling_an_approved_request_again_is_refused() -> None:
    """A STET request cancelled before its approval answers a second cancellation with 400
    STATUS_INVALID ("RJCT already: there is nothing to cancel"); one cancelled after its
    approval (future-dated, so waiting to execute) answers the same (it answered 200,
    having cancelled nothing)."""
    banks = await Banks.start()
    try:
        due = (banks.now + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
        body = payment_request(
            "1", debtor=CLAIRE, creditor=LOUIS, approaches=("EMBEDDED-1-FACTOR",), when=due
        )
        created = await banks.stet("dfspa", "POST", "payment-requests", body)
        location = created.headers["Location"]
        otp = {"psuAuthenticationFactor": OTP}
        confirmed = await banks.stet("dfspa", "POST", f"{location}/confirmation", otp)
        assert confirmed.body["paymentRequest"]["paymentInformationStatus"] == "ACCP"
        first = await banks.stet_cancel("dfspa", location)
        second = await banks.stet_cancel("dfspa", location)
        assert (first.status, second.status) == (200, 400)
    finally:
        await banks.close()


async def test_a_late_transfer_answer_does_not_create_money() -> None:
    """An XS2A payment to another simulated bank settles by quote and transfer through the
    switch. When dfspb has credited Max but its ``PUT /transfers`` COMMITTED comes after
    the quote's expiry (a message rule delays it), the payment must not end with Erika's
    debit given back (the settler failed it at the quote's expiry, and so created money):
    it settles, however late, as the Mojaloop transaction does."""
    slow = {"receiver": "dfspb", "method": "POST", "path": "/transfers"}
    banks = await Banks.start(rules=[{"name": "slow", "when": slow, "then": {"delay_s": 120}}])
    try:
        opening = totals(banks.bank)
        erika, max_ = "DE89370400440532013000", "DE02120300000000202051"  # dfspa, dfspb
        body = xs2a_body(erika, [(max_, "42")], due=None, batch=None)
        path = "/xs2a/dfspa/v1/payments/sepa-credit-transfers"
        created = await banks.xs2a("POST", path, body, TPP_Redirect_URI=XS2A_OK)
        await banks.page(created.body["_links"]["scaRedirect"]["href"], sim_decision="approve")
        await banks.advance(61)  # past the quote's expiry (quote_expiry_s: 60)
        await banks.advance(60)  # dfspb's answer, at last
        await banks.scheme.settle()
        assert ledger_problems(banks.bank, opening, {}) == []
        assert await banks.xs2a_status(created.body["_links"]["status"]["href"]) == "ACCC"
        paid = [banks.scheme.balance(a) for a in ("dfspa.erika.giro", "dfspb.max.giro")]
        assert paid == ["4958", "42"]
    finally:
        await banks.close()
