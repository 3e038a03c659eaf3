"""The idempotency store: a request seen before is answered again, a changed one refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tpsim.core.errors import KeyReused
from tpsim.core.idempotency import Idempotency, Repeat
from tpsim.core.records import Records
from tpsim.core.store import MemoryStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_new_key_is_remembered() -> None:
    seen: Idempotency[str] = Idempotency()
    assert seen.check("k", {"a": 1}) is None
    assert len(seen) == 1


def test_the_same_request_in_flight_has_no_answer_yet() -> None:
    seen: Idempotency[str] = Idempotency()
    seen.check("k", {"a": 1})
    assert seen.check("k", {"a": 1}) == Repeat(None)


def test_the_same_request_after_an_answer_gets_that_answer() -> None:
    seen: Idempotency[str] = Idempotency()
    seen.check("k", ("pispa", {"a": 1}))
    seen.answer("k", "first")
    seen.answer("k", "last")
    assert seen.check("k", ("pispa", {"a": 1})) == Repeat("last")


@pytest.mark.parametrize("other", [("pispa", {"a": 2}), ("pispb", {"a": 1})])
def test_a_key_reused_for_another_request_is_refused(other: object) -> None:
    seen: Idempotency[str] = Idempotency()
    seen.check("k", ("pispa", {"a": 1}))
    with pytest.raises(KeyReused, match="k was already used"):
        seen.check("k", other)


def test_keys_are_per_scope() -> None:
    seen: Idempotency[str] = Idempotency()
    seen.check("k", 1, scope="tpp-a")
    assert seen.check("k", 2, scope="tpp-b") is None


def test_a_key_is_forgotten_its_retention_after_its_window_started() -> None:
    a_day = Records(MemoryStore(), "k", retention=timedelta(hours=24))
    seen: Idempotency[str] = Idempotency(a_day)
    seen.check("k", 1, now=NOW)
    seen.end("k", at=NOW)  # a fixed window (UK: 24 hours from first seen)
    with pytest.raises(KeyReused):
        seen.check("k", 2, now=NOW + timedelta(hours=23))
    assert seen.check("k", 2, now=NOW + timedelta(hours=24)) is None


def test_an_answered_key_is_forgotten_its_retention_after_the_answer() -> None:
    seen: Idempotency[str] = Idempotency(
        Records(MemoryStore(), "k", retention=timedelta(minutes=5))
    )
    seen.check("k", 1, now=NOW)
    assert seen.check("k", 1, now=NOW + timedelta(hours=1)) == Repeat(None)  # in flight: kept
    seen.answer("k", "done", at=NOW + timedelta(hours=1))
    assert seen.check("k", 1, now=NOW + timedelta(hours=1, minutes=4)) == Repeat("done")
    assert seen.check("k", 2, now=NOW + timedelta(hours=1, minutes=5)) is None
    assert len(seen) == 1


def test_answering_an_unknown_key_does_nothing() -> None:
    seen: Idempotency[str] = Idempotency()
    seen.answer("nobody", "x")
    assert len(seen) == 0
