"""``xs2a.schedule``: a periodic payment's execution dates (``periodicPaymentInitiation_json``:
``startDate``, ``frequency``, ``endDate``, ``dayOfExecution``, ``executionRule``,
``monthsOfExecution``). 2030-01-07 is a Monday."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpsim.xs2a.resources import Schedule
from tpsim.xs2a.schedule import FREQUENCIES, earliest_end, execution_dates, first_execution


def d(text: str) -> date:
    return date.fromisoformat(text)


def dates(schedule: Schedule, through: str) -> list[str]:
    return [day.isoformat() for day in execution_dates(schedule, through=d(through))[0]]


def test_the_frequencies_are_the_spec_codes() -> None:
    assert {
        "Daily", "Weekly", "EveryTwoWeeks", "Monthly", "EveryTwoMonths", "Quarterly",
        "SemiAnnual", "Annual", "MonthlyVariable",
    } == FREQUENCIES  # fmt: skip


# (frequency, start, through) → every execution date up to `through`
STEPS = [
    ("Weekly", "2030-01-07", "2030-01-28", ["01-07", "01-14", "01-21", "01-28"]),
    ("EveryTwoWeeks", "2030-01-07", "2030-02-04", ["01-07", "01-21", "02-04"]),
    ("Monthly", "2030-01-15", "2030-04-15", ["01-15", "02-15", "03-15", "04-15"]),
    ("EveryTwoMonths", "2030-01-15", "2030-05-31", ["01-15", "03-15", "05-15"]),
    ("Quarterly", "2030-01-15", "2030-12-31", ["01-15", "04-15", "07-15", "10-15"]),
    ("SemiAnnual", "2030-01-15", "2031-01-31", ["2030-01-15", "2030-07-15", "2031-01-15"]),
    ("Annual", "2030-01-15", "2032-01-31", ["2030-01-15", "2031-01-15", "2032-01-15"]),
]  # fmt: skip


@pytest.mark.parametrize(("frequency", "start", "through", "expected"), STEPS)
def test_each_frequency_steps_from_the_start_date(
    frequency: str, start: str, through: str, expected: list[str]
) -> None:
    within_2030 = [f"2030-{day}" if len(day) == 5 else day for day in expected]
    assert dates(Schedule(d(start), frequency), through) == within_2030


def test_daily_executes_on_each_business_day_once() -> None:
    # Saturday's and Sunday's executions move to Monday: one execution there, not three.
    assert dates(Schedule(d("2030-01-10"), "Daily"), "2030-01-15") == [
        "2030-01-10",
        "2030-01-11",
        "2030-01-14",
        "2030-01-15",
    ]


def test_a_weekend_date_moves_to_the_following_business_day_by_default() -> None:
    # 2030-01-12 is a Saturday.
    assert dates(Schedule(d("2030-01-12"), "Weekly"), "2030-01-20") == ["2030-01-14"]


def test_execution_rule_preceding_moves_a_weekend_date_to_the_friday_before() -> None:
    schedule = Schedule(d("2030-01-08"), "Monthly", day_of_execution=12, execution_rule="preceding")
    assert dates(schedule, "2030-02-28") == ["2030-01-11", "2030-02-12"]


def test_a_monthly_day_past_the_months_end_falls_on_its_last_day() -> None:
    schedule = Schedule(d("2030-01-31"), "Monthly")
    # 2030-03-31 is a Sunday: the following business day.
    assert dates(schedule, "2030-05-31") == [
        "2030-01-31",
        "2030-02-28",
        "2030-04-01",
        "2030-04-30",
        "2030-05-31",
    ]


def test_day_of_execution_picks_the_day_and_skips_one_before_the_start() -> None:
    schedule = Schedule(d("2030-01-20"), "Monthly", day_of_execution=5)
    assert dates(schedule, "2030-03-31") == ["2030-02-05", "2030-03-05"]


def test_monthly_variable_executes_in_the_months_given_only() -> None:
    schedule = Schedule(d("2030-01-15"), "MonthlyVariable", months=(1, 4, 10))
    assert dates(schedule, "2031-01-31") == [
        "2030-01-15",
        "2030-04-15",
        "2030-10-15",
        "2031-01-15",
    ]


def test_the_end_date_is_the_last_day_a_payment_may_fall_on() -> None:
    schedule = Schedule(d("2030-01-07"), "Weekly", end=d("2030-01-21"))
    due, upcoming = execution_dates(schedule, through=d("2030-12-31"))
    assert [day.isoformat() for day in due] == ["2030-01-07", "2030-01-14", "2030-01-21"]
    assert upcoming is None  # the schedule has run out


def test_the_next_date_after_through_is_given_while_the_schedule_runs() -> None:
    schedule = Schedule(d("2030-01-07"), "Weekly", end=d("2030-02-28"))
    due, upcoming = execution_dates(schedule, through=d("2030-01-10"))
    assert due == [d("2030-01-07")]
    assert upcoming == d("2030-01-14")


def test_nothing_is_due_before_the_start() -> None:
    assert execution_dates(Schedule(d("2030-02-01"), "Monthly"), through=d("2030-01-31")) == (
        [],
        d("2030-02-01"),
    )


def test_the_first_execution_is_the_first_business_day_from_the_start() -> None:
    assert first_execution(Schedule(d("2030-01-12"), "Monthly")) == d("2030-01-14")
    # An end before the first business day: the schedule never executes.
    assert first_execution(Schedule(d("2030-01-12"), "Weekly", end=d("2030-01-11"))) is None


def test_preceding_never_moves_the_first_execution_before_the_start() -> None:
    # 2030-01-12 is a Saturday: the Friday before is before startDate, so the Monday after.
    schedule = Schedule(d("2030-01-12"), "Monthly", execution_rule="preceding")
    assert dates(schedule, "2030-02-28")[0] == "2030-01-14"


# -- startDate and endDate bound every execution ----------------------------------------------
# endDate is "the last applicable day of execution" (NextGenPSD2 1.3.11): a standing order
# ended there debits nothing after it. Where the executionRule would move a date past it,
# the date moves the other way, as "preceding" never moves one before startDate.


def test_following_never_moves_the_last_execution_past_the_end_date() -> None:
    # 2030-06-30 is a Sunday: "following" would pay on Monday 07-01, after the order ended.
    schedule = Schedule(d("2030-01-30"), "Monthly", end=d("2030-06-30"))
    due, upcoming = execution_dates(schedule, through=d("2030-12-31"))
    assert [day.isoformat() for day in due][-2:] == ["2030-05-30", "2030-06-28"]
    assert upcoming is None


def test_a_daily_order_ending_on_a_sunday_pays_its_weekend_once_on_the_friday() -> None:
    schedule = Schedule(d("2030-01-10"), "Daily", end=d("2030-01-13"))
    assert dates(schedule, "2030-01-31") == ["2030-01-10", "2030-01-11"]


def test_a_weekend_date_moves_on_at_the_start_and_back_at_the_end() -> None:
    # Weekly from Saturday 01-12 to Sunday 01-20: the 12th moves on to Monday 01-14 as
    # usual; the 19th would move on to Monday 01-21, after the end: back to Friday 01-18.
    schedule = Schedule(d("2030-01-12"), "Weekly", end=d("2030-01-20"))
    assert dates(schedule, "2030-01-31") == ["2030-01-14", "2030-01-18"]


# (start, frequency, end, dayOfExecution, executionRule) with no execution date at all → the
# earliest endDate with which it would have one
NO_EXECUTION = [
    pytest.param("2030-04-05", "Monthly", "2030-04-29", 31, None, "2030-04-30",
                 id="dayOfExecution 31, ultimo April after the end"),
    pytest.param("2030-02-10", "Monthly", "2030-02-27", 31, None, "2030-02-28",
                 id="dayOfExecution 31 in a February window"),
    pytest.param("2030-01-20", "Monthly", "2030-02-04", 5, None, "2030-02-05",
                 id="dayOfExecution before startDate, next month's after the end"),
    pytest.param("2030-01-12", "Daily", "2030-01-13", None, None, "2030-01-14",
                 id="a window of one weekend"),
    pytest.param("2030-01-07", "Monthly", "2030-01-11", 12, "preceding", "2030-01-12",
                 id="preceding: the date itself is after the end"),
    pytest.param("2030-01-08", "MonthlyVariable", "2030-03-31", None, None, "2030-04-08",
                 id="monthsOfExecution outside the window"),
]  # fmt: skip


@pytest.mark.parametrize(("start", "frequency", "end", "day", "rule", "needed"), NO_EXECUTION)
def test_a_window_holding_no_execution_date_says_which_end_would_hold_one(
    start: str, frequency: str, end: str, day: int | None, rule: str | None, needed: str
) -> None:
    months = (4, 10) if frequency == "MonthlyVariable" else ()
    schedule = Schedule(d(start), frequency, d(end), day, rule, months)
    assert first_execution(schedule) is None
    assert execution_dates(schedule, through=d("2031-12-31")) == ([], None)
    assert earliest_end(schedule) == d(needed)
    assert first_execution(replace(schedule, end=d(needed))) is not None


def test_the_earliest_end_may_be_a_weekend_date_paid_on_the_friday_before() -> None:
    # Monthly on the 12th (a Saturday) from Thursday 01-10: ending on the 12th, it pays
    # on Friday 01-11 rather than after its end.
    schedule = Schedule(d("2030-01-10"), "Monthly", end=d("2030-01-10"), day_of_execution=12)
    assert earliest_end(schedule) == d("2030-01-12")
    assert first_execution(replace(schedule, end=d("2030-01-12"))) == d("2030-01-11")


_FREQUENCY = st.sampled_from(sorted(FREQUENCIES))
_MONTHS = st.lists(st.integers(1, 12), min_size=1, max_size=11, unique=True).map(
    lambda months: tuple(sorted(months))
)


@settings(max_examples=400, deadline=None)
@given(
    start=st.dates(date(2030, 1, 1), date(2031, 12, 31)),
    span=st.integers(0, 800),
    frequency=_FREQUENCY,
    day=st.none() | st.integers(1, 31),
    rule=st.sampled_from([None, "following", "preceding"]),
    months=_MONTHS,
)
def test_every_execution_is_one_business_day_from_start_to_end(
    start: date, span: int, frequency: str, day: int | None, rule: str | None,
    months: tuple[int, ...],
) -> None:  # fmt: skip
    end = start + timedelta(days=span)
    variable = months if frequency == "MonthlyVariable" else ()
    schedule = Schedule(start, frequency, end, day, rule, variable)
    due, upcoming = execution_dates(schedule, through=end + timedelta(days=10))
    assert upcoming is None  # nothing after the end
    assert all(start <= day <= end and day.weekday() < 5 for day in due)
    assert due == sorted(set(due))  # each day once, in order
    assert first_execution(schedule) == (due[0] if due else None)
    needed = earliest_end(schedule)
    assert (needed <= end) == bool(due)
    assert first_execution(replace(schedule, end=needed)) is not None
    if needed > start:  # and no earlier end would do
        assert first_execution(replace(schedule, end=needed - timedelta(days=1))) is None
