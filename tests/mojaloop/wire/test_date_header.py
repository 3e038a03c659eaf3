"""The ``Date`` header (FSPIOP v1.1 §3.2.1.4, RFC 7231 §7.1.1.1): what ``parse_http_date``
accepts, and what it refuses (3100, field ``Date``) with a reason and the IMF-fixdate
format expected, rather than reading a wrong date into it or failing with a 500 (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tpsim.mojaloop.errors import ValidationError
from tpsim.mojaloop.wire import headers
from tpsim.mojaloop.wire.headers import parse_http_date

IMF_FIXDATE = "Thu, 24 Jan 2019 10:23:12 GMT"

# (value, the UTC time it stands for)
ACCEPTED = [
    (IMF_FIXDATE, datetime(2019, 1, 24, 10, 23, 12, tzinfo=UTC)),
    ("Thu, 24 Jan 2019 11:23:12 +0100", datetime(2019, 1, 24, 10, 23, 12, tzinfo=UTC)),
    ("Thu, 24 Jan 2019 10:23:12 UTC", datetime(2019, 1, 24, 10, 23, 12, tzinfo=UTC)),
    ("Sat, 01 Jan 2000 00:00:00 GMT", datetime(2000, 1, 1, tzinfo=UTC)),  # a real year 2000
    ("Fri, 31 Dec 9999 23:59:59 GMT", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
]

YEAR = "no four-digit year (1000-9999)"

# fmt: off
# (case, value, the reason the description names)
REFUSED = [
    ("no zone", "Thu, 24 Jan 2019 10:23:12", "no time zone"),
    ("zone unknown (-0000)", "Thu, 24 Jan 2019 10:23:12 -0000", "no time zone"),
    ("asctime (no zone)", "Thu Jan 24 10:23:12 2019", "no time zone"),
    ("year 0000", "Sat, 01 Jan 0000 10:23:12 GMT", YEAR),  # was read as 2000
    ("year 0019", "Thu, 24 Jan 0019 10:23:12 GMT", YEAR),  # was read as 2019
    ("two-digit year", "Thu, 24 Jan 19 10:23:12 GMT", YEAR),
    ("past the last datetime", "Fri, 31 Dec 9999 23:59:59 -2359", "a date out of range"),
    ("not a date", "yesterday", "no date"),
]
# fmt: on


@pytest.mark.parametrize(("value", "expected"), ACCEPTED)
def test_dates_with_a_zone_and_a_full_year_are_read_as_utc(value: str, expected: datetime) -> None:
    parsed = parse_http_date(value)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(("value", "reason"), [pytest.param(*r[1:], id=r[0]) for r in REFUSED])
def test_other_dates_are_refused_naming_the_format_expected(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_http_date(value)
    error = refused.value
    assert (error.code, error.field) == ("3100", "Date")
    assert error.detail.startswith(f"{reason} in {value!r}")
    assert f"RFC 7231 IMF-fixdate like {IMF_FIXDATE!r}" in error.detail


def test_a_date_seen_before_is_read_from_the_cache() -> None:
    """A busy PISP sends many requests within one second, each with the same Date."""
    value = "Mon, 02 Nov 2026 09:05:00 GMT"
    parse_http_date(value)
    before = headers._parsed_http_date.cache_info().hits
    assert parse_http_date(value) == datetime(2026, 11, 2, 9, 5, tzinfo=UTC)
    assert headers._parsed_http_date.cache_info().hits == before + 1
