"""Work time and effort, as the HRM counts them: the person's working minutes between two moments (their
work days and hours, in their zone), and a task's length when it has no estimate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aurum.hrm.facts import TaskFacts
from aurum.hrm.preferences import Preferences

TYPICAL_MINUTES = {
    "deep_work": 90,
    "creative": 60,
    "admin": 20,
    "communication": 15,
    "errand": 30,
    "other": 30,
}
UNCATEGORISED_MINUTES = 30


def typical_minutes(task: TaskFacts) -> int:
    return TYPICAL_MINUTES.get(task.category or "", UNCATEGORISED_MINUTES)


def task_minutes(task: TaskFacts) -> int:
    """Its estimate, or the typical length of its kind."""
    return task.estimated_minutes or typical_minutes(task)


def _day_by_day(preferences: Preferences, zone: ZoneInfo, start: datetime, end: datetime) -> float:
    total = 0.0
    day = start.astimezone(zone).date() - timedelta(days=1)  # yesterday's night shift may still be running
    while day <= end.astimezone(zone).date():
        if day.weekday() in preferences.work_days:
            begins = datetime.combine(day, preferences.work_start, tzinfo=zone)
            last_day = day if preferences.work_end > preferences.work_start else day + timedelta(days=1)
            ends = datetime.combine(last_day, preferences.work_end, tzinfo=zone)
            low, high = max(begins, start).astimezone(UTC), min(ends, end).astimezone(UTC)
            total += max(0.0, (high - low).total_seconds() / 60)  # in UTC: real minutes across DST changes
        day += timedelta(days=1)
    return total


def working_minutes(preferences: Preferences, zone: ZoneInfo, start: datetime, end: datetime) -> float:
    """The person's working minutes between two moments, from their work days and hours in their time zone
    (a shift ending at or before it starts runs past midnight, as in ``Preferences.weekly_work_minutes``).
    Far-off moments are counted by whole weeks between a first and a last week counted day by day, so a due
    date a year away costs what one a fortnight away does (a DST change inside those whole weeks is
    counted as the wall clock, not the real minutes)."""
    if end <= start:
        return 0.0
    start, end = start.astimezone(zone), end.astimezone(zone)  # weeks by the wall clock, across DST
    span = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    if span <= timedelta(days=21):
        return _day_by_day(preferences, zone, start, end)
    weeks = (span - timedelta(days=14)) // timedelta(days=7)
    first_end = start + timedelta(days=7)
    last_start = first_end + timedelta(days=7 * weeks)
    middle = weeks * preferences.weekly_work_minutes
    return (
        _day_by_day(preferences, zone, start, first_end)
        + middle
        + _day_by_day(preferences, zone, last_start, end)
    )


def daily_work_minutes(preferences: Preferences) -> float:
    return max(60.0, preferences.weekly_work_minutes / max(1, len(preferences.work_days)))
