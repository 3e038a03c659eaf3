"""``evolve`` gives what ``dataclasses.replace`` gives, and refuses what it cannot copy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tpsim.core.payment import PaymentIntent, PaymentState
from tpsim.core.values import evolve


def test_a_changed_copy_equals_what_replace_makes() -> None:
    intent = PaymentIntent("p1", "dfspa.alice", "bob", Decimal("10"), "USD")
    changed = evolve(intent, state=PaymentState.AUTHORISING, created_at=datetime.now(UTC))
    assert changed == dataclasses.replace(
        intent, state=PaymentState.AUTHORISING, created_at=changed.created_at
    )
    assert intent.state is PaymentState.RECEIVED  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.state = PaymentState.RECEIVED  # type: ignore[misc]


def test_a_name_that_is_no_field_is_refused() -> None:
    intent = PaymentIntent("p1", "dfspa.alice", "bob", Decimal("10"), "USD")
    with pytest.raises(TypeError, match="no field colour"):
        evolve(intent, colour="red")


@dataclass(frozen=True)
class _Checked:
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("negative")


@dataclass
class _Counted:
    name: str
    seen: int = field(default=0, init=False)


@pytest.mark.parametrize("value", [_Checked(1), _Counted("a"), (1, 2)])
def test_values_whose_init_does_more_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        evolve(value)
