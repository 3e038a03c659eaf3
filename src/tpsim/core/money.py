"""Amounts a currency can carry: its ISO 4217 minor unit.

A bank moves whole minor units (pence, cents, yen, fils): 10.505 GBP cannot be booked, so
a payment asking for it is refused at initiation, by every dialect in its own words, rather
than moving money a real bank would not. Trailing zeros are no finer (10.500 GBP is
10.50 GBP).

    minor_units("JPY")                         → 0
    check_precision(Decimal("10.505"), "GBP")  → TooPrecise (at most 2 decimals)
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from tpsim.core.errors import TooPrecise

# ISO 4217's minor units where they are not 2 (the default: GBP, EUR, USD, CHF…).
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}
_DEFAULT = 2


def minor_units(currency: str) -> int:
    """How many decimals ``currency`` (an ISO 4217 code) has: 2 unless ISO 4217 says
    otherwise."""
    return _MINOR_UNITS.get(currency.upper(), _DEFAULT)


def check_precision(amount: Decimal, currency: str) -> None:
    """Refuse (``TooPrecise``) an ``amount`` finer than ``currency``'s minor unit."""
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        raise TooPrecise(amount, currency, places)
