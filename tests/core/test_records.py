"""A dialect's records in the store: found by key or alias, forgotten after their retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tpsim.core.clock import ManualClock
from tpsim.core.records import Records
from tpsim.core.store import MemoryStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def records(retention: timedelta | None = MINUTE) -> tuple[MemoryStore, Records[str]]:
    store = MemoryStore()
    return store, Records(store, "dfspa/things", retention=retention)


def test_a_record_is_found_by_its_key_and_its_aliases() -> None:
    store, things = records()
    things.put("t1", "first")
    things.alias("quote:q1", "t1")
    assert (things.get("t1"), things.find("quote:q1")) == ("first", "first")
    things.put("t1", "replaced")  # replaced whole, still found by its alias
    assert things.find("quote:q1") == "replaced"
    assert (things.get("q1"), things.find("t1")) == (None, None)  # keys and aliases apart
    assert list(things) == ["replaced"] and len(things) == 1


def test_a_record_that_has_not_ended_is_kept() -> None:
    _, things = records()
    things.put("t1", "open")
    things.sweep(NOW + timedelta(days=365))
    assert things.get("t1") == "open"


def test_an_ended_record_is_kept_for_its_retention_then_dropped_with_its_aliases() -> None:
    store, things = records()
    things.put("t1", "done")
    things.alias("quote:q1", "t1")
    things.end("t1", at=NOW)
    things.sweep(NOW + MINUTE - timedelta(microseconds=1))
    assert things.find("quote:q1") == "done"
    things.sweep(NOW + MINUTE)
    assert (things.get("t1"), things.find("quote:q1")) == (None, None)
    assert store.counts() == {}  # nothing left behind, aliases included


def test_with_a_clock_keeping_or_ending_a_record_drops_what_is_due() -> None:
    clock = ManualClock(NOW)
    things: Records[str] = Records(MemoryStore(), "things", retention=MINUTE, clock=clock)
    things.put("t1", "first")
    things.end("t1", at=NOW)
    clock.advance(60)
    things.put("t2", "second")  # no timer: the next record kept drops what is due
    assert (things.get("t1"), things.get("t2")) == (None, "second")
    things.end("t2", at=NOW + 10 * MINUTE)  # ends later (an expiry): not swept with that time
    assert things.get("t2") == "second"


def test_records_ended_out_of_order_are_dropped_each_at_its_time() -> None:
    _, things = records()
    for key in ("late", "early"):
        things.put(key, key)
    things.end("late", at=NOW + 10 * MINUTE)  # e.g. the expiry of an OTP not yet used
    things.end("early", at=NOW)
    things.sweep(NOW + 2 * MINUTE)
    assert (things.get("late"), things.get("early")) == ("late", None)


def test_zero_retention_forgets_at_once_and_none_keeps_for_ever() -> None:
    _, at_once = records(timedelta(0))
    at_once.put("t1", "x")
    at_once.end("t1", at=NOW)
    at_once.sweep(NOW)
    assert at_once.get("t1") is None
    _, for_ever = records(None)
    for_ever.put("t1", "x")
    for_ever.end("t1", at=NOW)
    for_ever.sweep(NOW + timedelta(days=3650))
    assert for_ever.get("t1") == "x"


def test_pop_forgets_now() -> None:
    _, things = records()
    things.put("t1", "x")
    things.alias("a", "t1")
    assert things.pop("t1") == "x"
    assert (things.pop("t1"), things.find("a")) == (None, None)


def test_kinds_are_apart_in_one_store() -> None:
    store = MemoryStore()
    mine: Records[str] = Records(store, "dfspa/transactions")
    theirs: Records[str] = Records(store, "dfspb/transactions")
    mine.put("t1", "a")
    assert theirs.get("t1") is None
    assert store.counts() == {"dfspa/transactions": 1}


def test_a_key_kept_again_after_it_was_dropped_is_not_dropped_by_its_old_ending() -> None:
    # A consent request id reused once the first request was forgotten: the first one's
    # later due time (its OTP's expiry) must not drop the second.
    clock = ManualClock(NOW)
    things: Records[str] = Records(MemoryStore(), "things", retention=MINUTE, clock=clock)
    things.put("x", "first")
    things.end("x", at=NOW + 10 * MINUTE)  # when its OTP would expire
    things.end("x", at=NOW)  # it ended sooner: granted
    clock.advance(60)
    things.put("x", "second")  # dropped at NOW + 1 min; the id is used again
    clock.advance(11 * 60)
    things.put("y", "other")  # sweeps: the first request's expiry is long past
    assert things.get("x") == "second"


def test_an_alias_given_to_another_record_stays_when_the_first_is_dropped() -> None:
    _, things = records()
    things.put("c1", "first quote")
    things.alias("Q", "c1")
    things.put("c2", "second quote")
    things.alias("Q", "c2")  # the same quote id, quoted again
    things.drop("c1")
    assert things.find("Q") == "second quote"


def test_at_most_max_ended_records_are_kept_the_soonest_due_dropped_first() -> None:
    store = MemoryStore()
    things: Records[str] = Records(store, "things", retention=timedelta(days=1), max_ended=2)
    things.put("open", "still going")
    for i in range(4):
        things.put(f"t{i}", f"ended {i}")
        things.end(f"t{i}", at=NOW + i * MINUTE)
    assert [things.get(f"t{i}") for i in range(4)] == [None, None, "ended 2", "ended 3"]
    assert things.get("open") == "still going"  # only ended records count


def test_the_last_ending_decides_when_a_record_goes() -> None:
    # A WEB consent request ends at the login page's expiry; approved, at its secret's.
    clock = ManualClock(NOW)
    things: Records[str] = Records(MemoryStore(), "things", retention=MINUTE, clock=clock)
    things.put("x", "waiting for the user")
    things.end("x", at=NOW + MINUTE)
    clock.advance(50)
    things.end("x", at=NOW + 10 * MINUTE)  # re-armed later
    clock.advance(5 * 60)
    things.put("y", "sweeps")
    assert things.get("x") == "waiting for the user"


def test_the_cap_never_drops_a_record_whose_end_is_still_ahead() -> None:
    # An open quote is ended at its expiry when issued: it is live until then.
    clock = ManualClock(NOW)
    things: Records[str] = Records(
        MemoryStore(), "quotes", retention=MINUTE, max_ended=1, clock=clock
    )
    for quote in ("q1", "q2", "q3"):
        things.put(quote, f"open {quote}")
        things.end(quote, at=NOW + 10 * MINUTE)
    assert [things.get(q) for q in ("q1", "q2", "q3")] == ["open q1", "open q2", "open q3"]
    things.put("done", "ended")
    things.end("done", at=NOW)  # over the cap: what has ended goes first, the live stay
    assert things.get("done") is None
    assert [things.get(q) for q in ("q1", "q2", "q3")] == ["open q1", "open q2", "open q3"]
