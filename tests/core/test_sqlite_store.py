"""The SQLite state store: what was flushed is what a restart finds, nothing more, nothing less.

A ``kill -9`` is played by ``crash_image``: the file and its write-ahead log copied as they
are on disk at that moment, and opened as the restarted process would open them.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tpsim.core.bank import Account, Bank, User, fee_account
from tpsim.core.errors import UnknownPayment
from tpsim.core.idempotency import Idempotency
from tpsim.core.payment import PaymentIntent, PaymentState
from tpsim.core.records import Records
from tpsim.core.sca import Authentication, ScaEvent, ScaMethod
from tpsim.core.sqlite_store import SqliteStore, StateFileError

NOW = datetime(2030, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
ALICE = Account("dfspa.alice", "dfspa", "alice", "USD", iban="GB82WEST12345698765432")
BOB = Account("dfspb.bob", "dfspb", "bob", "USD")


def crash_image(path: Path, moment: str = "image") -> Path:
    """What a kill -9 leaves of ``path`` now: the file and its write-ahead log, copied into
    the directory ``moment`` beside it (the copy is opened as a restarted tpsim opens its
    own file)."""
    image = path.parent / moment / path.name
    if image.parent.exists():
        shutil.rmtree(image.parent)
    image.parent.mkdir()
    for part in (path, path.with_name(f"{path.name}-wal")):
        if part.exists():
            shutil.copy(part, image.parent / part.name)
    return image


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


Open = Callable[..., SqliteStore]


@pytest.fixture
def open_store() -> Iterator[Open]:
    """``SqliteStore``, each one opened let go at the end of the test."""
    opened: list[SqliteStore] = []

    def open_(path: Path, **options: Any) -> SqliteStore:
        opened.append(SqliteStore(path, **options))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@dataclass
class Thing:
    """A record a role changes in place after keeping it (as a transaction's ids)."""

    name: str
    steps: list[str] = field(default_factory=list)


def books(store: SqliteStore) -> Bank:
    bank = Bank(store, retention=MINUTE)
    bank.open_account(ALICE, Decimal(100), at=NOW)
    bank.open_account(BOB, Decimal(0), at=NOW)
    bank.add_user(User("alice", "dfspa", "Alice", "secret", ("OTP",)))
    return bank


def pay(bank: Bank, intent_id: str, amount: str) -> PaymentIntent:
    """A payment authorised by OTP and executing: its debit reserved."""
    payments = bank.payments
    payments.receive(
        PaymentIntent(intent_id, ALICE.address, "bob", Decimal(amount), "USD", created_at=NOW)
    )
    payments.start_sca(intent_id, Authentication())
    payments.authenticate(intent_id, ScaEvent.SUBMIT, method=ScaMethod.OTP, at=NOW)
    payments.authenticate(intent_id, ScaEvent.PROVE, at=NOW)
    return payments.execute(intent_id, at=NOW)


def test_a_restart_finds_the_bank_as_it_was_flushed(path: Path, open_store: Open) -> None:
    store = open_store(path)
    bank = books(store)
    pay(bank, "p1", "30")
    bank.payments.settle("p1", at=NOW)
    pay(bank, "p2", "20")  # still executing: its hold open
    seen: Idempotency[str] = Idempotency(Records(store, "seen", retention=MINUTE))
    seen.check("request-1", "body")
    seen.answer("request-1", "the final callback", at=NOW)
    store.flush()

    again = Bank(open_store(crash_image(path)), retention=MINUTE)

    assert again.ledger.postings() == bank.ledger.postings()
    assert [again.ledger.available(a) for a in ("dfspa.alice", "dfspb.bob")] == [50, 0]
    assert again.ledger.reservations() == bank.ledger.reservations()
    assert again.accounts.find("GB82WEST12345698765432") == ALICE  # its alias too
    assert again.user("dfspa", "alice") == bank.user("dfspa", "alice")
    assert again.payments.get("p1") == bank.payments.get("p1")
    assert again.payments.get("p2").state is PaymentState.EXECUTING
    assert again.payments.get("p2").reservation == bank.payments.get("p2").reservation
    # and the settled one is forgotten as it would have been: a minute after it ended
    later = PaymentIntent("p3", ALICE.address, "bob", Decimal(1), "USD", created_at=NOW + MINUTE)
    again.payments.receive(later)
    with pytest.raises(UnknownPayment):
        again.payments.get("p1")
    seen_again: Idempotency[str] = Idempotency(Records(again.store, "seen", retention=MINUTE))
    repeat = seen_again.check("request-1", "body")
    assert repeat is not None and repeat.answer == "the final callback"


def test_a_restart_finds_a_banks_fee_account_and_its_debits(path: Path, open_store: Open) -> None:
    """The fee account is opened while serving (not from config): it and a commission
    paid out of it (a DEBIT, below zero) are kept as the customers' accounts are."""
    store = open_store(path)
    bank = books(store)
    bank.book_fees("dfspb", Decimal(-2), currency="USD", ref="t1", at=NOW)
    store.flush()

    again = Bank(open_store(crash_image(path)), retention=MINUTE)

    assert again.ledger.postings() == bank.ledger.postings()
    assert again.ledger.balance(fee_account("dfspb", "USD")) == Decimal(-2)


def test_nothing_reaches_the_file_before_a_flush(path: Path, open_store: Open) -> None:
    store = open_store(path)
    things: Records[Thing] = Records(store, "things")
    things.put("t1", Thing("first"))
    books(store)

    reopened = open_store(crash_image(path))

    assert (list(reopened.accounts()), list(reopened.records("things"))) == ([], [])


def test_a_record_changed_in_place_after_it_was_kept_is_written_at_the_flush(
    path: Path, open_store: Open
) -> None:
    store = open_store(path)
    things: Records[Thing] = Records(store, "things")
    thing = Thing("t1")
    things.put("t1", thing)
    store.flush()
    thing.steps.append("kept, then changed")  # as a role changes the record it put
    store.flush()
    got = things.get("t1")
    assert got is not None
    got.steps.append("got, then changed")  # as a role changes the record it found
    store.flush()

    reopened: Records[Thing] = Records(open_store(crash_image(path)), "things")

    assert reopened.get("t1") == Thing("t1", ["kept, then changed", "got, then changed"])


def test_a_dropped_record_is_gone_from_the_file_with_its_aliases(
    path: Path, open_store: Open
) -> None:
    store = open_store(path)
    things: Records[Thing] = Records(store, "things")
    for key in ("t1", "t2"):
        things.put(key, Thing(key))
        things.alias(f"quote:{key}", key)
    store.flush()
    things.drop("t1")
    store.flush()

    reopened: Records[Thing] = Records(open_store(crash_image(path)), "things")

    assert (reopened.find("quote:t1"), reopened.find("quote:t2")) == (None, Thing("t2"))
    assert list(reopened) == [Thing("t2")]


def test_records_come_back_in_the_order_they_were_kept(path: Path, open_store: Open) -> None:
    store = open_store(path)
    for key in ("a", "b", "c"):
        store.put_record("things", key, key.upper())
    store.flush()
    store.put_record("things", "a", "A again")  # replaced: keeps its place
    store.drop_record("things", "b")
    store.put_record("things", "b", "B anew")  # kept anew: last
    store.put_record("things", "d", "D")
    store.flush()

    reopened = open_store(crash_image(path))

    assert list(reopened.records("things")) == list(store.records("things"))
    assert list(reopened.records("things")) == ["A again", "C", "B anew", "D"]


def test_retention_goes_on_after_a_restart(path: Path, open_store: Open) -> None:
    store = open_store(path)
    things: Records[Thing] = Records(store, "things", retention=MINUTE)
    things.put("ended", Thing("ended"))
    things.alias("quote:ended", "ended")
    things.end("ended", at=NOW)
    things.put("open", Thing("open"))
    store.flush()

    image = open_store(crash_image(path))
    again: Records[Thing] = Records(image, "things", retention=MINUTE)
    again.sweep(NOW + MINUTE - timedelta(microseconds=1))
    assert again.find("quote:ended") == Thing("ended")
    again.sweep(NOW + MINUTE)

    assert (again.get("ended"), again.find("quote:ended")) == (None, None)
    assert again.get("open") == Thing("open")
    assert {kind for kind in image.counts()} == {"things"}  # its alias and due time went too


def test_a_state_file_is_one_process_s(path: Path, open_store: Open) -> None:
    open_store(path)

    with pytest.raises(StateFileError, match="another tpsim process"):
        SqliteStore(path)


def test_closing_lets_the_file_go_and_writes_what_is_left(path: Path, open_store: Open) -> None:
    store = open_store(path)
    store.put_record("things", "t1", "kept")
    store.close()

    assert list(open_store(path).records("things")) == ["kept"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text", "not a tpsim state file"),
        ("other-database", "not a tpsim state file"),
        ("other-layout", "layout 99"),
    ],
)
def test_a_file_tpsim_did_not_write_is_refused_unchanged(
    path: Path, open_store: Open, content: str, message: str
) -> None:
    if content == "text":
        path.write_text("accounts: []\n" * 100)
    else:
        SqliteStore(path).close()  # a state file, let go
        with sqlite3.connect(path) as db:
            if content == "other-database":
                db.execute("PRAGMA application_id = 42")
            else:
                db.execute("PRAGMA user_version = 99")
        db.close()
    before = path.read_bytes()

    with pytest.raises(StateFileError, match=message):
        SqliteStore(path)
    assert path.read_bytes() == before


def _damage_an_index(path: Path) -> None:
    """Overwrite the page of the records' key index, as a disk error would: the file still
    loads (reading the tables never reads that page), but every later write fails."""
    with sqlite3.connect(path) as db:
        [(page,)] = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_records_1'"
        ).fetchall()
        size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(b"\x13" * 512)


def _sql(statement: str) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        with sqlite3.connect(path) as db:
            db.execute(statement)
        db.close()

    return change


@pytest.mark.parametrize(
    "damage",
    [
        _damage_an_index,
        _sql("UPDATE postings SET amount = 'ten' WHERE seq = 1"),
        _sql("UPDATE postings SET kind = 'GIFT' WHERE seq = 1"),
        _sql("DROP TABLE records"),
    ],
    ids=["a-damaged-page", "an-amount-that-is-no-number", "an-unknown-posting", "a-lost-table"],
)
def test_a_damaged_state_file_is_refused_saying_so(
    path: Path, open_store: Open, damage: Callable[[Path], None]
) -> None:
    store = open_store(path)
    books(store)
    store.put_record("things", "t1", "kept")
    store.close()
    damage(path)

    with pytest.raises(StateFileError, match="the state file is damaged .*restore a copy"):
        SqliteStore(path)
    SqliteStore(path.with_name("fresh.db")).close()  # the lock was let go with the file
    with pytest.raises(StateFileError, match="damaged"):
        SqliteStore(path)  # and it can be tried again: nothing held on to the file


class Handle:
    """Something pickle cannot take whole (as a loaded key object)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.opened = lambda: name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and other.name == self.name

    __hash__ = None  # type: ignore[assignment]


def _reduce_handle(handle: Handle) -> tuple[Any, ...]:
    return Handle, (handle.name,)


def test_reducers_keep_what_pickle_cannot_take_whole(path: Path, open_store: Open) -> None:
    store = open_store(path, reducers={Handle: _reduce_handle})
    store.put_record("handles", "h1", Handle("h1"))
    store.flush()

    assert list(open_store(crash_image(path)).records("handles")) == [Handle("h1")]


def test_a_record_pickle_refuses_is_named_and_the_others_are_written(
    path: Path, open_store: Open
) -> None:
    store = open_store(path)
    store.put_record("handles", "h1", Handle("h1"))
    store.put_record("things", "t1", "kept")

    with pytest.raises(StateFileError, match="handles h1"):
        store.flush()
    assert list(open_store(crash_image(path)).records("things")) == ["kept"]


def test_a_renewed_store_replaces_the_file_and_the_old_one_writes_no_more(
    path: Path, open_store: Open
) -> None:
    old = open_store(path)
    books(old)
    old.put_record("things", "t1", "of the old scheme")
    old.flush()
    seed = open_store(path.with_name("seed.db"))  # any MemoryStore: what was seeded
    seed.put_record("things", "t2", "of the new scheme")

    new = old.renewed(seed)
    new.flush()
    old.put_record("things", "t3", "late work of the old scheme")
    old.flush()
    image = crash_image(path)
    new.close()

    reopened = open_store(image)
    assert (list(reopened.accounts()), list(reopened.records("things"))) == (
        [],
        ["of the new scheme"],
    )
