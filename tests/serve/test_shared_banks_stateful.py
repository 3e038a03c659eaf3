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
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import Phase as Stage
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.stet.support import CLAIRE, LOUIS, payment_request
from tests.stet.support import NOK_URL as STET_NOK
from tests.stet.support import OK_URL as STET_OK
from tests.support.flows import AUTHZ, TX, Credential
from tests.support.ledger_invariants import commits, ledger_problems, quiet_problems, totals
from tests.support.scheme import default_config_data
from tests.support.shared_banks import (
    FINAL,
    OUTSIDE_IBAN,
    UK_CONSENT_PHASES,
    XS2A_NOK,
    XS2A_OK,
    Banks,
    Phase,
    both,
    stet_phase,
    uk_consent_body,
    uk_payment_phases,
    xs2a_body,
    xs2a_headers,
    xs2a_phases,
)
from tpsim.core.bank import Account

T = TypeVar("T")
Body = dict[str, Any]

# The built-in config's accounts, by the dialects that can debit them
# (test_the_model_names_the_default_configs_accounts keeps them in step with it).
EUR = [
    "dfspa.erika.giro",
    "dfspa.luca.giro",
    "dfspa.claire.courant",
    "dfspa.claire.livret",
    "dfspb.max.giro",
    "dfspb.louis.courant",
]
GBP = ["dfspa.mits.current", "dfspa.mits.savings", "dfspa.rora.current", "dfspb.harry.current"]
USD: dict[str, Credential] = {"dfspa.alice.chequing": "FIDO", "dfspa.alice.savings": "GENERIC"}
BOB = "dfspb.bob.chequing"  # MSISDN 16135551212, the Mojaloop payee
OUTSIDE = "outside"  # a creditor no simulated bank holds
# Strategies lean (by repeats) towards what moves money, so that few examples go far:
# rich debtors, amounts most balances cover, the PSU approving, payments due today.
AMOUNTS = st.sampled_from(["10", "10", "0.5", "250", "250", "42.99", "999", "2600", "6000"])
EUR_DEBTORS = st.sampled_from(["dfspa.erika.giro", "dfspa.claire.courant", *EUR])
EUR_CREDITORS = st.sampled_from([*EUR, OUTSIDE])
GBP_DEBTORS = st.sampled_from(["dfspa.mits.current", "dfspa.rora.current", *GBP])
# Erika's EUR account, named by IBAN in a GBP payment: a creditor in another currency.
GBP_CREDITORS = st.sampled_from([*GBP, *GBP, OUTSIDE, "dfspa.erika.giro"])
FUTURE = st.sampled_from([False, False, True])
# What happens at once to a new payment (``wait``: nothing yet); the same acts come later
# too (``xs2a_next``…), but hypothesis's swarm testing turns whole rules off at times.
THEN = st.sampled_from(["approve", "approve", "wait", "refuse", "cancel", "race", "repeat"])
UK_THEN = st.sampled_from(["pay", "pay", "wait", "authorise", "deny", "pay-twice", "repeat"])
PASSWORDS = {"erika": "12345", "claire": "claire"}  # the others: the bank's default, "tpsim"
OTP = "123456"  # behaviour.psd2.otp
MAX_ATTEMPTS = 3  # behaviour.psd2.max_attempts
# The default config's lives (behaviour.*, the banks' PSD2 profiles).
RETENTION = timedelta(seconds=300)  # behaviour.retention_s
UK_KEY_WINDOW = timedelta(hours=24)  # obie keeps a key, and what it made, 24 h
XS2A_LINK = timedelta(seconds=600)  # redirect_url_expiration_time_ms
EXPIRY = {
    "xs2a": timedelta(hours=24),  # not_confirmed_payment_expiration_time_ms
    "obie": timedelta(hours=24),  # obie.consent_expiry_s
    "stet": timedelta(seconds=900),  # stet.approval_expiry_s
    "mojaloop": timedelta(seconds=60),  # quote_expiry_s (authorization_timeout_s: 100)
}
TOKEN_LIFE = timedelta(hours=1)  # a PSU's access token
SHORT, MIDNIGHT, DAY = "short", "midnight", "day"
ADVANCES = {SHORT: 1000.0, DAY: 90_000.0}  # MIDNIGHT: to the next midnight, and a second
MAX_ADVANCES = 3  # per run: time passing ends most of what is open
UNEXECUTED = (Phase.OPEN, Phase.WAITING)
# What a bank may decide of its own (the admin API's status), by dialect and the phase
# the payment is in; anything else is refused (409) and changes nothing.
BANK_MAY: dict[str, dict[str, tuple[Phase, ...]]] = {
    "xs2a": {"RJCT": UNEXECUTED, "CANC": UNEXECUTED, "ACSC": (Phase.WAITING,)},
    "obie": {"RJCT": UNEXECUTED},
    "stet": {"RJCT": UNEXECUTED},
}


@dataclass
class Payment:
    """One payment as the model sees it. ``ref`` is the dialect's id (paymentId,
    ConsentId, paymentRequestResourceId, transactionRequestId), ``intent`` the core
    intent's; ``creditor`` None is outside tpsim; ``how`` the SCA approach, UK version or
    Mojaloop credential; ``wire`` what its client needs again."""

    dialect: str
    bank: str
    debtor: Account | None  # None: the PSU chooses it at the bank (STET)
    creditor: Account | None
    amount: Decimal
    currency: str
    how: str
    created: datetime
    due: datetime | None = None  # a future execution date
    ref: str = ""
    intent: str | None = None
    phase: Phase = Phase.OPEN
    ended: datetime | None = None
    attempts: int = 0
    stale: bool = False  # XS2A: the redirect link expired (its next use fails it)
    forgettable: bool = False  # ended longer than the retention ago: may be forgotten
    advances: int = 0  # how many clock advances came before it
    chosen: bool = False  # the PSU chose the debtor account at the bank (STET)
    # An XS2A bulk payment: its entries (creditor, amount), whether it is booked as one,
    # and which entries settled once it executed.
    entries: list[tuple[Account | None, Decimal]] | None = None
    batch: bool = False
    settled: list[bool] = field(default_factory=list)
    wire: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.phase in FINAL

    @property
    def creditors(self) -> list[Account | None]:
        return [c for c, _ in self.entries] if self.entries else [self.creditor]

    def debits(self) -> list[tuple[str, bool]]:
        """Each core intent of the payment, and whether its money must have moved."""
        if self.entries is None:
            return [] if self.intent is None else [(self.intent, self.phase is Phase.SETTLED)]
        settled = self.settled or [False] * len(self.entries)
        return [(f"{self.ref}:{n}", paid) for n, paid in enumerate(settled, start=1)]

    def paid_outside(self) -> bool:
        """Whether some of its money went to an account nobody simulates."""
        paid = self.settled or [True] * len(self.creditors)
        return any(c is None for c, p in zip(self.creditors, paid, strict=True) if p)

    def again(self, now: datetime) -> Payment:
        """The same payment asked for again, now."""
        debtor = None if self.chosen else self.debtor
        return Payment(
            self.dialect, self.bank, debtor, self.creditor, self.amount, self.currency,
            self.how, now, self.due, entries=self.entries, batch=self.batch,
        )  # fmt: skip

    def __repr__(self) -> str:
        creditor = self.creditor.address if self.creditor else OUTSIDE
        if self.entries is not None:
            creditor = f"{len(self.entries)} entries"
        debtor = self.debtor.address if self.debtor else "(the PSU's choice)"
        return (
            f"<{self.dialect} {self.how} …{self.ref[-4:]} {self.amount} {self.currency}"
            f" {debtor} → {creditor}: {self.phase.value}>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints the short form


class SharedBanks(RuleBasedStateMachine):
    """The model and its rules (the module docstring). A rule per payment a client
    starts, then one per dialect for what happens next to one of its payments (so that
    hypothesis's swarm testing, which turns whole rules off, keeps every act in play)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.banks = self.loop.run_until_complete(Banks.start())
        bank = self.banks.bank
        self.accounts = dict(bank.accounts.items())
        self.expected = {a: bank.ledger.balance(a) for a in self.accounts}
        self.opening = totals(bank)
        self.left: dict[str, Decimal] = {}
        self.payments: list[Payment] = []
        self.dirty: dict[int, Payment] = {}
        self.advanced = 0
        self._ids = itertools.count(1)

    def teardown(self) -> None:
        try:
            self.dirty = {id(p): p for p in self.payments}
            self._check_reported()
        finally:
            self._run(self.banks.close())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    # -- the model ------------------------------------------------------------------------

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def new_id(self) -> str:
        """A fresh id (X-Request-ID, idempotency key, transactionRequestId), the same in
        every run of an example."""
        return str(uuid.UUID(int=next(self._ids), version=4))

    @property
    def now(self) -> datetime:
        return self.banks.now

    def account(self, address: str) -> Account | None:
        return None if address == OUTSIDE else self.accounts[address]

    def tomorrow(self) -> datetime:
        """The next midnight (UTC): when a payment dated tomorrow falls due."""
        return datetime.combine(self.now.date() + timedelta(days=1), time(0), tzinfo=UTC)

    def track(self, payment: Payment) -> Payment:
        payment.advances = self.advanced
        self.payments.append(payment)
        return self.touch(payment)

    def touch(self, payment: Payment) -> Payment:
        """``payment``'s reported status is checked after this step."""
        self.dirty[id(payment)] = payment
        return payment

    def end(self, payment: Payment, phase: Phase, at: datetime | None = None) -> None:
        payment.phase, payment.ended = phase, at or self.now

    @staticmethod
    def ruled_out(payment: Payment) -> bool:
        """Whether ``payment`` is refused whatever the funds: a sandbox rule (a PSD2 amount
        ending .99; a bulk payment's total), or a creditor held in another currency."""
        creditor = payment.creditor
        if creditor is not None and creditor.currency != payment.currency:
            return True
        return payment.dialect != "mojaloop" and str(payment.amount).endswith(".99")

    def execute(self, payment: Payment, at: datetime | None = None) -> Phase:
        """What executing ``payment`` does (``core.execution``): refused by a rule or for
        its creditor's currency, or for want of funds; else the money moves."""
        assert payment.debtor is not None
        if payment.entries is not None:
            return self._execute_bulk(payment, at)
        if self.ruled_out(payment) or self.expected[payment.debtor.address] < payment.amount:
            self.end(payment, Phase.REJECTED, at)
        else:
            self.pay(payment, at)
        return payment.phase

    def _execute_bulk(self, payment: Payment, at: datetime | None) -> Phase:
        """A bulk payment: a rule refuses all of it; booked as one, all of it or nothing;
        else each entry in order, as far as the funds go."""
        assert payment.debtor is not None and payment.entries is not None
        debtor = payment.debtor.address
        refused = self.ruled_out(payment)
        if payment.batch and self.expected[debtor] < payment.amount:
            refused = True
        payment.settled = []
        for creditor, amount in payment.entries:
            paid = not refused and self.expected[debtor] >= amount
            if paid:
                self.move(debtor, creditor, amount, payment.currency)
            payment.settled.append(paid)
        phase = Phase.PARTIAL if any(payment.settled) else Phase.REJECTED
        self.end(payment, Phase.SETTLED if all(payment.settled) else phase, at)
        return payment.phase

    def move(self, debtor: str, creditor: Account | None, amount: Decimal, currency: str) -> None:
        """``amount`` leaves ``debtor`` for ``creditor``, or for outside the scheme."""
        self.expected[debtor] -= amount
        if creditor is None:
            self.left[currency] = self.left.get(currency, Decimal(0)) + amount
        else:
            self.expected[creditor.address] += amount

    def pay(self, payment: Payment, at: datetime | None = None) -> None:
        assert payment.debtor is not None
        self.move(payment.debtor.address, payment.creditor, payment.amount, payment.currency)
        self.end(payment, Phase.SETTLED, at)

    def authorised(self, payment: Payment) -> None:
        """The PSU approved ``payment``: it waits for its date, or executes now."""
        if payment.due is not None and payment.due > self.now:
            payment.phase = Phase.WAITING
        else:
            self.execute(payment)

    def has(self, dialect: str) -> bool:
        return any(p.dialect == dialect for p in self.payments)

    def next_act(
        self, data: st.DataObject, dialect: str, acts: dict[str, Callable[[Payment], bool]]
    ) -> tuple[str, Payment] | None:
        """An act, then one of ``dialect``'s payments it applies to (None: none does)."""
        act = data.draw(st.sampled_from(sorted(acts)), label="act")
        found = [p for p in self.payments if p.dialect == dialect and acts[act](p)]
        if not found:
            return None
        return act, self.touch(data.draw(st.sampled_from(found), label="payment"))

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
        reported = self._reported(payment)
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

    def _check_reported(self) -> None:
        """The status each dialect reports for the payments touched since the last check
        is the model's phase (one ended and forgotten may be unknown)."""
        dirty, self.dirty = self.dirty, {}
        for payment in dirty.values():
            reported = self._reported(payment)
            if reported is None and payment.forgettable:
                continue
            assert reported is payment.phase, (reported, payment)

    def _reported(self, payment: Payment) -> Phase | None:
        """``payment``'s phase as its dialect reports it (None: it knows it no more)."""
        readers: dict[str, Callable[[Payment], Phase | None]] = {
            "xs2a": self._xs2a_reported,
            "obie": self._uk_reported,
            "stet": self._stet_reported,
            "mojaloop": self._mojaloop_reported,
        }
        return readers[payment.dialect](payment)

    def _xs2a_reported(self, payment: Payment) -> Phase | None:
        word = self._run(self.banks.xs2a_status(payment.wire["status"]))
        phases = xs2a_phases(outside=payment.paid_outside())
        assert word is None or word in phases, (word, payment)
        return None if word is None else phases[word]

    def _stet_reported(self, payment: Payment) -> Phase | None:
        stet = self._run(self.banks.stet_status(payment.bank, payment.wire["location"]))
        if stet is None:
            return None
        status, reason, debtor = stet
        if status == "ACSC":  # the account named, or the one the PSU chose
            assert payment.debtor is not None and debtor == {"iban": payment.debtor.iban}
        phase = stet_phase(status, reason)
        assert phase is not None, (stet, payment)
        return phase

    def _uk_reported(self, payment: Payment) -> Phase | None:
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

    def _mojaloop_reported(self, payment: Payment) -> Phase:
        """From the final callbacks: none yet is OPEN; every one (a duplicate request gets
        the last again) must say the same."""
        finals = self.banks.outcomes(payment.ref)
        completed = {(r.body or {}).get("transactionState") == "COMPLETED" for r in finals}
        assert len(completed) <= 1, finals
        if not finals:
            return Phase.OPEN
        return Phase.SETTLED if completed.pop() else Phase.REJECTED


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
