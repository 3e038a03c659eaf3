"""The state file keeps text that is no UTF-8 as it came: a record key holding lone
surrogates (a header's bytes that are no UTF-8, as the edge decodes them, or a JSON
``"\\ud800"``) is written, every later flush still writes, and a restart reads the key and
its record back the same. Before, SQLite refused such a key at every flush: the record
stayed dirty and tpsim ran on with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tpsim.core.ledger import Posting, PostingKind
from tpsim.core.sqlite_store import SqliteStore

ODD = ("k\udcff\udcfe", "\ud800", "a\udfffz")  # each no UTF-8: lone surrogates


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "state.db"


def reopened(path: Path) -> SqliteStore:
    return SqliteStore(path)


@pytest.mark.parametrize("key", ODD)
def test_a_key_that_is_no_utf8_is_written_and_every_later_flush_still_writes(
    path: Path, key: str
) -> None:
    store = SqliteStore(path)
    store.put_record("seen", key, ("answer", key))
    store.put_record("seen", "plain", "first")
    store.flush()
    store.put_record("seen", "later", "second")  # a flush after it writes too
    store.flush()
    store.close()
    again = reopened(path)
    try:
        assert again.get_record("seen", key) == ("answer", key)
        assert again.get_record("seen", "later") == "second"
        assert list(again.records("seen")) == [("answer", key), "first", "second"]
    finally:
        again.close()


def test_a_key_that_is_no_utf8_is_changed_and_dropped_in_its_own_row(path: Path) -> None:
    store = SqliteStore(path)
    store.put_record("seen", ODD[0], "one")
    store.put_record("seen", ODD[1], "two")
    store.flush()
    store.put_record("seen", ODD[0], "changed")
    store.drop_record("seen", ODD[1])
    store.flush()
    store.close()
    again = reopened(path)
    try:
        assert list(again.records("seen")) == ["changed"]
        assert again.get_record("seen", ODD[0]) == "changed"
    finally:
        again.close()


def test_a_key_that_no_valid_text_equals_stays_apart_from_its_look_alike(path: Path) -> None:
    """``"\\udcff"`` kept as bytes is no row of the text ``"\\\\udcff"`` nor of ``"ÿ"``."""
    store = SqliteStore(path)
    for key in ("\udcff", "\\udcff", "ÿ"):
        store.put_record("seen", key, key)
    store.close()
    again = reopened(path)
    try:
        assert list(again.records("seen")) == ["\udcff", "\\udcff", "ÿ"]
        assert [again.get_record("seen", k) for k in ("\udcff", "\\udcff", "ÿ")] == [
            "\udcff", "\\udcff", "ÿ",
        ]  # fmt: skip
    finally:
        again.close()


def test_a_posting_whose_reference_is_no_utf8_reads_back_the_same(path: Path) -> None:
    store = SqliteStore(path)
    at = datetime(2030, 1, 1, tzinfo=UTC)
    store.append(Posting(1, "dfspa.alice", Decimal("-5"), PostingKind.DEBIT, "t\ud800", at, None))
    store.close()
    again = reopened(path)
    try:
        [posting] = list(again.postings())
        assert (posting.ref, posting.amount) == ("t\ud800", Decimal("-5"))
    finally:
        again.close()
