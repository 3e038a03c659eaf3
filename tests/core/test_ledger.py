"""``core.ledger``: money moves only by postings; nothing goes negative or appears from nowhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tpsim.core.bank import Account, Bank
from tpsim.core.errors import (
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    UnknownAccount,
    UnknownReservation,
)
from tpsim.core.ledger import Ledger, PostingKind

ALICE, BOB = "dfspa.alice", "dfspb.bob"


def bank(alice: str = "100", bob: str = "0") -> Bank:
    books = Bank()
    books.open_account(Account(ALICE, "dfspa", "alice", "USD"), Decimal(alice))
    books.open_account(Account(BOB, "dfspb", "bob", "USD"), Decimal(bob))
    return books


def figures(ledger: Ledger, account: str) -> tuple[str, str, str]:
    """(balance, reserved, available) as strings."""
    values = (ledger.balance(account), ledger.reserved(account), ledger.available(account))
    return tuple(format(v, "f") for v in values)  # type: ignore[return-value]


def test_opening_balances_are_postings() -> None:
    ledger = bank().ledger
    assert [(p.seq, p.account, p.amount, p.kind) for p in ledger.postings()] == [
        (1, ALICE, Decimal(100), PostingKind.OPEN)
    ]  # nothing is posted for a zero opening balance
    assert figures(ledger, BOB) == ("0", "0", "0")


# (operations, alice's (balance, reserved, available) afterwards, the kinds posted)
MOVES = [
    ("reserve", ["reserve 30"], ("100", "30", "70"), ["RESERVE"]),
    ("reserve, commit", ["reserve 30", "commit"], ("70", "0", "70"), ["RESERVE", "COMMIT"]),
    ("reserve, release", ["reserve 30", "release"], ("100", "0", "100"), ["RESERVE", "RELEASE"]),
    ("credit", ["credit 5"], ("105", "0", "105"), ["CREDIT"]),
    ("reserve all", ["reserve 100", "commit"], ("0", "0", "0"), ["RESERVE", "COMMIT"]),
]


@pytest.mark.parametrize(("ops", "after", "kinds"), [pytest.param(*m[1:], id=m[0]) for m in MOVES])
def test_moves(ops: list[str], after: tuple[str, str, str], kinds: list[str]) -> None:
    ledger = bank().ledger
    held = None
    for op in ops:
        verb, _, amount = op.partition(" ")
        if verb == "reserve":
            held = ledger.reserve(ALICE, Decimal(amount), currency="USD", ref="p1")
        elif verb == "credit":
            ledger.credit(ALICE, Decimal(amount), currency="USD", ref="t1")
        else:
            assert held is not None
            getattr(ledger, verb)(held)
    assert figures(ledger, ALICE) == after
    assert [p.kind for p in ledger.postings(ALICE)][1:] == kinds


# (case, operation, account, amount, currency, the refusal)
REFUSALS = [
    ("more than available", "reserve", ALICE, "100.01", "USD", InsufficientFunds),
    ("zero", "reserve", ALICE, "0", "USD", InvalidAmount),
    ("negative credit", "credit", BOB, "-1", "USD", InvalidAmount),
    ("negative debit", "debit", BOB, "-1", "USD", InvalidAmount),
    ("debit in another currency", "debit", BOB, "1", "EUR", CurrencyMismatch),
    ("not a number", "credit", BOB, "NaN", "USD", InvalidAmount),
    ("infinite", "reserve", ALICE, "Infinity", "USD", InvalidAmount),
    ("other currency", "reserve", ALICE, "1", "EUR", CurrencyMismatch),
    ("credit in another currency", "credit", BOB, "1", "EUR", CurrencyMismatch),
    ("unknown account", "credit", "nobody", "1", "USD", UnknownAccount),
]


def test_is_credited_names_the_ref_of_every_credit_and_nothing_else() -> None:
    ledger = bank().ledger
    ledger.credit(BOB, Decimal(5), currency="USD", ref="transfer-1")
    held = ledger.reserve(ALICE, Decimal(5), currency="USD", ref="intent-1")
    ledger.commit(held)
    assert ledger.is_credited("transfer-1")
    assert not ledger.is_credited("intent-1") and not ledger.is_credited("transfer-2")


def test_is_credited_knows_every_credits_ref_however_long_the_journal() -> None:
    """Asked on every aborted transfer: answered from the books kept as postings are
    applied (and rebuilt from the store), never by reading the journal of postings."""
    books = bank(alice="1000000")
    ledger = books.ledger
    for i in range(2000):
        held = ledger.reserve(ALICE, Decimal(1), currency="USD", ref=f"intent-{i}")
        (ledger.commit if i % 3 else ledger.release)(held)
        if i % 2:
            ledger.credit(BOB, Decimal(1), currency="USD", ref=f"transfer-{i}")
    scanned = {p.ref for p in ledger.postings() if p.kind is PostingKind.CREDIT}
    refs = {p.ref for p in ledger.postings()}  # every ref, credited or not
    assert len(ledger.postings()) > 5000 and len(scanned) == 1000
    rebuilt = Ledger(books.store)
    books.store.postings = _unread  # type: ignore[method-assign]
    for books_of in (ledger, rebuilt):
        assert {ref for ref in refs if books_of.is_credited(ref)} == scanned
        assert books_of.is_credited("transfer-1999") and books_of.is_credited("transfer-1")
        assert not books_of.is_credited("transfer-2") and not books_of.is_credited("intent-1")


def _unread() -> list[object]:
    raise AssertionError("is_credited() read the whole journal of postings")


def test_a_debit_leaves_at_once_and_may_overdraw() -> None:
    """Only a bank's own fee account is debited (a commission it pays); it may go below
    zero, as the bank's earnings do when commissions exceed fees."""
    ledger = bank().ledger
    ledger.debit(BOB, Decimal(2), currency="USD", ref="transfer-1")
    assert figures(ledger, BOB) == ("-2", "0", "-2")
    assert [p.kind for p in ledger.postings(BOB)] == [PostingKind.DEBIT]
    assert not ledger.is_credited("transfer-1")


@pytest.mark.parametrize(
    ("verb", "account", "amount", "currency", "error"),
    [pytest.param(*r[1:], id=r[0]) for r in REFUSALS],
)
def test_refusals_post_nothing(
    verb: str, account: str, amount: str, currency: str, error: type[Exception]
) -> None:
    ledger = bank().ledger
    before = ledger.postings()
    with pytest.raises(error):
        getattr(ledger, verb)(account, Decimal(amount), currency=currency, ref="x")
    assert ledger.postings() == before
    assert figures(ledger, ALICE) == ("100", "0", "100")
    assert figures(ledger, BOB) == ("0", "0", "0")


@pytest.mark.parametrize("read", ["balance", "reserved", "available"])
def test_figures_of_an_unknown_account_are_refused(read: str) -> None:
    with pytest.raises(UnknownAccount):
        getattr(bank().ledger, read)("nobody")


def test_insufficient_funds_says_what_was_needed_and_available() -> None:
    ledger = bank().ledger
    ledger.reserve(ALICE, Decimal(60), currency="USD", ref="p1")
    with pytest.raises(InsufficientFunds) as info:
        ledger.reserve(ALICE, Decimal(50), currency="USD", ref="p2")
    assert (info.value.account, info.value.needed, info.value.available) == (
        ALICE,
        Decimal(50),
        Decimal(40),
    )
    assert info.value.reason == "insufficient-funds"


@pytest.mark.parametrize("first", ["commit", "release"])
@pytest.mark.parametrize("second", ["commit", "release"])
def test_a_reservation_ends_once(first: str, second: str) -> None:
    ledger = bank().ledger
    held = ledger.reserve(ALICE, Decimal(10), currency="USD", ref="p1")
    getattr(ledger, first)(held)
    with pytest.raises(UnknownReservation):
        getattr(ledger, second)(held)
    assert ledger.reservations() == []


def test_a_forged_reservation_is_refused() -> None:
    ledger = bank().ledger
    held = ledger.reserve(ALICE, Decimal(10), currency="USD", ref="p1")
    forged = type(held)(held.seq, held.account, Decimal(100), held.ref)
    with pytest.raises(UnknownReservation):
        ledger.commit(forged)
    assert ledger.reservations() == [held]


def test_a_ledger_rebuilt_from_the_store_has_the_same_books() -> None:
    books = bank()
    held = books.ledger.reserve(ALICE, Decimal(10), currency="USD", ref="p1")
    books.ledger.reserve(ALICE, Decimal(20), currency="USD", ref="p2")
    books.ledger.commit(held)
    again = Ledger(books.store)
    assert figures(again, ALICE) == figures(books.ledger, ALICE) == ("90", "20", "70")
    assert [r.ref for r in again.reservations()] == ["p2"]


# -- properties: random sequences of operations ------------------------------------------

amounts = st.decimals(min_value=Decimal("-5"), max_value=Decimal(150), places=2)
operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "commit", "release", "credit"]), amounts, st.integers(0, 5)
    ),
    max_size=30,
)


@given(operations)
def test_no_balance_goes_negative_and_postings_explain_every_figure(
    ops: list[tuple[str, Decimal, int]],
) -> None:
    books = bank(alice="100", bob="0")
    ledger = books.ledger
    credited = Decimal(0)
    held = []
    for verb, amount, pick in ops:
        try:
            if verb == "reserve":
                held.append(ledger.reserve(ALICE, amount, currency="USD", ref="p"))
            elif verb == "credit":
                ledger.credit(ALICE, amount, currency="USD", ref="t")
                credited += amount
            elif held:
                getattr(ledger, verb)(held[pick % len(held)])
        except (InsufficientFunds, InvalidAmount, UnknownReservation):
            pass
        balance, reserved = ledger.balance(ALICE), ledger.reserved(ALICE)
        assert balance >= reserved >= 0
        assert ledger.available(ALICE) == balance - reserved
    postings = ledger.postings(ALICE)
    assert sum(p.balance_change for p in postings) == ledger.balance(ALICE)
    assert sum(p.available_change for p in postings) == ledger.available(ALICE)
    spent = sum(p.amount for p in postings if p.kind is PostingKind.COMMIT)
    # No money appears: what is there is the opening balance plus credits less what left.
    assert ledger.balance(ALICE) == Decimal(100) + credited - spent
    assert ledger.reserved(ALICE) == sum(r.amount for r in ledger.reservations())
    assert all(p.amount > 0 for p in postings)
