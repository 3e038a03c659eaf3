"""The simulated bank: accounts and their aliases, users, the ledger and payment intents.

One ``Bank`` holds the books of every simulated bank of a scheme (each account and user
says which by its ``fsp_id``, the id config, URLs and the Mojaloop scheme give a bank), so
a payment between two simulated banks moves money within one ledger.

An account is named by its address (the Mojaloop ``AccountAddress``) or by any of its
aliases (IBAN, UK sort code + account number, the MSISDN of the party it belongs to):
``Accounts.find`` accepts each; indexing an ``Accounts`` by address is a plain mapping.

Each bank also has its own fee account per currency (``fee_account``), opened the first
time it books a fee or pays a commission: what a payer pays and a payee receives differ
by the payee bank's fee less its commission, and that difference is the bank's, so the
scheme's money is conserved. Its address holds ``:``, which no configured address
(an FSPIOP ``AccountAddress``) may, and its owner is no user, so no customer sees it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tpsim.core.errors import AliasTaken, UnknownAccount
from tpsim.core.ledger import Ledger
from tpsim.core.payment import Payments
from tpsim.core.store import MemoryStore, Store


@dataclass(frozen=True, slots=True)
class Account:
    """An account of the bank ``fsp_id``, owned by the user ``owner``."""

    address: str
    fsp_id: str
    owner: str
    currency: str
    nickname: str = "Account"
    iban: str | None = None
    sort_code_account_number: str | None = None
    msisdn: str | None = None

    @property
    def aliases(self) -> tuple[str, ...]:
        """The names besides its address that find this account."""
        names = (self.iban, self.sort_code_account_number, self.msisdn)
        return tuple(name for name in names if name)


@dataclass(frozen=True, slots=True)
class User:
    """A customer of the bank ``fsp_id``: the ``owner`` of accounts, who signs in with
    ``password`` (None: the bank's default) over ``channels`` (None: the bank's)."""

    user_id: str
    fsp_id: str
    name: str | None = None
    password: str | None = None
    channels: tuple[str, ...] | None = None


class Accounts(Mapping[str, Account]):
    """The accounts in ``store`` by address; ``find`` also by alias."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._aliases: dict[str, str] = {}
        for account in store.accounts():
            self._index(account)

    def add(self, account: Account) -> None:
        """Keep ``account``; ``AliasTaken`` when its address or an alias names another."""
        for name in (account.address, *account.aliases):
            holder = self.find(name)
            if holder is not None:
                raise AliasTaken(name, holder.address)
        self._store.add_account(account)
        self._index(account)

    def find(self, name: str) -> Account | None:
        """The account whose address or alias is ``name``, None when there is none."""
        return self._store.account(self._aliases.get(name, name))

    def require(self, name: str) -> Account:
        """``find``, or ``UnknownAccount``."""
        account = self.find(name)
        if account is None:
            raise UnknownAccount(name)
        return account

    def held_by(self, fsp_id: str, owner: str) -> list[Account]:
        """``owner``'s accounts at the bank ``fsp_id``, in the order they were opened."""
        return [a for a in self._store.accounts() if a.fsp_id == fsp_id and a.owner == owner]

    def __getitem__(self, address: str) -> Account:
        account = self._store.account(address)
        if account is None:
            raise KeyError(address)
        return account

    def __iter__(self) -> Iterator[str]:
        return (account.address for account in self._store.accounts())

    def __len__(self) -> int:
        return sum(1 for _ in self._store.accounts())

    def _index(self, account: Account) -> None:
        for alias in account.aliases:
            self._aliases[alias] = account.address


# The owner of a bank's own accounts: no user id (config requires at least one character).
BANK_OWNER = ""


def fee_account(fsp_id: str, currency: str) -> str:
    """The address of the bank ``fsp_id``'s own fee account in ``currency``."""
    return f"{fsp_id}:fees:{currency}"


class Bank:
    """Accounts, users, the ledger and payment intents over one ``store``; an ended payment
    is kept ``retention`` (None: for ever), and at most ``max_ended`` ended ones."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        retention: timedelta | None = None,
        max_ended: int | None = None,
    ) -> None:
        self.store: Store = store or MemoryStore()
        self.accounts = Accounts(self.store)
        self.ledger = Ledger(self.store)
        self.payments = Payments(self.store, self.ledger, retention=retention, max_ended=max_ended)

    def open_account(
        self, account: Account, balance: Decimal = Decimal(0), *, at: datetime | None = None
    ) -> Account:
        """Add ``account`` with its opening ``balance`` (an OPEN posting)."""
        self.accounts.add(account)
        self.ledger.open(account.address, balance, at=at)
        return account

    def book_fees(
        self, fsp_id: str, amount: Decimal, *, currency: str, ref: str, at: datetime | None = None
    ) -> None:
        """Book on ``fsp_id``'s fee account what it earned on ``ref``: its fee less its
        commission, so below zero when the commission is larger (the bank pays it)."""
        if amount == 0:
            return
        address = fee_account(fsp_id, currency)
        if self.accounts.find(address) is None:
            self.accounts.add(Account(address, fsp_id, BANK_OWNER, currency, "Fees"))
        if amount > 0:
            self.ledger.credit(address, amount, currency=currency, ref=ref, at=at)
        else:
            self.ledger.debit(address, -amount, currency=currency, ref=ref, at=at)

    def add_user(self, user: User) -> None:
        self.store.add_user(user)

    def user(self, fsp_id: str, user_id: str) -> User | None:
        return self.store.user(fsp_id, user_id)

    def password_ok(self, fsp_id: str, user_id: str, password: str, default: str) -> bool:
        """Whether ``password`` is ``user_id``'s at the bank ``fsp_id``: their own, or
        ``default`` (the bank's sandbox password) when config gives them none. Compared in
        constant time, as a real bank's sign-in would."""
        user = self.user(fsp_id, user_id)
        expected = user.password if user is not None and user.password else default
        return secrets.compare_digest(password.encode(), expected.encode())
