"""``core.bank``: an account is found by its address or any alias; users by bank and id."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tpsim.core.bank import BANK_OWNER, Account, Accounts, Bank, User, fee_account
from tpsim.core.errors import AliasTaken, UnknownAccount
from tpsim.core.ledger import PostingKind

ALICE = Account(
    "dfspa.alice.chequing",
    "dfspa",
    "alice",
    "EUR",
    "Alice's chequing",
    iban="DE89370400440532013000",
    sort_code_account_number="40203012345678",
    msisdn="447700900123",
)
BOB = Account("dfspb.bob.chequing", "dfspb", "bob", "EUR")


def bank() -> Bank:
    books = Bank()
    books.open_account(ALICE, Decimal(100))
    books.open_account(BOB)
    return books


@pytest.mark.parametrize(
    "name",
    ["dfspa.alice.chequing", "DE89370400440532013000", "40203012345678", "447700900123"],
)
def test_the_address_and_every_alias_find_the_account(name: str) -> None:
    accounts = bank().accounts
    assert accounts.find(name) == ALICE
    assert accounts.require(name) == ALICE


def test_an_unknown_name_finds_nothing() -> None:
    accounts = bank().accounts
    assert accounts.find("GB33BUKB20201555555555") is None
    with pytest.raises(UnknownAccount, match="no account is named nobody") as info:
        accounts.require("nobody")
    assert info.value.reason == "unknown-account"


def test_indexing_is_by_address_only() -> None:
    accounts = bank().accounts
    assert accounts["dfspa.alice.chequing"] == ALICE
    assert "DE89370400440532013000" not in accounts
    assert list(accounts) == [ALICE.address, BOB.address]
    assert len(accounts) == 2
    assert ALICE.aliases == ("DE89370400440532013000", "40203012345678", "447700900123")
    assert BOB.aliases == ()


@pytest.mark.parametrize(
    "clash",
    [
        Account("dfspa.alice.chequing", "dfspa", "eve", "EUR"),
        Account("dfspa.eve", "dfspa", "eve", "EUR", iban="DE89370400440532013000"),
        Account("dfspa.eve", "dfspa", "eve", "EUR", msisdn="dfspb.bob.chequing"),
    ],
    ids=["same address", "same alias", "alias is another's address"],
)
def test_a_name_names_one_account(clash: Account) -> None:
    books = bank()
    with pytest.raises(AliasTaken):
        books.open_account(clash, Decimal(5))
    assert len(books.accounts) == 2
    assert all(p.account != "dfspa.eve" for p in books.ledger.postings())


def test_accounts_held_by_a_user_at_a_bank() -> None:
    books = bank()
    savings = Account("dfspa.alice.savings", "dfspa", "alice", "EUR")
    books.open_account(savings)
    assert books.accounts.held_by("dfspa", "alice") == [ALICE, savings]
    assert books.accounts.held_by("dfspb", "alice") == []


def test_opening_an_account_posts_its_balance() -> None:
    books = bank()
    assert [(p.account, p.kind, p.amount) for p in books.ledger.postings()] == [
        (ALICE.address, PostingKind.OPEN, Decimal(100))
    ]
    assert books.ledger.available(BOB.address) == 0


def test_a_banks_fees_and_commissions_go_to_its_own_fee_account() -> None:
    """Opened the first time, in the currency of the fees; a commission larger than the
    fees takes it below zero; an address no configured account can have, no user owns."""
    books = bank()
    books.book_fees("dfspb", Decimal(0), currency="EUR", ref="t0")
    assert books.accounts.find(fee_account("dfspb", "EUR")) is None
    books.book_fees("dfspb", Decimal(3), currency="EUR", ref="t1")
    books.book_fees("dfspb", Decimal(-5), currency="EUR", ref="t2")
    fees = books.accounts[fee_account("dfspb", "EUR")]
    assert (fees.fsp_id, fees.owner, fees.currency) == ("dfspb", BANK_OWNER, "EUR")
    assert ":" in fees.address and books.accounts.held_by("dfspb", "bob") == [BOB]
    assert books.ledger.balance(fees.address) == Decimal(-2)
    assert [(p.kind, p.ref) for p in books.ledger.postings(fees.address)] == [
        (PostingKind.CREDIT, "t1"),
        (PostingKind.DEBIT, "t2"),
    ]


def test_accounts_rebuilt_from_the_store_keep_their_aliases() -> None:
    books = bank()
    assert Accounts(books.store).find("447700900123") == ALICE


def test_users_by_bank_and_id() -> None:
    books = bank()
    alice = User("alice", "dfspa", "Alice Adeyemi", channels=("WEB",))
    books.add_user(alice)
    assert books.user("dfspa", "alice") == alice
    assert books.user("dfspb", "alice") is None
