"""A periodic payment's execution dates (NextGenPSD2 ``periodicPaymentInitiation_json``).

From ``startDate`` every ``frequency`` step (Daily, Weekly, EveryTwoWeeks, Monthly,
EveryTwoMonths, Quarterly, SemiAnnual, Annual, MonthlyVariable) until
``endDate`` (none: for ever). MonthlyVariable executes monthly, in the months of
``monthsOfExecution`` only. Monthly steps fall on ``dayOfExecution`` (the start's day
when none is given), on the month's last day where it has fewer days ("31 is ultimo of
the month"). A date on a Saturday or Sunday moves to the next business day
(``executionRule: following``, the default) or the previous one (``preceding``); tpsim's
banks know no public holidays. Dates that move onto the same business day are one
execution (a Daily order executes once on Monday, not three times): each date is given once.

``startDate`` and ``endDate`` are "the first" and "the last applicable day of execution"
(NextGenPSD2): no execution falls outside them, whichever way the rule moves it. Where
the rule would move a date out (``preceding`` before the start, ``following`` past the
end) it moves the other way: the order's payment for that date is still made, and never
once the standing order has ended (a customer ends an order at ``endDate`` so that
nothing is debited after it). A window holding none of the schedule's dates
(``dayOfExecution`` 31 from April 5 to 29: April's ultimo is the 30th), or only weekend
days, has no execution at all (``first_execution`` None): ``initiation.check_dates``
refuses it, naming the earliest end that would hold one (``earliest_end``).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta

from tpsim.xs2a.resources import Schedule

DAYS = {"Daily": 1, "Weekly": 7, "EveryTwoWeeks": 14}
MONTHS = {
    "Monthly": 1,
    "MonthlyVariable": 1,
    "EveryTwoMonths": 2,
    "Quarterly": 3,
    "SemiAnnual": 6,
    "Annual": 12,
}
FREQUENCIES = frozenset(DAYS) | frozenset(MONTHS)


def first_execution(schedule: Schedule) -> date | None:
    """The schedule's first execution date (None: it has none between its start and end)."""
    return next(_dates(schedule), None)


def earliest_end(schedule: Schedule) -> date:
    """The earliest ``endDate`` with which ``schedule`` executes at least once: its first
    date from ``startDate`` on (executed on it, or on a business day between the start and
    it), or, when no business day lies between, the business day after that date."""
    nominal = next(_nominal(schedule))
    if _business_day(nominal, "preceding") >= schedule.start:
        return nominal
    return _business_day(nominal, "following")


def execution_dates(schedule: Schedule, *, through: date) -> tuple[list[date], date | None]:
    """The execution dates up to ``through``, and the next one after it (None when the
    schedule has ended)."""
    due: list[date] = []
    for day in _dates(schedule):
        if day > through:
            return due, day
        due.append(day)
    return due, None


def _dates(schedule: Schedule) -> Iterator[date]:
    last: date | None = None
    for nominal in _nominal(schedule):
        if schedule.end is not None and nominal > schedule.end:
            return
        day = _execution_day(nominal, schedule)
        if day is not None and day != last:  # a weekend's dates moved onto one day: once
            yield day
            last = day


def _execution_day(nominal: date, schedule: Schedule) -> date | None:
    """The business day ``nominal`` executes on: moved by the execution rule, or the other
    way where that would leave startDate–endDate (None: neither stays inside)."""
    rule = "preceding" if schedule.execution_rule == "preceding" else "following"
    other = "following" if rule == "preceding" else "preceding"
    for direction in (rule, other):
        day = _business_day(nominal, direction)
        if schedule.start <= day and (schedule.end is None or day <= schedule.end):
            return day
    return None


def _nominal(schedule: Schedule) -> Iterator[date]:
    step = 0
    while True:
        if schedule.frequency in DAYS:
            yield schedule.start + timedelta(days=DAYS[schedule.frequency] * step)
        else:
            day = schedule.day_of_execution or schedule.start.day
            candidate = _month_day(schedule.start, MONTHS[schedule.frequency] * step, day)
            wanted = not schedule.months or candidate.month in schedule.months
            if candidate >= schedule.start and wanted:
                yield candidate
        step += 1


def _month_day(start: date, months: int, day: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day, last))


def _business_day(day: date, rule: str) -> date:
    step = -1 if rule == "preceding" else 1
    while day.weekday() >= 5:
        day += timedelta(days=step)
    return day
