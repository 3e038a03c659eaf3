"""``core.money``: an amount is refused when finer than its currency's ISO 4217 minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tpsim.core.errors import InvalidAmount, TooPrecise
from tpsim.core.money import check_precision, minor_units


@pytest.mark.parametrize(
    ("currency", "places"),
    [("GBP", 2), ("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("XTS", 2)],
)
def test_each_currency_has_its_iso_4217_minor_unit(currency: str, places: int) -> None:
    assert minor_units(currency) == places


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("10.50", "GBP"), ("10.500", "EUR"), ("10", "USD"), ("1000", "JPY"), ("1.234", "KWD")],
)
def test_an_amount_in_whole_minor_units_is_taken(amount: str, currency: str) -> None:
    check_precision(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        ("10.505", "GBP", "at most 2 decimals (e.g. 10.50)"),
        ("0.001", "EUR", "at most 2 decimals (e.g. 0.00)"),
        ("100.5", "JPY", "no decimals (e.g. 100)"),
        ("1.2345", "KWD", "at most 3 decimals (e.g. 1.234)"),
    ],
)
def test_an_amount_finer_than_the_minor_unit_is_refused_saying_what_to_send(
    amount: str, currency: str, says: str
) -> None:
    with pytest.raises(TooPrecise, match=r"minor unit") as refused:
        check_precision(Decimal(amount), currency)
    assert says in str(refused.value)
    assert isinstance(refused.value, InvalidAmount)
    assert refused.value.reason == "amount-too-precise"
