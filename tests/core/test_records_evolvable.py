"""A record kept in a state file reads back after tpsim gave its class new fields."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from tpsim.core.records import evolvable
from tpsim.mojaloop.roles.state import AuthConsent


@evolvable
@dataclass(slots=True)
class Kept:
    key: str
    status: str = "ISSUED"
    notes: list[str] = field(default_factory=list)


def test_a_record_round_trips_through_pickle() -> None:
    kept = Kept("k", "REVOKED", ["a"])
    assert pickle.loads(pickle.dumps(kept)) == kept  # noqa: S301 - our own bytes


def test_one_written_before_a_field_existed_reads_back_with_its_default() -> None:
    older = Kept.__new__(Kept)
    older.__setstate__(["k"])  # type: ignore[attr-defined]  # what a slots dataclass pickled
    assert (older.key, older.status, older.notes) == ("k", "ISSUED", [])


def test_a_kept_dict_that_lacks_a_field_without_default_is_refused_by_name() -> None:
    record = Kept.__new__(Kept)
    with pytest.raises(TypeError, match="'key'"):
        record.__setstate__({"status": "ISSUED"})  # type: ignore[attr-defined]


def test_the_auth_service_s_consent_of_an_older_state_file_reads_back() -> None:
    older = AuthConsent.__new__(AuthConsent)
    older.__setstate__(["c", "dfspa", [], None, "ISSUED"])  # type: ignore[attr-defined]
    assert older.revoked_at is None
