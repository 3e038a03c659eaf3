"""The ledger: the one place money moves.

Each account (by address) has a booked ``balance`` and a ``reserved`` part held for
payments under way; ``available`` = balance − reserved is what may still be spent, and is
the balance tpsim shows users (admin API, scenarios): funds reserved for a transfer leave
it at once, as they leave a real account's available balance.

Money moves only by appending postings, each a positive amount of one kind:

    kind     balance   reserved   what happened
    OPEN     +                    the opening balance (config or fixtures)
    CREDIT   +                    money arrived (a payee's transfer, a settlement)
    RESERVE            +          funds held for a payment (``reserve``)
    RELEASE            −          a hold given back: the payment did not happen
    COMMIT   −         −          a hold spent: the money left the account
    DEBIT    −                    a DFSP paid out of its own fee account (``debit``)

A reservation never exceeds ``available``, so ``balance ≥ reserved ≥ 0`` always: no
customer's balance goes negative, and money appears only through an explicit OPEN or
CREDIT. The one exception is a DFSP's own fee account (``core.bank.Bank.book_fees``): it
is the bank's earnings, and goes below zero when the commissions it paid exceed the fees
it earned. A hold ends once, by COMMIT or RELEASE. Balances and open holds are derived
from the postings (replayed from the store when a ledger is built), so the postings are
the whole truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from tpsim.core.errors import (
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    UnknownAccount,
    UnknownReservation,
)
from tpsim.core.store import Store

ZERO = Decimal(0)


class PostingKind(StrEnum):
    OPEN = "OPEN"
    CREDIT = "CREDIT"
    RESERVE = "RESERVE"
    RELEASE = "RELEASE"
    COMMIT = "COMMIT"
    DEBIT = "DEBIT"


# How a posting's amount changes (balance, reserved) of its account: the table above.
EFFECT: dict[PostingKind, tuple[int, int]] = {
    PostingKind.OPEN: (1, 0),
    PostingKind.CREDIT: (1, 0),
    PostingKind.RESERVE: (0, 1),
    PostingKind.RELEASE: (0, -1),
    PostingKind.COMMIT: (-1, -1),
    PostingKind.DEBIT: (-1, 0),
}


@dataclass(frozen=True, slots=True)
class Posting:
    """One entry of the ledger. ``ref`` says why (a payment or transfer id); ``reservation``
    is the hold a RESERVE opens or a RELEASE / COMMIT ends (the RESERVE's ``seq``)."""

    seq: int
    account: str
    amount: Decimal
    kind: PostingKind
    ref: str
    at: datetime | None = None
    reservation: int | None = None

    @property
    def balance_change(self) -> Decimal:
        return self.amount * EFFECT[self.kind][0]

    @property
    def available_change(self) -> Decimal:
        booked, held = EFFECT[self.kind]
        return self.amount * (booked - held)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Funds held on ``account`` for ``ref``; ``seq`` is the RESERVE posting's."""

    seq: int
    account: str
    amount: Decimal
    ref: str


class Ledger:
    """Balances of the accounts in ``store``, moved only by postings appended to it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._balance: dict[str, Decimal] = {}
        self._reserved: dict[str, Decimal] = {}
        self._open: dict[int, Reservation] = {}
        # The ``ref`` of every CREDIT: asked on every aborted transfer and at restart, so
        # kept as postings are applied rather than found by reading the whole journal.
        self._credited: set[str] = set()
        for posting in store.postings():
            self._apply(posting)

    # -- reading ---------------------------------------------------------------------

    def balance(self, account: str) -> Decimal:
        """The booked balance of ``account`` (its address), reservations included."""
        self._currency(account)
        return self._balance.get(account, ZERO)

    def reserved(self, account: str) -> Decimal:
        self._currency(account)
        return self._reserved.get(account, ZERO)

    def available(self, account: str) -> Decimal:
        """What ``account`` may still spend: its balance less what is reserved."""
        return self.balance(account) - self.reserved(account)

    def postings(self, account: str | None = None) -> list[Posting]:
        """Every posting, oldest first; only ``account``'s when given."""
        every = self._store.postings()
        return [p for p in every if account is None or p.account == account]

    def is_credited(self, ref: str) -> bool:
        """Whether a credit was posted under ``ref`` (a payee's bank credits under the
        transfer's id: what tells a transfer paid from one whose answer was lost)."""
        return ref in self._credited

    def reservations(self) -> list[Reservation]:
        """The holds not yet committed or released, oldest first."""
        return list(self._open.values())

    def check_funds(self, account: str, amount: Decimal) -> None:
        """Raise ``InsufficientFunds`` unless ``account`` has ``amount`` available."""
        available = self.available(account)
        if amount > available:
            raise InsufficientFunds(account, amount, available)

    # -- moving money ----------------------------------------------------------------

    def open(self, account: str, amount: Decimal, *, at: datetime | None = None) -> None:
        """Give ``account`` its opening balance (nothing is posted for zero)."""
        self._currency(account)
        if amount != ZERO:
            self._post(account, _positive(amount), PostingKind.OPEN, "opening balance", at)

    def credit(
        self, account: str, amount: Decimal, *, currency: str, ref: str, at: datetime | None = None
    ) -> Posting:
        """Money in ``currency`` arrives on ``account``."""
        self._check_currency(account, currency)
        return self._post(account, _positive(amount), PostingKind.CREDIT, ref, at)

    def debit(
        self, account: str, amount: Decimal, *, currency: str, ref: str, at: datetime | None = None
    ) -> Posting:
        """Money in ``currency`` leaves ``account`` at once, even below zero: only for a
        DFSP's own fee account (``Bank.book_fees``), when it pays a commission. A
        customer's money leaves through ``reserve`` and ``commit``, which never overdraw."""
        self._check_currency(account, currency)
        return self._post(account, _positive(amount), PostingKind.DEBIT, ref, at)

    def reserve(
        self, account: str, amount: Decimal, *, currency: str, ref: str, at: datetime | None = None
    ) -> Reservation:
        """Hold ``amount`` of ``account``'s available funds for ``ref``, or refuse
        (``InsufficientFunds``, ``CurrencyMismatch``, ``UnknownAccount``, ``InvalidAmount``)."""
        self._check_currency(account, currency)
        self.check_funds(account, _positive(amount))
        posting = self._post(account, amount, PostingKind.RESERVE, ref, at)
        return self._open[posting.seq]

    def commit(self, reservation: Reservation, *, at: datetime | None = None) -> Posting:
        """Spend the hold: the money leaves the account. Refused for a hold that ended."""
        return self._end(reservation, PostingKind.COMMIT, at)

    def release(self, reservation: Reservation, *, at: datetime | None = None) -> Posting:
        """Give the hold back to the account's available funds. Refused for a hold that ended."""
        return self._end(reservation, PostingKind.RELEASE, at)

    # -- helpers ---------------------------------------------------------------------

    def _end(self, reservation: Reservation, kind: PostingKind, at: datetime | None) -> Posting:
        if self._open.get(reservation.seq) != reservation:
            raise UnknownReservation(reservation.seq)
        return self._post(
            reservation.account,
            reservation.amount,
            kind,
            reservation.ref,
            at,
            reservation=reservation.seq,
        )

    def _post(
        self,
        account: str,
        amount: Decimal,
        kind: PostingKind,
        ref: str,
        at: datetime | None,
        *,
        reservation: int | None = None,
    ) -> Posting:
        seq = len(self._store.postings()) + 1
        if kind is PostingKind.RESERVE:
            reservation = seq
        posting = Posting(seq, account, amount, kind, ref, at, reservation)
        self._store.append(posting)
        self._apply(posting)
        return posting

    def _apply(self, posting: Posting) -> None:
        """The one place balances change: from a posting, new or replayed."""
        booked, held = EFFECT[posting.kind]
        account, amount = posting.account, posting.amount
        self._balance[account] = self._balance.get(account, ZERO) + booked * amount
        self._reserved[account] = self._reserved.get(account, ZERO) + held * amount
        if posting.kind is PostingKind.CREDIT:
            self._credited.add(posting.ref)
        if posting.kind is PostingKind.RESERVE:
            self._open[posting.seq] = Reservation(posting.seq, account, amount, posting.ref)
        elif posting.reservation is not None:
            del self._open[posting.reservation]

    def _currency(self, account: str) -> str:
        found = self._store.account(account)
        if found is None:
            raise UnknownAccount(account)
        return found.currency

    def _check_currency(self, account: str, currency: str) -> None:
        held = self._currency(account)
        if held != currency:
            raise CurrencyMismatch(account, held, currency)


def _positive(amount: Decimal) -> Decimal:
    if not amount.is_finite() or amount <= ZERO:
        raise InvalidAmount(amount)
    return amount
