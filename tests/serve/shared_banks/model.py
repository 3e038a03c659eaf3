"""The shared banks' model: the accounts and amounts the machine draws from, a payment as
the model sees it, and what every dialect's steps share (``Model``): the expected
balances, the payments and their phases, and how executing one moves money."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
)

from tests.support.flows import Credential
from tests.support.ledger_invariants import totals
from tests.support.shared_banks import (
    FINAL,
    Banks,
    Phase,
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


class Model(RuleBasedStateMachine):
    """The model under every dialect's steps (``shared_banks.xs2a``…): each has a rule per
    payment its client starts, then one for what happens next to one of its payments (so
    that hypothesis's swarm testing, which turns whole rules off, keeps every act in play),
    and reads back the status its dialect reports (``reported``)."""

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

    def _check_reported(self) -> None:
        """The status each dialect reports for the payments touched since the last check
        is the model's phase (one ended and forgotten may be unknown)."""
        dirty, self.dirty = self.dirty, {}
        for payment in dirty.values():
            reported = self.reported(payment)
            if reported is None and payment.forgettable:
                continue
            assert reported is payment.phase, (reported, payment)

    def reported(self, payment: Payment) -> Phase | None:
        """``payment``'s phase as its dialect reports it (None: it knows it no more). Each
        dialect's steps answer for their payments and pass the others on (``super()``)."""
        raise NotImplementedError(f"no steps for {payment.dialect}")
