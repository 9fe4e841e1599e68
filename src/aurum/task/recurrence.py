"""Recurring tasks: when the next occurrence falls due, and whether there is one. Pure; no database.

A series is a chain of tasks sharing ``recurrence_series_id``, numbered by ``recurrence_index`` from 1 (the
first occurrence). Each occurrence carries its own copy of the rule; completing or skipping occurrence ``i``
creates occurrence ``i + 1``, due on ``next_due(rule, due date of i)``:

- DAILY: ``interval`` days later.
- WEEKLY: the next chosen weekday after the due date in the same week (weeks start on Monday); past the
  week's last chosen day, the first chosen day of the week ``interval`` weeks later.
- MONTHLY: the rule's ``month_day`` clamped to the month's length (31 → Feb 28 or 29 → Mar 31: every month is
  clamped from the rule's day, never from the previous date): later in the same month when the due date is
  before that day, otherwise in the month ``interval`` months later.

The series stops after ``end_date`` (no occurrence is due after it) or after ``count`` occurrences in all,
and at the end of the calendar: an occurrence that would fall after 9999-12-31 never comes.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aurum.errors import InvalidInput
from aurum.task.rules import Recurrence


def clamped_day(year: int, month: int, day: int) -> date:
    """``day`` of the month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(value: date, months: int, day: int) -> date:
    """``day`` (clamped) of the month ``months`` after ``value``'s month."""
    index = value.year * 12 + value.month - 1 + months
    return clamped_day(index // 12, index % 12 + 1, day)


def next_due(rule: Recurrence, current: date) -> date | None:
    """The due date of the occurrence after the one due on ``current``, ignoring the end date and count;
    None past the last day dates can hold."""
    try:
        return _next_due(rule, current)
    except (OverflowError, ValueError):  # date arithmetic beyond year 9999 raises one or the other
        return None


def _next_due(rule: Recurrence, current: date) -> date:
    interval = rule.interval
    if rule.frequency == "daily":
        return current + timedelta(days=interval)
    if rule.frequency == "weekly":
        weekdays = sorted(set(rule.weekdays or (current.weekday(),)))
        today = current.weekday()
        later = [d for d in weekdays if d > today]
        if later:
            return current + timedelta(days=later[0] - today)
        week_start = current - timedelta(days=today)
        return week_start + timedelta(weeks=interval, days=weekdays[0])
    if rule.frequency == "monthly":
        day = rule.month_day or current.day
        this_month = clamped_day(current.year, current.month, day)
        if this_month > current:
            return this_month
        return add_months(current, interval, day)
    raise LookupError(f"unknown frequency {rule.frequency!r}")


def next_occurrence(rule: Recurrence, current: date, index: int) -> date | None:
    """The due date of occurrence ``index + 1``, the one after occurrence ``index`` due on ``current``; None
    when the series ends before it (past the end date, or ``count`` occurrences reached)."""
    if rule.count is not None and index >= rule.count:
        return None
    following = next_due(rule, current)
    if following is None or (rule.end_date is not None and following > rule.end_date):
        return None
    return following


def occurrences(rule: Recurrence, first: date, limit: int = 1000) -> list[date]:
    """The due dates of a whole series from its first occurrence (at most ``limit`` of them)."""
    dates = [first]
    while len(dates) < limit:
        following = next_occurrence(rule, dates[-1], len(dates))
        if following is None:
            break
        dates.append(following)
    return dates


def check_for_occurrence(rule: Recurrence, index: int | None, field: list[str]) -> None:
    """Refuse a rule that the occurrence it is given to has outgrown (``count`` below its number)."""
    if rule.count is not None and index is not None and rule.count < index:
        raise InvalidInput(
            f"'count' is below this occurrence's number ({index}): the series would have ended before it",
            [*field, "count"],
        )


def shift_moment(moment: datetime, days: int, zone: ZoneInfo) -> datetime:
    """``moment`` moved by ``days`` calendar days at the same wall-clock time in ``zone`` (a reminder at
    09:00 stays at 09:00 across a daylight-saving change)."""
    local = moment.astimezone(zone)
    shifted = datetime.combine(local.date() + timedelta(days=days), local.time().replace(tzinfo=None))
    return shifted.replace(tzinfo=zone)


def shift_reminder(moment: datetime, days: int, zone: ZoneInfo) -> datetime | None:
    """``shift_moment`` for the reminder of a next occurrence; None when it would leave the calendar."""
    try:
        shifted = shift_moment(moment, days, zone)
        shifted.astimezone(UTC)
    except OverflowError:
        return None
    return shifted
