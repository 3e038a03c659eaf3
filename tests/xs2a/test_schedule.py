"""``xs2a.schedule``: a periodic payment's execution dates (``periodicPaymentInitiation_json``:
``startDate``, ``frequency``, ``endDate``, ``dayOfExecution``, ``executionRule``,
``monthsOfExecution``). 2030-01-07 is a Monday."""

from __future__ import annotations

from datetime import date

import pytest

from tpsim.xs2a.resources import Schedule
from tpsim.xs2a.schedule import FREQUENCIES, execution_dates, first_execution


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
