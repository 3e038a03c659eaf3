"""The state store: every change to the simulated bank's state goes through it.

The state is a few kinds of small records, each written whole:

    Account         added once (config or fixtures), never changed
    User            added once
    Posting         appended, never changed: the ledger's history (balances and open
                    reservations are derived from it, see ``core.ledger``)
    records         by kind and key (``core.records``), replaced whole, dropped once their
                    retention has passed: payment intents (kind "intent", replaced on every
                    transition, ``core.payment``) and each dialect's own records

so that an SQLite store writes one small row per change (an ``INSERT`` of a posting, an
upsert of an intent, in WAL mode) and a restart rebuilds the derived state by reading the
postings back. ``MemoryStore`` keeps everything in memory (lost when the process ends);
``core.sqlite_store.SqliteStore`` also writes it to a file (``tpsim serve --state PATH``).
Stores are synchronous, like the roles that use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tpsim.core.bank import Account, User
    from tpsim.core.ledger import Posting


class Store(Protocol):
    """Where the simulated bank keeps its records (see the module docstring)."""

    def add_account(self, account: Account) -> None:
        """Keep ``account``; its address is not held yet (``core.bank.Accounts`` checks)."""
        ...

    def account(self, address: str) -> Account | None:
        """The account with this address (not an alias), None when there is none."""
        ...

    def accounts(self) -> Iterable[Account]:
        """Every account, in the order they were added."""
        ...

    def add_user(self, user: User) -> None: ...

    def user(self, fsp_id: str, user_id: str) -> User | None: ...

    def append(self, posting: Posting) -> None:
        """Keep ``posting`` after every earlier one (its ``seq`` is the next number)."""
        ...

    def postings(self) -> Sequence[Posting]:
        """Every posting, oldest first."""
        ...

    def put_record(self, kind: str, key: str, record: object) -> None:
        """Keep a dialect's ``record`` of ``kind`` under ``key``, replacing the one there."""
        ...

    def get_record(self, kind: str, key: str) -> object | None: ...

    def peek_record(self, kind: str, key: str) -> object | None:
        """The record, to read only: unlike ``get_record`` it is not taken as a record the
        caller may change in place (a durable store does not write it again for this)."""
        ...

    def drop_record(self, kind: str, key: str) -> None:
        """Forget the record (nothing happens when there is none)."""
        ...

    def records(self, kind: str) -> Iterable[object]:
        """Every record of ``kind``, in the order they were first kept."""
        ...


class MemoryStore:
    """The bank's records in dictionaries and a list: lost when the process ends."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._users: dict[tuple[str, str], User] = {}
        self._postings: list[Posting] = []
        self._records: dict[str, dict[str, object]] = {}

    def adopt(self, source: MemoryStore) -> None:
        """Hold what ``source`` holds from now on, the same objects (how a state seeded in
        memory moves into a ``core.sqlite_store.SqliteStore``)."""
        self._accounts, self._users = dict(source._accounts), dict(source._users)
        self._postings = list(source._postings)
        self._records = {kind: dict(held) for kind, held in source._records.items()}

    def add_account(self, account: Account) -> None:
        self._accounts[account.address] = account

    def account(self, address: str) -> Account | None:
        return self._accounts.get(address)

    def accounts(self) -> Iterable[Account]:
        return self._accounts.values()

    def add_user(self, user: User) -> None:
        self._users[(user.fsp_id, user.user_id)] = user

    def user(self, fsp_id: str, user_id: str) -> User | None:
        return self._users.get((fsp_id, user_id))

    def append(self, posting: Posting) -> None:
        self._postings.append(posting)

    def postings(self) -> Sequence[Posting]:
        return self._postings

    def put_record(self, kind: str, key: str, record: object) -> None:
        records = self._records.get(kind)
        if records is None:
            records = self._records[kind] = {}
        records[key] = record

    def get_record(self, kind: str, key: str) -> object | None:
        records = self._records.get(kind)
        return None if records is None else records.get(key)

    def peek_record(self, kind: str, key: str) -> object | None:
        return MemoryStore.get_record(self, kind, key)  # never a subclass's bookkeeping

    def drop_record(self, kind: str, key: str) -> None:
        records = self._records.get(kind)
        if records is not None:
            records.pop(key, None)

    def records(self, kind: str) -> Iterable[object]:
        return self._records.get(kind, {}).values()

    def counts(self) -> dict[str, int]:
        """How many records of each kind are kept (for the admin API and tests)."""
        return {kind: len(records) for kind, records in self._records.items() if records}
